"""Graphs of the fault-injection tests: nodes slow enough to be killed (tests/test_faults.py), a node that
counts its answers (tests/test_update_resend.py), and nodes that ask when a test lets them, for the queries
run ahead of a history (tests/test_ahead_queries.py)."""

from __future__ import annotations

import operator
import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, TypedDict

from temporalio.common import RetryPolicy

from hitl import START, CompiledGraph, Remind, StateGraph, StateSnapshot, interrupt


class FaultState(TypedDict, total=False):
    seed: int
    trail: Annotated[list[str], operator.add]


def _faulty(name: str):
    def node(state: FaultState) -> dict:
        time.sleep(0.05 + (hash((state["seed"], name)) % 25) / 100)  # 0.05 to 0.3 s: a window to be killed in
        return {"trail": [name]}

    node.__name__ = name
    return node


def _fault_decide(state: FaultState) -> dict:
    return {"trail": [f"decide:{interrupt('go on?')}"]}


fault_b = StateGraph(FaultState)
_fast_retry = RetryPolicy(maximum_attempts=20, initial_interval=timedelta(milliseconds=100))
for _name in ("n1", "n2", "n3", "n4"):
    fault_b.add_node(_name, _faulty(_name), timeout=timedelta(seconds=2), retry_policy=_fast_retry)
fault_b.add_node("decide", _fault_decide, timeout=timedelta(seconds=2), retry_policy=_fast_retry)
fault_b.add_edge(START, "n1")
fault_b.add_edge("n1", "n2")
fault_b.add_edge("n2", "decide")
fault_b.add_edge("decide", "n3")
fault_b.add_edge("n3", "n4")
faulty = fault_b.compile(name="faulty")

ANSWERED: Counter[str] = Counter()
"""How often `resend`'s node ran past its question, by answer, in this process (the test worker's)."""


def _count_answer(state: FaultState) -> dict:
    answer = str(interrupt("approve?"))
    ANSWERED[answer] += 1
    return {"trail": [f"answered:{answer}"]}


def _ask_again(state: FaultState) -> dict:
    return {"trail": [f"again:{interrupt('and now?')}"]}


resend_b = StateGraph(FaultState)
resend_b.add_node("answer", _count_answer)
resend_b.add_node("again", _ask_again)
resend_b.add_edge(START, "answer")
resend_b.add_edge("answer", "again")
resend = resend_b.compile(name="resend")
"""Asks, counts the answer, asks again: a decision applied twice would show in the count or the trail."""


class GateState(TypedDict, total=False):
    gate: str
    trail: Annotated[list[str], operator.add]


def _wait_at_gate(state: GateState) -> None:
    """Return once the file `gate` exists, having written which process runs the node to `<gate>.running`."""
    gate = Path(state["gate"])
    Path(f"{gate}.running").write_text(str(os.getpid()))
    while not gate.exists():
        time.sleep(0.05)


def _ask_at_gate(state: GateState) -> dict:
    """Asks once the gate opens."""
    _wait_at_gate(state)
    return {"trail": [f"asked:{interrupt('go on?')}"]}


def _gated(
    name: str, ask: Callable[[GateState], dict], notify: Callable[[StateSnapshot], None] | None = None
) -> CompiledGraph:
    """A graph whose one node `ask` (2 s timeout, fast retries) runs `ask`."""
    builder = StateGraph(GateState)
    builder.add_node("ask", ask, timeout=timedelta(seconds=2), retry_policy=_fast_retry)
    builder.add_edge(START, "ask")
    return builder.compile(name=name, notify=notify)


gated = _gated("gated", _ask_at_gate)
"""Its node asks when the test opens the gate (tests/test_ahead_queries.py), in the process the test sees."""


def _ask_with_a_ladder(state: GateState) -> dict:
    ladder = [Remind(timedelta(seconds=0.5)), Remind(timedelta(hours=1))]
    return {"trail": [f"asked:{interrupt('go on?', escalate=ladder)}"]}


def _slow(state: GateState) -> dict:
    time.sleep(2)
    return {"trail": ["slow"]}


overdue_b = StateGraph(GateState)
overdue_b.add_node("ask", _ask_with_a_ladder)
overdue_b.add_node("slow", _slow)
overdue_b.add_edge(START, "ask")
overdue_b.add_edge(START, "slow")
overdue = overdue_b.compile(name="overdue")
"""Asks with a reminder due in 0.5 s while a node beside it runs 2 s: the step pauses with the reminder overdue
(tests/test_ahead_queries.py)."""


def _ask_at_gate_with_a_ladder(state: GateState) -> dict:
    """As `_ask_at_gate`, with reminders 1 and 1.5 s after it asks (and one an hour after)."""
    _wait_at_gate(state)
    ladder = [Remind(timedelta(seconds=1)), Remind(timedelta(seconds=1.5)), Remind(timedelta(hours=1))]
    return {"trail": [f"asked:{interrupt('go on?', escalate=ladder)}"]}


REMINDERS: Counter[str] = Counter()
"""How often `gated_ladder`'s notify hook ran, by run id, in this process."""


def _remind(snapshot: StateSnapshot) -> None:
    REMINDERS[snapshot.run_id] += 1


gated_ladder = _gated("gated_ladder", _ask_at_gate_with_a_ladder, _remind)
"""`gated` with an escalation ladder and a notify hook (tests/test_ahead_queries.py)."""

gated_notify = _gated("gated_notify", _ask_at_gate, _remind)
"""`gated` with a notify hook (tests/test_ahead_queries.py)."""


def _long_local(state: GateState) -> dict:
    """Runs longer than a workflow task's heartbeat (8 s of its 10 s timeout) and notes each time it runs."""
    with Path(state["gate"]).open("a") as runs:
        runs.write("ran\n")
    time.sleep(9)
    return {"trail": ["long"]}


def _ask(state: GateState) -> dict:
    return {"trail": [f"asked:{interrupt('go on?')}"]}


long_local_b = StateGraph(GateState)
long_local_b.add_node("long", _long_local, local=True, timeout=timedelta(seconds=30))
long_local_b.add_node("ask", _ask)
long_local_b.add_edge(START, "long")
long_local_b.add_edge("long", "ask")
long_local = long_local_b.compile(name="long_local")
"""A local-activity node that outlasts the workflow task's heartbeat, then a question (tests/test_ahead_queries.py)."""

GRAPHS = [
    faulty,
    resend,
    gated,
    overdue,
    gated_ladder,
    gated_notify,
    long_local,
]
