"""The graph runtime (issue: durable graph runtime): topology, reducers, state schemas,
failures and restarts, each run on the real dev server."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

import hitl
from hitl import END, START, StateGraph
from tests import graphs, runtime_graphs
from tests.helpers import WorkerProcess, event_count


async def test_linear_chain_runs_nodes_in_order(client: hitl.Client) -> None:
    run = await client.start("chain", {"text": ">"})
    final = await run.result()
    assert final == {"text": ">abc", "trail": ["a", "b", "c"]}
    state = await run.get_state()
    assert (state.status, state.next, state.step) == ("completed", [], 3)


async def test_async_nodes_and_nodes_returning_none(client: hitl.Client) -> None:
    run = await client.start("async_chain", {"text": "quiet"})
    assert await run.result() == {"text": "QUIET", "trail": ["upper"]}
    assert (await run.get_state()).step == 2


@pytest.mark.parametrize("graph", ["routing_map", "routing_plain"])
@pytest.mark.parametrize(("n", "branch"), [(3, "small"), (30, "big")])
async def test_conditional_routing(client: hitl.Client, graph: str, n: int, branch: str) -> None:
    final = await (await client.start(graph, {"n": n})).result()
    assert final["path"] == ["classify", branch]


async def test_conditional_entry_point(client: hitl.Client) -> None:
    final = await (await client.start("entry_routing", {"n": 99})).result()
    assert final["path"] == ["big"]


async def test_fan_out_runs_in_parallel_and_join_waits_for_all(client: hitl.Client) -> None:
    run = await client.start("fan_join", {})
    final = await run.result()
    # b and c ran in one step; d waited for b2 (a step later) and c, and ran once.
    assert final["log"][0] == "a"
    assert sorted(final["log"][1:3]) == ["b", "c"]
    assert final["log"][3:] == ["b2", "d"]
    assert final["total"] == 1 + 10 + 100 + 1000
    assert final["joined"] == final["total"]
    history = await run.get_state_history()
    assert [c.next for c in reversed(history)] == [["a"], ["b", "c"], ["b2"], ["d"], []]


async def test_reducers_builtin_and_user_written(client: hitl.Client) -> None:
    final = await (await client.start("reducers", {"count": 1, "tags": {"w": 0}})).result()
    assert final["count"] == 1 + 2 + 3
    assert final["tags"] == {"w": 0, "x": 1, "y": 2}
    assert final["words"] == "hello world"  # parallel writes apply in node-name order, as in LangGraph


async def test_pydantic_state_round_trips(client: hitl.Client) -> None:
    final = await (
        await client.start("pydantic_state", {"customer": "ada", "items": [{"name": "nut", "qty": 3}]})
    ).result()
    assert final == {"customer": "ada", "items": [{"name": "nut", "qty": 3}, {"name": "widget", "qty": 2}], "total": 5}


async def test_pydantic_input_is_validated_before_start(client: hitl.Client) -> None:
    with pytest.raises(hitl.InvalidInputError, match="customer: Field required"):
        await client.start("pydantic_state", {"items": []})
    with pytest.raises(hitl.InvalidInputError, match=r"items\.0\.qty"):
        await client.start("pydantic_state", {"customer": "x", "items": [{"name": "n", "qty": "many"}]})


async def test_loop_of_fifty_iterations(client: hitl.Client) -> None:
    final = await (await client.start("loop", {"i": 0})).result()
    assert final["i"] == 50
    assert final["seen"] == list(range(50))


async def test_node_exception_retries_then_fails_with_error_in_state(client: hitl.Client) -> None:
    key = uuid.uuid4().hex
    run = await client.start("flaky", {"key": key})
    with pytest.raises(
        hitl.RunFailedError, match=rf"ended: node 'flaky' failed .*boom on attempt 3.*hitl state {run.run_id}"
    ):
        await run.result()
    assert runtime_graphs.ATTEMPTS[key] == 3
    state = await run.get_state()
    assert state.status == "failed"
    assert "boom on attempt 3" in (state.error or "")


async def test_node_returning_a_non_dict_fails_at_once_with_a_clear_error(client: hitl.Client) -> None:
    run = await client.start("bad_return", {})
    with pytest.raises(
        hitl.RunFailedError, match="node 'bad' returned int; a node returns a dict of state updates, a Command, or None"
    ):
        await run.result()


async def test_parallel_writes_to_a_plain_key_fail_the_run(client: hitl.Client) -> None:
    run = await client.start("conflict", {})
    with pytest.raises(hitl.RunFailedError, match="At key 'x': can receive only one value per step"):
        await run.result()
    assert (await run.get_state()).status == "failed"


async def test_duplicate_run_id_is_refused(client: hitl.Client) -> None:
    run_id = f"dup-{uuid.uuid4().hex[:8]}"
    await (await client.start("chain", {}, run_id=run_id)).result()
    with pytest.raises(hitl.RunAlreadyExistsError, match=f"a run with id '{run_id}' exists already"):
        await client.start("chain", {}, run_id=run_id)


async def test_unknown_graph_and_unknown_run(client: hitl.Client) -> None:
    with pytest.raises(hitl.UnknownGraphError, match="unknown graph 'nope'; known graphs: .*chain"):
        await client.start("nope", {})
    with pytest.raises(hitl.RunNotFoundError, match="no run 'missing-run'"):
        await client.get_run("missing-run").get_state()


async def test_worker_killed_mid_node_the_run_still_completes(
    client: hitl.Client, worker_process: WorkerProcess, tmp_path: Path
) -> None:
    other = await hitl.connect(
        client.temporal.service_client.config.target_host, task_queue=worker_process.task_queue, graphs=graphs.GRAPHS
    )
    await worker_process.start().polling(client)
    marker = tmp_path / "slow-started"
    run = await other.start("slow", {"marker": str(marker)})
    for _ in range(300):
        if marker.exists():
            break
        await asyncio.sleep(0.05)
    assert marker.exists(), "the slow node never started"
    worker_process.kill()  # SIGKILL in the middle of the node
    marker.unlink()
    await worker_process.start().polling(client)  # a fresh worker picks the run up once the node's attempt times out
    final = await asyncio.wait_for(run.result(), 120)
    assert final["done"] == ["slow", "after"]  # each node's update applied exactly once
    assert marker.exists()  # the node really ran again on the new worker


# ------------------------------------------------------------- graph definition errors


class S(dict):
    pass


def _builder() -> StateGraph:
    from tests.runtime_graphs import ChainState

    return StateGraph(ChainState)


def test_node_name_used_twice() -> None:
    b = _builder()
    b.add_node("a", lambda s: None)
    with pytest.raises(hitl.GraphValidationError, match="node 'a' is already in the graph"):
        b.add_node("a", lambda s: None)


def test_edge_to_unknown_node() -> None:
    b = _builder()
    b.add_node("a", lambda s: None)
    b.add_edge(START, "a")
    b.add_edge("a", "ghost")
    with pytest.raises(hitl.GraphValidationError, match="edge to unknown node 'ghost'; nodes are \\['a'\\]"):
        b.compile(name="g")


def test_graph_without_entry_point() -> None:
    b = _builder()
    b.add_node("a", lambda s: None)
    b.add_edge("a", END)
    with pytest.raises(hitl.GraphValidationError, match="has no entry point: add an edge from START"):
        b.compile(name="g")


def test_unsupported_schema() -> None:
    with pytest.raises(hitl.InvalidInputError, match="use a TypedDict or a pydantic BaseModel"):
        StateGraph(S)


def test_typeddict_input_is_checked() -> None:
    with pytest.raises(
        hitl.InvalidInputError, match=r"unknown key\(s\) \['txt'\]; the state keys are \['text', 'trail'\]"
    ):
        runtime_graphs.chain.validate_input({"txt": "x"})
    with pytest.raises(hitl.InvalidInputError, match="key 'text': Input should be a valid string"):
        runtime_graphs.chain.validate_input({"text": 5})


async def test_history_length_is_small_per_node(client: hitl.Client) -> None:
    run = await client.start("chain", {})
    await run.result()
    # 3 activity nodes: a handful of events each, not a copy of the state per event.
    assert await event_count(client, run.run_id) <= 3 * 6 + 10


async def test_a_node_reading_one_key_gets_only_that_key_and_the_history_stays_small(client: hitl.Client) -> None:
    """A node whose input schema (its parameter's type, or input_schema=) names one key is called with that
    key, and only it goes into the activity's input: 100 KB of state is not copied into the history at each
    step. A node followed by a router gets the whole state into its activity (the router reads the blob)."""
    run = await client.start("narrow", {"blob": "x" * 100_000, "n": 0})
    done = await run.result()
    assert done["n"] == 3 and done["seen"] == ["n", "CountedModel", "n"], "each node saw only its keys"
    handle = client.temporal.get_workflow_handle(run.run_id)
    inputs = [
        (e.activity_task_scheduled_event_attributes.activity_id, len(e.SerializeToString()))
        async for e in handle.fetch_history_events()
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    sizes = sorted(size for _, size in inputs)
    assert len(sizes) == 3 and sizes[1] < 2_000, f"two nodes read `n` only: {inputs}"
    assert sizes[2] > 100_000, "the node with a router gets the whole state"
