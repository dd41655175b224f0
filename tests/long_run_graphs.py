"""Graphs of the long-run tests (tests/test_long_runs.py): a loop that asks now and then."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from hitl import END, START, StateGraph, interrupt


class LongState(TypedDict, total=False):
    i: int
    limit: int
    every: int
    approvals: Annotated[list[str], operator.add]


def _long_step(state: LongState) -> dict:
    i = state["i"]
    every = state.get("every") or 0
    if every and i and i % every == 0:
        return {"i": i + 1, "approvals": [f"{i}:{interrupt(f'checkpoint at step {i}')}"]}
    return {"i": i + 1}


def _long_again(state: LongState) -> str:
    return "step" if state["i"] < state["limit"] else END


long_b = StateGraph(LongState)
long_b.add_node("step", _long_step, local=True)
long_b.add_edge(START, "step")
long_b.add_conditional_edges("step", _long_again)
long_loop = long_b.compile(name="long_loop")

GRAPHS = [
    long_loop,
]
