"""Claims (issue 14, item 3) on the real dev server: a held question shows who holds it and
nobody else may answer it; release and delegate are recorded; a claim runs out on a durable
timer, also while an answer arrives; refusals write nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

import hitl
from tests.helpers import cli, event_count, subgraph_run_id, wait_for
from tests.trust_graphs import AFTER_ANSWER
from tests.web_fixtures import Served

FINANCE = ["finance"]


async def _paused(client: hitl.Client, graph: str = "payment") -> hitl.Run:
    run = await client.start(graph, {})
    await wait_for(run, "interrupted")
    return run


async def _refused(client: hitl.Client, run: hitl.Run, send: object, match: str) -> None:
    before = await event_count(client, run.run_id)
    with pytest.raises(hitl.DecisionRejectedError, match=match):
        await send  # type: ignore[misc]
    assert await event_count(client, run.run_id) == before, "a refusal writes nothing"


@pytest.mark.parametrize("graph", ["payment", "payment_local"], ids=["activity-rerun", "local-rerun"])
async def test_a_claimed_question_shows_its_holder_and_only_they_may_answer(client: hitl.Client, graph: str) -> None:
    """Also with `approve` declared rerun="local" (`payment_local`): the refused answer leaves the same question
    pending, and the holder's answer runs `approve`'s code after `interrupt()` once."""
    draft = f"pay 1M #{uuid.uuid4().hex[:8]}"
    run = await client.start(graph, {"draft": draft})
    await wait_for(run, "interrupted")
    state = await run.claim(identity="alice", ttl=timedelta(hours=1))
    [question] = state.interrupts
    assert question.claimed_by == "alice" and question.claimed_until is not None
    assert question.claimed_until - (await run.get_state()).interrupts[0].claimed_until == timedelta(0)
    await _refused(
        client,
        run,
        run.resume("approve", identity="carol", roles=FINANCE),
        f"interrupt {question.id} is claimed by alice until .*; only they may answer it",
    )
    await _refused(
        client, run, run.claim(identity="carol", roles=FINANCE), "'carol' may not claim .* it is claimed by alice"
    )
    still = await run.get_state()
    assert still.status == "interrupted" and [i.id for i in still.interrupts] == [question.id]
    assert AFTER_ANSWER[draft] == 0
    done = await run.resume("approve", identity="alice")
    assert done.status == "completed" and done.values["paid"] == draft and AFTER_ANSWER[draft] == 1
    assert [(d.kind, d.identity) for d in done.decisions] == [("claim", "alice"), ("resume", "alice")]


async def test_release_gives_the_question_back(client: hitl.Client) -> None:
    run = await _paused(client)
    await run.claim(identity="alice")
    await _refused(client, run, run.release(identity="carol", roles=FINANCE), "'carol' may not release")
    state = await run.release(identity="alice")
    assert state.interrupts[0].claimed_by is None
    done = await run.resume("approve", identity="carol", roles=FINANCE)
    assert done.status == "completed"


async def test_delegate_to_a_role_is_recorded_and_moves_who_may_answer(client: hitl.Client) -> None:
    run = await _paused(client)
    await run.claim(identity="alice")
    await _refused(client, run, run.delegate("bob", identity="alice"), "cannot be delegated to 'bob'")
    state = await run.delegate("role:finance", identity="alice")
    assert state.interrupts[0].claimed_by == "role:finance"
    await _refused(client, run, run.resume("approve", identity="alice"), "claimed by role:finance")
    done = await run.resume("approve", identity="carol", roles=FINANCE)
    assert done.status == "completed"
    kinds = [(d.kind, d.identity, d.value) for d in done.decisions]
    assert kinds == [("claim", "alice", None), ("delegate", "alice", "role:finance"), ("resume", "carol", "approve")]


async def test_strangers_and_quorum_questions_cannot_be_claimed(client: hitl.Client) -> None:
    run = await _paused(client)
    await _refused(client, run, run.claim(identity="mallory"), "'mallory' may not claim interrupt")
    await _refused(client, run, run.release(identity="alice"), "is not claimed; nothing to release")
    quorum = await client.start("quorum_review", {})
    await wait_for(quorum, "interrupted")
    await _refused(client, quorum, quorum.claim(identity="alice"), "needs 2 people \\(a quorum\\)")


@pytest.mark.parametrize("to", ["role:", " alice", "alice\nresume by ceo"])
async def test_a_question_is_never_delegated_to_a_name_nobody_can_hold(client: hitl.Client, to: str) -> None:
    """An open question takes any delegate, but not one nobody could hold (it would lock everyone out until
    the claim ran out) nor one with a control character (it would forge lines wherever holders are shown)."""
    run = await _paused(client, "review")
    await _refused(client, run, run.delegate(to, identity="alice"), "which is no identity or role:NAME")
    assert (await run.get_state()).interrupts[0].claimed_by is None


async def test_a_claim_runs_out_on_a_durable_timer_and_is_recorded(client: hitl.Client) -> None:
    run = await _paused(client)
    await run.claim(identity="alice", ttl=timedelta(seconds=2))
    for _ in range(100):
        state = await run.get_state()
        if state.interrupts[0].claimed_by is None:
            break
        await asyncio.sleep(0.1)
    assert state.interrupts[0].claimed_by is None, "the timer freed the question without anyone asking"
    assert [(d.kind, d.identity, d.value) for d in state.decisions] == [
        ("claim", "alice", None),
        ("release", "expiry", "alice"),
    ]
    done = await run.resume("approve", identity="carol", roles=FINANCE)
    assert done.status == "completed"


async def test_a_claim_running_out_while_answers_arrive(client: hitl.Client) -> None:
    """Answers sent again and again across the claim's end: each is refused while it holds and the
    first after it is applied, exactly once."""
    run = await _paused(client)
    claimed = await run.claim(identity="alice", ttl=timedelta(seconds=1))
    until = claimed.interrupts[0].claimed_until
    assert until is not None
    refusals = 0
    while True:
        try:
            done = await run.resume("approve", identity="carol", roles=FINANCE, request_id="carol-1")
            break
        except hitl.DecisionRejectedError as e:
            assert "claimed by alice" in str(e), e
            refusals += 1
    assert done.status == "completed" and refusals > 0
    [answer] = [d for d in done.decisions if d.kind == "resume"]
    assert answer.identity == "carol" and answer.at >= until, "applied only once the claim had run out"


async def test_a_claim_on_a_subgraph_s_question_holds_when_the_subgraph_reports_it_again(
    client: hitl.Client,
) -> None:
    """The subgraph's run tells the parent its questions again (here: each reminder of its ladder); the
    claim taken on the parent's copy stays (it was dropped, so anyone could answer the held question)."""
    run = await _paused(client, "ladder_parent")
    held = await run.claim(identity="alice", ttl=timedelta(hours=1))
    assert held.interrupts[0].claimed_by == "alice"
    for _ in range(100):
        state = await run.get_state()
        if state.interrupts and state.interrupts[0].escalated == 2:
            break
        await asyncio.sleep(0.1)
    [question] = state.interrupts
    assert question.escalated == 2, "the subgraph reported its question again after each reminder"
    assert (question.claimed_by, question.claimed_until) == ("alice", held.interrupts[0].claimed_until)
    await _refused(client, run, run.resume("approve", identity="bob"), "is claimed by alice until")
    # Nor around the parent: the subgraph's own run takes no decision sent to it directly.
    child = client.get_run(await subgraph_run_id(client, run.run_id))
    for send in (child.resume("approve", identity="bob"), child.release(identity="bob"), child.cancel(identity="bob")):
        await _refused(client, child, send, f"is the subgraph 'team' of run {run.run_id}: send decisions to run")
    await run.resume("approve", identity="alice")
    assert (await wait_for(run, "completed")).values == {"answer": "approve"}


async def test_claims_from_the_cli(client: hitl.Client) -> None:
    run = await _paused(client)
    held = await cli(client, "claim", run.run_id, "--for", "2h", "--identity", "alice")
    assert held.code == 0 and "claimed by alice until" in held.out, held
    bad = await cli(client, "claim", run.run_id, "--for", "5x", "--identity", "alice")
    assert bad.code == 2 and "--for takes a whole number and a unit, like 90s, 30m, 4h or 2d; got '5x'" in bad.err
    passed = await cli(client, "delegate", run.run_id, "--to", "role:finance", "--identity", "alice")
    assert passed.code == 0 and "claimed by role:finance until" in passed.out, passed
    for _ in range(50):  # the inbox reads the search index, which follows the run shortly
        inbox = await cli(client, "inbox")
        row = next((line for line in inbox.out.splitlines() if line.startswith(run.run_id)), "")
        if row.endswith("role:finance"):
            break
        await asyncio.sleep(0.1)
    assert "HELD BY" in inbox.out and row.endswith("role:finance"), inbox.out
    refused = await cli(client, "release", run.run_id, "--identity", "alice")
    assert refused.code == 2 and "'alice' may not release" in refused.err, refused


@pytest.mark.parametrize(
    ("ttl", "message"),
    [
        (
            "99999999999999999999d",
            "--for is at most 30d (a claim holds from 1 second to 30 days); got '99999999999999999999d'",
        ),
        ("31d", "--for is at most 30d"),
        ("\u00b2s", "--for takes a whole number and a unit"),  # a digit to str.isdigit(), not to int()
    ],
)
async def test_a_claim_length_out_of_range_is_one_line_from_the_cli(
    client: hitl.Client, ttl: str, message: str
) -> None:
    run = await _paused(client)
    before = await event_count(client, run.run_id)
    bad = await cli(client, "claim", run.run_id, "--for", ttl, "--identity", "alice")
    assert bad.code == 2 and len(bad.err.strip().splitlines()) == 1 and message in bad.err, bad
    assert await event_count(client, run.run_id) == before


async def test_claims_and_the_audit_chain_through_the_http_api(served: Served) -> None:
    run = await _paused(served.client)
    async with served.http("tok-alice") as alice, served.http("tok-carol") as carol:
        held = await alice.post(f"/threads/{run.run_id}/claim", json={"ttl_seconds": 3600})
        assert held.status_code == 200, held.text
        assert held.json()["interrupts"][0]["hitl"]["claimed_by"] == "alice"
        state = await carol.get(f"/threads/{run.run_id}/state")
        assert state.json()["interrupts"][0]["hitl"]["claimed_by"] == "alice", "others see who holds it"
        answer = {"assistant_id": "payment", "command": {"resume": "approve"}}
        refused = await carol.post(f"/threads/{run.run_id}/runs/wait", json=answer)
        assert refused.status_code == 409 and "is claimed by alice" in refused.json()["detail"]
        bad = await alice.post(f"/threads/{run.run_id}/claim", json={"action": "delegate"})
        assert bad.status_code == 422 and "delegate needs 'to'" in bad.json()["detail"], bad.text
        passed = await alice.post(f"/threads/{run.run_id}/claim", json={"action": "delegate", "to": "role:finance"})
        assert passed.json()["interrupts"][0]["hitl"]["claimed_by"] == "role:finance"
        done = await carol.post(f"/threads/{run.run_id}/runs/wait", json=answer)
        assert done.status_code == 200, done.text
        audit = (await alice.get(f"/threads/{run.run_id}/audit")).json()
    assert audit["verified"] is True and audit["broken"] is None
    kinds = [(r["kind"], r["identity"]) for r in audit["records"]]
    assert kinds == [("claim", "alice"), ("delegate", "alice"), ("resume", "carol"), ("executed", "run")]
    assert audit["head"] == audit["records"][-1]["hash"]


async def test_a_guard_member_takes_a_delegated_question_back_by_editing_the_state(client: hitl.Client) -> None:
    """Only a claim's holder releases it; a question delegated for 30 days to someone who never acts is
    not locked for the guard, though: an edit withdraws the question, and the node asks it again, held
    by nobody (README, Claims)."""
    run = await _paused(client)
    [question] = (await run.delegate("role:finance", identity="alice", ttl=timedelta(days=30))).interrupts
    await _refused(client, run, run.release(identity="alice"), f"'alice' may not release interrupt {question.id}")
    await _refused(client, run, run.resume("approve", identity="alice"), f"interrupt {question.id} is claimed by")
    draft = (await run.get_state()).values["draft"]
    asked = await run.update_state({"draft": draft}, identity="alice")
    [again] = asked.interrupts
    assert again.id != question.id and again.claimed_by is None
    done = await run.resume("approve", identity="alice")
    assert done.status == "completed"
