"""Graphs for the trust tests: limited questions, subgraphs asking by role, large state.

`payment` declares its guard at compile time; `payment_undeclared` is the same graph without
it (guarded only once `approve` asks); `payment_private` declares readers (test_web_scope), as does `priv_child`, inside `pub_parent` (and `priv_parent` around `pub_child`). Each `*_local` graph is its default twin with `approve` declared
`rerun="local"`: after the answer it runs again as a local activity, in the workflow task that applies
the answer. Names are what recorded histories start: never rename one.
"""

from __future__ import annotations

import json
import operator
import os
import threading
import time
from collections import Counter
from typing import Annotated, Literal, TypedDict

from hitl import END, START, Command, StateGraph, interrupt
from hitl.graph import Rerun


class PayState(TypedDict, total=False):
    draft: str
    paid: str
    log: Annotated[list[str], operator.add]


def _write(state: PayState) -> dict:
    return {"draft": state.get("draft") or "pay 1M"}


def _slow_write(state: PayState) -> dict:
    time.sleep(3)  # long enough that a decision sent right after start arrives before the pause, even under load
    return _write(state)


AFTER_ANSWER: Counter[str] = Counter()
"""Times `approve`'s code after `interrupt()` ran, by draft, in this process (the test worker's): an accepted
answer must run it exactly once. Tests start runs with a draft of their own."""
HOLD_AFTER_ANSWER: dict[str, float] = json.loads(os.environ.get("HITL_TEST_HOLD_AFTER_ANSWER", "{}"))
"""Seconds `approve` takes after the answer, by draft: a test that races decisions against the re-run sets it
(for a worker in a subprocess, through the environment)."""
GATES: dict[tuple[str, str], threading.Event] = {}
"""Where a test holds a node until it lets it go, by (node, draft): `approve` after the answer, `pay` before it
pays. In-process worker only; a test forces an interleaving with them instead of hoping for one in time."""


def _gate(node: str, draft: str) -> None:
    """Wait for the test's gate, if it set one (a minute at most: a test that fails never wedges the worker)."""
    gate = GATES.get((node, draft))
    if gate is not None:
        gate.wait(timeout=60)


def _approve(state: PayState) -> Command:
    answer = interrupt({"draft": state["draft"]}, schema=Literal["approve", "reject"], reviewers=REVIEWERS)
    AFTER_ANSWER[state["draft"]] += 1
    time.sleep(HOLD_AFTER_ANSWER.get(state["draft"], 0.0))
    _gate("approve", state["draft"])
    return Command(update={"log": [f"{answer}:{state['draft']}"]}, goto="pay" if answer == "approve" else END)


def _pay(state: PayState) -> dict:
    _gate("pay", state["draft"])
    return {"paid": state["draft"], "log": ["pay"]}


def _payment(name: str, write: object = _write, rerun: Rerun = "activity", **compile_options: object):
    b = StateGraph(PayState)
    b.add_node("write", write)  # type: ignore[arg-type]
    b.add_node("approve", _approve, rerun=rerun)
    b.add_node("pay", _pay)
    b.add_edge(START, "write")
    b.add_edge("write", "approve")
    b.add_edge("pay", END)
    return b.compile(name=name, **compile_options)  # type: ignore[arg-type]


REVIEWERS = ["alice", "role:finance"]
payment = _payment("payment", guard=REVIEWERS)  # guarded from the start: nobody else can skip `approve`
payment_undeclared = _payment("payment_undeclared")  # the same graph with no declared guard (the warning)
payment_open = _payment("payment_open")  # likewise, for the web tests: test_trust alone asks payment_undeclared
payment_checked = _payment("payment_checked", interrupt_before=["pay"])
slow_payment = _payment("slow_payment", _slow_write)
payment_local = _payment("payment_local", rerun="local", guard=REVIEWERS)
payment_checked_local = _payment("payment_checked_local", rerun="local", interrupt_before=["pay"])
slow_payment_local = _payment("slow_payment_local", _slow_write, rerun="local")
payment_private = _payment("payment_private", readers=["alice"])  # hitl serve shows its runs to alice only


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


def _private_ask(state: TeamState) -> dict:
    return {"answer": interrupt(f"private budget for {state['topic']}?")}


secret_b = StateGraph(TeamState)
secret_b.add_node("ask", _private_ask)
secret_b.add_edge(START, "ask")
priv_child = secret_b.compile(name="priv_child", readers=["alice"])  # its question shows in its parent's runs
pub_child = secret_b.compile(name="pub_child")


def _around(name: str, child: object, **compile_options: object):
    b = StateGraph(TeamState)
    b.add_node("team", child)  # type: ignore[arg-type]
    b.add_edge(START, "team")
    return b.compile(name=name, **compile_options)  # type: ignore[arg-type]


pub_parent = _around("pub_parent", priv_child)  # no readers of its own: its subgraph's apply (test_web_scope)
priv_parent = _around("priv_parent", pub_child, readers=["alice"])  # a public subgraph inside a private graph


class BlobState(TypedDict, total=False):
    blob: str
    note: str
    rounds: Annotated[list[str], operator.add]


def _ask(state: BlobState) -> dict:
    return {"note": interrupt("again or done?"), "rounds": ["r"]}


def _blob(name: str, rerun: Rerun = "activity"):
    b = StateGraph(BlobState)
    b.add_node("ask", _ask, rerun=rerun)
    b.add_edge(START, "ask")
    b.add_conditional_edges("ask", _again)
    return b.compile(name=name)


def _again(state: BlobState) -> str:
    return END if state.get("note") == "done" else "ask"


def _grow(state: BlobState) -> dict:
    return {"blob": "g" * 1_200_000}


blob = _blob("blob")
blob_local = _blob("blob_local", rerun="local")

grow_b = StateGraph(BlobState)
grow_b.add_node("grow", _grow)
grow_b.add_edge(START, "grow")
grow = grow_b.compile(name="grow")

GRAPHS = [
    payment,
    payment_undeclared,
    payment_open,
    payment_checked,
    slow_payment,
    payment_local,
    payment_checked_local,
    slow_payment_local,
    payment_private,
    finance_parent,
    priv_child,
    pub_child,
    pub_parent,
    priv_parent,
    blob,
    blob_local,
    grow,
]
