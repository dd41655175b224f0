"""hitl workers run GraphWorkflow outside Temporal's sandbox (README, Benchmarks):
the strict-sandbox replay in test_replay.py is the determinism check, and
`create_worker(sandboxed=True)` still serves runs for anyone who wants the sandbox."""

from __future__ import annotations

import uuid

import pytest
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import hitl
from hitl.server import DevServer
from hitl.types import GraphValidationError
from hitl.worker import create_worker
from tests import hitl_graphs
from tests.helpers import wait_for


@pytest.mark.parametrize("sandboxed", [False, True])
async def test_a_run_pauses_and_finishes_on_either_runner(server: DevServer, sandboxed: bool) -> None:
    queue = f"hitl-runner-{uuid.uuid4().hex[:8]}"
    own = await hitl.connect(server.address, task_queue=queue, graphs=hitl_graphs.GRAPHS, identity="tester")
    worker = create_worker(own.temporal, hitl_graphs.GRAPHS, task_queue=queue, sandboxed=sandboxed)
    runner = worker.config()["workflow_runner"]
    assert isinstance(runner, SandboxedWorkflowRunner if sandboxed else UnsandboxedWorkflowRunner)
    async with worker:
        run = await own.start("review", {})
        await wait_for(run, "interrupted")
        done = await run.resume("approve")
    assert done.status == "completed"
    assert done.values["log"] == ["write", "review:approve:first draft", "publish"]


async def test_temporal_worker_options_pass_through_and_a_typo_is_refused(server: DevServer) -> None:
    """Operators tune pollers and slots on a cluster: any Temporal worker keyword reaches the worker;
    a misspelt one, or one hitl sets itself, is one line before any worker starts."""
    queue = f"hitl-options-{uuid.uuid4().hex[:8]}"
    own = await hitl.connect(server.address, task_queue=queue, graphs=hitl_graphs.GRAPHS, identity="tester")
    worker = create_worker(
        own.temporal, hitl_graphs.GRAPHS, task_queue=f"{queue}-unstarted", max_concurrent_workflow_task_polls=7
    )
    assert worker.config()["max_concurrent_workflow_task_polls"] == 7
    async with own.worker(max_concurrent_activity_task_polls=3) as served:
        assert served.config()["max_concurrent_activity_task_polls"] == 3
        run = await own.start("review", {})
        await wait_for(run, "interrupted")
        assert (await run.resume("approve")).status == "completed"

    with pytest.raises(GraphValidationError) as typo:
        create_worker(own.temporal, hitl_graphs.GRAPHS, task_queue=queue, max_concurrent_workflow_task_poll=7)
    assert str(typo.value) == (
        "'max_concurrent_workflow_task_poll' is not an option of Temporal's worker; did you mean "
        "'max_concurrent_workflow_task_polls'? see temporalio.worker.Worker for the accepted ones"
    )
    with pytest.raises(GraphValidationError, match="sets the worker option 'workflows' itself"):
        create_worker(own.temporal, hitl_graphs.GRAPHS, task_queue=queue, workflows=[])
