"""The policies of a called graph's questions (`sub.invoke()` in a node) hold on the calling run, where they are
asked: a quorum counts distinct people, a reviewer list refuses the others, a claim holds the question, and the
caller's guard covers its called runs. Each refusal writes nothing. Graphs: tests/call_graphs.py."""

from __future__ import annotations

import asyncio
import uuid

import pytest

import hitl
from hitl.client import serving as _workers
from hitl.types import NoWorkerError
from tests import graphs
from tests.helpers import WorkerProcess, event_count, subgraph_run_id, wait_for


async def _paused(client: hitl.Client) -> hitl.Run:
    run = await client.start("call_guarded", {"topic": "tea"}, run_id=f"call-policy-{uuid.uuid4().hex[:8]}")
    await wait_for(run, "interrupted")
    return run


async def _asked(run: hitl.Run, value: str) -> hitl.StateSnapshot:
    """The run once it waits on the question `value` (the next call's, asked after the node ran again)."""
    for _ in range(300):
        state = await run.wait(timeout=30)
        if state.status == "interrupted" and [i.value for i in state.interrupts] == [value]:
            return state
        assert state.status == "interrupted", f"run {run.run_id} is {state.status}"
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run.run_id} never asked {value!r}: {state.interrupts}")


async def _counts(client: hitl.Client, *run_ids: str) -> list[int]:
    """The runs' event counts once they are still: an accepted decision before may still be reaching the called
    run (the caller signals it, and its workflow task follows) when the caller's update has returned."""
    counts: list[int] = []
    for _ in range(100):
        described = [await client.temporal.get_workflow_handle(r).describe() for r in run_ids]
        busy = any(d.raw_description.HasField("pending_workflow_task") for d in described)
        now = [await event_count(client, r) for r in run_ids]
        if now == counts and not busy:
            return now
        counts = now
        await asyncio.sleep(0.1)
    raise AssertionError(f"runs {run_ids} never stood still: {counts}")


async def _refused(client: hitl.Client, act: object, match: str, *run_ids: str) -> None:
    """`act` (an awaitable) is refused with `match`, and neither the caller nor its called run wrote anything."""
    before = await _counts(client, *run_ids)
    with pytest.raises(hitl.DecisionRejectedError, match=match):
        await act  # type: ignore[misc]
    assert await _counts(client, *run_ids) == before, "a refused decision writes nothing"


async def test_a_called_graph_s_quorum_counts_distinct_allowed_people_on_the_caller(client: hitl.Client) -> None:
    run = await _paused(client)
    child = await subgraph_run_id(client, run.run_id)
    [question] = (await run.get_state()).interrupts
    assert question.value == "ship tea?" and question.node == "delegate/review"
    await _refused(client, run.resume("yes", identity="mallory"), "mallory", run.run_id, child)
    voted = await run.resume("yes", identity="alice")
    assert [(v.identity, v.value) for v in voted.interrupts[0].votes] == [("alice", "yes")]
    assert voted.status == "interrupted", "one vote of two keeps the question open"
    await _refused(client, run.resume("yes", identity="alice"), "alice", run.run_id, child)
    await run.resume("yes", identity="bob")
    held = await _asked(run, "pay tea?")
    assert not held.values.get("log")
    holder = await subgraph_run_id(client, run.run_id)
    assert holder != child


async def test_a_called_graph_s_reviewers_and_claims_hold_on_the_caller(client: hitl.Client) -> None:
    run = await _paused(client)
    await run.resume("yes", identity="alice")
    await run.resume("yes", identity="carol")
    await _asked(run, "pay tea?")
    holder = await subgraph_run_id(client, run.run_id)
    await _refused(client, run.resume("paid", identity="carol"), "carol", run.run_id, holder)
    claimed = await run.claim(identity="alice")
    assert claimed.interrupts[0].claimed_by == "alice"
    await _refused(client, run.resume("paid", identity="bob"), "alice", run.run_id, holder)
    await _refused(client, run.claim(identity="bob"), "alice", run.run_id, holder)
    await run.resume("paid", identity="alice")
    done = await wait_for(run, "completed")
    assert done.values["log"] == ["alice:yes,carol:yes", "paid"]


async def test_the_caller_s_guard_covers_its_called_run(client: hitl.Client) -> None:
    run = await _paused(client)
    child = await subgraph_run_id(client, run.run_id)
    called = client.get_run(child)
    ids = (run.run_id, child)
    await _refused(client, run.cancel(identity="mallory"), "'mallory' may not cancel it", *ids)
    await _refused(client, run.update_state({"topic": "coffee"}, identity="mallory"), "may not edit", *ids)
    await _refused(client, run.fork(0, identity="mallory"), "'mallory' may not fork it", *ids)
    around = f"is the subgraph 'delegate' of run {run.run_id}: send decisions to run {run.run_id}"
    await _refused(client, called.cancel(identity="mallory"), around, *ids)
    await _refused(client, called.update_state({"item": "coffee"}, identity="mallory"), around, *ids)
    await _refused(client, called.resume("yes", identity="alice"), around, *ids)
    await _refused(client, called.fork(0, identity="mallory"), "'mallory' may not fork it", *ids)
    state = await run.get_state()
    assert state.status == "interrupted" and state.interrupts[0].value == "ship tea?"


async def test_an_answer_to_a_called_graphs_question_with_no_worker_is_refused_then_applied_once_when_one_is_back(
    client: hitl.Client, worker_process: WorkerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer goes to the caller, which passes it down to the called run: with no worker, neither run
    writes anything and the sender hears so within seconds; sent again once a worker is back, it reaches the
    called run once and the caller goes on with its values."""
    mine = hitl.Client(client.temporal, task_queue=worker_process.task_queue, graphs=graphs.GRAPHS, identity="late")
    await worker_process.start().polling(client)
    run = await mine.start("call_one", {"topic": "tea"}, run_id=f"call-noworker-{uuid.uuid4().hex[:8]}")
    [question] = (await wait_for(run, "interrupted")).interrupts
    called = await subgraph_run_id(client, run.run_id)
    worker_process.kill()
    monkeypatch.setattr(_workers, "LIVE_SECONDS", 1.0)  # the server lists a dead worker for a minute
    monkeypatch.setattr(_workers, "STARTUP_SECONDS", 0.5)
    monkeypatch.setattr(_workers, "CACHE_SECONDS", 0.0)
    await asyncio.sleep(1.5)
    before = await _counts(client, run.run_id, called)
    with pytest.raises(NoWorkerError, match=f"no worker is polling task queue '{mine.task_queue}'"):
        await run.resume({question.id: "fine"}, request_id="answer-once")
    assert await _counts(client, run.run_id, called) == before
    await worker_process.start().polling(client)
    await run.resume({question.id: "fine"}, request_id="answer-once")
    done = await wait_for(run, "completed", timeout=60)
    assert done.values["log"] == ["tea:fine"]
    assert [(d.value, d.identity, d.interrupt_id) for d in done.decisions] == [("fine", "late", question.id)]
    assert (await client.get_run(called).get_state()).values == {"item": "tea", "verdict": "fine"}
