"""What one execution keeps by a task's id() must not outlive the task: CPython gives a freed object's id to
the next object, and a workflow that mistook a new task for an old one would act differently on replay."""

from __future__ import annotations

import gc
import weakref
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

from hitl.protocol.wire import PendingTask
from hitl.workflows.execution import Execution


class _Runner:
    """Stands for the asyncio task running a node (only `cancel` is called)."""

    cancelled = False

    def cancel(self) -> bool:
        self.cancelled = True
        return True


def test_a_stopped_rerun_keeps_its_task_so_no_new_task_takes_its_id() -> None:
    live = Execution(updated_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    task = PendingTask(node="review")
    runner = _Runner()
    live.runners[id(task)] = runner  # type: ignore[assignment]
    run: Any = SimpleNamespace(tasks=[task])
    live.stop_reruns(run, ["review"], failed=None)
    assert runner.cancelled and id(task) in live.stopped
    freed = weakref.ref(task)
    del task
    run.tasks = []
    gc.collect()
    assert freed() is not None, "the stopped task was freed while its id is still listed as stopped"
