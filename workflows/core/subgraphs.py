"""A subgraph's questions as its parent run holds them: the parent answers them and may claim them."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from hitl.protocol.wire import ChildPaused, PendingTask, Phase, RunState
from hitl.types import Interrupt
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
