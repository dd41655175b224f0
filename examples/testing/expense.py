"""An expense claim: a manager answers within a deadline (else it is sent back), then two of three
approvers must agree (a quorum; one "reject" vetoes)."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

from hitl import END, START, Quorum, StateGraph, Vote, interrupt

APPROVERS = ["ana", "ben", "cy"]


class Claim(TypedDict, total=False):
    amount: int
    manager: str
    status: str


def manager_review(state: Claim) -> dict:
    # No answer within the deadline counts as "send back" (recorded as decided by `deadline`).
    verdict = interrupt(
        {"question": f"Claim of {state['amount']} EUR: approve?"},
        timeout=timedelta(seconds=2),
        default="send back",
    )
    return {"manager": verdict}


def approvers(state: Claim) -> dict:
    votes: list[Vote] = interrupt(
        {"question": f"Pay {state['amount']} EUR?"},
        quorum=Quorum(2, of=APPROVERS, veto=["reject"]),
    )
    return {"status": "rejected" if any(v.value == "reject" for v in votes) else "paid"}


def route(state: Claim) -> str:
    return "approvers" if state["manager"] == "approve" else END


builder = StateGraph(Claim)
builder.add_node("manager_review", manager_review)
builder.add_node("approvers", approvers)
builder.add_edge(START, "manager_review")
builder.add_conditional_edges("manager_review", route, ["approvers", END])
builder.add_edge("approvers", END)
expense = builder.compile(name="expense")
