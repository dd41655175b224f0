"""hitl workers run GraphWorkflow outside Temporal's sandbox (README, Benchmarks):
the strict-sandbox replay in test_replay.py is the determinism check, and
`create_worker(sandboxed=True)` still serves runs for anyone who wants the sandbox."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.worker import PollerBehaviorAutoscaling, PollerBehaviorSimpleMaximum, UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import hitl
from hitl.cli import _worker_options, build_parser
from hitl.server import DevServer
from hitl.types import GraphValidationError, InvalidInputError
from hitl.worker import create_worker
from tests import graphs, hitl_graphs
from tests.helpers import WorkerProcess, wait_for


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
    with pytest.raises(GraphValidationError) as failing:  # it would end a run on what Temporal should retry
        create_worker(own.temporal, hitl_graphs.GRAPHS, task_queue=queue, workflow_failure_exception_types=[Exception])
    assert str(failing.value).startswith(
        "create_worker does not take the worker option 'workflow_failure_exception_types': hitl's workflow ends a run"
    )


async def test_hitl_worker_tuning_flags_become_temporal_worker_settings(server: DevServer) -> None:
    """`hitl worker --pollers/--nodes-at-once/--workflow-tasks-at-once` reach Temporal's worker as the
    settings they name; flags left out keep hitl's defaults."""
    parser = build_parser()
    tuned = _worker_options(
        parser.parse_args(["worker", "--pollers", "3", "--nodes-at-once", "7", "--workflow-tasks-at-once", "4"])
    )
    auto = _worker_options(parser.parse_args(["worker", "--pollers", "auto"]))
    assert _worker_options(parser.parse_args(["worker"])) == {}
    own = await hitl.connect(server.address, graphs=hitl_graphs.GRAPHS)
    config, auto_config = (
        create_worker(own.temporal, hitl_graphs.GRAPHS, task_queue=f"hitl-flags-{uuid.uuid4().hex[:8]}", **o).config()
        for o in (tuned, auto)
    )
    assert config["max_concurrent_activities"] == 7 and config["max_concurrent_workflow_tasks"] == 4
    assert config["workflow_task_poller_behavior"] == PollerBehaviorSimpleMaximum(3)
    assert config["activity_task_poller_behavior"] == PollerBehaviorSimpleMaximum(3)
    assert isinstance(auto_config["workflow_task_poller_behavior"], PollerBehaviorAutoscaling)
    assert isinstance(auto_config["activity_task_poller_behavior"], PollerBehaviorAutoscaling)


def test_the_sticky_queue_wait_is_hitl_workers_only_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """HITL_STICKY_QUEUE_SECONDS (set by the tests for the workers they kill) becomes Temporal's sticky-queue
    timeout; unset, Temporal's default stands; a value that is no positive number of seconds is refused in one line."""
    parser = build_parser()
    monkeypatch.setenv("HITL_STICKY_QUEUE_SECONDS", "1.5")
    settings = _worker_options(parser.parse_args(["worker"]))
    assert settings == {"sticky_queue_schedule_to_start_timeout": timedelta(seconds=1.5)}
    for bad in ("0", "-1", "soon", "nan", "4000"):
        monkeypatch.setenv("HITL_STICKY_QUEUE_SECONDS", bad)
        with pytest.raises(InvalidInputError) as refused:
            _worker_options(parser.parse_args(["worker"]))
        assert str(refused.value) == (
            f"HITL_STICKY_QUEUE_SECONDS takes seconds, more than 0 and at most 3600; got {bad!r}"
        )
    monkeypatch.delenv("HITL_STICKY_QUEUE_SECONDS")
    assert _worker_options(parser.parse_args(["worker"])) == {}


async def test_a_tuned_hitl_worker_process_serves_runs(client: hitl.Client, worker_process: WorkerProcess) -> None:
    """The flags at their smallest accepted values are ones Temporal's worker runs with (its core
    checks some of them only when the worker starts): a run started on it pauses and finishes."""
    own = hitl.Client(client.temporal, task_queue=worker_process.task_queue, graphs=graphs.GRAPHS, identity="tester")
    await worker_process.start(
        flags=["--pollers", "2", "--nodes-at-once", "1", "--workflow-tasks-at-once", "2", "--max-cached-runs", "1"]
    ).polling(client)
    run = await own.start("review", {})
    await wait_for(run, "interrupted", timeout=60)
    assert (await run.resume("approve")).status == "completed"
