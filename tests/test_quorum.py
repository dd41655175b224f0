"""Quorum approvals (issue 14, item 1) on the real dev server: a question stays open until N
distinct allowed people answered, the node gets every answer with who gave it, the same person
counts once, the starter may not answer, the first rejection wins; refusals write nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

import hitl
from tests.helpers import cli, event_count, wait_for
from tests.web_fixtures import Served


async def _paused(client: hitl.Client, graph: str = "quorum_review") -> hitl.Run:
    run = await client.start(graph, {"draft": "pay 1M"})
    await wait_for(run, "interrupted")
    return run


async def _refused(client: hitl.Client, run: hitl.Run, identity: str, match: str) -> None:
    before = await event_count(client, run.run_id)
    with pytest.raises(hitl.DecisionRejectedError, match=match):
        await run.resume("approve", identity=identity)
    assert await event_count(client, run.run_id) == before, "a refused vote writes nothing"


async def test_the_question_stays_open_until_two_different_people_approved(client: hitl.Client) -> None:
    run = await _paused(client)
    state = await run.resume("approve", identity="alice")
    assert state.status == "interrupted", "one vote of two: the question waits"
    [question] = state.interrupts
    assert question.quorum is not None and question.quorum.n == 2
    assert [(v.identity, v.value) for v in question.votes] == [("alice", "approve")]
    await _refused(client, run, "alice", "'alice' already answered interrupt .* the same person counts once")
    done = await run.resume("approve", identity="bob")
    assert (done.status, done.values["status"]) == ("completed", "published")
    assert done.values["votes"] == ["alice:approve", "bob:approve"], "the node got every answer with who gave it"
    assert [(d.identity, d.interrupt_id) for d in done.decisions] == [("alice", question.id), ("bob", question.id)]


async def test_the_first_rejection_wins(client: hitl.Client) -> None:
    run = await _paused(client)
    done = await run.resume("reject", identity="carol")
    assert (done.status, done.values["status"], done.values["votes"]) == ("completed", "rejected", ["carol:reject"])


async def test_the_starter_may_not_answer_and_strangers_may_not_either(client: hitl.Client) -> None:
    run = await _paused(client)  # started by the client's identity, "tester", who is a reviewer
    await _refused(client, run, "tester", "'tester' started this run and may not answer its quorum question")
    await _refused(client, run, "mallory", "'mallory' may not answer interrupt .*; its reviewers are")
    assert (await run.get_state()).interrupts[0].votes == []


async def test_a_vote_cannot_change_the_state_the_other_votes_approved(client: hitl.Client) -> None:
    """Carol approved "pay 1M"; a closing vote that also rewrote the draft published "pay 10M" as approved
    by two people. A vote with an update is refused; an edit withdraws the question, votes and all."""
    run = await _paused(client)
    await run.resume("approve", identity="carol")
    before = await event_count(client, run.run_id)
    with pytest.raises(hitl.DecisionRejectedError, match="cannot change the state as well: the other votes are on"):
        await run.resume(hitl.Command(resume="approve", update={"draft": "pay 10M"}), identity="alice")
    assert await event_count(client, run.run_id) == before, "a refused vote writes nothing"
    state = await run.get_state()
    assert state.values["draft"] == "pay 1M" and [v.identity for v in state.interrupts[0].votes] == ["carol"]
    edited = await run.update_state({"draft": "pay 10M"}, identity="alice")
    assert [i.votes for i in edited.interrupts] == [[]], "the edit asked again: carol votes anew"
    await run.resume("approve", identity="carol")
    done = await run.resume("approve", identity="alice")
    assert (done.values["draft"], done.values["votes"]) == ("pay 10M", ["carol:approve", "alice:approve"])


async def test_an_answer_that_changes_the_state_withdraws_the_votes_of_another_open_quorum(
    client: hitl.Client,
) -> None:
    """Bob voted on one state; alice answered another question with an update: bob's vote would have
    counted towards approving a state he never saw. It is put back (recorded), the question stays."""
    run = await client.start("quorum_pair", {})
    state = await wait_for(run, "interrupted")
    ask = {i.node: i.id for i in state.interrupts}
    await run.resume(map={ask["counted"]: "approve"}, identity="bob", request_id="bob-1")
    changed = await run.resume(
        hitl.Command(resume={ask["plain"]: "yes"}, update={"held": "pre-filled"}), identity="alice"
    )
    pending = {i.node: i for i in changed.interrupts}
    assert set(pending) == {"counted", "held"} and pending["counted"].id == ask["counted"]
    assert pending["counted"].votes == [], "bob's vote was on the state before alice's update"
    [withdrawn] = [r for r in changed.refused if r.identity == "bob"]
    assert (
        withdrawn.request_id == "bob-1"
        and "withdrawn" in withdrawn.reason
        and "alice changed the state" in withdrawn.reason
    )
    assert [(d.kind, d.identity) for d in changed.decisions if d.interrupt_id == ask["counted"]][-1] == (
        "rollback",
        "bob",
    )
    again = await run.resume(map={ask["counted"]: "approve"}, identity="bob")
    assert [v.identity for v in {i.node: i for i in again.interrupts}["counted"].votes] == ["bob"], "counts anew"
    await run.resume(map={ask["counted"]: "approve"}, identity="carol")
    done = await run.resume(map={ask["held"]: "paid"}, identity="alice")
    assert done.values["status"] == "bob:approve,carol:approve"


async def test_a_closing_vote_that_breaks_the_node_puts_back_every_vote_each_recorded(client: hitl.Client) -> None:
    """The question is asked again with no votes, so the record says so for every vote: alice's vote was
    dropped with bob's breaking one, and the chain showed hers as standing."""
    run = await _paused(client, "quorum_note")
    await run.resume("ok", identity="alice", request_id="alice-1")
    state = await run.resume(5, identity="bob")  # the node stores it in `status: str`: its writes fail
    assert state.status == "interrupted" and [i.votes for i in state.interrupts] == [[]]
    question = state.interrupts[0].id
    assert state.error is not None and "answer 5 to interrupt" in state.error, "bob's waiting call is told"
    assert [(r.identity, r.rolled_back) for r in state.refused] == [("bob", True), ("alice", True)]
    assert "vote ok to interrupt" in state.refused[1].reason and "vote again" in state.refused[1].reason
    trail = await run.audit()
    assert [(d.kind, d.identity, d.interrupt_id) for d in trail.records] == [
        ("resume", "alice", question),
        ("resume", "bob", question),
        ("rollback", "bob", question),
        ("rollback", "alice", question),
    ]
    assert trail.records[3].value["answer"] == "ok"  # type: ignore[index]
    assert trail.records[3].request_id == state.refused[1].request_id == "alice-1", "a resend of it is told"
    assert trail.verify().broken is None
    await run.resume("fine", identity="bob")
    done = await run.resume("ok", identity="alice")
    assert (done.status, done.values["status"]) == ("completed", "ok")


async def test_votes_that_together_would_not_fit_the_node_are_refused_up_front(client: hitl.Client) -> None:
    """The node gets every vote at once: each vote was checked alone, so eight votes of 250 kB were all
    taken, the node's input was too large, and every vote was rolled back (or the run grew unreadable)."""
    run = await _paused(client, "quorum_many")  # Quorum(8), anyone may vote
    big = "x" * 250_000
    for n in range(3):
        await run.resume(big, identity=f"p{n}")
    before = await event_count(client, run.run_id)
    with pytest.raises(hitl.DecisionRejectedError) as refused:
        await run.resume(big, identity="p3")
    assert "this answer with the 3 vote(s) before it 1.0 MB; together over the 1.0 MB a run can hold" in str(
        refused.value
    ) and "\n" not in str(refused.value)
    assert await event_count(client, run.run_id) == before, "a refused vote writes nothing"
    for n in range(3, 8):
        state = await run.resume("small", identity=f"p{n}")
    assert (state.status, state.values["status"]) == ("completed", "8 votes")


async def test_a_fork_still_bars_the_source_run_s_starter(client: hitl.Client) -> None:
    """Someone else forking the run made its starter (the requester) free to approve their own request."""
    run = await _paused(client)  # started by "tester"
    fork = await run.fork(0, identity="alice")
    await wait_for(fork, "interrupted")
    await _refused(client, fork, "tester", "'tester' started this run and may not answer its quorum question")
    await fork.resume("approve", identity="alice")
    nested = await _paused(client, "quorum_parent")  # the fork's subgraph bars them too
    nested_fork = await nested.fork(0, identity="alice")
    await wait_for(nested_fork, "interrupted")
    await _refused(client, nested_fork, "tester", "'tester' started this run")
    await nested_fork.resume("approve", identity="alice")
    await nested_fork.resume("approve", identity="bob")
    done = await wait_for(nested_fork, "completed")
    assert done.values["votes"] == ["alice:approve", "bob:approve"]


async def test_two_reviewers_at_once_both_count(client: hitl.Client) -> None:
    run = await _paused(client)
    await asyncio.gather(
        run.resume("approve", identity="alice", wait=False), run.resume("approve", identity="bob", wait=False)
    )
    done = await wait_for(run, "completed")
    assert sorted(done.values["votes"]) == ["alice:approve", "bob:approve"]


async def test_one_reviewer_twice_at_once_counts_once(client: hitl.Client) -> None:
    run = await _paused(client)
    results = await asyncio.gather(
        run.resume("approve", identity="alice", request_id="a1"),
        run.resume("approve", identity="alice", request_id="a2"),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, hitl.DecisionRejectedError)]
    assert len(refused) == 1 and "already answered" in str(refused[0]), results
    state = await run.get_state()
    assert state.status == "interrupted" and [v.identity for v in state.interrupts[0].votes] == ["alice"]
    done = await run.resume("approve", identity="bob")
    assert done.values["votes"] == ["alice:approve", "bob:approve"]


async def test_a_vote_sent_as_a_signal_counts_and_a_repeat_is_recorded_as_refused(client: hitl.Client) -> None:
    run = await _paused(client)
    await run.send_resume("approve", identity="alice")
    await run.send_resume("approve", identity="alice", request_id="again")
    for _ in range(100):
        state = await run.get_state()
        if state.refused:
            break
        await asyncio.sleep(0.1)
    assert [v.identity for v in state.interrupts[0].votes] == ["alice"]
    assert "already answered" in state.refused[0].reason
    done = await run.resume("approve", identity="bob")
    assert done.values["votes"] == ["alice:approve", "bob:approve"]


async def test_a_quorum_question_inside_a_subgraph(client: hitl.Client) -> None:
    run = await _paused(client, "quorum_parent")
    state = await run.resume("approve", identity="alice")
    assert state.status == "interrupted" and [v.identity for v in state.interrupts[0].votes] == ["alice"]
    with pytest.raises(hitl.DecisionRejectedError, match="already answered"):
        await run.resume("approve", identity="alice")
    await run.resume("approve", identity="bob")
    done = await wait_for(run, "completed")
    assert done.values["votes"] == ["alice:approve", "bob:approve"]


async def test_the_cli_shows_the_votes_and_refuses_a_second_one(client: hitl.Client) -> None:
    run = await _paused(client)
    first = await cli(client, "resume", run.run_id, "--value", '"approve"', "--identity", "alice")
    assert first.code == 0 and 'needs 2 people, 1 answered: alice ("approve")' in first.out, first
    again = await cli(client, "resume", run.run_id, "--value", '"approve"', "--identity", "alice")
    assert again.code == 2 and "the same person counts once" in again.err, again


async def test_votes_through_the_http_api(served: Served) -> None:
    run = await _paused(served.client)
    body = {"assistant_id": "quorum_review", "command": {"resume": "approve"}}
    async with served.http("tok-alice") as alice, served.http("tok-bob") as bob:
        first = await alice.post(f"/threads/{run.run_id}/runs/wait", json=body)
        assert first.status_code == 200 and first.json()["__interrupt__"], first.text
        again = await alice.post(f"/threads/{run.run_id}/runs/wait", json=body)
        assert again.status_code == 409 and "the same person counts once" in again.json()["detail"]
        second = await bob.post(f"/threads/{run.run_id}/runs/wait", json=body)
        assert second.status_code == 200 and second.json()["votes"] == ["alice:approve", "bob:approve"], second.text


async def test_a_vote_and_a_claim_cross_continue_as_new(client: hitl.Client) -> None:
    """A run hands over to a fresh history with one vote counted and a claim held: both travel in the
    run's state, the claim still refuses others and runs out on the new history's timer."""
    run = await client.start("quorum_pair", {}, max_history_events=8)
    state = await wait_for(run, "interrupted")
    ask = {i.node: i.id for i in state.interrupts}
    voted = await run.resume(map={ask["counted"]: "approve"}, identity="alice")
    assert voted.status == "interrupted" and len(voted.interrupts) == 3, "one vote of two: nothing moves"
    await run.claim(ask["held"], identity="bob", ttl=timedelta(seconds=3))
    await run.resume(map={ask["plain"]: "yes"}, identity="carol")
    state = await wait_for(run, "interrupted")
    executions = [e async for e in client.temporal.list_workflows(f'WorkflowId = "{run.run_id}"')]
    assert len(executions) > 1, "the run handed over while its questions were pending"
    pending = {i.node: i for i in state.interrupts}
    assert [v.identity for v in pending["counted"].votes] == ["alice"]
    assert pending["held"].claimed_by == "bob"
    with pytest.raises(hitl.DecisionRejectedError, match="bob"):
        await run.resume(map={ask["held"]: "no"}, identity="alice")
    for _ in range(100):
        state = await run.get_state()
        if not next(i for i in state.interrupts if i.node == "held").claimed_by:
            break
        await asyncio.sleep(0.1)
    assert [(d.kind, d.identity) for d in state.decisions][-1] == ("release", "expiry")
    await run.resume(map={ask["counted"]: "approve"}, identity="bob")
    done = await run.resume(map={ask["held"]: "paid"}, identity="alice")
    assert done.status == "completed"
    assert done.values == {"plain": "yes", "status": "alice:approve,bob:approve", "held": "paid"}
