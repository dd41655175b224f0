"""`Execution.watch` takes a longer history under the same workflow clock for a copy a query ran ahead. Core's
workflow clock never goes back (it keeps the latest of the task start times it has seen), so a workflow task
whose start time reads earlier than the one before also shows a longer history under the same clock. Temporal
does not promise start times that only go forward: they are the clock of whichever history host owns the run
then (a shard moved, a failover), as the timer check this replaced allowed for (a second's slack)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from hitl.worker import workflow_runner
from hitl.workflows import GraphWorkflow

FIXTURE = Path(__file__).parent / "histories" / "approval-1.json"
SKEW = timedelta(milliseconds=30)
"""How far the host that started one workflow task reads behind the one that started the task before."""


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _read(stamp: str) -> datetime:
    return datetime.strptime(stamp[:26] + "Z", "%Y-%m-%dT%H:%M:%S.%fZ")


async def test_a_workflow_task_started_by_a_host_whose_clock_reads_a_little_behind_replays() -> None:
    """A recorded history (`tests/histories`), with the third workflow task's start stamped SKEW before the
    second's (every other event as recorded): it must replay, as a worker with no copy of the run replays it."""
    data = json.loads(await asyncio.to_thread(FIXTURE.read_text))
    events = data["history"]["events"]
    started = [e for e in events if e["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_STARTED"]
    assert len(started) >= 3
    started[2]["eventTime"] = _stamp(_read(started[1]["eventTime"]) - SKEW)
    result = await Replayer(
        workflows=[GraphWorkflow], data_converter=pydantic_data_converter, workflow_runner=workflow_runner()
    ).replay_workflow(WorkflowHistory.from_json(data["workflow_id"], data["history"]), raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
