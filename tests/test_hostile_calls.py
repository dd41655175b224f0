"""Hostile review of graph calls (`sub.invoke()` inside a node): a node that calls a graph in a loop, and a
node whose calls differ from one of its runs to the next.

Every run of the calling node carries how each earlier call ended (`NodeTask.called`), and the node runs once
per call, so the history grows with the square of the calls: Temporal terminates the run (history size) long
before any limit of hitl's says what went wrong. Found by a hostile review; not fixed (the fix is a workflow
change: a bound on calls per node run, or what the node carries): xfail, strict, so it turns red once fixed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypedDict

import pytest
import pytest_asyncio
from temporalio.common import RetryPolicy

import hitl
from hitl import START, StateGraph
from hitl.server import DevServer, free_port
from tests.helpers import subgraph_run_id, wait_for

ON_THE_SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")
BLOB = 25_000
"""Bytes each called run returns: far under every per-value limit of hitl's (2 MB state, 2 MB payload)."""


class Inner(TypedDict, total=False):
    n: int
    blob: str


class Outer(TypedDict, total=False):
    calls: int
    done: int


def _blob(state: Inner) -> dict[str, Any]:
    return {"blob": "x" * BLOB}


inner_b = StateGraph(Inner)
inner_b.add_node("make", _blob)
inner_b.add_edge(START, "make")
inner = inner_b.compile(name="hostile_call_inner")


def _loop(state: Outer) -> dict[str, Any]:
    for i in range(state["calls"]):
        inner.invoke({"n": i})  # the result is dropped: only the calls matter
    return {"done": state["calls"]}


def _other(state: Inner) -> dict[str, Any]:
    return {"blob": "other"}


other_b = StateGraph(Inner)
other_b.add_node("make", _other)
other_b.add_edge(START, "make")
other = other_b.compile(name="hostile_call_other")
RUNS: dict[str, int] = {}


def _fickle(state: Outer) -> dict[str, Any]:
    """Calls one graph on its first run and another on its next: not deterministic (it reads a counter)."""
    RUNS["fickle"] = RUNS.get("fickle", 0) + 1
    called = inner if RUNS["fickle"] == 1 else other
    out = called.invoke({"n": 1})
    return {"done": len(out["blob"])}


fickle_b = StateGraph(Outer)
fickle_b.add_node("fickle", _fickle)
fickle_b.add_edge(START, "fickle")
fickle = fickle_b.compile(name="hostile_call_fickle")


def _big_call(state: Outer) -> dict[str, Any]:
    """Calls a graph with an input past Temporal's 2 MB payload limit."""
    inner.invoke({"n": 1, "blob": "x" * 2_100_000})
    return {"done": 1}


big_b = StateGraph(Outer)
# One attempt, a short timeout: nothing to wait for should the result not reach Temporal.
big_b.add_node("big", _big_call, retry_policy=RetryPolicy(maximum_attempts=1), timeout=timedelta(seconds=15))
big_b.add_edge(START, "big")
big = big_b.compile(name="hostile_call_big")


@dataclass
class Ctx:
    user: str


@dataclass
class Tenant:
    tenant: int


def _tenant(state: Inner, runtime: hitl.Runtime[Tenant]) -> dict[str, Any]:
    return {"blob": f"tenant {runtime.context.tenant}"}


tenant_b = StateGraph(Inner, context_schema=Tenant)
tenant_b.add_node("make", _tenant)
tenant_b.add_edge(START, "make")
tenant = tenant_b.compile(name="hostile_call_tenant")


def _with_ctx(state: Outer, runtime: hitl.Runtime[Ctx]) -> dict[str, Any]:
    return {"done": len(tenant.invoke({})["blob"])}


with_ctx_b = StateGraph(Outer, context_schema=Ctx)
with_ctx_b.add_node("call", _with_ctx)
with_ctx_b.add_edge(START, "call")
with_ctx = with_ctx_b.compile(name="hostile_call_with_ctx")


def _careless(state: Outer) -> dict[str, Any]:
    """Wraps its call in a catch-all, as careless code does: the call's stop is caught, and the node returns."""
    try:
        inner.invoke({"n": 1})
    except Exception:
        return {"done": -1}
    return {"done": 1}


def _careless_ask(state: Outer) -> dict[str, Any]:
    try:
        hitl.interrupt("go on?")
    except Exception:
        return {"done": -1}
    return {"done": 1}


careless_b = StateGraph(Outer)
careless_b.add_node("careless", _careless)
careless_b.add_edge(START, "careless")
careless = careless_b.compile(name="hostile_call_careless")
careless_ask_b = StateGraph(Outer)
careless_ask_b.add_node("careless", _careless_ask)
careless_ask_b.add_edge(START, "careless")
careless_ask = careless_ask_b.compile(name="hostile_ask_careless")


def _ask_then_call(state: Outer) -> dict[str, Any]:
    """Asks, then calls a graph that asks too, then asks again: answers and calls are matched by order."""
    first = hitl.interrupt("first?")
    out = asker.invoke({"n": 1})
    last = hitl.interrupt(f"after {out['blob']}?")
    return {"done": len(f"{first}{out['blob']}{last}")}


def _asks(state: Inner) -> dict[str, Any]:
    return {"blob": hitl.interrupt("inner?")}


asker_b = StateGraph(Inner)
asker_b.add_node("ask", _asks)
asker_b.add_edge(START, "ask")
asker = asker_b.compile(name="hostile_call_asker")
ask_call_b = StateGraph(Outer)
ask_call_b.add_node("mix", _ask_then_call)
ask_call_b.add_edge(START, "mix")
ask_call = ask_call_b.compile(name="hostile_ask_then_call")

outer_b = StateGraph(Outer)
outer_b.add_node("loop", _loop)
outer_b.add_edge(START, "loop")
outer = outer_b.compile(name="hostile_call_loop")


@pytest_asyncio.fixture(loop_scope="session")
async def own(server: DevServer) -> AsyncIterator[hitl.Client]:
    c = await hitl.connect(
        server.address,
        task_queue=f"hostile-calls-{free_port()}",
        graphs=[outer, inner, other, fickle, big, tenant, with_ctx, careless, careless_ask, asker, ask_call],
    )
    async with c.worker():
        yield c


@ON_THE_SESSION_LOOP
async def test_a_node_calling_a_graph_in_a_loop_is_not_terminated_by_temporal(own: hitl.Client) -> None:
    """75 calls of 25 kB each: 1.9 MB of results in all, each under every limit, but each run of the node
    carries the results before it, so the history grows with the square of the calls. It was cut off by
    Temporal's history size limit ("terminated in Temporal, outside hitl: Workflow history size exceeds
    limit."); it fails in one line of hitl's, naming the node and its calls, before that."""
    run = await own.start("hostile_call_loop", {"calls": 75})
    state = await run.wait(timeout=120)
    assert state.status == "failed", state
    error = state.error or ""
    assert "terminated in Temporal" not in error, error
    assert "node 'loop' made" in error and "graph and @task calls" in error and "\n" not in error, error


@ON_THE_SESSION_LOOP
async def test_a_node_that_calls_another_graph_on_its_next_run_is_told_not_handed_the_first_ones_values(
    own: hitl.Client,
) -> None:
    """Calls are matched by order: a node whose first call is graph A on one run and graph B on the next
    would get A's final values as B's, silently. It fails with one line naming both graphs instead."""
    RUNS.clear()
    run = await own.start("hostile_call_fickle", {})
    state = await run.wait()
    assert state.status == "failed", state
    assert state.values.get("done") is None, state.values
    error = state.error or ""
    assert "hostile_call_other" in error and "hostile_call_inner" in error and "\n" not in error, error


@ON_THE_SESSION_LOOP
async def test_a_call_with_an_input_past_the_payload_limit_fails_the_node_in_one_line(own: hitl.Client) -> None:
    """`invoke()` with 2.1 MB of input: the node's result carrying it cannot reach Temporal (2 MB). The node
    failed on the SDK's "PayloadsTooLarge: [TMPRL1103] Attempted to upload payloads with size that exceeded the
    error limit", which names neither the call nor its size. It is refused where the node calls, in one line
    naming the graph called and the size."""
    run = await own.start("hostile_call_big", {})
    state = await run.wait()
    assert state.status == "failed", state
    error = state.error or ""
    assert "hostile_call_inner" in error and "MB" in error and "\n" not in error, error


async def test_the_called_run_of_a_parent_with_a_long_id_can_be_read(client: hitl.Client) -> None:
    """A parent's id may be 255 characters; hitl names its called run after it (30 more). Reading that run
    (`hitl state`, `client.get_run(...)`) was refused as "run id is 285 characters long": an id hitl made."""
    run = await client.start("call_one", {"topic": "tea"}, run_id=("hostile-long-" + uuid.uuid4().hex * 8)[:255])
    paused = await wait_for(run, "interrupted")
    child = await subgraph_run_id(client, run.run_id)
    assert len(child) > 255
    assert (await client.get_run(child).get_state()).values == {"item": "tea"}
    await run.resume({paused.interrupts[0].id: "ok"})
    assert (await wait_for(run, "completed")).values["log"] == ["tea:ok"]


@ON_THE_SESSION_LOOP
async def test_a_called_graph_whose_context_schema_does_not_take_the_callers_context_is_named(
    own: hitl.Client,
) -> None:
    """A called graph runs with its caller's context. One whose `context_schema` cannot take it failed in its
    own node with "the run's context no longer fits the context_schema Tenant this worker's graph has: ...;
    serve the graph the run was started with", advice that does not apply: the calling node fails instead,
    naming the call and both schemas' mismatch, at once (no retries)."""
    run = await own.start("hostile_call_with_ctx", {}, context=Ctx(user="ada"))
    state = await run.wait()
    assert state.status == "failed", state
    error = state.error or ""
    assert "called graph 'hostile_call_tenant'" in error and "Tenant" in error, error
    assert "serve the graph the run was started with" not in error and "\n" not in error, error


@pytest.mark.parametrize("graph", ["hostile_call_careless", "hostile_ask_careless"])
@ON_THE_SESSION_LOOP
async def test_a_node_that_catches_the_stop_of_its_call_or_question_fails_saying_so(
    own: hitl.Client, graph: str
) -> None:
    """`invoke()` and `interrupt()` stop the node by raising; an `except Exception` around them caught that,
    and the node returned its fallback as if the call had failed or nobody had been asked: the run completed
    with the call never made (the question never asked). The node fails instead, in one line saying what
    caught the stop and what to do."""
    run = await own.start(graph, {})
    state = await run.wait()
    assert state.status == "failed", state
    assert state.values.get("done") is None, state.values
    error = state.error or ""
    assert "caught" in error and "re-raise" in error and "\n" not in error, error


@ON_THE_SESSION_LOOP
async def test_a_question_a_call_asking_its_own_and_a_question_in_one_node_each_ask_once(own: hitl.Client) -> None:
    """The answer before a call is kept through the call: the node's runs after it do not ask it again."""
    run = await own.start("hostile_ask_then_call", {})
    asked = []
    for answer in ("a", "bb", "ccc"):
        paused = await wait_for(run, "interrupted")
        [question] = paused.interrupts
        asked.append(question.value)
        await run.resume({question.id: answer})
    done = await wait_for(run, "completed")
    assert asked == ["first?", "inner?", "after bb?"], asked
    assert done.values["done"] == 6
