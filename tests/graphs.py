"""Graphs the tests run. A module of its own so a worker subprocess can serve them
(`python worker.py tests.graphs`) exactly as the in-process test worker does."""

from __future__ import annotations

import operator
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal, TypedDict

import pydantic
from temporalio.common import RetryPolicy

from hitl import END, START, Command, DeadlineExceeded, StateGraph, StateSnapshot, interrupt

# ---------------------------------------------------------------- runtime


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

# ------------------------------------------------------------ human in the loop


class ReviewState(TypedDict, total=False):
    draft: str
    status: str
    log: Annotated[list[str], operator.add]


def _write(state: ReviewState) -> dict:
    return {"draft": state.get("draft") or "first draft", "log": ["write"]}


def _review(state: ReviewState) -> Command:
    answer = interrupt({"draft": state["draft"]}, schema=Literal["approve", "reject"])
    return Command(
        update={"log": [f"review:{answer}:{state['draft']}"]}, goto="publish" if answer == "approve" else "discard"
    )


def _publish(state: ReviewState) -> dict:
    return {"status": "published", "log": ["publish"]}


def _discard(state: ReviewState) -> dict:
    return {"status": "discarded", "log": ["discard"]}


review_b = StateGraph(ReviewState)
review_b.add_node("write", _write)
review_b.add_node("review", _review)
review_b.add_node("publish", _publish)
review_b.add_node("discard", _discard)
review_b.add_edge(START, "write")
review_b.add_edge("write", "review")
review_b.add_edge("publish", END)
review_b.add_edge("discard", END)
review = review_b.compile(name="review")
review_breaks = review_b.compile(name="review_breaks", interrupt_before=["publish"], interrupt_after=["write"])


class FormState(TypedDict, total=False):
    name: str
    age: int
    prompts: Annotated[list[str], operator.add]


def _two_questions(state: FormState) -> dict:
    name = interrupt("name?")
    age = interrupt(f"age of {name}?", schema=int)
    return {"name": name, "age": age}


two_q_b = StateGraph(FormState)
two_q_b.add_node("ask", _two_questions)
two_q_b.add_edge(START, "ask")
two_questions = two_q_b.compile(name="two_questions")


def _ask_until_valid(state: FormState) -> dict:
    prompt = "How old are you?"
    while True:
        answer = interrupt(prompt)
        if isinstance(answer, int) and 0 < answer < 150:
            return {"age": answer}
        prompt = f"'{answer}' is not a valid age; how old are you?"


validate_b = StateGraph(FormState)
validate_b.add_node("ask", _ask_until_valid)
validate_b.add_edge(START, "ask")
validation_loop = validate_b.compile(name="validation_loop")

RUNS: dict[str, int] = {}


class ParallelState(TypedDict, total=False):
    answers: Annotated[list[str], operator.add]


def _asker(name: str):
    def node(state: ParallelState) -> dict:
        RUNS[name] = RUNS.get(name, 0) + 1
        return {"answers": [f"{name}={interrupt(f'question from {name}')}"]}

    node.__name__ = name
    return node


def _quiet(state: ParallelState) -> dict:
    RUNS["quiet"] = RUNS.get("quiet", 0) + 1
    return {"answers": ["quiet"]}


par_b = StateGraph(ParallelState)
par_b.add_node("left", _asker("left"))
par_b.add_node("right", _asker("right"))
par_b.add_node("quiet", _quiet)
for n in ("left", "right", "quiet"):
    par_b.add_edge(START, n)
parallel = par_b.compile(name="parallel")

# ------------------------------------------------------------ composition


class TeamState(TypedDict, total=False):
    topic: str
    answer: str
    log: Annotated[list[str], operator.add]


COUNTS: dict[str, int] = {}


def _count(name: str) -> None:
    COUNTS[name] = COUNTS.get(name, 0) + 1


def _child_prepare(state: TeamState) -> dict:
    _count("child_prepare")
    return {}


def _child_ask(state: TeamState) -> dict:
    _count("child_ask")
    return {"answer": interrupt(f"child asks about {state['topic']}", schema=str)}


child_b = StateGraph(TeamState)
child_b.add_node("prepare", _child_prepare)
child_b.add_node("ask", _child_ask)
child_b.add_edge(START, "prepare")
child_b.add_edge("prepare", "ask")
child_graph = child_b.compile(name="child")


def _parent_prep(state: TeamState) -> dict:
    _count("parent_prep")
    return {}


def _parent_after(state: TeamState) -> dict:
    return {"log": [f"parent saw {state['answer']}"]}


parent_b = StateGraph(TeamState)
parent_b.add_node("prep", _parent_prep)
parent_b.add_node("team", child_graph)
parent_b.add_node("after", _parent_after)
parent_b.add_edge(START, "prep")
parent_b.add_edge("prep", "team")
parent_b.add_edge("team", "after")
parent = parent_b.compile(name="parent")


class DeadlineState(TypedDict, total=False):
    answer: str
    route: str


def _ask_with_default(state: DeadlineState) -> dict:
    return {"answer": interrupt("approve within a second?", timeout=timedelta(seconds=1), default="auto-approved")}


def _ask_or_escalate(state: DeadlineState) -> Command:
    try:
        return Command(update={"answer": interrupt("anyone?", timeout=timedelta(seconds=1))}, goto=END)
    except DeadlineExceeded:
        return Command(update={"route": "escalated"}, goto="escalate")


def _escalate(state: DeadlineState) -> dict:
    return {"answer": "manager decides"}


deadline_default_b = StateGraph(DeadlineState)
deadline_default_b.add_node("ask", _ask_with_default)
deadline_default_b.add_edge(START, "ask")
deadline_default = deadline_default_b.compile(name="deadline_default")

deadline_escalate_b = StateGraph(DeadlineState)
deadline_escalate_b.add_node("ask", _ask_or_escalate)
deadline_escalate_b.add_node("escalate", _escalate)
deadline_escalate_b.add_edge(START, "ask")
deadline_escalate = deadline_escalate_b.compile(name="deadline_escalate")

NOTIFIED: list[tuple[str, list[str]]] = []


def _record_pause(snapshot: StateSnapshot) -> None:
    NOTIFIED.append((snapshot.run_id, [i.node for i in snapshot.interrupts]))


def _broken_hook(snapshot: StateSnapshot) -> None:
    raise ConnectionError("the chat service is down")


notified = review_b.compile(name="notified", notify=_record_pause)
notify_broken = review_b.compile(name="notify_broken", notify=_broken_hook)

# ------------------------------------------------------------ long runs


class LongState(TypedDict, total=False):
    i: int
    limit: int
    every: int
    approvals: Annotated[list[str], operator.add]


def _long_step(state: LongState) -> dict:
    i = state["i"]
    every = state.get("every") or 0
    if every and i and i % every == 0:
        return {"i": i + 1, "approvals": [f"{i}:{interrupt(f'checkpoint at step {i}')}"]}
    return {"i": i + 1}


def _long_again(state: LongState) -> str:
    return "step" if state["i"] < state["limit"] else END


long_b = StateGraph(LongState)
long_b.add_node("step", _long_step, local=True)
long_b.add_edge(START, "step")
long_b.add_conditional_edges("step", _long_again)
long_loop = long_b.compile(name="long_loop")

# ------------------------------------------------------------ who may decide


def _finance_review(state: ReviewState) -> dict:
    answer = interrupt({"draft": state["draft"]}, reviewers=["alice", "role:finance"])
    return {"status": f"{answer}"}


guarded_b = StateGraph(ReviewState)
guarded_b.add_node("review", _finance_review)
guarded_b.add_edge(START, "review")
guarded = guarded_b.compile(name="guarded")

# ------------------------------------------------------------ fault injection


class FaultState(TypedDict, total=False):
    seed: int
    trail: Annotated[list[str], operator.add]


def _faulty(name: str):
    def node(state: FaultState) -> dict:
        time.sleep(0.05 + (hash((state["seed"], name)) % 25) / 100)  # 0.05 to 0.3 s: a window to be killed in
        return {"trail": [name]}

    node.__name__ = name
    return node


def _fault_decide(state: FaultState) -> dict:
    return {"trail": [f"decide:{interrupt('go on?')}"]}


fault_b = StateGraph(FaultState)
_fast_retry = RetryPolicy(maximum_attempts=20, initial_interval=timedelta(milliseconds=100))
for _name in ("n1", "n2", "n3", "n4"):
    fault_b.add_node(_name, _faulty(_name), timeout=timedelta(seconds=2), retry_policy=_fast_retry)
fault_b.add_node("decide", _fault_decide, timeout=timedelta(seconds=2), retry_policy=_fast_retry)
fault_b.add_edge(START, "n1")
fault_b.add_edge("n1", "n2")
fault_b.add_edge("n2", "decide")
fault_b.add_edge("decide", "n3")
fault_b.add_edge("n3", "n4")
faulty = fault_b.compile(name="faulty")


def _unserialisable(state: FlakyState) -> dict:
    return {"key": object()}


unser_b = StateGraph(FlakyState)
unser_b.add_node("leaky", _unserialisable)
unser_b.add_edge(START, "leaky")
unserialisable = unser_b.compile(name="unserialisable")

GRAPHS = [
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
    review,
    review_breaks,
    two_questions,
    validation_loop,
    parallel,
    parent,
    deadline_default,
    deadline_escalate,
    notified,
    notify_broken,
    long_loop,
    guarded,
    faulty,
    unserialisable,
]
