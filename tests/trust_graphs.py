"""Graphs for the trust tests: limited questions, subgraphs asking by role, large state.

`payment` declares its guard at compile time; `payment_undeclared` is the same graph without
it (guarded only once `approve` asks). Names are what recorded histories start: never rename one.
"""

from __future__ import annotations

import operator
import time
from typing import Annotated, Literal, TypedDict

from hitl import END, START, Command, StateGraph, interrupt


class PayState(TypedDict, total=False):
    draft: str
    paid: str
    log: Annotated[list[str], operator.add]


def _write(state: PayState) -> dict:
    return {"draft": state.get("draft") or "pay 1M"}


def _slow_write(state: PayState) -> dict:
    time.sleep(3)  # long enough that a decision sent right after start arrives before the pause, even under load
    return _write(state)


def _approve(state: PayState) -> Command:
    answer = interrupt({"draft": state["draft"]}, schema=Literal["approve", "reject"], reviewers=REVIEWERS)
    return Command(update={"log": [f"{answer}:{state['draft']}"]}, goto="pay" if answer == "approve" else END)


def _pay(state: PayState) -> dict:
    return {"paid": state["draft"], "log": ["pay"]}


def _payment(name: str, write: object = _write, **compile_options: object):
    b = StateGraph(PayState)
    b.add_node("write", write)  # type: ignore[arg-type]
    b.add_node("approve", _approve)
    b.add_node("pay", _pay)
    b.add_edge(START, "write")
    b.add_edge("write", "approve")
    b.add_edge("pay", END)
    return b.compile(name=name, **compile_options)  # type: ignore[arg-type]


REVIEWERS = ["alice", "role:finance"]
payment = _payment("payment", guard=REVIEWERS)  # guarded from the start: nobody else can skip `approve`
payment_undeclared = _payment("payment_undeclared")  # the same graph with no declared guard (the warning)
payment_checked = _payment("payment_checked", interrupt_before=["pay"])
slow_payment = _payment("slow_payment", _slow_write)


class TeamState(TypedDict, total=False):
    topic: str
    answer: str


def _finance_ask(state: TeamState) -> dict:
    return {"answer": interrupt(f"budget for {state['topic']}?", reviewers=["role:finance"])}


child_b = StateGraph(TeamState)
child_b.add_node("ask", _finance_ask)
child_b.add_edge(START, "ask")
finance_child = child_b.compile(name="finance_child")

parent_b = StateGraph(TeamState)
parent_b.add_node("team", finance_child)
parent_b.add_edge(START, "team")
finance_parent = parent_b.compile(name="finance_parent")


class BlobState(TypedDict, total=False):
    blob: str
    note: str
    rounds: Annotated[list[str], operator.add]


def _ask(state: BlobState) -> dict:
    return {"note": interrupt("again or done?"), "rounds": ["r"]}


def _again(state: BlobState) -> str:
    return END if state.get("note") == "done" else "ask"


def _grow(state: BlobState) -> dict:
    return {"blob": "g" * 1_200_000}


blob_b = StateGraph(BlobState)
blob_b.add_node("ask", _ask)
blob_b.add_edge(START, "ask")
blob_b.add_conditional_edges("ask", _again)
blob = blob_b.compile(name="blob")

grow_b = StateGraph(BlobState)
grow_b.add_node("grow", _grow)
grow_b.add_edge(START, "grow")
grow = grow_b.compile(name="grow")

GRAPHS = [payment, payment_undeclared, payment_checked, slow_payment, finance_parent, blob, grow]
