"""A node that asked runs again after the answer (LangGraph's semantics). How it runs again (issue #15): as an
activity by default; as a local activity, in the workflow task that applies the answer, when declared
`rerun="local"`, unless more than one such node re-runs at once in a step. Real dev server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any, TypedDict

import pytest
from temporalio.api.enums.v1 import EventType

import hitl
from hitl import GraphValidationError, StateGraph, interrupt
from hitl.graph import Node
from hitl.protocol.wire import NodeSpec
from tests.helpers import wait_for


class _State(TypedDict, total=False):
    x: str


async def _events(client: hitl.Client, run_id: str) -> list[Any]:
    return [e async for e in client.temporal.get_workflow_handle(run_id).fetch_history_events()]


def _activity_runs(events: list[Any]) -> dict[str, int]:
    """How many times each node was scheduled as an activity (its type is `<graph>.<node>`)."""
    counts: dict[str, int] = {}
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            node = e.activity_task_scheduled_event_attributes.activity_type.name.split(".", 1)[1]
            counts[node] = counts.get(node, 0) + 1
    return counts


def _local_runs(events: list[Any]) -> list[str]:
    """The summaries of the local activities the run recorded (`node <name> (step N)`), in order."""
    runs = []
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and e.marker_recorded_event_attributes.marker_name == (
            "core_local_activity"
        ):
            runs.append(e.user_metadata.summary.data.decode())
    return runs


async def test_by_default_the_asking_node_runs_again_as_an_activity(client: hitl.Client) -> None:
    run = await client.start("approval", {"topic": "tea"}, run_id=f"rerun-{uuid.uuid4().hex[:8]}")
    await wait_for(run, "interrupted")
    await run.resume("approve", identity="alice")
    assert (await run.result())["status"] == "published"
    events = await _events(client, run.run_id)
    assert _activity_runs(events) == {"write_draft": 1, "review": 2, "publish": 1}
    assert _local_runs(events) == []


async def test_each_node_runs_again_as_declared_and_crowded_local_reruns_go_as_activities(client: hitl.Client) -> None:
    """`quick` also fails once after its answer: its local re-run is retried per its policy, and the answer is
    applied exactly once. `slow` takes 1.2 s to ask: declared local, it stays local."""
    run = await client.start("reruns", {}, run_id=f"reruns-{uuid.uuid4().hex[:8]}")
    for node in ["quick", "plain", "slow"]:
        await wait_for(run, "interrupted")
        assert [i.node for i in (await run.get_state()).interrupts] == [node]
        await run.resume(f"ok-{node}", identity="alice")
    state = await wait_for(run, "interrupted")
    both = {i.node: i.id for i in state.interrupts}
    assert sorted(both) == ["left", "right"]
    await run.resume(map={both["left"]: "ok-left", both["right"]: "ok-right"}, identity="alice")
    values = await run.result()
    assert values["log"] == ["quick:ok-quick", "plain:ok-plain", "slow:ok-slow", "left:ok-left", "right:ok-right"]
    events = await _events(client, run.run_id)
    assert _activity_runs(events) == {"quick": 1, "plain": 2, "slow": 1, "left": 2, "right": 2}
    local = _local_runs(events)
    assert len(local) == 2 and "quick" in local[0] and "slow" in local[1]


async def test_a_local_nodes_graph_mistake_fails_the_run_naming_the_node(client: hitl.Client) -> None:
    """A local activity's failure reaches the workflow bare (not wrapped as an ActivityError): before, it
    escaped the step and the run hung."""
    run = await client.start("local_mistake", {}, run_id=f"mistake-{uuid.uuid4().hex[:8]}")
    with pytest.raises(hitl.RunFailedError) as failed:
        await asyncio.wait_for(run.result(), 60)
    assert "node 'bad' failed at step 0" in str(failed.value) and "nope" in str(failed.value)


async def test_a_local_rerun_past_its_timeout_puts_the_answer_back(client: hitl.Client) -> None:
    run = await client.start("rerun_timeout", {}, run_id=f"timed-{uuid.uuid4().hex[:8]}")
    await wait_for(run, "interrupted")
    state = await run.resume("slow", identity="alice")
    assert state.status == "interrupted" and state.error and "node 'timed' failed" in state.error
    assert "timed out" in state.error.lower() or "timeout" in state.error.lower()
    done = await run.resume("fast", identity="alice")
    assert done.status == "completed" and done.values["log"] == ["timed:fast"]


def test_only_a_node_declared_local_runs_again_locally() -> None:
    def node(**options: Any) -> Node:
        rerun = options.pop("rerun", "activity")
        return Node("n", lambda s: s, NodeSpec(name="n", **options), rerun=rerun)

    assert not node().reruns_locally
    assert node(rerun="local").reruns_locally
    assert not node(rerun="local", local=True).reruns_locally  # local anyway: nothing to record


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rerun": "auto"}, "rerun='auto'; use one of 'activity', 'local'"),
        ({"rerun": "Local"}, "rerun='Local'; use one of 'activity', 'local'"),
        ({"rerun": "local", "heartbeat_timeout": timedelta(seconds=5)}, "a local activity cannot heartbeat"),
    ],
)
def test_a_rerun_option_that_cannot_hold_is_one_clear_line(options: dict[str, Any], message: str) -> None:
    b = StateGraph(_State)
    with pytest.raises(GraphValidationError, match="node 'ask'") as e:
        b.add_node("ask", lambda s: {"x": interrupt("?")}, **options)
    assert message in str(e.value)


def test_a_subgraph_takes_no_rerun_option() -> None:
    inner = StateGraph(_State)
    inner.add_node("a", lambda s: {})
    inner.add_edge("__start__", "a")
    b = StateGraph(_State)
    with pytest.raises(GraphValidationError, match="a subgraph runs as a child workflow; drop rerun='local'"):
        b.add_node("sub", inner.compile(name="rerun_sub"), rerun="local")
