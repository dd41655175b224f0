"""Very long runs continue as new before their history grows large, carrying
state, step count, pending questions and the decision log across.

CI runs reduced sizes (HITL_LONG_STEPS, default 2,000 steps with a 400-event
bound, so the run crosses several histories); the README gives a full-size run.
"""

from __future__ import annotations

import os

import hitl
from tests.helpers import wait_for

STEPS = int(os.environ.get("HITL_LONG_STEPS", "2000"))
BOUND = int(os.environ.get("HITL_LONG_BOUND", "400"))
SLACK = 20  # one step's events may land after the bound is reached


async def _histories(client: hitl.Client, run_id: str) -> list[int]:
    """Event counts of every Temporal run in the chain of one hitl run."""
    counts = []
    async for execution in client.temporal.list_workflows(f'WorkflowId = "{run_id}"'):
        handle = client.temporal.get_workflow_handle(run_id, run_id=execution.run_id)
        counts.append(len([e async for e in handle.fetch_history_events()]))
    return counts


async def test_long_loop_continues_as_new_within_the_bound(client: hitl.Client) -> None:
    run = await client.start("long_loop", {"i": 0, "limit": STEPS}, max_history_events=BOUND)
    final = await run.result()
    assert final["i"] == STEPS
    state = await run.get_state()
    assert (state.status, state.step) == ("completed", STEPS)
    history = await run.get_state_history()
    assert history[0].step == STEPS and len(history) == 200  # newest first, bounded
    counts = await _histories(client, run.run_id)
    assert len(counts) >= STEPS // BOUND, counts  # at least one event a step: several histories
    assert max(counts) <= BOUND + SLACK, counts


async def test_interrupt_every_hundred_steps_across_histories(client: hitl.Client) -> None:
    limit = min(STEPS, 1000)
    run = await client.start("long_loop", {"i": 0, "limit": limit, "every": 100}, max_history_events=min(BOUND, 400))
    state = await wait_for(run, "interrupted")
    answered = 0
    while state.status == "interrupted":
        assert state.interrupts[0].value == f"checkpoint at step {state.values['i']}"
        state = await run.resume(f"ok-{answered}", identity="ops")
        answered += 1
    assert state.status == "completed"
    assert state.values["approvals"] == [f"{n * 100}:ok-{n - 1}" for n in range(1, answered + 1)]
    assert answered == (limit - 1) // 100
    assert [d.identity for d in state.decisions] == ["ops"] * answered
    assert len(await _histories(client, run.run_id)) > 1


async def test_pending_questions_survive_continue_as_new(client: hitl.Client) -> None:
    # A bound this small hands over at every step boundary, even mid-way through answers.
    run = await client.start("parallel", {}, max_history_events=8)
    state = await wait_for(run, "interrupted")
    left, right = sorted(state.interrupts, key=lambda i: i.node)
    state = await run.resume({left.id: "L"})
    assert [i.id for i in state.interrupts] == [right.id]
    assert len(await _histories(client, run.run_id)) > 1
    done = await run.resume("R")
    assert sorted(done.values["answers"]) == ["left=L", "quiet", "right=R"]
    assert [d.interrupt_id for d in done.decisions] == [left.id, right.id]
