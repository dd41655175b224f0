"""A compiled graph called inside a node (`sub.invoke()`): a durable run of its own, tied to the calling node's
task, whose questions are asked on the calling run; the node runs again on how it ended. Real dev server; the
graphs are tests/call_graphs.py, served by the session's worker."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import pytest
from temporalio.client import WorkflowExecutionStatus

import hitl
from tests import call_graphs
from tests.helpers import cli, subgraph_run_id, wait_for
from tests.web_fixtures import Served


def _id(kind: str) -> str:
    return f"call-{kind}-{uuid.uuid4().hex[:8]}"


async def _children(client: hitl.Client, run_id: str) -> list[str]:
    """The ids of the runs `run_id` started, oldest first (from its histories, continue-as-new included)."""
    out = []
    async for w in client.temporal.list_workflows(f"WorkflowId = '{run_id}'"):
        handle = client.temporal.get_workflow_handle(run_id, run_id=w.run_id)
        out += [
            e.start_child_workflow_execution_initiated_event_attributes.workflow_id
            async for e in handle.fetch_history_events()
            if e.HasField("start_child_workflow_execution_initiated_event_attributes")
        ]
    return out


async def test_a_called_graph_s_question_is_asked_on_the_caller_and_its_values_come_back(client: hitl.Client) -> None:
    call_graphs.RUNS.clear()
    run = await client.start("call_one", {"topic": "tea"}, run_id=_id("one"))
    paused = await wait_for(run, "interrupted")
    assert paused.next == ["delegate"]
    [question] = paused.interrupts
    assert question.value == "review tea?" and question.node == "delegate/review"
    child = await subgraph_run_id(client, run.run_id)
    assert re.fullmatch(rf"{re.escape(run.run_id)}\.delegate\.0\.call0~[0-9a-f]{{12}}", child), child
    with pytest.raises(hitl.DecisionRejectedError):  # its questions are answered on the caller only
        await client.get_run(child).resume("sneaky")
    done = await run.resume({question.id: "fine"})
    done = await wait_for(run, "completed")
    assert done.values["log"] == ["tea:fine"]
    assert call_graphs.RUNS["call_one"] == 2  # asked the call, then ran on its values: no worker slot held
    assert (await client.get_run(child).get_state()).values == {"item": "tea", "verdict": "fine"}


async def test_several_calls_in_one_node_are_made_in_order(client: hitl.Client) -> None:
    call_graphs.RUNS.clear()
    run = await client.start("call_two", {"topic": "tea"}, run_id=_id("two"))
    first = await wait_for(run, "interrupted")
    assert [i.value for i in first.interrupts] == ["review tea-1?"]
    await run.resume("a")
    second = await wait_for(run, "interrupted")
    assert [i.value for i in second.interrupts] == ["review tea-2?"] and second.next == ["delegate"]
    await run.resume("b")
    done = await wait_for(run, "completed")
    assert done.values["log"] == ["a", "b"]
    assert call_graphs.RUNS["call_two"] == 3
    kids = await _children(client, run.run_id)
    assert [k.split("~")[0].rsplit(".", 1)[1] for k in kids] == ["call0", "call1"]


async def test_a_call_in_each_send_task_asks_on_its_own(client: hitl.Client) -> None:
    run = await client.start("call_send", {"topics": ["cats", "dogs"]}, run_id=_id("send"))
    paused = await wait_for(run, "interrupted")
    await_both = paused
    while len(await_both.interrupts) < 2:  # each task's called run reports its question by itself
        await asyncio.sleep(0.05)
        await_both = await run.get_state()
    by_value = {i.value: i.id for i in await_both.interrupts}
    assert set(by_value) == {"review cats?", "review dogs?"}
    await run.resume({by_value["review dogs?"]: "woof", by_value["review cats?"]: "meow"})
    done = await wait_for(run, "completed")
    assert done.values["log"] == ["cats:meow", "dogs:woof"]
    kids = await _children(client, run.run_id)
    assert sorted(k.split("~")[0].split(".", 1)[1] for k in kids) == ["each#0.0.call0", "each#1.0.call0"]


async def test_a_called_graph_that_calls_one_asks_on_the_outermost_run(client: hitl.Client) -> None:
    run = await client.start("call_nested", {"topic": "tea"}, run_id=_id("nested"))
    paused = await wait_for(run, "interrupted")
    [question] = paused.interrupts
    assert question.value == "review inner tea?" and paused.next == ["delegate"]
    await run.resume("deep")
    done = await wait_for(run, "completed")
    assert done.values["log"] == ["middle saw deep"]


async def test_a_called_graph_s_failure_is_an_exception_in_the_node(client: hitl.Client) -> None:
    caught = await client.start("call_caught", {"topic": "tea"}, run_id=_id("caught"))
    done = await wait_for(caught, "completed")
    [line] = done.values["log"]
    assert line.startswith("caught: graph 'call_broken' called by node 'delegate' (call #0) did not finish")
    assert "cannot review tea" in line
    uncaught = await client.start("call_uncaught", {"topic": "tea"}, run_id=_id("uncaught"))
    failed = await wait_for(uncaught, "failed")
    assert failed.error is not None and "cannot review tea" in failed.error and "\n" not in failed.error


async def test_cancelling_the_caller_cancels_the_called_run(client: hitl.Client) -> None:
    run = await client.start("call_one", {"topic": "tea"}, run_id=_id("cancel"))
    await wait_for(run, "interrupted")
    child = await subgraph_run_id(client, run.run_id)
    await run.cancel(reason="no longer needed")
    await wait_for(run, "cancelled")
    closed = (WorkflowExecutionStatus.CANCELED, WorkflowExecutionStatus.TERMINATED)
    for _ in range(600):  # the child is asked to cancel as the caller closes: it closes moments after
        described = await client.temporal.get_workflow_handle(child).describe()
        if described.status in closed:
            break
        await asyncio.sleep(0.05)
    assert described.status in closed, described.status


async def test_calls_made_survive_continue_as_new(client: hitl.Client) -> None:
    call_graphs.RUNS.clear()
    run = await client.start("call_then_ask", {"topic": "tea"}, run_id=_id("can"), max_history_events=12)
    await wait_for(run, "interrupted")
    await run.resume("fine")
    own = await wait_for(run, "interrupted")
    assert [i.value for i in own.interrupts] == ["and you, about fine?"]
    await run.resume("me too")
    done = await wait_for(run, "completed")
    assert done.values["log"] == ["fine", "me too"]
    executions = [w async for w in client.temporal.list_workflows(f"WorkflowId = '{run.run_id}'")]
    assert len(executions) > 1, "the run continued as new while the node's call was recorded"
    assert len(await _children(client, run.run_id)) == 1  # the call was not made again after the hand-over
    assert call_graphs.RUNS["call_then_ask"] == 3


async def test_a_fork_of_the_caller_calls_anew(client: hitl.Client) -> None:
    run = await client.start("call_one", {"topic": "tea"}, run_id=_id("fork"))
    await wait_for(run, "interrupted")
    fork = await run.fork(0)
    paused = await wait_for(fork, "interrupted")
    assert [i.value for i in paused.interrupts] == ["review tea?"] and paused.next == ["delegate"]
    assert (await subgraph_run_id(client, fork.run_id)).startswith(f"{fork.run_id}.delegate.")
    await fork.resume("in the fork")
    assert (await wait_for(fork, "completed")).values["log"] == ["tea:in the fork"]
    assert (await run.get_state()).status == "interrupted"  # the source's call waits, untouched
    await run.resume("in the source")
    assert (await wait_for(run, "completed")).values["log"] == ["tea:in the source"]


async def test_the_cli_answers_a_called_graph_s_question(client: hitl.Client) -> None:
    run = await client.start("call_one", {"topic": "cli"}, run_id=_id("cli"))
    [question] = (await wait_for(run, "interrupted")).interrupts
    answered = await cli(client, "resume", run.run_id, "--map", json.dumps({question.id: "ok"}), "--json")
    assert answered.code == 0, answered.err
    assert (await wait_for(run, "completed")).values["log"] == ["cli:ok"]


async def test_the_http_api_shows_and_answers_a_called_graph_s_question(served: Served) -> None:
    run = await served.client.start("call_one", {"topic": "http"}, run_id=_id("http"))
    await wait_for(run, "interrupted")
    async with served.http("tok-alice") as http:
        state = (await http.get(f"/threads/{run.run_id}/state")).json()
        assert state["next"] == ["delegate"]
        [shown] = [i for t in state["tasks"] for i in t["interrupts"]]
        assert shown["value"] == "review http?"
        answered = await http.post(
            f"/threads/{run.run_id}/runs/wait", json={"assistant_id": "call_one", "command": {"resume": "ok"}}
        )
        assert answered.status_code == 200, answered.text
        assert answered.json()["log"] == ["http:ok"]


def test_invoke_outside_a_node_says_how_to_start_a_run() -> None:
    with pytest.raises(hitl.HitlError) as refused:
        call_graphs.reviewer.invoke({"item": "x"})
    assert "client.start('call_reviewer', input)" in str(refused.value) and "\n" not in str(refused.value)
