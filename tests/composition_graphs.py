"""Graphs of the composition tests (tests/test_composition.py): a subgraph,
deadlines, notify hooks."""

from __future__ import annotations

import operator
from datetime import timedelta
from typing import Annotated, TypedDict

from hitl import END, START, Command, DeadlineExceeded, StateGraph, StateSnapshot, interrupt
from tests.hitl_graphs import review_b


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

GRAPHS = [
    parent,
    deadline_default,
    deadline_escalate,
    notified,
    notify_broken,
]
