"""Graphs of the escalation tests (tests/test_escalation.py): a question with a ladder (remind,
widen the reviewers, answer), one that only widens, and a quorum question whose `Quorum(of=...)`
a ladder widens; a subgraph whose question reminds (its run tells the parent again); and a ladder
whose AnswerWith value the question's schema refuses."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, TypedDict

from hitl import END, START, AnswerWith, Quorum, Remind, StateGraph, StateSnapshot, Widen, interrupt

REMINDED: list[tuple[str, int]] = []
"""(run id, decisions so far) each time the ladder's notify hook ran."""


class LadderState(TypedDict, total=False):
    answer: str


def _remember(snapshot: StateSnapshot) -> None:
    REMINDED.append((snapshot.run_id, len(snapshot.decisions)))


def _ask(state: LadderState) -> dict:
    ladder = [
        Remind(timedelta(seconds=1)),
        Widen(timedelta(seconds=2), ["role:managers"]),
        AnswerWith(timedelta(seconds=3), "auto-approved"),
    ]
    return {"answer": interrupt("approve?", reviewers=["alice"], escalate=ladder)}


def _ask_then_widen(state: LadderState) -> dict:
    ladder = [Widen(timedelta(seconds=2), ["role:managers"]), AnswerWith(timedelta(minutes=10), "auto")]
    return {"answer": interrupt("approve?", reviewers=["alice"], escalate=ladder)}


def _quorum_then_widen(state: LadderState) -> dict:
    ladder = [Widen(timedelta(seconds=1), ["carol"])]
    votes = interrupt("approve?", quorum=Quorum(2, of=["alice", "bob"]), escalate=ladder)
    return {"answer": ",".join(f"{v.identity}:{v.value}" for v in votes)}


def _graph(name: str, node: object) -> object:
    b = StateGraph(LadderState)
    b.add_node("ask", node)  # type: ignore[arg-type]
    b.add_edge(START, "ask")
    b.add_edge("ask", END)
    return b.compile(name=name, notify=_remember)


ladder = _graph("ladder", _ask)
ladder_widen = _graph("ladder_widen", _ask_then_widen)
ladder_quorum = _graph("ladder_quorum", _quorum_then_widen)


def _ask_and_remind(state: LadderState) -> dict:
    ladder = [Remind(timedelta(seconds=1)), Remind(timedelta(seconds=2))]
    return {"answer": interrupt("approve?", reviewers=["alice", "bob"], escalate=ladder)}


ladder_child = _graph("ladder_child", _ask_and_remind)


def _ask_with_unfit_default(state: LadderState) -> dict:
    ladder = [AnswerWith(timedelta(seconds=1), "maybe")]
    return {"answer": interrupt("approve?", schema=Literal["approve", "reject"], escalate=ladder)}


ladder_unfit = _graph("ladder_unfit", _ask_with_unfit_default)
_parent = StateGraph(LadderState)
_parent.add_node("team", ladder_child)  # type: ignore[arg-type]
_parent.add_edge(START, "team")
_parent.add_edge("team", END)
ladder_parent = _parent.compile(name="ladder_parent", guard=["alice", "bob"])

GRAPHS = [ladder, ladder_widen, ladder_quorum, ladder_child, ladder_parent, ladder_unfit]
