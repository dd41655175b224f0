"""Static checks of the public API's types, run by mypy (`.ci/run`), never by pytest.

Each `assert_type` states what a user's type checker must infer; a wrong
overload or signature makes mypy fail here. Nothing below is called.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import pydantic
from typing_extensions import assert_type

from hitl import interrupt
from hitl.graph import StateGraph
from hitl.human_interrupt import ActionRequest, HumanResponse, ResponseType
from hitl.prebuilt.agent import human_review
from hitl.prebuilt.tools import Tool, tool


class Answer(pydantic.BaseModel):
    approved: bool


def answers_follow_the_schema() -> None:
    # The README's approval example.
    assert_type(interrupt({"draft": "x"}, schema=Literal["approve", "reject"]), Literal["approve", "reject"])
    assert_type(interrupt("age?", schema=int), int)
    assert_type(interrupt("anything?", schema=dict), dict[Any, Any])
    assert_type(interrupt("ok?", schema=Answer), Answer)
    assert_type(interrupt("maybe?", schema=int | None), int | None)
    assert_type(interrupt("names?", schema=list[str]), list[str])
    # A JSON Schema given as is, or no schema: the answer is whatever JSON came.
    assert_type(interrupt("json?", schema={"type": "object"}), Any)
    assert_type(interrupt("free text?"), Any)
    assert_type(
        interrupt("approve?", reviewers=["alice", "role:finance"], timeout=timedelta(hours=4), default="approve"), Any
    )


def tools_are_typed() -> None:
    def refund(order_id: int, amount: float) -> str:
        return f"{order_id} {amount}"

    assert_type(tool(refund), Tool)
    assert_type(tool(name="refund")(refund), Tool)


def routing_maps_take_any_keys(builder: StateGraph) -> None:
    def route(state: dict[str, Any]) -> bool:
        return True

    builder.add_conditional_edges("classify", route, {True: "big", False: "small"})
    builder.add_conditional_edges("classify", route, ["big", "small"])


def agent_inbox_shape() -> None:
    # hitl.prebuilt.agent.human_review: one typed response; an edit's action and a response's text narrowed.
    response = human_review("send_email", {"to": "ada"}, description="Send it?")
    assert_type(response, HumanResponse)
    assert_type(response.type, ResponseType)
    assert_type(response.edited, ActionRequest | None)
    assert_type(response.text, str | None)
