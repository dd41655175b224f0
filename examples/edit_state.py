"""Edit graph state: the run stops before publishing; a person rewrites the draft.

A static breakpoint (`interrupt_before=["publish"]`) pauses the run with the
generated draft in its state; `update_state` (CLI: `hitl update-state`) replaces
it, and `resume()` publishes the person's version.
"""

from __future__ import annotations

from typing import TypedDict

from hitl import END, START, StateGraph


class State(TypedDict, total=False):
    topic: str
    draft: str
    published: str


def generate(state: State) -> dict:
    return {"draft": f"{state['topic'].capitalize()} is great. We think you will like {state['topic']}."}


def publish(state: State) -> dict:
    return {"published": state["draft"]}


builder = StateGraph(State)
builder.add_node("generate", generate)
builder.add_node("publish", publish)
builder.add_edge(START, "generate")
builder.add_edge("generate", "publish")
builder.add_edge("publish", END)
graph = builder.compile(name="edit_state", interrupt_before=["publish"])
