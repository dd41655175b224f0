"""The four human-in-the-loop patterns, run end to end as the README walks them:
through the CLI in a subprocess, and through the Python API."""

from __future__ import annotations

import asyncio
import importlib
import uuid

import pytest

import hitl
from hitl.testing import HitlTest
from tests.helpers import cli, event_count, one_line_error

tool_review = importlib.import_module("examples.tool_review")

REFUND_ASK = {"messages": [{"role": "user", "content": "Please refund order 42."}]}


async def _in_inbox(client: hitl.Client, run_id: str) -> str:
    for _ in range(100):
        inbox = await cli(client, "inbox")
        row = next((line for line in inbox.out.splitlines() if line.startswith(run_id)), None)
        if row:
            return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"{run_id} never showed up in the inbox")


# ------------------------------------------------------------------ approve or reject


@pytest.mark.parametrize(("answer", "status"), [("approve", "published"), ("reject", "rejected")])
async def test_approval_cli(client: hitl.Client, answer: str, status: str) -> None:
    run_id = f"ex-{uuid.uuid4().hex[:8]}"
    assert (await cli(client, "start", "approval", "--input", '{"topic": "tea"}', "--id", run_id, "--wait")).code == 0
    assert "review" in await _in_inbox(client, run_id)
    assert (await cli(client, "resume", run_id, "--value", f'"{answer}"')).code == 0
    result = await cli(client, "result", run_id, "--json")
    assert result.json()["status"] == status  # type: ignore[index]


# The Python walk-throughs use hitl's pytest plugin (hitl/testing.py) as a user's tests of their graphs would.


@pytest.mark.hitl_graphs("hitl.examples")
async def test_approval_python(hitl_test: HitlTest) -> None:
    run = await hitl_test.start("approval", {"topic": "tea"})
    paused = await run.until_paused()
    assert paused.interrupts[0].value["answers"] == ["approve", "reject"]
    assert (await run.resume("reject")).values["status"] == "rejected"


# ------------------------------------------------------------------ edit graph state


async def test_edit_state_cli(client: hitl.Client) -> None:
    run_id = f"ex-{uuid.uuid4().hex[:8]}"
    started = await cli(
        client, "start", "edit_state", "--input", '{"topic": "tea"}', "--id", run_id, "--wait", "--json"
    )
    state = started.json()
    assert state["breakpoint"] == "before" and state["next"] == ["publish"]  # type: ignore[index]
    assert "publish" in await _in_inbox(client, run_id)
    edited = await cli(client, "update-state", run_id, "--values", '{"draft": "Tea, reviewed by a person."}')
    assert edited.code == 0, edited.err
    assert (await cli(client, "resume", run_id)).code == 0
    assert (await cli(client, "result", run_id, "--json")).json()["published"] == "Tea, reviewed by a person."  # type: ignore[index]


@pytest.mark.hitl_graphs("hitl.examples")
async def test_edit_state_python(hitl_test: HitlTest) -> None:
    run = await hitl_test.start("edit_state", {"topic": "tea"})
    paused = await run.until_paused()
    assert paused.values["draft"].startswith("Tea is great")
    await run.update_state({"draft": "Better."})
    assert (await run.resume()).values["published"] == "Better."


# ------------------------------------------------------------------ validate human input


async def test_validate_input_cli(client: hitl.Client) -> None:
    run_id = f"ex-{uuid.uuid4().hex[:8]}"
    await cli(client, "start", "validate_input", "--input", '{"name": "Ada"}', "--id", run_id, "--wait")
    assert "ask_age" in await _in_inbox(client, run_id)
    again = await cli(client, "resume", run_id, "--value", '"old"', "--json")
    assert "'old' is not an age" in again.json()["interrupts"][0]["value"]  # type: ignore[index]
    again = await cli(client, "resume", run_id, "--value", "200", "--json")
    assert "200 is not an age" in again.json()["interrupts"][0]["value"]  # type: ignore[index]
    confirm = await cli(client, "resume", run_id, "--value", "36", "--json")
    assert confirm.json()["next"] == ["confirm_age"]  # type: ignore[index]
    before = await event_count(client, run_id)
    refused = one_line_error(await cli(client, "resume", run_id, "--value", "0"))
    assert "does not fit its schema: 0 is less than or equal to the minimum of 0" in refused
    assert await event_count(client, run_id) == before  # refused at the edge
    assert (await cli(client, "resume", run_id, "--value", "36")).code == 0
    final = (await cli(client, "result", run_id, "--json")).json()
    assert final == {"name": "Ada", "age": 36, "confirmed": True}


@pytest.mark.hitl_graphs("hitl.examples")
async def test_validate_input_python(hitl_test: HitlTest) -> None:
    run = await hitl_test.start("validate_input", {"name": "Bo"})
    await run.until_paused()
    state = await run.resume(True)
    assert "True is not an age" in state.interrupts[0].value
    state = await run.resume(7)
    with pytest.raises(hitl.DecisionRejectedError, match="150 is greater than or equal to the maximum of 150"):
        await run.resume(150)
    assert (await run.resume(8)).values["confirmed"] is False


# ------------------------------------------------------------------ review tool calls


def _decisions(*items: dict) -> dict:
    return {"decisions": list(items)}


async def _refund_paused(client: hitl.Client) -> tuple[hitl.Run, hitl.StateSnapshot]:
    run = await client.start("tool_review", REFUND_ASK)
    paused = await run.wait()
    assert paused.status == "interrupted"
    return run, paused


def _tool_messages(state: hitl.StateSnapshot) -> dict[str, str]:
    return {m["tool_call_id"]: m["content"] for m in state.values["messages"] if m["type"] == "tool"}


async def test_tool_review_one_interrupt_per_turn_with_allowed_decisions(client: hitl.Client) -> None:
    run, paused = await _refund_paused(client)
    [question] = paused.interrupts
    assert [a["name"] for a in question.value["action_requests"]] == ["issue_refund", "send_email"]
    assert [c["allowed_decisions"] for c in question.value["review_configs"]] == [
        ["approve", "edit", "reject"],
        ["approve", "edit", "reject", "respond"],
    ]
    # lookup_order needed no review: it already ran, before any pause.
    assert '"customer": "ada@example.com"' in _tool_messages(paused)["call_lookup"]
    await run.cancel()


async def test_tool_review_approve_all(client: hitl.Client) -> None:
    run, _ = await _refund_paused(client)
    done = await run.resume(_decisions({"type": "approve"}, {"type": "approve"}))
    results = _tool_messages(done)
    assert results["call_refund"] == "refunded 30.00 on order 42"
    assert results["call_email"] == "email sent to ada@example.com"
    assert done.values["messages"][-1]["content"].startswith("Done. refunded 30.00")


async def test_tool_review_mix_edit_reject_in_one_turn(client: hitl.Client) -> None:
    before = list(tool_review.LEDGER)
    run, _ = await _refund_paused(client)
    done = await run.resume(
        _decisions(
            {"type": "edit", "edited_action": {"name": "issue_refund", "args": {"order_id": 42, "amount": 12.5}}},
            {"type": "reject", "message": "Do not email; we will call her."},
        )
    )
    results = _tool_messages(done)
    assert results["call_refund"] == "refunded 12.50 on order 42"
    assert results["call_email"] == "The reviewer rejected this call to send_email: Do not email; we will call her."
    # The rejected call never ran: only the edited refund reached the ledger.
    assert tool_review.LEDGER[len(before) :] == ["refund 42 12.50"]
    assert "rejected this call" in done.values["messages"][-1]["content"]  # fed back to the model


async def test_tool_review_respond_in_the_tools_place(client: hitl.Client) -> None:
    before = list(tool_review.LEDGER)
    run, _ = await _refund_paused(client)
    done = await run.resume(
        _decisions({"type": "reject"}, {"type": "respond", "message": "Customer was told by phone."})
    )
    assert _tool_messages(done)["call_email"] == "Customer was told by phone."
    assert tool_review.LEDGER[len(before) :] == []


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            _decisions(
                {"type": "edit", "edited_action": {"args": {"order_id": "forty-two", "amount": 1}}}, {"type": "approve"}
            ),
            "decisions/0",
        ),
        (_decisions({"type": "edit", "edited_action": {"args": {"order_id": 42}}}, {"type": "approve"}), "decisions/0"),
        (
            _decisions({"type": "respond", "message": "x"}, {"type": "approve"}),
            "decisions/0",
        ),  # not allowed for refunds
        (_decisions({"type": "approve"}), "should be non-empty|is too short"),
        ({"decision": "approve"}, "'decisions' is a required property"),
    ],
)
async def test_tool_review_bad_decisions_are_refused_at_the_edge(
    client: hitl.Client, answer: dict, message: str
) -> None:
    before_ledger = list(tool_review.LEDGER)
    run, _ = await _refund_paused(client)
    before = await event_count(client, run.run_id)
    with pytest.raises(hitl.DecisionRejectedError, match=message):
        await run.resume(answer)
    assert await event_count(client, run.run_id) == before
    assert tool_review.LEDGER == before_ledger
    await run.cancel()


async def test_tool_review_through_the_cli(client: hitl.Client) -> None:
    run_id = f"ex-{uuid.uuid4().hex[:8]}"
    import json

    started = await cli(client, "start", "tool_review", "--input", json.dumps(REFUND_ASK), "--id", run_id, "--wait")
    assert started.code == 0, started.err
    assert "tools" in await _in_inbox(client, run_id)
    answer = json.dumps(_decisions({"type": "approve"}, {"type": "reject", "message": "no"}))
    assert (await cli(client, "resume", run_id, "--value", answer)).code == 0
    final = (await cli(client, "result", run_id, "--json")).json()
    assert final["messages"][-1]["type"] == "ai"  # type: ignore[index]
