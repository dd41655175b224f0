"""Decisions about the run as a whole: a cancel, and an edit that withdraws the questions under it."""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime

from hitl._protocol import CancelRequest, RunState
from workflows.core import records


def cancel(run: RunState, req: CancelRequest, now: datetime) -> str:
    """Cancel the run: recorded, every pending question retired. Returns the run's error line."""
    records.remember(run, req, now)
    records.record(run, "cancel", req, now, req.reason or None)
    records.retire_all(run, f"cancelled with the run by {req.identity} at {records.when(now)}")
    return f"cancelled by {req.identity}" + (f": {req.reason}" if req.reason else "")


def withdraw(run: RunState, subgraphs: Container[int], reason: str) -> None:
    """The run's own pending questions are dropped (retired for `reason`): their nodes run again and ask again."""
    for task in run.tasks:
        if id(task) not in subgraphs and task.interrupts:
            for interrupt in task.interrupts:
                records.retire(run, interrupt.id, reason)
            task.interrupts = []
