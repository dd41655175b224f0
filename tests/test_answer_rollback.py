"""An answer that passes every check but breaks its node is put back, never fatal to the run
(patch hitl-answer-rollback): the question is pending again with the same id, the failure is on
`refused` and in the decisions, and a corrected answer then works, applied once. Real dev server."""

from __future__ import annotations

import json
import uuid

import pytest

import hitl
from tests.helpers import cli, event_count, wait_for
from tests.web_fixtures import Served


async def _asked(client: hitl.Client, graph: str = "answer_note", input: dict | None = None) -> tuple[hitl.Run, str]:
    run = await client.start(graph, input or {}, run_id=f"rb-{uuid.uuid4().hex[:8]}")
    state = await wait_for(run, "interrupted")
    [question] = state.interrupts
    return run, question.id


def _put_back(state: hitl.StateSnapshot, interrupt_id: str, who: str, error: str) -> None:
    """The run waits on with the same question, and says whose answer was put back and why."""
    assert state.status == "interrupted", state
    assert [i.id for i in state.interrupts] == [interrupt_id]
    assert state.error is not None and error in state.error and interrupt_id in state.error
    [refusal] = state.refused
    assert refusal.identity == who and refusal.rolled_back and error in refusal.reason and "\n" not in refusal.reason
    rollback = state.decisions[-1]
    assert (rollback.kind, rollback.identity, rollback.interrupt_id) == ("rollback", who, interrupt_id)


async def test_an_answer_of_the_wrong_type_is_put_back_and_a_corrected_one_applies_once(client: hitl.Client) -> None:
    run, asked = await _asked(client)
    state = await run.resume(5, identity="alice")
    _put_back(state, asked, "alice", "wrote key 'note' that does not fit it")
    assert "answer 5" in state.refused[0].reason
    again = await run.get_state()
    assert again.status == "interrupted" and again.error is None  # only the waiting caller gets the error
    done = await run.resume("fine", identity="bob")
    assert done.status == "completed" and done.error is None
    # the sibling that finished before the answer kept its write and did not run again
    assert done.values == {"note": "fine", "log": ["done", "noted:fine"]}
    answers = [(d.kind, d.identity, d.value) for d in done.decisions if d.interrupt_id == asked]
    assert answers == [
        ("resume", "alice", 5),
        ("rollback", "alice", {"answer": 5, "error": answers[1][2]["error"]}),
        ("resume", "bob", "fine"),
    ]


async def test_a_map_with_a_mistyped_id_is_an_answer_and_is_put_back(client: hitl.Client) -> None:
    run, asked = await _asked(client)
    state = await run.resume({"deadbeefdeadbeef": "done"}, identity="alice")
    _put_back(state, asked, "alice", "wrote key 'note' that does not fit it")
    done = await run.resume(map={asked: "done"}, identity="alice")
    assert (done.status, done.values["note"]) == ("completed", "done")


async def test_an_answer_the_state_cannot_hold_is_refused_up_front(client: hitl.Client) -> None:
    run, _ = await _asked(client, input={"bulk": "x" * 800_000})
    before = await event_count(client, run.run_id)
    with pytest.raises(hitl.DecisionRejectedError) as refused:
        await run.resume("y" * 255_000, identity="alice")
    assert "the run's state is 800.0 kB and this answer 255.0 kB; together over the 1.0 MB a run can hold" in str(
        refused.value
    )
    assert await event_count(client, run.run_id) == before  # nothing written
    assert (await run.resume("short", identity="alice")).status == "completed"


async def test_a_step_whose_writes_the_state_cannot_hold_puts_the_answer_back(client: hitl.Client) -> None:
    # 600 kB + a 250 kB answer fit together, but the node stores the answer twice
    run, asked = await _asked(client, "answer_echo", {"bulk": "x" * 600_000})
    state = await run.resume("y" * 250_000, identity="alice")
    _put_back(state, asked, "alice", "the state after step 0 is 1.1 MB")
    done = await run.resume("ok", identity="alice")
    assert (done.status, done.values["echo"]) == ("completed", "ok")


async def test_a_subgraph_whose_node_breaks_on_the_answer_asks_again(client: hitl.Client) -> None:
    run, asked = await _asked(client, "answer_note_parent")
    state = await run.resume(5, identity="alice")
    _put_back(state, asked, "alice", "subgraph 'sub': node 'take' failed")
    assert state.interrupts[0].node == "sub/take"
    done = await run.resume("fine", identity="alice")
    assert done.status == "completed"
    assert done.values == {"note": "fine", "log": ["done", "noted:fine", "done"]}


async def test_cli_resume_exits_1_naming_the_node_error(client: hitl.Client) -> None:
    run, asked = await _asked(client)
    result = await cli(client, "resume", run.run_id, "--value", "5")
    assert result.code == 1, result
    [line] = [x for x in result.err.strip().splitlines() if x]
    assert "was rolled back" in line and "wrote key 'note' that does not fit it" in line and run.run_id in line
    state = await cli(client, "state", run.run_id)
    assert "a decision by cli-user (its node failed on it)" in state.out and "was rolled back" in state.out
    ok = await cli(client, "resume", run.run_id, "--value", json.dumps("fine"))
    assert ok.code == 0, ok
    assert (await run.get_state()).values["note"] == "fine"


async def test_web_wait_returns_the_question_again_with_an_error(served: Served) -> None:
    run, asked = await _asked(served.client)
    async with served.http("tok-alice") as http:
        bad = await http.post(
            f"/threads/{run.run_id}/runs/wait", json={"assistant_id": "answer_note", "command": {"resume": 5}}
        )
        assert bad.status_code == 200, bad.text
        body = bad.json()
        assert [i["id"] for i in body["__interrupt__"]] == [asked]
        assert body["__error__"]["error"] == "AnswerRolledBack"
        assert "wrote key 'note' that does not fit it" in body["__error__"]["message"]
        page = await http.get(f"/runs/{run.run_id}")
        assert "rolled back" in page.text and "alice" in page.text
        good = await http.post(
            f"/threads/{run.run_id}/runs/wait", json={"assistant_id": "answer_note", "command": {"resume": "ok"}}
        )
        assert good.status_code == 200 and good.json()["note"] == "ok" and "__error__" not in good.json()
