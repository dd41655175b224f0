"""Graphs of the runtime tests (tests/test_runtime.py): sequences, routing, joins,
reducers, pydantic state, retries, failures, a node slow enough to be killed."""

from __future__ import annotations

import asyncio
import operator
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, TypedDict

import pydantic
from temporalio import activity
from temporalio.common import RetryPolicy

from hitl import END, START, Runtime, StateGraph, get_stream_writer, interrupt


class ChainState(TypedDict, total=False):
    text: str
    trail: Annotated[list[str], operator.add]


def _step(name: str):
    def node(state: ChainState) -> dict:
        return {"text": state.get("text", "") + name, "trail": [name]}

    node.__name__ = name
    return node


chain_b = StateGraph(ChainState)
chain_b.add_sequence([_step("a"), _step("b"), _step("c")])
chain_b.add_edge(START, "a")
chain_b.add_edge("c", END)
chain = chain_b.compile(name="chain")


async def _async_upper(state: ChainState) -> dict:
    return {"text": state["text"].upper(), "trail": ["upper"]}


def _observe(state: ChainState) -> None:
    return None  # a node may return None: no update


async_b = StateGraph(ChainState)
async_b.add_node("upper", _async_upper)
async_b.add_node("observe", _observe)
async_b.add_edge(START, "upper")
async_b.add_edge("upper", "observe")
async_chain = async_b.compile(name="async_chain")


class RouteState(TypedDict, total=False):
    n: int
    path: Annotated[list[str], operator.add]


def _classify(state: RouteState) -> dict:
    return {"path": ["classify"]}


def _small(state: RouteState) -> dict:
    return {"path": ["small"]}


def _big(state: RouteState) -> dict:
    return {"path": ["big"]}


def _route_with_map(state: RouteState) -> bool:
    return state["n"] > 10


def _route_by_name(state: RouteState) -> str:
    return "big" if state["n"] > 10 else "small"


def _routing(name: str, mapped: bool):
    b = StateGraph(RouteState)
    b.add_node("classify", _classify)
    b.add_node("small", _small)
    b.add_node("big", _big)
    b.add_edge(START, "classify")
    if mapped:
        b.add_conditional_edges("classify", _route_with_map, {True: "big", False: "small"})
    else:
        b.add_conditional_edges("classify", _route_by_name)
    b.add_edge("small", END)
    b.add_edge("big", END)
    return b.compile(name=name)


routing_map = _routing("routing_map", mapped=True)
routing_plain = _routing("routing_plain", mapped=False)


def _entry_router(state: RouteState) -> str:
    return "big" if state["n"] > 10 else "small"


entry_b = StateGraph(RouteState)
entry_b.add_node("small", _small)
entry_b.add_node("big", _big)
entry_b.add_conditional_edges(START, _entry_router, ["small", "big"])
entry_routing = entry_b.compile(name="entry_routing")


class FanState(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    total: Annotated[int, operator.add]
    joined: int


def _fan(name: str, amount: int = 1):
    def node(state: FanState) -> dict:
        return {"log": [name], "total": amount}

    node.__name__ = name
    return node


def _join(state: FanState) -> dict:
    # b's branch takes two steps, c's one: d must wait for both, and run once.
    return {"log": ["d"], "joined": state["total"]}


fan_b = StateGraph(FanState)
fan_b.add_node("a", _fan("a"))
fan_b.add_node("b", _fan("b", 10))
fan_b.add_node("b2", _fan("b2", 100))
fan_b.add_node("c", _fan("c", 1000))
fan_b.add_node("d", _join)
fan_b.add_edge(START, "a")
fan_b.add_edge("a", "b")
fan_b.add_edge("a", "c")
fan_b.add_edge("b", "b2")
fan_b.add_edge(["b2", "c"], "d")
fan_b.add_edge("d", END)
fan_join = fan_b.compile(name="fan_join")


def merge_dicts(left: dict, right: dict) -> dict:
    """A user-written reducer: runs in the reduce activity, never in the workflow."""
    return {**left, **right}


class ReducerState(TypedDict, total=False):
    tags: Annotated[dict[str, int], merge_dicts]
    count: Annotated[int, operator.add]
    words: Annotated[str, operator.add]


def _r1(state: ReducerState) -> dict:
    return {"tags": {"x": 1}, "count": 2, "words": "hello"}


def _r2(state: ReducerState) -> dict:
    return {"tags": {"y": 2}, "count": 3, "words": " world"}


reducer_b = StateGraph(ReducerState)
reducer_b.add_node("r1", _r1)
reducer_b.add_node("r2", _r2)
reducer_b.add_edge(START, "r1")
reducer_b.add_edge(START, "r2")
reducers = reducer_b.compile(name="reducers")


class Item(pydantic.BaseModel):
    name: str
    qty: int = 1


class Order(pydantic.BaseModel):
    customer: str
    items: Annotated[list[Item], operator.add] = []
    total: int = 0


def _add_item(state: Order) -> dict:
    assert isinstance(state, Order) and all(isinstance(i, Item) for i in state.items)
    return {"items": [Item(name="widget", qty=2)]}


def _sum(state: Order) -> dict:
    return {"total": sum(i.qty for i in state.items)}


pyd_b = StateGraph(Order)
pyd_b.add_node("add_item", _add_item)
pyd_b.add_node("sum", _sum)
pyd_b.add_edge(START, "add_item")
pyd_b.add_edge("add_item", "sum")
pydantic_state = pyd_b.compile(name="pydantic_state")


class LoopState(TypedDict, total=False):
    i: int
    seen: Annotated[list[int], operator.add]


def _tick(state: LoopState) -> dict:
    return {"i": state["i"] + 1, "seen": [state["i"]]}


def _again(state: LoopState) -> str:
    return "tick" if state["i"] < 50 else END


loop_b = StateGraph(LoopState)
loop_b.add_node("tick", _tick, local=True)
loop_b.add_edge(START, "tick")
loop_b.add_conditional_edges("tick", _again)
loop = loop_b.compile(name="loop")

ATTEMPTS: dict[str, int] = {}


class FlakyState(TypedDict, total=False):
    key: str
    ok: bool


def _flaky(state: FlakyState) -> dict:
    ATTEMPTS[state["key"]] = ATTEMPTS.get(state["key"], 0) + 1
    raise RuntimeError(f"boom on attempt {ATTEMPTS[state['key']]}")


flaky_b = StateGraph(FlakyState)
flaky_b.add_node(
    "flaky",
    _flaky,
    retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=50)),
)
flaky_b.add_edge(START, "flaky")
flaky = flaky_b.compile(name="flaky")


def _bad_return(state: FlakyState) -> int:
    return 42  # type: ignore[return-value]


bad_b = StateGraph(FlakyState)
bad_b.add_node("bad", _bad_return)
bad_b.add_edge(START, "bad")
bad_return = bad_b.compile(name="bad_return")


class ConflictState(TypedDict, total=False):
    x: int


conflict_b = StateGraph(ConflictState)
conflict_b.add_node("p", lambda s: {"x": 1})
conflict_b.add_node("q", lambda s: {"x": 2})
conflict_b.add_edge(START, "p")
conflict_b.add_edge(START, "q")
conflict = conflict_b.compile(name="conflict")


class SlowState(TypedDict, total=False):
    marker: str
    done: Annotated[list[str], operator.add]


def _slow(state: SlowState) -> dict:
    """Announces itself through a file, then takes long enough to be killed mid-way."""
    Path(state["marker"]).write_text(str(os.getpid()))
    time.sleep(3)
    return {"done": ["slow"]}


def _after_slow(state: SlowState) -> dict:
    return {"done": ["after"]}


slow_b = StateGraph(SlowState)
slow_b.add_node(
    "slow",
    _slow,
    timeout=timedelta(seconds=5),  # a killed worker's attempt is retried after this
    retry_policy=RetryPolicy(maximum_attempts=5, initial_interval=timedelta(milliseconds=100)),
)
slow_b.add_node("after", _after_slow)
slow_b.add_edge(START, "slow")
slow_b.add_edge("slow", "after")
slow = slow_b.compile(name="slow")


async def _held(state: SlowState) -> dict:
    """Announces itself through a file, then runs (heartbeating) until the test writes `<marker>.go`, at most
    a minute: a node certainly still running while a test stops its worker (test_replicas: SIGTERM drains,
    SIGKILL). Its heartbeat timeout moves an attempt whose worker died to another within 2 s."""
    await asyncio.to_thread(Path(state["marker"]).write_text, str(os.getpid()))
    go = Path(state["marker"] + ".go")
    for _ in range(1200):
        if await asyncio.to_thread(go.exists):
            break
        activity.heartbeat()
        await asyncio.sleep(0.05)
    return {"done": ["held"]}


held_b = StateGraph(SlowState)
held_b.add_node(
    "held",
    _held,
    heartbeat_timeout=timedelta(seconds=2),
    retry_policy=RetryPolicy(maximum_attempts=5, initial_interval=timedelta(milliseconds=100)),
)
held_b.add_node("after", _after_slow)
held_b.add_edge(START, "held")
held_b.add_edge("held", "after")
held = held_b.compile(name="held")


def _unserialisable(state: FlakyState) -> dict:
    return {"key": object()}


unser_b = StateGraph(FlakyState)
unser_b.add_node("leaky", _unserialisable)
unser_b.add_edge(START, "leaky")
unserialisable = unser_b.compile(name="unserialisable")


class BigState(TypedDict, total=False):
    blob: str
    n: int
    seen: Annotated[list[str], operator.add]


class Counted(TypedDict, total=False):
    n: int


def _count(state: Counted) -> dict:
    """Reads only `n` (its parameter's type says so): the blob never travels to it."""
    return {"n": state.get("n", 0) + 1, "seen": [",".join(sorted(state))]}


class CountedModel(pydantic.BaseModel):
    n: int = 0


def _count_model(state: CountedModel) -> dict:
    return {"n": state.n + 1, "seen": [type(state).__name__]}


narrow_b = StateGraph(BigState)
narrow_b.add_node("count", _count)
narrow_b.add_node("again", _count_model, input_schema=CountedModel)
narrow_b.add_node("routed", _count)
narrow_b.add_edge(START, "count")
narrow_b.add_edge("count", "again")
narrow_b.add_edge("again", "routed")
narrow_b.add_conditional_edges("routed", lambda state: END if len(state["blob"]) > 1000 else "count")
narrow = narrow_b.compile(name="narrow")
"""Nodes reading one small key of a large state; the last has a router, which reads the blob."""


@dataclass
class Who:
    user: str


def _work(state: ChainState, runtime: Runtime[Who]) -> dict:
    """Writes its progress, asks, and writes again once answered (it runs again from its top)."""
    write = get_stream_writer()
    who = runtime.context.user if runtime.context else "nobody"
    write({"progress": "started", "for": who})
    answer = interrupt("go on?")
    write({"progress": f"answered {answer}"})
    return {"trail": [f"{who}:{answer}"]}


_progress = StateGraph(ChainState, context_schema=Who)
_progress.add_node("work", _work)
_progress.add_edge(START, "work")
_progress.add_edge("work", END)
stream_progress = _progress.compile(name="stream_progress")
"""Custom stream events and a runtime context (test_stream, test_web_streams)."""

GRAPHS = [
    held,
    chain,
    async_chain,
    routing_map,
    routing_plain,
    entry_routing,
    fan_join,
    reducers,
    pydantic_state,
    loop,
    flaky,
    bad_return,
    conflict,
    slow,
    unserialisable,
    narrow,
    stream_progress,
]
