"""The same scenarios as hitl graphs (served by `python worker.py bench.graphs`)."""

from __future__ import annotations

from typing import TypedDict

from hitl import END, START, StateGraph, interrupt
from hitl.graph import Rerun


class Approval(TypedDict, total=False):
    topic: str
    draft: str
    status: str


def write_draft(state: Approval) -> dict:
    return {"draft": f"A short announcement about {state['topic']}."}


def review(state: Approval) -> dict:
    return {"status": "approved" if interrupt({"draft": state["draft"]}) == "approve" else "rejected"}


def publish(state: Approval) -> dict:
    return {"status": "published"}


def _approval(name: str, local: bool, rerun: Rerun = "activity"):
    b = StateGraph(Approval)
    b.add_node("write_draft", write_draft, local=local)
    b.add_node("review", review, local=local, rerun=rerun)
    b.add_node("publish", publish, local=local)
    b.add_edge(START, "write_draft")
    b.add_edge("write_draft", "review")
    b.add_edge("review", "publish")
    b.add_edge("publish", END)
    return b.compile(name=name)


approval = _approval("bench_approval", local=False)
approval_local = _approval("bench_approval_local", local=True)
approval_rerun_local = _approval("bench_approval_rerun_local", local=False, rerun="local")
"""The asking node declared `rerun="local"`: its run after the answer is a local activity."""

breakpoint_b = StateGraph(Approval)
breakpoint_b.add_node("write_draft", write_draft)
breakpoint_b.add_node("publish", publish)
breakpoint_b.add_edge(START, "write_draft")
breakpoint_b.add_edge("write_draft", "publish")
approval_breakpoint = breakpoint_b.compile(name="bench_approval_breakpoint")


class Counter(TypedDict, total=False):
    i: int
    limit: int
    blob: str


def tick(state: Counter) -> dict:
    return {"i": state["i"] + 1}


def ask_then_tick(state: Counter) -> dict:
    interrupt(f"step {state['i']}?")
    return {"i": state["i"] + 1}


def _more(state: Counter) -> str:
    return "tick" if state["i"] < state["limit"] else END


class Ticks(TypedDict, total=False):
    i: int


def _chain(name: str, n: int, reads: type | None = None):
    b = StateGraph(Counter)
    names = [f"n{k}" for k in range(n)]
    for node in names:
        b.add_node(node, tick, input_schema=reads)
    b.add_edge(START, names[0])
    for a, c in zip(names, names[1:], strict=False):
        b.add_edge(a, c)
    return b.compile(name=name)


chain20 = _chain("bench_chain20", 20)
chain5 = _chain("bench_chain5", 5)
chain5_narrow = _chain("bench_chain5_narrow", 5, reads=Ticks)
"""The same chain whose nodes declare that they read `i` only (input_schema)."""

stepper_b = StateGraph(Counter)
stepper_b.add_node("tick", ask_then_tick)
stepper_b.add_edge(START, "tick")
stepper_b.add_conditional_edges("tick", _more)
stepper = stepper_b.compile(name="bench_stepper")

stepper_local_b = StateGraph(Counter)
stepper_local_b.add_node("tick", ask_then_tick, rerun="local")
stepper_local_b.add_edge(START, "tick")
stepper_local_b.add_conditional_edges("tick", _more)
stepper_local = stepper_local_b.compile(name="bench_stepper_rerun_local")

ticker_b = StateGraph(Counter)
ticker_b.add_node("tick", tick)
ticker_b.add_edge(START, "tick")
ticker_b.add_conditional_edges("tick", _more)
ticker = ticker_b.compile(name="bench_ticker")

loop_b = StateGraph(Counter)
loop_b.add_node("tick", tick, local=True)
loop_b.add_edge(START, "tick")
loop_b.add_conditional_edges("tick", _more)
loop = loop_b.compile(name="bench_loop")


def ask_at_once(state: Approval) -> dict:
    return {"status": str(interrupt({"topic": state.get("topic", "")}))}


ask_b = StateGraph(Approval)
ask_b.add_node("ask", ask_at_once, local=True)
ask_b.add_edge(START, "ask")
ask = ask_b.compile(name="bench_ask")
"""Asks at once, in a local activity: the fastest way to have thousands of runs waiting (inbox-scale)."""

GRAPHS = [
    approval,
    approval_local,
    approval_rerun_local,
    approval_breakpoint,
    chain20,
    chain5,
    chain5_narrow,
    stepper,
    stepper_local,
    ticker,
    loop,
    ask,
]
