"""hitl's objects in LangGraph Server's JSON shapes (Thread, ThreadState, Run).

thread_id = run id, assistant_id = graph name, checkpoint_id = step number,
interrupt id = hitl's interrupt id. Interrupts are keyed by task as LangGraph
does; a task is one node of the paused step, so `tasks` lists every node with
a question (no UI needs to read only `tasks[0]`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from importlib.metadata import version as package_version
from typing import Any

from hitl.client.batch import BatchReport
from hitl.client.client import PendingRun
from hitl.types import Checkpoint, Interrupt, StateSnapshot

STATUS = {"interrupted": "interrupted", "running": "busy", "completed": "idle", "failed": "error", "cancelled": "error"}
"""hitl run status -> LangGraph thread status."""

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def task_id(node: str, step: int) -> str:
    """A stable id for the task a node runs at a step (LangGraph's tasks are keyed so)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hitl:{step}:{node}"))


def interrupt(i: Interrupt) -> dict[str, Any]:
    """LangGraph's interrupt (id, value), plus hitl's claim and quorum under `hitl` when the question has them."""
    out: dict[str, Any] = {"id": i.id, "value": i.value}
    extra: dict[str, Any] = {}
    if i.claimed_by is not None:
        extra.update(claimed_by=i.claimed_by, claimed_until=iso(i.claimed_until))
    if i.quorum is not None:
        extra.update(
            quorum=i.quorum.n, votes=[{"identity": v.identity, "value": v.value, "at": iso(v.at)} for v in i.votes]
        )
    if extra:
        out["hitl"] = extra
    return out


def output_interrupt(i: Interrupt) -> dict[str, Any]:
    """An interrupt as a run's output carries it (`runs/wait`, stream chunks): LangGraph Server adds
    `response_schema` there, the JSON Schema the answer must meet (hitl's `interrupt(..., schema=)`)."""
    return {**interrupt(i), "response_schema": i.schema}


def interrupts_by_task(s: StateSnapshot) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for i in s.interrupts:
        out.setdefault(task_id(i.node, s.step), []).append(interrupt(i))
    return out


def metadata(graph: str) -> dict[str, Any]:
    return {"graph_id": graph, "assistant_id": graph}


def thread(s: StateSnapshot) -> dict[str, Any]:
    out: dict[str, Any] = {
        "thread_id": s.run_id,
        "created_at": iso(s.created_at),
        "updated_at": iso(s.updated_at),
        "state_updated_at": iso(s.updated_at),
        "metadata": metadata(s.graph),
        "status": STATUS[s.status],
        "values": s.values,
        "interrupts": interrupts_by_task(s),
        "config": {"configurable": {"thread_id": s.run_id}},
        "error": s.error or None,
    }
    return out


def fresh_thread(thread_id: str, graph: str | None = None) -> dict[str, Any]:
    """A thread no run has used yet: LangGraph clients create one, then run on it."""
    now = iso(datetime.now(timezone.utc))
    return {
        "thread_id": thread_id,
        "created_at": now,
        "updated_at": now,
        "state_updated_at": now,
        "metadata": metadata(graph) if graph else {},
        "status": "idle",
        "values": None,  # no state yet, as LangGraph Server has it
        "config": {"configurable": {"thread_id": thread_id}},
    }


def listed_thread(p: PendingRun, status: str, created_at: datetime | None) -> dict[str, Any]:
    """A thread as the visibility store knows it (no values: those need the run itself)."""
    when = iso(p.waiting_since or created_at)
    return {
        "thread_id": p.run_id,
        "created_at": iso(created_at),
        "updated_at": when,
        "state_updated_at": when,
        "metadata": metadata(p.graph),
        "status": status,
        "config": {"configurable": {"thread_id": p.run_id}},
    }


def checkpoint_ref(thread_id: str, step: int | None) -> dict[str, Any] | None:
    if step is None:
        return None
    return {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": str(step)}


def checkpoint_ids(thread_id: str, step: int | None, parent_step: int | None) -> dict[str, Any]:
    """A ThreadState's checkpoint references, as objects and (as LangGraph Server adds) as bare ids."""
    return {
        "checkpoint": checkpoint_ref(thread_id, step),
        "checkpoint_id": None if step is None else str(step),
        "parent_checkpoint": checkpoint_ref(thread_id, parent_step),
        "parent_checkpoint_id": None if parent_step is None else str(parent_step),
    }


def tasks(s: StateSnapshot) -> list[dict[str, Any]]:
    """One task per node of the paused step, each with its questions."""
    if s.status not in ("interrupted", "running"):
        return []
    nodes = list(dict.fromkeys([*s.next, *(i.node for i in s.interrupts)]))
    return [{**task_entry(n, s.step), "interrupts": [interrupt(i) for i in s.interrupts if i.node == n]} for n in nodes]


def state(s: StateSnapshot, parent_step: int | None = None) -> dict[str, Any]:
    return {
        "values": s.values,
        "next": list(s.next),
        **checkpoint_ids(s.run_id, s.step, parent_step),
        "metadata": {**metadata(s.graph), "step": s.step, "source": "loop", "thread_id": s.run_id},
        "created_at": iso(s.updated_at),
        "tasks": tasks(s),
        "interrupts": [interrupt(i) for i in s.interrupts],
    }


def fresh_state(thread_id: str) -> dict[str, Any]:
    """A thread no run has used yet has no checkpoint (LangGraph Server: null checkpoint and metadata)."""
    return {
        "values": {},
        "next": [],
        **checkpoint_ids(thread_id, None, None),
        "metadata": None,
        "created_at": None,
        "tasks": [],
        "interrupts": [],
    }


def state_update(thread_id: str, step: int) -> dict[str, Any]:
    """What `POST /threads/{id}/state` returns: the new checkpoint, under each name LangGraph Server uses."""
    ref = checkpoint_ref(thread_id, step)
    return {"checkpoint": ref, "checkpoint_id": str(step), "configurable": ref}


def task_entry(node: str, step: int) -> dict[str, Any]:
    """One task of a checkpoint, as LangGraph lists it (no questions, no result yet)."""
    return {
        "id": task_id(node, step),
        "name": node,
        "path": ["__pregel_pull", node],
        "error": None,
        "interrupts": [],
        "checkpoint": None,
        "state": None,
        "result": None,
    }


def checkpoint_state(
    thread_id: str, graph: str, c: Checkpoint, parent_step: int | None, results: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One entry of a thread's history (hitl/web/history.py). Old checkpoints may carry no values (None):
    shown as {}. `results`: what each task's node wrote, by task name."""
    return {
        "values": c.values if c.values is not None else {},
        "next": list(c.next),
        **checkpoint_ids(thread_id, c.step, parent_step),
        "metadata": {
            **metadata(graph),
            "step": c.step,
            "source": c.source,
            "writes": c.writes,
            "thread_id": thread_id,
            "decisions": [decision(d) for d in c.decisions],
            "values_dropped": c.values is None,
        },
        "created_at": iso(c.created_at),
        "tasks": [{**task_entry(n, c.step), "result": (results or {}).get(n)} for n in c.next],
        "interrupts": [],
    }


def decision(d: Any) -> dict[str, Any]:
    return {
        "kind": d.kind,
        "identity": d.identity,
        "at": iso(d.at),
        "step": d.step,
        "value": d.value,
        "interrupt_id": d.interrupt_id,
        "node": d.node,
    }


def wait_output(s: StateSnapshot) -> dict[str, Any]:
    """What `runs/wait` returns: the values, with `__interrupt__` when the run paused on a question."""
    if s.status in ("failed", "cancelled"):
        return {
            "__error__": {
                "error": "RunFailed" if s.status == "failed" else "RunCancelled",
                "message": s.error or f"run {s.run_id} was {s.status}",
            }
        }
    out = dict(s.values)
    if s.interrupts:
        out["__interrupt__"] = [output_interrupt(i) for i in s.interrupts]
    if s.error and s.status == "interrupted":  # the answer broke its node and was put back: ask again
        out["__error__"] = {"error": "AnswerRolledBack", "message": s.error}
    return out


def chunk(c: dict[str, Any]) -> dict[str, Any]:
    """A LangGraph stream chunk as JSON: its interrupts as `{id, value}`, as LangGraph Server sends them."""
    if "__interrupt__" not in c:
        return c
    return {**c, "__interrupt__": [output_interrupt(i) for i in c["__interrupt__"]]}


def run(
    thread_id: str,
    graph: str,
    status: str,
    run_id: str | None = None,
    *,
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
    kwargs: dict[str, Any] | None = None,
    multitask_strategy: str | None = None,
) -> dict[str, Any]:
    """A LangGraph Run record: one of a thread's runs (hitl/web/run_records.py derives them from the run)."""
    now = datetime.now(timezone.utc)
    return {
        "run_id": run_id or str(uuid.uuid4()),
        "thread_id": thread_id,
        "assistant_id": graph,
        "created_at": iso(created_at or now),
        "updated_at": iso(updated_at or created_at or now),
        "status": status,
        "metadata": metadata(graph),
        "multitask_strategy": multitask_strategy or "reject",
        "kwargs": kwargs or {},
        "langsmith_session_name": None,
    }


def run_location(record: dict[str, Any]) -> dict[str, str]:
    """The header naming a created run, as LangGraph Server sends it; its SDK reads the run id from it."""
    return {"Content-Location": f"/threads/{record['thread_id']}/runs/{record['run_id']}"}


def assistant(name: str, description: str | None = None) -> dict[str, Any]:
    return {
        "assistant_id": name,
        "graph_id": name,
        "name": name,
        "description": description,
        "config": {},
        "context": {},
        "metadata": {"created_by": "hitl"},
        "version": 1,
        "created_at": iso(EPOCH),
        "updated_at": iso(EPOCH),
    }


def info() -> dict[str, Any]:
    """`GET /info` as LangGraph Server answers it; hitl has assistants (its graphs), no crons, no LangSmith."""
    return {
        "version": package_version("hitl"),
        "langgraph_py_version": None,
        "flags": {
            "assistants": True,
            "crons": False,
            "langsmith": False,
            "langsmith_tracing_replicas": False,
            "langsmith_tracing_session_on_runs": False,
        },
        "host": {"kind": "hitl", "project_id": None, "host_revision_id": None, "revision_id": None, "tenant_id": None},
    }


def batch(report: BatchReport) -> dict[str, Any]:
    """A batch's per-run report (hitl's own shape: LangGraph Server has no batch answers)."""
    return {
        "batch_id": report.batch_id,
        "ok": report.ok,
        "dry_run": report.dry_run,
        "counts": report.counts(),
        "results": [
            {
                "thread_id": r.run_id,
                "outcome": r.outcome,
                "reason": r.reason or None,
                "interrupt_id": r.interrupt_id,
                "request_id": r.request_id,
            }
            for r in report.results
        ],
    }
