"""Graphs of the call tests (tests/test_graph_calls.py): a node calls a compiled graph with a state schema of its
own (`sub.invoke()` inside the node, LangGraph's way to use a subgraph whose state differs from its parent's)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from temporalio.common import RetryPolicy

from hitl import START, CalledGraphFailed, Quorum, Send, StateGraph, interrupt


class Review(TypedDict, total=False):
    """The called graph's state: no key shared with its callers'."""

    item: str
    verdict: str


class Case(TypedDict, total=False):
    topic: str
    topics: list[str]
    log: Annotated[list[str], operator.add]
    item: str
    verdict: str


RUNS: dict[str, int] = {}
"""How often each calling node ran (its runs after each call included)."""


def _ran(name: str) -> None:
    RUNS[name] = RUNS.get(name, 0) + 1


def _review(state: Review) -> dict[str, Any]:
    return {"verdict": interrupt(f"review {state['item']}?")}


review_b = StateGraph(Review)
review_b.add_node("review", _review)
review_b.add_edge(START, "review")
reviewer = review_b.compile(name="call_reviewer")


def _break(state: Review) -> dict[str, Any]:
    raise ValueError(f"cannot review {state['item']}")


broken_b = StateGraph(Review)
broken_b.add_node("review", _break, retry_policy=RetryPolicy(maximum_attempts=1))
broken_b.add_edge(START, "review")
broken = broken_b.compile(name="call_broken")


def _one_call(state: Case) -> dict[str, Any]:
    _ran("call_one")
    out = reviewer.invoke({"item": state["topic"]})
    return {"log": [f"{state['topic']}:{out['verdict']}"]}


def _two_calls(state: Case) -> dict[str, Any]:
    _ran("call_two")
    first = reviewer.invoke({"item": f"{state['topic']}-1"})
    second = reviewer.invoke({"item": f"{state['topic']}-2"})
    return {"log": [first["verdict"], second["verdict"]]}


def _fan_out(state: Case) -> list[Send]:
    return [Send("each", {"topic": t}) for t in state["topics"]]


async def _each(state: Case) -> dict[str, Any]:
    out = await reviewer.ainvoke({"item": state["topic"]})
    return {"log": [f"{state['topic']}:{out['verdict']}"]}


def _middle(state: Review) -> dict[str, Any]:
    out = reviewer.invoke({"item": f"inner {state['item']}"})
    return {"verdict": f"middle saw {out['verdict']}"}


middle_b = StateGraph(Review)
middle_b.add_node("middle", _middle)
middle_b.add_edge(START, "middle")
middle = middle_b.compile(name="call_middle")


def _nested(state: Case) -> dict[str, Any]:
    return {"log": [middle.invoke({"item": state["topic"]})["verdict"]]}


def _caught(state: Case) -> dict[str, Any]:
    try:
        broken.invoke({"item": state["topic"]})
    except CalledGraphFailed as e:
        return {"log": [f"caught: {e}"]}
    return {"log": ["not reached"]}


def _uncaught(state: Case) -> dict[str, Any]:
    broken.invoke({"item": state["topic"]})
    return {"log": ["not reached"]}


def _call_then_ask(state: Case) -> dict[str, Any]:
    _ran("call_then_ask")
    out = reviewer.invoke({"item": state["topic"]})
    own = interrupt(f"and you, about {out['verdict']}?")
    return {"log": [out["verdict"], own]}


def _vote(state: Review) -> dict[str, Any]:
    votes = interrupt(f"ship {state['item']}?", quorum=Quorum(2, of=["alice", "bob", "carol"], veto=["no"]))
    return {"verdict": ",".join(f"{v.identity}:{v.value}" for v in votes)}


def _held(state: Review) -> dict[str, Any]:
    return {"verdict": interrupt(f"pay {state['item']}?", reviewers=["alice", "bob"])}


def _called(name: str, fn: Any) -> Any:
    b = StateGraph(Review)
    b.add_node("review", fn)
    b.add_edge(START, "review")
    return b.compile(name=name)


voter = _called("call_voter", _vote)
holder = _called("call_holder", _held)


def _guarded_calls(state: Case) -> dict[str, Any]:
    """Two calls whose questions carry their own policies: a quorum, then a reviewer list (claimable)."""
    voted = voter.invoke({"item": state["topic"]})["verdict"]
    held = holder.invoke({"item": state["topic"]})["verdict"]
    return {"log": [voted, held]}


def _one_node(name: str, fn: Any, guard: list[str] | None = None, **options: Any) -> Any:
    b = StateGraph(Case)
    b.add_node("delegate", fn, **options)
    b.add_edge(START, "delegate")
    return b.compile(name=name, guard=guard)


def _fan_out_graph() -> Any:
    b = StateGraph(Case)
    b.add_node("each", _each)
    b.add_conditional_edges(START, _fan_out, ["each"])
    return b.compile(name="call_send")


GRAPHS = [
    _one_node("call_one", _one_call),
    _one_node("call_two", _two_calls),
    _fan_out_graph(),
    _one_node("call_nested", _nested),
    _one_node("call_caught", _caught),
    _one_node("call_uncaught", _uncaught, retry_policy=RetryPolicy(maximum_attempts=1)),
    _one_node("call_then_ask", _call_then_ask),
    _one_node("call_guarded", _guarded_calls, guard=["alice", "bob", "carol"]),
]
