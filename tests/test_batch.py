"""Batch answers (`client.resume_many`, `hitl resume --all`) against the real dev server:
each run applies the decision once, a resent batch applies nothing twice, and runs
that moved on, exclude the batch's identity or have no worker are refused one by one
while the others are applied."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

import hitl
from hitl.client import serving as _workers
from hitl.client.batch import request_id_for
from hitl.client.serving import check_workers
from tests.batch_graphs import GRAPHS as BATCH_GRAPHS
from tests.helpers import TASK_QUEUE, WorkerProcess, cli, event_count, one_line_error, wait_for


def token() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


async def paused(client: hitl.Client, topic: str, n: int = 1, **input: object) -> list[hitl.Run]:
    runs = [await client.start("batch_review", {"topic": topic, **input}) for _ in range(n)]
    for r in runs:
        await wait_for(r, "interrupted")
    return runs


async def listed(client: hitl.Client, ids: list[str], node: str = "review") -> None:
    """Wait until the visibility store lists the runs as waiting at `node` (it trails the runs a little)."""
    query = hitl.Waiting(graph="batch_review", node=node).query()
    for _ in range(100):
        found = {w.id async for w in client.temporal.list_workflows(query)}
        if set(ids) <= found:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"runs {ids} never listed as waiting at {node}")


async def test_a_filtered_batch_answers_each_waiting_run_once_and_a_resent_batch_applies_nothing(
    client: hitl.Client,
) -> None:
    topic = token()
    runs = await paused(client, topic, 3)
    [other] = await paused(client, token())  # same graph and node, another question: not selected
    ids = sorted(r.run_id for r in runs)
    await listed(client, [*ids, other.run_id])
    seen: list[tuple[str, int, int]] = []
    report = await client.resume_many(
        None,
        "approve",
        graph="batch_review",
        node="review",
        question=topic,
        identity="alice",
        batch_id=f"b-{topic}",
        on_result=lambda r, done, total: seen.append((r.run_id, done, total)),
    )
    assert report.ok and sorted(r.run_id for r in report.results) == ids
    assert {r.outcome for r in report.results} == {"applied"}
    assert sorted(done for _, done, _ in seen) == [1, 2, 3] and {t for _, _, t in seen} == {3}
    for r in runs:
        done = await wait_for(r, "completed")
        assert done.values["status"] == "approve"
        assert [(d.identity, d.value, d.request_id) for d in done.decisions] == [
            ("alice", "approve", request_id_for(f"b-{topic}", r.run_id))
        ]
    assert (await other.get_state()).status == "interrupted"
    before = {r.run_id: await event_count(client, r.run_id) for r in runs}
    # The same batch again, by ids (after a crash the caller resends): nothing is applied twice.
    again = await client.resume_many(ids, "approve", identity="alice", batch_id=f"b-{topic}")
    assert again.ok and {r.outcome for r in again.results} == {"already_applied"}
    assert all("applied by alice" in r.reason for r in again.results)
    assert {r.run_id: await event_count(client, r.run_id) for r in runs} == before
    # The same batch id with another value is refused per run, never applied.
    other_value = await client.resume_many(ids, "reject", identity="alice", batch_id=f"b-{topic}")
    assert not other_value.ok and {r.outcome for r in other_value.results} == {"refused"}
    assert "another value" in other_value.results[0].reason
    await client.get_run(other.run_id).resume("reject")


async def test_a_batch_id_belongs_to_whoever_used_it_first(client: hitl.Client) -> None:
    """Bob answers under a batch id first; alice's batch under the same id and value is refused on
    that run, naming bob (never "already applied" for a decision she did not make), and writes nothing."""
    batch = token()
    [taken, free] = await paused(client, token(), 2, again=True)
    first = await client.resume_many([taken.run_id], "approve", identity="bob", batch_id=batch)
    assert [r.outcome for r in first.results] == ["applied"]
    await wait_for(taken, "interrupted")  # waits again, at `check`
    before = await event_count(client, taken.run_id)
    alice = await client.resume_many([taken.run_id, free.run_id], "approve", identity="alice", batch_id=batch)
    by = {r.run_id: r for r in alice.results}
    assert not alice.ok
    assert by[taken.run_id].outcome == "refused" and not by[taken.run_id].ok
    assert "used on this run by bob" in by[taken.run_id].reason and "new batch id" in by[taken.run_id].reason
    assert by[free.run_id].outcome == "applied"  # a run bob never answered with it is hers to answer
    state = await taken.get_state()
    assert [(d.kind, d.identity) for d in state.decisions] == [("resume", "bob")]
    assert await event_count(client, taken.run_id) == before
    # Bob resending his own batch is still told it is done, and nothing is applied twice.
    again = await client.resume_many([taken.run_id], "approve", identity="bob", batch_id=batch)
    assert [r.outcome for r in again.results] == ["already_applied"] and again.ok
    assert "applied by bob" in again.results[0].reason
    assert len((await taken.get_state()).decisions) == 1
    for r in (taken, free):
        await r.resume("approve", identity="carol")


async def test_a_request_id_resent_by_another_identity_is_refused_by_the_run(client: hitl.Client) -> None:
    """Under the batch check, the run itself: a request id applied for bob, resent by alice with the same
    value, is refused naming bob (the digest kept with the id covers who decided); bob's resend is done."""
    [run] = await paused(client, token(), again=True)
    rid = f"r-{token()}"
    await run.resume("approve", identity="bob", request_id=rid, wait=False)
    await wait_for(run, "interrupted")
    before = await event_count(client, run.run_id)
    with pytest.raises(hitl.DecisionRejectedError, match=f"request id '{rid}' was already used .*bob at"):
        await run.resume("approve", identity="alice", request_id=rid, wait=False)
    assert await event_count(client, run.run_id) == before
    resent = await run.resume("approve", identity="bob", request_id=rid, wait=False)
    assert [d.identity for d in resent.decisions] == ["bob"]
    await run.resume("approve", identity="carol")


async def test_a_batch_resent_while_the_runs_wait_again_at_the_same_node_answers_nothing_twice(
    client: hitl.Client,
) -> None:
    """A run answered by the batch whose next question is at another node: the resent batch
    says already applied, and the second question stays unanswered."""
    runs = await paused(client, token(), 2, again=True)
    ids = [r.run_id for r in runs]
    first = await client.resume_many(ids, "approve", identity="alice", batch_id="twice-1")
    assert first.ok
    for r in runs:
        s = await wait_for(r, "interrupted")
        assert [i.node for i in s.interrupts] == ["check"]
    again = await client.resume_many(ids, "approve", identity="alice", batch_id="twice-1")
    assert {r.outcome for r in again.results} == {"already_applied"}
    for r in runs:
        s = await r.get_state()
        assert [i.node for i in s.interrupts] == ["check"] and len(s.decisions) == 1


async def test_runs_that_moved_on_exclude_the_caller_or_lack_a_worker_are_refused_one_by_one(
    client: hitl.Client, worker_process: WorkerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run on a queue whose only worker is then killed.
    away = hitl.Client(client.temporal, task_queue=worker_process.task_queue, graphs=BATCH_GRAPHS, identity="t")
    await worker_process.start().polling(client)
    [down] = await paused(away, token())
    worker_process.kill()
    topic = token()
    [fine, moved, locked, elsewhere] = [
        *(await paused(client, topic, 2)),
        *(await paused(client, topic, reviewers=["carol", "role:ops"])),
        *(await paused(client, topic, again=True)),
    ]
    await moved.resume("reject", identity="bob")  # answered by someone else before the batch
    await elsewhere.resume("approve", identity="bob")  # now waits at `check`, not `review`
    await wait_for(elsewhere, "interrupted")
    runs = [fine, moved, locked, elsewhere, down]
    before = {r.run_id: await event_count(client, r.run_id) for r in runs}
    await asyncio.sleep(5.5)  # the passed worker check of `down`'s start expires
    await check_workers(client.temporal, TASK_QUEUE)  # the session worker: checked now, holds 5 s
    monkeypatch.setattr(_workers, "LIVE_SECONDS", 1.0)  # the server lists the dead worker for a minute
    monkeypatch.setattr(_workers, "STARTUP_SECONDS", 0.5)
    report = await client.resume_many(
        [r.run_id for r in runs], "approve", node="review", identity="alice", roles=["finance"]
    )
    by = {r.run_id: r for r in report.results}
    assert not report.ok
    assert by[fine.run_id].outcome == "applied"
    assert by[moved.run_id].outcome == "refused" and "is completed" in by[moved.run_id].reason
    assert by[locked.run_id].outcome == "refused" and "'alice' may not answer" in by[locked.run_id].reason
    assert by[elsewhere.run_id].outcome == "refused" and "check [" in by[elsewhere.run_id].reason
    assert by[down.run_id].outcome == "unreachable" and "no worker is polling" in by[down.run_id].reason
    assert (await wait_for(fine, "completed")).values["status"] == "approve"
    for r in (moved, locked, elsewhere, down):
        assert await event_count(client, r.run_id) == before[r.run_id], r.run_id
    await locked.resume("reject", identity="carol")


async def test_two_reviewers_racing_a_batch_on_one_run_answer_it_once(client: hitl.Client) -> None:
    runs = await paused(client, token(), 4)
    contested = runs[-1]
    question = (await contested.get_state()).interrupts[0].id

    async def bob() -> str:
        try:
            await contested.resume(map={question: "reject"}, identity="bob", wait=False)
            return "bob"
        except hitl.DecisionRejectedError as e:
            return str(e)

    report, bob_said = await asyncio.gather(
        client.resume_many([r.run_id for r in runs], "approve", identity="alice", concurrency=1), bob()
    )
    mine = next(r for r in report.results if r.run_id == contested.run_id)
    done = await wait_for(contested, "completed")
    assert len(done.decisions) == 1
    winner = done.decisions[0].identity
    # Whoever lost was refused with the run's reason (answered by the other, busy applying it, or ended).
    if winner == "alice":
        assert mine.outcome == "applied" and bob_said != "bob" and contested.run_id in bob_said
    else:
        assert bob_said == "bob" and mine.outcome == "refused" and contested.run_id in mine.reason
    assert all(r.outcome == "applied" for r in report.results if r.run_id != contested.run_id)


async def test_a_batch_whose_answer_was_rolled_back_says_so_when_resent(client: hitl.Client) -> None:
    """Its request id stays used, so a resend was answered `already_applied` while the question waited again."""
    run = await client.start("answer_note", {})
    await wait_for(run, "interrupted")
    batch = token()
    first = await client.resume_many([run.run_id], 5, batch_id=batch, identity="alice")
    assert [r.outcome for r in first.results] == ["applied"]
    state = await run.wait()
    assert state.status == "interrupted" and state.refused[-1].rolled_back, "the node broke on 5: put back"
    again = await client.resume_many([run.run_id], 5, batch_id=batch, identity="alice")
    [result] = again.results
    assert result.outcome == "refused" and result.interrupt_id == state.interrupts[0].id, result
    assert f"batch {batch}'s answer to this run was rolled back (node 'take' failed" in (result.reason or "")
    assert (result.reason or "").endswith("its question is pending again: answer it with a new batch id")
    done = await client.resume_many([run.run_id], "a note", batch_id=token(), identity="alice")
    assert [r.outcome for r in done.results] == ["applied"]
    assert (await wait_for(run, "completed")).values["note"] == "a note"


async def test_bad_batch_input_is_one_line_and_nothing_is_sent(client: hitl.Client) -> None:
    [run] = await paused(client, token())
    before = await event_count(client, run.run_id)
    with pytest.raises(hitl.InvalidInputError, match="batch id"):
        await client.resume_many([run.run_id], "approve", batch_id="no spaces please")
    with pytest.raises(hitl.InvalidInputError, match="concurrency must be from 1 to 64"):
        await client.resume_many([run.run_id], "approve", concurrency=0)
    with pytest.raises(hitl.InvalidInputError, match="at most 256.0 kB"):
        await client.resume_many([run.run_id], "x" * 300_000)
    with pytest.raises(hitl.InvalidInputError, match="cannot search on"):
        await client.resume_many(None, "approve", graph='approval" OR "1"="1')
    refused = await client.resume_many([run.run_id], "maybe")  # the run's own schema refuses
    assert refused.results[0].outcome == "refused" and "does not fit its schema" in refused.results[0].reason
    assert await event_count(client, run.run_id) == before
    await run.resume("reject")


async def test_a_dry_run_asks_each_run_its_own_checks_and_sends_nothing(client: hitl.Client) -> None:
    """`would_apply` only where the run itself would take the answer: a reviewer list without the caller,
    a question someone else holds, an answer outside the schema, a quorum barring its starter, NaN and a
    pinned question that no longer waits are each `refused` with the run's own line; nothing is written."""
    topic = token()
    [fine, held] = await paused(client, topic, 2)
    [locked] = await paused(client, topic, reviewers=["carol"])
    await held.claim(identity="bob")
    scored = await client.start("scored", {})
    vote = await client.as_caller("alice").start("quorum_review", {"draft": topic})
    for r in (scored, vote):
        await wait_for(r, "interrupted")
    runs = [fine, locked, held, scored, vote]
    before = {r.run_id: await event_count(client, r.run_id) for r in runs}
    report = await client.resume_many([r.run_id for r in runs], "approve", identity="alice", dry_run=True)
    by = {r.run_id: r for r in report.results}
    assert by[fine.run_id].outcome == "would_apply" and "checks passed" in by[fine.run_id].reason
    for run, words in [
        (locked, "'alice' may not answer"),
        (held, "claimed by bob"),
        (scored, "does not fit its schema"),
        (vote, "'alice' started this run"),
    ]:
        assert by[run.run_id].outcome == "refused" and words in by[run.run_id].reason, by[run.run_id]
    assert not report.ok
    nan = await client.resume_many([fine.run_id], float("nan"), identity="alice", dry_run=True)
    assert nan.results[0].outcome == "refused" and "NaN" in nan.results[0].reason
    gone = await client.resume_many({fine.run_id: "not-this-one"}, "approve", identity="alice", dry_run=True)
    assert gone.results[0].outcome == "refused" and "no longer waits on question not-this-one" in gone.results[0].reason
    assert {r.run_id: await event_count(client, r.run_id) for r in runs} == before
    pinned = await client.resume_many(
        {fine.run_id: by[fine.run_id].interrupt_id or ""}, "approve", identity="alice", dry_run=True
    )
    assert pinned.results[0].outcome == "would_apply"
    await fine.resume("reject")
    await locked.resume("reject", identity="carol")
    await held.resume("reject", identity="bob")
    await scored.resume(1)
    await vote.resume("reject", identity="bob")


async def test_cli_resume_all_dry_run_then_answers_and_reports(client: hitl.Client) -> None:
    topic = token()
    runs = await paused(client, topic, 2)
    ids = sorted(r.run_id for r in runs)
    await listed(client, ids)
    common = ("resume", "--all", "--graph", "batch_review", "--node", "review", "--question", topic)
    dry = await cli(client, *common, "--value", '"approve"', "--dry-run")
    assert dry.code == 0, dry
    assert all(f"{i}  would answer review" in dry.out for i in ids), dry.out
    assert [(await r.get_state()).status for r in runs] == ["interrupted"] * 2
    wet = await cli(client, *common, "--value", '"approve"', "--batch-id", f"cli-{topic}", "--json")
    assert wet.code == 0, wet
    data = wet.json()
    assert isinstance(data, dict) and data["batch_id"] == f"cli-{topic}"
    assert sorted((r["run_id"], r["outcome"]) for r in data["results"]) == [(i, "applied") for i in ids]
    for r in runs:
        assert (await wait_for(r, "completed")).decisions[0].identity == "cli-user"
    resent = await cli(client, "resume", *ids, "--value", '"approve"', "--batch-id", f"cli-{topic}")
    assert resent.code == 0 and resent.out.count("  already applied (") == 2, resent
    [locked] = await paused(client, token(), reviewers=["carol"])
    [fresh] = await paused(client, token())
    partial = await cli(client, "resume", locked.run_id, fresh.run_id, ids[0], "--value", '"approve"')
    assert partial.code == 1, partial
    assert f"{locked.run_id}  refused" in partial.out and "'cli-user' may not answer" in partial.out
    assert (
        f"{fresh.run_id}  applied" in partial.out and f"{ids[0]}  refused: run '{ids[0]}' is completed" in partial.out
    )
    assert "1 applied, 2 refused" in partial.out and "resend with --batch-id" in partial.out
    await locked.resume("reject", identity="carol")


async def test_cli_batch_usage_mistakes_are_one_line(client: hitl.Client) -> None:
    assert "needs a filter" in one_line_error(await cli(client, "resume", "--all", "--value", '"approve"'))
    assert "--all" in one_line_error(await cli(client, "resume", "--value", '"approve"'))
    assert "not both" in one_line_error(await cli(client, "resume", "x", "--all", "--value", '"approve"'))
    assert "--dry-run" in one_line_error(await cli(client, "resume", "x", "--value", '"a"', "--dry-run"))
    assert "--map is for one run" in one_line_error(
        await cli(client, "resume", "x", "y", "--map", json.dumps({"a": 1}))
    )
