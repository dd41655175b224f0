"""A query that runs a copy of the run ahead of its history (docs/durability.md): a query sent while no worker
polls is handed, with events no workflow task has taken, to a fresh worker, whose copy runs ahead with a stale
clock. The run fails that copy (`Execution.watch`); each test makes one run ahead through a node's result, a
timer, a signal, and checks that the decision is applied once and the history replays. Also what must not be
taken for such a copy (a local node longer than a workflow task's heartbeat)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

import hitl
from hitl.activities import GraphActivities
from hitl.worker import create_worker
from hitl.workflows.failures import RanAhead
from tests import graphs
from tests.helpers import WorkerProcess, assert_replays, wait_for


async def test_a_decision_on_a_pause_a_query_ran_ahead_to_lands_after_the_pause_is_recorded(
    client: hitl.Client, worker_process: WorkerProcess, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A query sent while no worker polls workflow tasks waits in Temporal; the first worker to take it, with
    no copy of the run, gets it with events no workflow task has taken yet (here: the node that asks has
    asked), so its copy runs ahead, its commands are kept for the next workflow task, and the query would
    show the pause before it is in the history. An answer sent at once on that view would be accepted in the
    task that records the pause, after the pause's commands; replayed, Temporal puts the answer first, and no
    worker could replay the run again (the failure the chaos test above found). The run fails that copy
    (nothing of it kept), the client asks again and is answered once the pause is recorded: the answer is
    applied once, after the pause, and the history replays."""
    queue, run, seen = await _ahead(client, worker_process, "gated", tmp_path / "gate")
    async with create_worker(client.temporal, graphs.GRAPHS, task_queue=queue):
        assert (await asyncio.wait_for(seen, 60)).status == "interrupted"
        _assert_ran_ahead(caplog)
        done = await asyncio.wait_for(run.resume("yes"), 60)
    assert done.values["trail"] == ["asked:yes"]
    assert [(d.value, d.identity) for d in done.decisions] == [("yes", "erin")]
    events = client.temporal.get_workflow_handle(run.run_id).fetch_history_events()
    kinds = [EventType.Name(e.event_type) async for e in events]
    accepted = kinds.index("EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED")
    paused = max(i for i, k in enumerate(kinds[:accepted]) if k == "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES")
    assert "EVENT_TYPE_WORKFLOW_TASK_STARTED" in kinds[paused:accepted], "the answer landed with the pause"
    await assert_replays(client, run.run_id)


async def test_a_timer_a_query_ran_ahead_of_the_history_is_taken_as_a_replay_takes_it(
    client: hitl.Client, worker_process: WorkerProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """The same with the ladder's timer, fired while every worker was down: the copy that runs ahead takes
    the timer with the clock of its last real workflow task, so a step taken there would differ from the one
    a replay takes (a history no worker could replay). The run sees its clock before the timer's time and
    fails that copy; the workflow task after it replays the run, and the answer and the timer are taken in the
    order a replay takes them."""
    queue = worker_process.task_queue
    own = hitl.Client(client.temporal, task_queue=queue, graphs=graphs.GRAPHS, identity="alice")
    await worker_process.start().polling(client)
    run = await own.start("ladder_widen", {})
    await wait_for(run, "interrupted")
    worker_process.kill()
    fires = await _timer_fires(client, run.run_id)  # the ladder widens 2 s after it asked
    seen = asyncio.create_task(run.get_state())  # waits in Temporal: no worker polls
    await asyncio.sleep(max(0.0, fires - time.time() + 0.3))  # the timer fires; its task waits on the dead
    async with create_worker(client.temporal, graphs.GRAPHS, task_queue=queue):  # worker's own queue (2 s)
        assert (await asyncio.wait_for(seen, 60)).status == "interrupted"  # asked again: answered from history
        _assert_ran_ahead(caplog)
        done = await asyncio.wait_for(run.resume("approve"), 60)
    assert done.values == {"answer": "approve"}
    assert [(d.value, d.identity) for d in done.decisions if d.kind != "escalate"] == [("approve", "alice")]
    await assert_replays(client, run.run_id)


def _assert_ran_ahead(caplog: pytest.LogCaptureFixture) -> None:
    """The worker failed a copy of the run that a query ran ahead of its history (else the test proved nothing)."""
    failed = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], RanAhead)]
    assert failed, "no query ran a copy of the run ahead of its history"


async def _ahead(
    client: hitl.Client,
    worker_process: WorkerProcess,
    graph: str,
    gate: Path,
    before_kill: Callable[[hitl.Run], Awaitable[None]] | None = None,
) -> tuple[str, hitl.Run, asyncio.Task[hitl.StateSnapshot]]:
    """A run of `graph` (a gated node that asks) whose query will run ahead: its task queue, the run, and the
    query waiting in Temporal. The workflow worker is killed while the node waits at its gate; the node runs
    again on a worker of nodes only (2 s timeout); the query is sent while no worker polls workflow tasks,
    then the gate opens, and the task the node's result makes waits on the dead worker's own queue (2 s).
    Temporal offers the query to any worker first: the next one to start, with no copy of the run."""
    queue = worker_process.task_queue
    own = hitl.Client(client.temporal, task_queue=queue, graphs=graphs.GRAPHS, identity="erin")
    await worker_process.start().polling(client)
    run = await own.start(graph, {"gate": str(gate)})
    running = Path(f"{gate}.running")
    while not running.exists():  # noqa: ASYNC110, ASYNC240 - a file the node writes
        await asyncio.sleep(0.05)
    if before_kill is not None:
        await before_kill(run)  # something more the dead worker's last workflow tasks take
    worker_process.kill()
    async with Worker(client.temporal, task_queue=queue, activities=GraphActivities(graphs.GRAPHS).all()):
        while running.read_text() != str(os.getpid()):  # noqa: ASYNC110, ASYNC240
            await asyncio.sleep(0.05)
        seen = asyncio.create_task(run.get_state())
        await asyncio.sleep(0.3)
        gate.touch()  # noqa: ASYNC240
    return queue, run, seen


async def _timer_fires(client: hitl.Client, run_id: str) -> float:
    """When the run's newest timer fires (epoch seconds), from its TIMER_STARTED event."""
    fires = 0.0
    async for e in client.temporal.get_workflow_handle(run_id).fetch_history_events():
        if e.HasField("timer_started_event_attributes"):
            timeout = e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
            fires = e.event_time.ToDatetime().replace(tzinfo=UTC).timestamp() + timeout.total_seconds()
    return fires


async def test_a_local_node_longer_than_a_workflow_task_is_not_taken_for_a_copy_run_ahead(
    client: hitl.Client, tmp_path: Path
) -> None:
    """Temporal keeps a workflow task open while a local activity runs by completing it and starting another
    every 8 s: the history grows while the run waits. Were that taken for a copy a query ran ahead, the task
    would fail and the node run again, forever. Queries meanwhile, then a question: the node runs once."""
    runs = tmp_path / "runs"
    run = await client.start("long_local", {"gate": str(runs)})
    for _ in range(40):  # queries while the node runs (9 s), until it asks
        if (await run.get_state()).status == "interrupted":
            break
        await asyncio.sleep(0.5)
    await wait_for(run, "interrupted")
    done = await asyncio.wait_for(run.resume("yes"), 60)
    assert done.values["trail"] == ["long", "asked:yes"]
    assert runs.read_text() == "ran\n", "the local node ran again"  # noqa: ASYNC240 - the node's own file
    events = client.temporal.get_workflow_handle(run.run_id).fetch_history_events()
    kinds = [EventType.Name(e.event_type) async for e in events]
    marker = kinds.index("EVENT_TYPE_MARKER_RECORDED")
    assert kinds[:marker].count("EVENT_TYPE_WORKFLOW_TASK_STARTED") >= 2, "no heartbeat: the node was too short"
    await assert_replays(client, run.run_id)


async def test_a_decision_on_a_pause_that_took_an_overdue_step_at_once_is_taken(client: hitl.Client) -> None:
    """The step pauses with a reminder already overdue (a node beside the one that asked ran longer): the
    pause's wait for it has no time left, so no timer is set, and the reminder is taken in the same workflow
    task; the next step of the ladder is an hour away. Nothing more happens in the run's history until a
    decision: it must be taken at once."""
    run = await client.start("overdue", {})
    paused = await wait_for(run, "interrupted")
    assert [d.kind for d in paused.decisions] == ["escalate"], "the reminder was not taken as the run paused"
    done = await asyncio.wait_for(run.resume("yes"), 60)
    assert sorted(done.values["trail"]) == ["asked:yes", "slow"]
    await assert_replays(client, run.run_id)


async def test_a_question_a_query_ran_ahead_to_is_timed_as_a_replay_times_it(
    client: hitl.Client, worker_process: WorkerProcess, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As the test of a pause a query saw before it was recorded, with an escalation ladder: the copy that runs
    ahead stamps the question's steps with the clock of its last real workflow task, a replay with that of
    the task that recorded the question; when the first step's timer fires, the two copies take different
    steps (and call the notify hook a different number of times). The run fails that copy, so the question is
    stamped only in a real workflow task, and the history replays."""
    queue, run, seen = await _ahead(client, worker_process, "gated_ladder", tmp_path / "gate")
    async with create_worker(client.temporal, graphs.GRAPHS, task_queue=queue):
        assert (await asyncio.wait_for(seen, 60)).status == "interrupted"
        _assert_ran_ahead(caplog)
        for _ in range(100):  # both short reminders fall due
            state = await run.get_state()
            if sum(d.kind == "escalate" for d in state.decisions) >= 2:
                break
            await asyncio.sleep(0.1)
        done = await asyncio.wait_for(run.resume("yes"), 60)
    assert done.values["trail"] == ["asked:yes"]
    await assert_replays(client, run.run_id)


async def test_a_signalled_decision_on_a_pause_a_query_ran_ahead_to_replays(
    client: hitl.Client, worker_process: WorkerProcess, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As the test of a pause a query ran ahead to, with the answer sent as a signal (`send_resume`), which no
    validator can hold back, to a graph with a notify hook (it gives commands as the run pauses): it must be
    applied once and the history must replay."""
    queue, run, seen = await _ahead(client, worker_process, "gated_notify", tmp_path / "gate")
    async with create_worker(client.temporal, graphs.GRAPHS, task_queue=queue):
        assert (await asyncio.wait_for(seen, 60)).status == "interrupted"
        _assert_ran_ahead(caplog)
        await run.send_resume("yes")
        done = await asyncio.wait_for(run.result(), 60)
    assert done["trail"] == ["asked:yes"]
    await assert_replays(client, run.run_id)


async def _unhandled_signal_taken(client: hitl.Client, run: hitl.Run) -> None:
    """Send the run a signal no handler takes (Temporal buffers it) and wait until a workflow task took it."""
    handle = client.temporal.get_workflow_handle(run.run_id)
    await handle.signal("no_such_signal", "hello")
    for _ in range(200):
        kinds = [EventType.Name(e.event_type) async for e in handle.fetch_history_events()]
        signalled = kinds.index("EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED")
        if "EVENT_TYPE_WORKFLOW_TASK_COMPLETED" in kinds[signalled:]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no workflow task took the signal")


async def test_a_signal_no_handler_takes_does_not_hide_a_copy_a_query_ran_ahead(
    client: hitl.Client, worker_process: WorkerProcess, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As the test of a decision on a pause a query ran ahead to, with one more workflow task before the worker
    dies: one that takes a signal no handler takes (anyone may send a run one). That task wakes no waiter, so
    no condition (and no `watch`) is asked in it; the copy that runs ahead must still be failed."""
    queue, run, seen = await _ahead(
        client, worker_process, "gated", tmp_path / "gate", before_kill=lambda r: _unhandled_signal_taken(client, r)
    )
    async with create_worker(client.temporal, graphs.GRAPHS, task_queue=queue):
        assert (await asyncio.wait_for(seen, 60)).status == "interrupted"
        done = await asyncio.wait_for(run.resume("yes"), 60)
    assert done.values["trail"] == ["asked:yes"]
    events = client.temporal.get_workflow_handle(run.run_id).fetch_history_events()
    kinds = [EventType.Name(e.event_type) async for e in events]
    accepted = kinds.index("EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED")
    paused = max(i for i, k in enumerate(kinds[:accepted]) if k == "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES")
    await assert_replays(client, run.run_id)
    assert "EVENT_TYPE_WORKFLOW_TASK_STARTED" in kinds[paused:accepted], "the answer landed with the pause"
    _assert_ran_ahead(caplog)
