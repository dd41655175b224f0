"""Version 1 of a deployed graph: write -> review (asks a person) -> publish."""

from __future__ import annotations

from typing import TypedDict

from hitl import END, START, StateGraph, interrupt


class State(TypedDict, total=False):
    draft: str
    approved: bool
    published: str
    audited: bool


def write(state: State) -> dict:
    return {"draft": "v1 draft"}


def review(state: State) -> dict:
    return {"approved": interrupt("approve?") == "yes"}


def publish(state: State) -> dict:
    return {"published": f"published by v1: {state['draft']}"}


builder = StateGraph(State)
builder.add_node("write", write)
builder.add_node("review", review)
builder.add_node("publish", publish)
builder.add_edge(START, "write")
builder.add_edge("write", "review")
builder.add_edge("review", "publish")
builder.add_edge("publish", END)
graph = builder.compile(name="deploy")
