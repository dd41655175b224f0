"""Escalation ladders (issue 14, item 2) on the real dev server: remind through the notify hook,
widen the reviewers, answer with a default, each step a durable timer and a recorded decision,
also when every worker is down as the steps fall due."""

from __future__ import annotations

import asyncio

import pytest

import hitl
from tests import escalation_graphs, graphs
from tests.helpers import WorkerProcess, event_count, wait_for


def _steps(state: hitl.StateSnapshot) -> list[tuple[str, str, object]]:
    return [
        (d.kind, d.identity, d.value["action"] if d.kind == "escalate" else d.value)  # type: ignore[index]
        for d in state.decisions
    ]


async def test_the_ladder_reminds_widens_and_answers_each_step_recorded(client: hitl.Client) -> None:
    run = await client.start("ladder", {})
    paused = await wait_for(run, "interrupted")
    [question] = paused.interrupts
    assert [(s.action, s.after_s) for s in question.escalation] == [("remind", 1), ("widen", 2), ("answer", 3)]
    assert all(s.due is not None for s in question.escalation)
    final = await asyncio.wait_for(run.result(), 30)
    assert final == {"answer": "auto-approved"}
    state = await run.get_state()
    assert _steps(state) == [
        ("escalate", "escalation", "remind"),
        ("escalate", "escalation", "widen"),
        ("deadline", "escalation", "auto-approved"),
    ]
    assert [d.at for d in state.decisions] == sorted(d.at for d in state.decisions)
    # The pause and the reminder each called the notify hook; the reminder came after one step.
    assert [n for r, n in escalation_graphs.REMINDED if r == run.run_id] == [0, 1]


async def test_widened_reviewers_may_answer_only_after_the_step(client: hitl.Client) -> None:
    run = await client.start("ladder_widen", {})
    await wait_for(run, "interrupted")
    for _ in range(50):  # the pause's notify hook runs after the pause shows: count once its events are in
        if any(r == run.run_id for r, _ in escalation_graphs.REMINDED):
            break
        await asyncio.sleep(0.05)
    before = -1
    while (after := await event_count(client, run.run_id)) != before:
        before = after
        await asyncio.sleep(0.3)
    with pytest.raises(hitl.DecisionRejectedError, match="'dave' may not answer"):
        await run.resume("approve", identity="dave", roles=["managers"])
    assert await event_count(client, run.run_id) == before
    for _ in range(100):
        state = await run.get_state()
        if state.interrupts and "role:managers" in (state.interrupts[0].reviewers or []):
            break
        await asyncio.sleep(0.1)
    assert state.interrupts[0].reviewers == ["alice", "role:managers"]
    assert _steps(state) == [("escalate", "escalation", "widen")]
    done = await run.resume("approve", identity="dave", roles=["managers"])
    assert done.values == {"answer": "approve"}


async def test_a_ladder_widens_the_reviewers_a_quorum_names(client: hitl.Client) -> None:
    """`Quorum(of=[...])` names the reviewers, so a ladder may widen them (it was refused as widening
    a question anyone may answer, and the node failed)."""
    run = await client.start("ladder_quorum", {})
    state = await wait_for(run, "interrupted")
    for _ in range(100):
        if state.interrupts and "carol" in (state.interrupts[0].reviewers or []):
            break
        await asyncio.sleep(0.1)
        state = await run.get_state()
    assert state.interrupts[0].reviewers == ["alice", "bob", "carol"], state
    voted = await run.resume("approve", identity="carol")
    assert [v.identity for v in voted.interrupts[0].votes] == ["carol"]
    done = await run.resume("approve", identity="alice")
    assert done.values == {"answer": "carol:approve,alice:approve"}


async def test_an_answer_with_value_the_schema_refuses_fails_when_asked_not_when_due(client: hitl.Client) -> None:
    """It was taken when the ladder ran out, and the node then failed on it, a day after the mistake."""
    run = await client.start("ladder_unfit", {})
    state = await wait_for(run, "failed")
    assert state.decisions == [], "never asked, never answered"
    assert "the AnswerWith value of escalation step 0 does not fit its schema: 'maybe'" in (state.error or "")


async def test_the_ladder_runs_while_every_worker_is_down(client: hitl.Client, worker_process: WorkerProcess) -> None:
    other = hitl.Client(client.temporal, task_queue=worker_process.task_queue, graphs=graphs.GRAPHS)
    await worker_process.start().polling(client)
    run = await other.start("ladder", {})
    await wait_for(run, "interrupted")
    worker_process.kill()
    await asyncio.sleep(3.5)  # every step falls due with no worker at all
    await worker_process.start().polling(client)
    assert (await asyncio.wait_for(run.result(), 60)) == {"answer": "auto-approved"}
    assert _steps(await run.get_state()) == [
        ("escalate", "escalation", "remind"),
        ("escalate", "escalation", "widen"),
        ("deadline", "escalation", "auto-approved"),
    ]
