"""Version 2: publish's body changed, and a new node added elsewhere."""

from __future__ import annotations

from hitl import END, START, StateGraph
from tests.deploy.v1 import State, review, write


def publish(state: State) -> dict:
    return {"published": f"published by v2: {state['draft']}"}


def audit(state: State) -> dict:
    return {"audited": True}


builder = StateGraph(State)
builder.add_node("write", write)
builder.add_node("review", review)
builder.add_node("publish", publish)
builder.add_node("audit", audit)
builder.add_edge(START, "write")
builder.add_edge("write", "review")
builder.add_edge("review", "publish")
builder.add_edge("publish", "audit")
builder.add_edge("audit", END)
graph = builder.compile(name="deploy")
