"""Approve or reject: a person reviews a draft; the node routes with Command(goto=...)."""

from __future__ import annotations

from typing import Literal, TypedDict

from hitl import END, START, Command, StateGraph, interrupt


class State(TypedDict, total=False):
    topic: str
    draft: str
    status: str


def write_draft(state: State) -> dict:
    return {"draft": f"A short announcement about {state['topic']}."}


def review(state: State) -> Command:
    decision = interrupt(
        {"question": "Publish this draft?", "draft": state["draft"], "answers": ["approve", "reject"]},
        schema=Literal["approve", "reject"],
    )
    return Command(goto="publish" if decision == "approve" else "discard")


def publish(state: State) -> dict:
    return {"status": "published"}


def discard(state: State) -> dict:
    return {"status": "rejected"}


builder = StateGraph(State)
builder.add_node("write_draft", write_draft)
builder.add_node("review", review)
builder.add_node("publish", publish)
builder.add_node("discard", discard)
builder.add_edge(START, "write_draft")
builder.add_edge("write_draft", "review")
builder.add_edge("publish", END)
builder.add_edge("discard", END)
graph = builder.compile(name="approval")
