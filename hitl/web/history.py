"""A thread's history as LangGraph Server lists it, from a run's checkpoints.

LangGraph's history begins with an input checkpoint (step -1: the state before the input, `next`
['__start__'], its one task `__start__` whose result is the input); hitl's run begins at the
checkpoint with the input applied (step 0), which is LangGraph's first `loop` checkpoint. So a run
whose oldest kept checkpoint is its input gets that step -1 entry here, computed from the graph's
channel defaults (no query, nothing stored). A task's `result` is what its node wrote, read off
the next `loop` checkpoint; the newest entry of a paused run carries its pending questions in
`tasks[].interrupts` and `interrupts`, so a client that reloads reads the question from history.
A thread's next turn (hitl/client/turns.py) begins with a fork checkpoint of the thread itself: shown as that
run's input checkpoint (`__start__` next), and the checkpoint that applied the input as its first `loop`;
both keep hitl's step number (the turn's first step), so the two share a checkpoint id.
"""

from __future__ import annotations

from typing import Any

from hitl.graph import CompiledGraph
from hitl.protocol.reducers import initial_values
from hitl.types import Checkpoint, StateSnapshot
from hitl.web import shapes

INPUT_STEP = -1
"""The step of the synthesized input checkpoint (LangGraph's)."""


def entries(
    snapshot: StateSnapshot, graph: CompiledGraph | None, checkpoints: list[Checkpoint]
) -> list[dict[str, Any]]:
    """Every history entry, newest first: the run's checkpoints, then the input checkpoint where it began."""
    out = []
    for i, c in enumerate(checkpoints):
        parent = checkpoints[i + 1].step if i + 1 < len(checkpoints) else _input_parent(c)
        entry = shapes.checkpoint_state(snapshot.run_id, snapshot.graph, c, parent, _results(checkpoints[:i]))
        if i == 0 and c.step == snapshot.step and snapshot.status == "interrupted":
            entry["tasks"] = shapes.tasks(snapshot)
            entry["interrupts"] = [shapes.interrupt(x) for x in snapshot.interrupts]
        if c.source == "input":
            entry["metadata"]["source"] = "loop"  # LangGraph's step 0; its "input" is the entry below
        if turn_started(snapshot.run_id, c):
            _as_turn_input(entry, c, checkpoints[i - 1] if i else None)
        elif i + 1 < len(checkpoints) and turn_started(snapshot.run_id, checkpoints[i + 1]):
            entry["metadata"]["source"] = "loop"  # the turn's input applied: LangGraph's first loop of the run
        out.append(entry)
    oldest = checkpoints[-1] if checkpoints else None
    if oldest is not None and oldest.source == "input" and graph is not None:
        out.append(_input_entry(snapshot, graph, oldest))
    return out


def turn_started(thread_id: str, c: Checkpoint) -> bool:
    """The checkpoint a thread's next turn began at (hitl/client/turns.py: a fork of the thread itself)."""
    return c.source == "fork" and any(
        d.kind == "fork" and (d.node or "").startswith(f"{thread_id}@") for d in c.decisions
    )


def _as_turn_input(entry: dict[str, Any], c: Checkpoint, applied: Checkpoint | None) -> None:
    """A turn's first checkpoint shown as LangGraph's input checkpoint of that run: `__start__` next, the
    input its task's result (read off the checkpoint that applied it)."""
    given = ((applied.writes or {}) if applied is not None else {}).get("__fork__")
    entry["next"] = ["__start__"]
    entry["tasks"] = [{**shapes.task_entry("__start__", c.step), "result": given}]
    entry["metadata"].update(source="input", writes={"__start__": given})


def _input_parent(c: Checkpoint) -> int | None:
    return INPUT_STEP if c.source == "input" else None


def _results(newer: list[Checkpoint]) -> dict[str, Any]:
    """What each task of a checkpoint wrote: the writes of the nearest newer `loop` checkpoint."""
    for c in reversed(newer):
        if c.source == "loop":
            return dict(c.writes or {})
    return {}


def _input_entry(snapshot: StateSnapshot, graph: CompiledGraph, first: Checkpoint) -> dict[str, Any]:
    run_input = (first.writes or {}).get("__input__")
    return {
        "values": initial_values(graph.spec().channels),
        "next": ["__start__"],
        **shapes.checkpoint_ids(snapshot.run_id, INPUT_STEP, None),
        "metadata": {
            **shapes.metadata(snapshot.graph),
            "step": INPUT_STEP,
            "source": "input",
            "writes": {"__start__": run_input},
            "thread_id": snapshot.run_id,
            "decisions": [],
            "values_dropped": False,
        },
        "created_at": shapes.iso(first.created_at),
        "tasks": [{**shapes.task_entry("__start__", INPUT_STEP), "result": run_input}],
        "interrupts": [],
    }


def parent_of(step: int, checkpoints: list[Checkpoint]) -> int | None:
    """The checkpoint before the newest one at `step` (the input checkpoint for the run's first)."""
    older = [c for c in checkpoints if c.step < step]
    if older:
        return max(c.step for c in older)
    first = [c for c in checkpoints if c.step == step]
    return INPUT_STEP if first and first[-1].source == "input" else None
