"""A graph of the answer-form tests (tests/test_web_browser_forms.py): it asks whatever question its input
gives, with the schema its input gives (none: what the question implies, as for Agent Inbox's shape), so
each test states the exact question a graph written elsewhere would ask. Names are what recorded histories
start: never rename one."""

from __future__ import annotations

from typing import Any, TypedDict

from hitl import END, START, StateGraph, interrupt


class AskState(TypedDict, total=False):
    question: Any
    schema: Any
    answer: Any


def _ask(state: AskState) -> dict:
    return {"answer": interrupt(state["question"], schema=state.get("schema"))}


_g = StateGraph(AskState)
_g.add_node("ask", _ask)
_g.add_edge(START, "ask")
_g.add_edge("ask", END)
ask_as_given = _g.compile(name="ask_as_given")

GRAPHS = [ask_as_given]
