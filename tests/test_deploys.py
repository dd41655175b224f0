"""A paused run survives a deploy: the worker is replaced by one running new code."""

from __future__ import annotations

import asyncio

import pytest

import hitl
from tests.deploy import v1
from tests.helpers import WorkerProcess, wait_for


async def _paused_on_v1(client: hitl.Client, worker: WorkerProcess) -> hitl.Run:
    other = hitl.Client(client.temporal, task_queue=worker.task_queue, graphs=[v1.graph])
    await worker.start("tests.deploy.v1:graph").polling(client)
    run = await other.start("deploy", {})
    await wait_for(run, "interrupted")
    worker.kill()
    return run


async def test_edited_node_body_is_used_after_the_deploy(client: hitl.Client, worker_process: WorkerProcess) -> None:
    run = await _paused_on_v1(client, worker_process)
    await worker_process.start("tests.deploy.v2:graph").polling(client)
    done = await asyncio.wait_for(run.resume("yes"), 60)
    assert done.status == "completed"
    assert done.values["published"] == "published by v2: v1 draft"
    # The run keeps the topology it started with: v2's new node is not part of it.
    assert "audited" not in done.values


async def test_removed_node_fails_the_run_with_a_message_naming_it(
    client: hitl.Client, worker_process: WorkerProcess
) -> None:
    run = await _paused_on_v1(client, worker_process)
    await worker_process.start("tests.deploy.v3:graph").polling(client)
    state = await asyncio.wait_for(run.resume("yes"), 60)
    assert state.status == "failed"
    assert "node 'publish' is no longer in graph 'deploy' on this worker" in (state.error or "")
    with pytest.raises(hitl.RunFailedError, match="no longer in graph 'deploy'"):
        await asyncio.wait_for(run.result(), 30)
