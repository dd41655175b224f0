"""Graphs of the escalation tests (tests/test_escalation.py): a question with a ladder (remind,
widen the reviewers, answer), one that only widens, and a quorum question whose `Quorum(of=...)`
a ladder widens."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

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

GRAPHS = [ladder, ladder_widen, ladder_quorum]
