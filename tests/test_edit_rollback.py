"""An edit (or an `update` sent with an answer) that passes every check but breaks the node it sends to run
again is put back, never fatal to the run (patch hitl-edit-rollback): the state is as before it, the same
question is pending again, and why is on `refused`, in the decisions, for the waiting caller, on the CLI and
the HTTP API. Real dev server."""

from __future__ import annotations

import json
import uuid

import hitl
from tests.helpers import cli, wait_for
from tests.web_fixtures import Served

DRAFT = "a short draft"
BIG = "x" * 100_000
"""Fits the state (1 MB) and an edit (256 kB), but not a question (64 kB): the asking node shows it."""
TOO_LARGE = "the interrupt() value of node 'review'"


async def _asked(client: hitl.Client) -> tuple[hitl.Run, str]:
    run = await client.start("draft_review", {"draft": DRAFT}, run_id=f"erb-{uuid.uuid4().hex[:8]}")
    state = await wait_for(run, "interrupted")
    [question] = state.interrupts
    assert question.value == {"ask": "approve?", "draft": DRAFT}
    return run, question.id


def _put_back(state: hitl.StateSnapshot, interrupt_id: str, who: str, what: str) -> None:
    """Waiting on the same question, the state as before the change, and one line saying whose change and why."""
    assert state.status == "interrupted", state
    assert [i.id for i in state.interrupts] == [interrupt_id]
    assert state.values["draft"] == DRAFT and "verdict" not in state.values
    refusal = state.refused[-1]
    assert refusal.identity == who and refusal.rolled_back and "\n" not in refusal.reason
    assert f"{what} by {who} of draft was rolled back" in refusal.reason and TOO_LARGE in refusal.reason
    rollback = state.decisions[-1]
    assert (rollback.kind, rollback.identity, rollback.interrupt_id) == ("rollback", who, interrupt_id)
    assert TOO_LARGE in rollback.value["error"]


async def test_an_edit_that_breaks_the_asking_node_is_put_back_and_the_run_asks_again(client: hitl.Client) -> None:
    run, asked = await _asked(client)
    state = await run.update_state({"draft": BIG}, identity="alice")
    _put_back(state, asked, "alice", "edit")
    assert state.error is not None and TOO_LARGE in state.error  # the waiting caller is told
    again = await run.get_state()
    _put_back(again, asked, "alice", "edit")
    assert again.error is None
    # the run goes on from the same question, on the state as it was
    confirm = await run.resume("ok", identity="bob")
    assert confirm.status == "interrupted" and confirm.interrupts[0].value["draft"] == DRAFT
    done = await run.resume("yes", identity="bob")
    assert (done.status, done.values) == ("completed", {"draft": DRAFT, "verdict": "yes"})
    kinds = [(d.kind, d.identity) for d in done.decisions]
    assert kinds[:2] == [("update_state", "alice"), ("rollback", "alice")]


async def test_an_edit_the_node_takes_stands(client: hitl.Client) -> None:
    run, asked = await _asked(client)
    state = await run.update_state({"draft": "a better draft"}, identity="alice")
    assert state.status == "interrupted" and state.error is None and not state.refused
    [question] = state.interrupts
    assert question.id != asked and question.value["draft"] == "a better draft"


async def test_an_update_sent_with_an_answer_that_breaks_the_node_is_put_back_with_it(client: hitl.Client) -> None:
    run, asked = await _asked(client)
    # the answer "ok" leads the node to ask to confirm, showing the updated (too large) draft
    state = await run.resume("ok", update={"draft": BIG}, identity="alice")
    _put_back(state, asked, "alice", "answer")
    assert state.error is not None and TOO_LARGE in state.error
    reasons = [r.reason for r in state.refused]
    assert any(r.startswith("update sent with the answer by alice of draft was rolled back") for r in reasons)
    assert any(r.startswith(f"answer ok to interrupt {asked}") for r in reasons), reasons
    confirm = await run.resume("ok", identity="alice")
    assert confirm.status == "interrupted" and confirm.interrupts[0].value["draft"] == DRAFT


async def test_cli_update_state_exits_1_naming_why_and_state_shows_it(client: hitl.Client) -> None:
    run, asked = await _asked(client)
    result = await cli(client, "update-state", run.run_id, "--values", json.dumps({"draft": BIG}))
    assert result.code == 1, result
    [line] = [x for x in result.err.strip().splitlines() if x]
    assert "edit by cli-user of draft was rolled back" in line and TOO_LARGE in line and run.run_id in line
    state = await cli(client, "state", run.run_id)
    assert "a decision by cli-user (its node failed on it)" in state.out and "was rolled back" in state.out
    assert (await run.get_state()).values["draft"] == DRAFT


async def test_http_state_update_is_refused_with_the_reason_and_the_page_shows_it(served: Served) -> None:
    run, asked = await _asked(served.client)
    async with served.http("tok-alice") as http:
        bad = await http.post(f"/threads/{run.run_id}/state", json={"values": {"draft": BIG}})
        assert bad.status_code == 409, bad.text
        detail = bad.json()["detail"]
        assert "put the edit back" in detail and "was rolled back" in detail and TOO_LARGE in detail
        thread = await http.get(f"/threads/{run.run_id}/state")
        assert thread.status_code == 200 and thread.json()["values"]["draft"] == DRAFT
        page = await http.get(f"/runs/{run.run_id}")
        assert "rolled back" in page.text and "edit by alice of draft" in page.text
