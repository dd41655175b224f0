"""Version 3: the publish node was removed."""

from __future__ import annotations

from hitl import END, START, StateGraph
from tests.deploy.v1 import State, review, write

builder = StateGraph(State)
builder.add_node("write", write)
builder.add_node("review", review)
builder.add_edge(START, "write")
builder.add_edge("write", "review")
builder.add_edge("review", END)
graph = builder.compile(name="deploy")
