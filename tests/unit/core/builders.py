"""Small runs for the decision core's tests: a run paused on the questions given, and a fixed clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hitl.protocol.wire import InterruptRequest, PendingTask, RunState
from hitl.types import Interrupt

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def later(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def ask(id: str, node: str = "n", **fields: Any) -> Interrupt:
    return Interrupt(id=id, value=f"question {id}", node=node, **fields)


def task(node: str, *questions: Interrupt, **defaults: Any) -> PendingTask:
    """A task asking `questions`; `defaults` (by question id) are what a deadline answers."""
    asked = PendingTask(node=node, interrupts=list(questions))
    for q in questions:
        asked.defaults[q.id] = InterruptRequest(index=0, value=q.value, **defaults.get(q.id, {}))
    return asked


def run(*tasks: PendingTask, **fields: Any) -> RunState:
    return RunState(created_at=NOW, tasks=list(tasks), **fields)
