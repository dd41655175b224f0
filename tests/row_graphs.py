"""Graphs of the inbox-row tests (tests/test_web_browser_rows.py): a question naming its row's title and
fields, and one summarizing itself with a function. Names are what recorded histories start: never rename one."""

from __future__ import annotations

import asyncio
from typing import Any, Literal, TypedDict

import hitl
from hitl import END, START, StateGraph, interrupt
from hitl.protocol.wire import GRAPH, STATUS, WORKFLOW_NAME


class OrderState(TypedDict, total=False):
    customer: str
    total: str
    outcome: str


LONG_NOTES = "Delivered to the back door, please. " * 10


def _ship(state: OrderState) -> dict:
    order = {
        "question": "Ship this order?",
        "customer": state["customer"],
        "total": state["total"],
        "notes": LONG_NOTES,
    }
    answer = interrupt(
        order,
        title=f"Order for {state['customer']}",
        summary=["customer", "total"],
        schema=Literal["approve", "reject"],
    )
    return {"outcome": "shipped" if answer == "approve" else "held"}


def _fields(value: Any) -> dict[str, Any]:
    return {"who": value["customer"], "amount": value["total"]}


def _refund(state: OrderState) -> dict:
    asked = {"question": "Refund?", "customer": state["customer"], "total": state["total"]}
    return {"outcome": str(interrupt(asked, title="Refund", summary=_fields))}


def _graph(name: str, node: Any) -> Any:
    builder = StateGraph(OrderState)
    builder.add_node("decide", node)
    builder.add_edge(START, "decide")
    builder.add_edge("decide", END)
    return builder.compile(name=name)


GRAPHS = [_graph("titled_order", _ship), _graph("summarized_refund", _refund)]


async def clear(client: hitl.Client, graph: str) -> None:
    """Cancel what earlier tests left running in `graph`: the tests using it read that graph's whole queue."""
    query = f'WorkflowType = "{WORKFLOW_NAME}" AND {GRAPH.name} = "{graph}" AND ExecutionStatus = "Running"'
    ids = [w.id async for w in client.temporal.list_workflows(query)]
    for outcome in await asyncio.gather(*(client.get_run(i).cancel() for i in ids), return_exceptions=True):
        # The visibility store lists a run as running for moments after it ended (an earlier clear cancelled it).
        if isinstance(outcome, BaseException) and "it has ended" not in str(outcome):
            raise outcome
    left = f'{query} AND {STATUS.name} = "interrupted"'
    for _ in range(100):
        if not (await client.temporal.count_workflows(left)).count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"runs of {graph} still waiting after cancelling them")
