"""A subgraph's questions as its parent run holds them: the parent answers them and may claim them."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from hitl.protocol.wire import (
    TO_PARENT,
    CallOutcome,
    ChildPaused,
    GraphCall,
    GraphSpec,
    NodeResult,
    PendingTask,
    Phase,
    RunState,
)
from hitl.types import END, Interrupt
from hitl.workflows.core import answers, records


def reported(
    run: RunState, msg: ChildPaused, tasks: list[PendingTask], passed_down: set[str], now: datetime
) -> list[tuple[str, str]]:
    """A subgraph's run (carried out by `tasks`) reported the questions it waits on. `passed_down` are those
    this run answered and passed down that the subgraph has yet to apply (updated here): they stay answered.
    Answers the subgraph put back are recorded here too; returns the lines for their waiting callers."""
    ids = {i.id for i in msg.interrupts}
    if msg.rolled_back:  # answers put back: the subgraph asks them again, so this run offers them again
        passed_down -= ids
    passed_down &= ids  # those it leaves out it has applied
    told: list[tuple[str, str]] = []
    for task in tasks:
        held = {i.id: i for i in task.interrupts if i.claimed_by is not None}
        task.interrupts = [_surfaced(task, i, held.get(i.id)) for i in msg.interrupts if i.id not in passed_down]
        if msg.rolled_back:  # the subgraph put answers back: so does this run's record
            told += answers.note_rollback(run, task, f"subgraph '{task.node}': {'; '.join(msg.rolled_back)}", now)
        if msg.interrupts and not msg.going_on:  # asking (again): the answers so far are settled
            task.answered = []
    records.guard_with(run, msg.interrupts)
    if run.phase is Phase.ASKING and not records.pending(run):
        run.phase = Phase.RESUMED  # the subgraph went on by itself (a deadline)
    return told


def _surfaced(task: PendingTask, asked: Interrupt, held: Interrupt | None) -> Interrupt:
    """The subgraph's question as this run shows it: under the subgraph's node, with the claim this run's copy
    holds (claims live here; the subgraph's run knows none)."""
    claim = held or asked
    return dataclasses.replace(
        asked, node=f"{task.node}/{asked.node}", claimed_by=claim.claimed_by, claimed_until=claim.claimed_until
    )


def result_of(
    spec: GraphSpec, node: str, child: GraphSpec, final: dict[str, Any]
) -> tuple[NodeResult | None, str | None]:
    """The subgraph node's result from its run's result: the shared keys of its final values, or what one of
    its nodes handed up with `Command.PARENT` (an update for this graph's keys and a goto to its nodes),
    checked against this graph; else why not, in one line."""
    up = final.get(TO_PARENT) if TO_PARENT not in child.channels else None
    if up is None:
        return NodeResult(writes={k: v for k, v in final.items() if k in spec.channels}), None
    where = f"subgraph '{node}' handed its parent Command(graph=Command.PARENT"
    unknown = [g for g in up.get("goto", []) if g != END and g not in spec.node_names]
    if unknown:
        return (
            None,
            f"{where}, goto={unknown}); goto must name a node of graph '{spec.name}' ({', '.join(spec.node_names)}) or END",
        )
    keys = [k for k in up.get("update", {}) if k not in spec.channels]
    if keys:
        return None, f"{where}, update of {keys}); graph '{spec.name}' has the keys {sorted(spec.channels)}"
    return NodeResult(writes=dict(up.get("update", {})), goto=list(up.get("goto", []))), None


def call_ended(task: PendingTask, call: GraphCall, final: dict[str, Any] | None, error: str | None) -> None:
    """The graph the task's node called (`call`) ended, with its final values or `error`: how it ended goes to
    the node's next run, and the questions it surfaced here and the answers passed down to it are settled. A
    `Command.PARENT` from inside it is an error the node sees: only a graph added as a node hands its parent one."""
    if final is not None and TO_PARENT in final and TO_PARENT not in call.graph.channels:
        final, error = (
            None,
            (
                f"a node of graph '{call.graph.name}' returned Command(graph=Command.PARENT), which a graph called with "
                "invoke() cannot hand its caller; add the graph as a node (add_node) to hand its parent a Command"
            ),
        )
    task.called.append(CallOutcome(values=final, error=None if final is not None else error, graph=call.graph.name))
    task.interrupts, task.answered = [], []
