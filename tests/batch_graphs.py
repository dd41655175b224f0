"""Graphs for batch answers and signed decision links (test_batch.py, test_links.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, TypedDict

from hitl import END, START, StateGraph, interrupt


class ReviewState(TypedDict, total=False):
    topic: str
    reviewers: list[str]
    status: str
    again: bool


def _review(state: ReviewState) -> dict:
    answer = interrupt(
        {"question": f"Publish the note about {state['topic']}?", "topic": state["topic"]},
        schema=Literal["approve", "reject"],
        reviewers=state.get("reviewers") or None,
    )
    return {"status": answer}


def _check(state: ReviewState) -> dict:
    """Asks a second question at another node when the input says so (a run that moved on, still waiting)."""
    if state.get("again"):
        return {"status": interrupt(f"Really publish {state['topic']}?", schema=Literal["approve", "reject"])}
    return {}


_b = StateGraph(ReviewState)
_b.add_node("review", _review)
_b.add_node("check", _check)
_b.add_edge(START, "review")
_b.add_edge("review", "check")
_b.add_edge("check", END)
batch_review = _b.compile(name="batch_review")

_r = StateGraph(ReviewState)
_r.add_node("review", _review, timeout=timedelta(seconds=5))
_r.add_edge(START, "review")
_r.add_edge("review", END)
replica_review = _r.compile(name="replica_review")
"""batch_review's question alone (one node: the least work per run, as test_replicas starts 300 of them), with
a node timeout of 5 s: a node attempt lost with a SIGKILLed worker is retried on another within seconds, not
after the default 5 minutes."""

GRAPHS = [batch_review, replica_review]
