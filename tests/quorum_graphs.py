"""Graphs of the quorum tests (tests/test_quorum.py): a draft two of four people must approve,
the first rejection winning; the same question inside a subgraph; and three questions asked at once
(a plain one, a quorum one, one to claim), so a run hands over to a fresh history (continue-as-new)
with a vote counted and a claim held; and a quorum whose closing vote can break its node (rolled back)."""

from __future__ import annotations

from typing import Literal, TypedDict

from hitl import END, START, Quorum, StateGraph, interrupt

REVIEWERS = ["alice", "bob", "carol", "tester"]


class QuorumState(TypedDict, total=False):
    draft: str
    status: str
    votes: list[str]


def _review(state: QuorumState) -> dict:
    votes = interrupt(
        {"draft": state.get("draft", "d1")},
        quorum=Quorum(2, of=REVIEWERS, veto=["reject"]),
        schema=Literal["approve", "reject"],
    )
    approved = all(v.value == "approve" for v in votes)  # the rule: all must approve, the first rejection wins
    return {"status": "published" if approved else "rejected", "votes": [f"{v.identity}:{v.value}" for v in votes]}


quorum_b = StateGraph(QuorumState)
quorum_b.add_node("review", _review)
quorum_b.add_edge(START, "review")
quorum_b.add_edge("review", END)
quorum_review = quorum_b.compile(name="quorum_review")

parent_b = StateGraph(QuorumState)
parent_b.add_node("team", quorum_review)
parent_b.add_edge(START, "team")
parent_b.add_edge("team", END)
quorum_parent = parent_b.compile(name="quorum_parent")


class PairState(TypedDict, total=False):
    plain: str
    status: str
    held: str


def _plain(state: PairState) -> dict:
    return {"plain": interrupt("go on?")}


def _counted(state: PairState) -> dict:
    votes = interrupt("ship?", quorum=Quorum(2, of=REVIEWERS))
    return {"status": ",".join(f"{v.identity}:{v.value}" for v in votes)}


def _held(state: PairState) -> dict:
    return {"held": interrupt("pay?", reviewers=["alice", "bob"])}


pair_b = StateGraph(PairState)
for name, node in (("plain", _plain), ("counted", _counted), ("held", _held)):
    pair_b.add_node(name, node)
    pair_b.add_edge(START, name)
    pair_b.add_edge(name, END)
quorum_pair = pair_b.compile(name="quorum_pair")


def _stored_vote(state: QuorumState) -> dict:
    """Stores the closing vote as given (no schema): a number for `status: str` fails the node's writes."""
    votes = interrupt("note?", quorum=Quorum(2, of=REVIEWERS))
    return {"status": votes[-1].value}


note_b = StateGraph(QuorumState)
note_b.add_node("vote", _stored_vote)
note_b.add_edge(START, "vote")
note_b.add_edge("vote", END)
quorum_note = note_b.compile(name="quorum_note")


def _many_votes(state: QuorumState) -> dict:
    votes = interrupt("big?", quorum=8)
    return {"status": f"{len(votes)} votes"}


many_b = StateGraph(QuorumState)
many_b.add_node("vote", _many_votes)
many_b.add_edge(START, "vote")
many_b.add_edge("vote", END)
quorum_many = many_b.compile(name="quorum_many")

GRAPHS = [quorum_review, quorum_parent, quorum_pair, quorum_note, quorum_many]
