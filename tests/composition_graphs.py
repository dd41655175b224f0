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


def _hand_up(goto: str, **update: object):
    def node(state: TeamState) -> Command:
        return Command(graph=Command.PARENT, goto=goto, update=dict(update))

    return node


def _hand_up_graph(name: str, goto: str, **update: object):
    b = StateGraph(TeamState)
    b.add_node("hand_up", _hand_up(goto, **update))
    b.add_edge(START, "hand_up")
    return b.compile(name=name)


def _parent_of(name: str, child: object):
    b = StateGraph(TeamState)
    b.add_node("team", child)  # type: ignore[arg-type]
    b.add_node("after", _parent_after)
    b.add_edge(START, "team")
    return b.compile(name=name)


def _ask_then_maybe_escalate(state: TeamState) -> Command | dict:
    answer = interrupt(f"handle {state['topic']} here?", schema=str)
    if answer == "escalate":
        return Command(graph=Command.PARENT, goto="escalate", update={"log": ["team escalates"]})
    return {"answer": answer}


def _escalate_up(state: TeamState) -> dict:
    return {"log": ["escalated"]}


team_b = StateGraph(TeamState)
team_b.add_node("ask", _ask_then_maybe_escalate)
team_b.add_edge(START, "ask")
escalating_b = StateGraph(TeamState)
escalating_b.add_node("team", team_b.compile(name="escalating_team"))
escalating_b.add_node("escalate", _escalate_up)
escalating_b.add_edge(START, "team")
escalating = escalating_b.compile(name="escalating")
"""A subgraph's node asks, then hands its parent a goto and an update with Command.PARENT (the replay fixture
parent_command records it)."""

parent_command_alone = _hand_up_graph("parent_command_alone", "after", log=["up"])
"""Command.PARENT with no parent: the run fails, saying so."""
parent_command_lost = _parent_of("parent_command_lost", _hand_up_graph("parent_command_lost_child", "nowhere"))
"""Command.PARENT to a node the parent lacks: the parent's step fails, naming its nodes."""
parent_command_stray_key = _parent_of(
    "parent_command_stray_key", _hand_up_graph("parent_command_stray_key_child", "after", secret="x")
)
"""Command.PARENT writing a key the parent lacks: the parent's step fails, naming its keys."""


def _other_graph(state: TeamState) -> Command:
    return Command(graph="elsewhere", goto="after")


other_graph_b = StateGraph(TeamState)
other_graph_b.add_node("n", _other_graph)
other_graph_b.add_edge(START, "n")
command_other_graph = other_graph_b.compile(name="command_other_graph")


notified = review_b.compile(name="notified", notify=_record_pause)
notify_broken = review_b.compile(name="notify_broken", notify=_broken_hook)

GRAPHS = [
    parent,
    escalating,
    parent_command_alone,
    parent_command_lost,
    parent_command_stray_key,
    command_other_graph,
    deadline_default,
    deadline_escalate,
    notified,
    notify_broken,
]
