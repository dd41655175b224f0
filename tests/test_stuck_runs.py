"""A run whose workflow task keeps failing is named as such at once (hitl/client/stuck.py): reading it says
what failed its task and where to look, instead of timing out half a minute later as a "slow worker"."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio import workflow
from temporalio.worker import Worker

import hitl
from hitl.protocol.wire import WORKFLOW_NAME
from tests.helpers import cli, one_line_error


@workflow.defn(name=WORKFLOW_NAME, sandboxed=False)
class CannotTakeTheRun:
    """A worker's code that fails every workflow task of the run (as code that cannot replay it would)."""

    @workflow.run
    async def run(self, inp: Any) -> None:
        raise RuntimeError("boom: this worker's code cannot take the run")


async def _attempts(client: hitl.Client, run_id: str) -> int:
    described = await client.temporal.get_workflow_handle(run_id).describe()
    return described.raw_description.pending_workflow_task.attempt


async def test_reading_a_run_whose_workflow_task_keeps_failing_says_so_and_where_to_look(client: hitl.Client) -> None:
    queue = f"stuck-{uuid.uuid4().hex[:8]}"
    run_id = f"stuck-{uuid.uuid4().hex[:8]}"
    async with Worker(client.temporal, task_queue=queue, workflows=[CannotTakeTheRun]):
        await client.temporal.start_workflow(WORKFLOW_NAME, {}, id=run_id, task_queue=queue)
        for _ in range(100):  # Temporal retries a failed workflow task at once, then backs off
            if await _attempts(client, run_id) >= 2:
                break
            await asyncio.sleep(0.1)
        own = hitl.Client(client.temporal, task_queue=queue, identity="ann")
        with pytest.raises(hitl.HitlError) as e:
            await asyncio.wait_for(own.get_run(run_id).get_state(), 20)
        line = str(e.value)
        assert line.startswith(f"run '{run_id}' is stuck: its workflow task has failed ")
        assert "(boom: this worker's code cannot take the run)" in line
        assert f"temporal workflow reset --workflow-id {run_id} --type LastWorkflowTask" in line
        assert client.ui_url(run_id) in line and "\n" not in line
        error = one_line_error(await cli(client, "state", run_id, task_queue=queue))
        assert error.startswith(f"error: run '{run_id}' is stuck") and "boom" in error
        await client.temporal.get_workflow_handle(run_id).terminate("test over")
