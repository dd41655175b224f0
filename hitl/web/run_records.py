"""A thread's LangGraph runs, read off what its hitl run records (no run table, no side store).

In LangGraph a thread holds many runs: the start is one, and every resume is another with its own id.
A hitl thread is one Temporal workflow, and it records both already: the start (its creation time), and
each accepted decision in its decision log under the request id it was sent with. So the runs are
derived, and every web-server replica lists the same ones:

* the start: id `start_run_id(thread)` (a name-based uuid of the thread id, known before the run exists);
* each next turn (new input on the thread once its run completed, hitl/_turns.py): the fork record that
  begins the turn's execution, id `turn_run_id(thread, step)` (a name-based uuid of the thread id and the
  turn's first step, known before the turn's execution exists), its kwargs the input; the turn carries the
  thread's checkpoints and so its decision chain, read whole from them once a thread has turns;
* each decision that resumed the run (kinds `resume`/`goto`), grouped by request id: the API sends each
  answer under a fresh uuid (or the caller's `Idempotency-Key`), which is the run's id;
* a decision the run refused after it was sent as a signal (an `enqueue` answer that no longer fit),
  under its request id, with status `error`.

The newest run takes its status from the thread's (running, or how it paused or ended); older ones
succeeded, but for an answer the run put back because its node failed on it (`error`). An answer sent
to wait (`enqueue`) is listed once the run applies it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import hitl
from hitl._limits import KEEP_DECISIONS
from hitl.types import Decision, StateSnapshot
from hitl.web import shapes

RUN_KINDS = ("resume", "goto")
"""Decision kinds that move a run on: each request carrying one is a LangGraph run."""

LAST_STATUS = {
    "running": "running",
    "interrupted": "success",  # LangGraph: a run that stopped at a question ran successfully
    "completed": "success",
    "failed": "error",
    "cancelled": "interrupted",  # LangGraph: a run cancelled with action 'interrupt'
}
"""The thread's hitl status -> its newest LangGraph run's status."""


def start_run_id(thread_id: str) -> str:
    """The start's run id: derived from the thread id, so it is known when the start returns at once."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hitl:{thread_id}:start"))


def turn_run_id(thread_id: str, step: int) -> str:
    """A next turn's run id: derived from the thread id and the step the turn begins at (its fork record's),
    so it is known when the turn's start returns at once; a thread's turns begin at ever later steps."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hitl:{thread_id}:turn:{step}"))


def is_turn(thread_id: str, d: Decision) -> bool:
    """The record that begins a next turn: a fork of the thread's own newest checkpoint, under its own id
    (a fork into a new thread names its source thread instead)."""
    return d.kind == "fork" and d.node == f"{thread_id}@{d.step}"


def decision_run_id(thread_id: str, d: Decision) -> str:
    """A decision's run id: its request id; one sent without (hitl's own UI or CLI) gets one from its place."""
    return d.request_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"hitl:{thread_id}:{d.seq}:{d.at.isoformat()}"))


@dataclass
class RunRecord:
    """One LangGraph run of a thread, as derived here."""

    run_id: str
    created_at: datetime
    status: str = "success"
    kwargs: dict[str, Any] = field(default_factory=dict)


def derive(snapshot: StateSnapshot, decisions: list[Decision], started: datetime | None = None) -> list[RunRecord]:
    """The thread's runs, oldest first, from its state and its decision records (oldest first); `started`:
    when its first run started, for a thread whose current execution is a later turn's."""
    thread = snapshot.run_id
    start = RunRecord(start_run_id(thread), started or snapshot.created_at, kwargs={"input": None, "command": None})
    runs = [start]
    by_id: dict[str, RunRecord] = {}
    answers: dict[str, dict[str, Any]] = {}
    for d in decisions:
        if is_turn(thread, d):
            runs.append(RunRecord(turn_run_id(thread, d.step), d.at, kwargs={"input": d.value, "command": None}))
            continue
        rid = decision_run_id(thread, d)
        record = by_id.get(rid)
        if record is None and d.kind in RUN_KINDS:
            record = by_id[rid] = RunRecord(rid, d.at, kwargs={"input": None, "command": {}})
            runs.append(record)
        if record is None:
            continue
        if d.kind == "resume":
            answers.setdefault(rid, {})[d.interrupt_id or ""] = d.value
        elif d.kind == "goto":
            record.kwargs["command"]["goto"] = d.value
        elif d.kind == "rollback":
            record.status = "error"
    for rid, given in answers.items():  # one answer as it was sent; several as LangGraph's {interrupt_id: value}
        by_id[rid].kwargs["command"]["resume"] = next(iter(given.values())) if len(given) == 1 else given
    for r in snapshot.refused:
        if r.request_id and r.request_id not in by_id and not r.rolled_back:
            runs.append(RunRecord(r.request_id, r.at, status="error", kwargs={"error": r.reason}))
    runs.sort(key=lambda r: r.created_at)
    newest = runs[-1]
    ended_while_paused = snapshot.status == "cancelled" and snapshot.paused_at is not None  # its last run had ended
    if (newest.status != "error" or snapshot.status == "running") and not ended_while_paused:
        newest.status = LAST_STATUS[snapshot.status]
    return runs


async def thread_runs(run: hitl.Run, snapshot: StateSnapshot) -> list[RunRecord]:
    """The thread's runs, oldest first. The state keeps its newest decisions (of its current execution only:
    a next turn is a new one); past that many, or once the thread has turns, the whole decision chain is read
    from the run's checkpoints, and a turned thread's first run started at its oldest checkpoint."""
    decisions = snapshot.decisions
    turned = any(is_turn(snapshot.run_id, d) for d in decisions)
    if len(decisions) >= KEEP_DECISIONS or turned:
        decisions = (await run.audit()).records
    started = None
    if turned:
        oldest = (await run.get_state_history())[-1:]
        started = oldest[0].created_at if oldest else None
    return derive(snapshot, list(decisions), started)


def find(runs: list[RunRecord], run_id: str) -> RunRecord | None:
    return next((r for r in runs if r.run_id == run_id), None)


def record(snapshot: StateSnapshot, r: RunRecord, runs: list[RunRecord]) -> dict[str, Any]:
    """A run in LangGraph's Run shape; its `updated_at` is when the next run began (or the thread's last change)."""
    later = [x.created_at for x in runs if x.created_at > r.created_at]
    return shapes.run(
        snapshot.run_id,
        snapshot.graph,
        r.status,
        r.run_id,
        created_at=r.created_at,
        updated_at=min(later) if later else snapshot.updated_at,
        kwargs=r.kwargs,
    )
