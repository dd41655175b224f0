"""What a run spends in its history (issue #15): a run started by current code writes no patch markers, and
its search attribute upserts name only what changed, none when nothing did, while the inbox reads the same.
Real dev server."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import hitl
from hitl.activities import GraphActivities
from hitl.payloads.codec import with_codec
from hitl.workflows import GraphWorkflow
from tests.graphs import SERVED
from tests.helpers import wait_for


async def _events(client: hitl.Client, run_id: str) -> list[Any]:
    return [e async for e in client.temporal.get_workflow_handle(run_id).fetch_history_events()]


def _upserts(events: list[Any]) -> list[set[str]]:
    """The search attributes each upsert named, in order."""
    return [
        set(e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
        for e in events
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]


async def _listed(client: hitl.Client, run_id: str) -> list[hitl.PendingRun]:
    """The inbox rows of this run, once visibility caught up with its last write (it lags a little)."""
    for _ in range(50):
        rows = [p for p in await client.pending() if p.run_id == run_id]
        if rows:
            return rows
        await asyncio.sleep(0.1)
    return []


async def test_an_approval_writes_no_patch_marker_and_its_finish_upserts_only_the_status(client: hitl.Client) -> None:
    run = await client.start("approval", {"topic": "tea"}, run_id=f"cost-{uuid.uuid4().hex[:8]}")
    await wait_for(run, "interrupted")
    [row] = await _listed(client, run.run_id)
    assert row.nodes == ["review"]
    await run.resume("approve", identity="alice")
    assert (await run.result())["status"] == "published"
    events = await _events(client, run.run_id)
    markers = [e for e in events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert markers == [], "a run started by current code has every patch from its start"
    pause, resumed, finished = _upserts(events)
    assert {"HitlStatus", "HitlPendingNodes", "HitlWaitingSince"} <= pause
    assert {"HitlStatus", "HitlPendingNodes", "HitlWaitingSince"} <= resumed
    assert finished == {"HitlStatus"}  # nothing else changed since the resume
    assert "TemporalChangeVersion" not in pause | resumed | finished
    assert (await run.get_state()).status == "completed"


async def test_an_edit_at_a_breakpoint_spends_no_upsert_and_the_inbox_still_lists_the_run(client: hitl.Client) -> None:
    run = await client.start(
        "approval", {"topic": "tea"}, run_id=f"cost-{uuid.uuid4().hex[:8]}", interrupt_before=["review"]
    )
    await wait_for(run, "interrupted")
    [before] = await _listed(client, run.run_id)
    upserts = _upserts(await _events(client, run.run_id))
    state = await run.update_state({"draft": "edited by hand"}, identity="alice")
    assert state.values["draft"] == "edited by hand" and state.status == "interrupted"
    assert _upserts(await _events(client, run.run_id)) == upserts, "the edit changed no search attribute"
    [after] = await _listed(client, run.run_id)
    assert (after.nodes, after.waiting_since, after.summary) == (before.nodes, before.waiting_since, before.summary)
    await run.resume(identity="alice")
    await wait_for(run, "interrupted")  # now at review's question
    await run.resume("approve", identity="alice")
    assert (await run.result())["draft"] == "edited by hand"


async def test_while_an_older_worker_polls_new_runs_take_their_patches_by_marker(client: hitl.Client) -> None:
    """An upgrade under way: a worker that does not say which patches it has (an older hitl) would write their
    markers, which a worker honouring `RunInput.patches` does not expect on replay. So runs started meanwhile list
    none and take each patch by marker (the stand-in for the older worker runs current code: it honours that)."""
    queue = f"older-{uuid.uuid4().hex[:8]}"
    temporal = with_codec(client.temporal)
    older = Worker(
        temporal,
        task_queue=queue,
        workflows=[GraphWorkflow],
        activities=GraphActivities(SERVED).all(),
        workflow_runner=UnsandboxedWorkflowRunner(),
        identity="older-hitl@host",  # says neither patches nor keys, as hitl before either did
    )
    on_queue = hitl.Client(client.temporal, task_queue=queue, graphs=SERVED, identity="tester")
    async with older:
        run = await on_queue.start("approval", {"topic": "tea"}, run_id=f"cost-{uuid.uuid4().hex[:8]}")
        await wait_for(run, "interrupted")
        await run.resume("approve", identity="alice")
        assert (await run.result())["status"] == "published"
    events = await _events(client, run.run_id)
    started = events[0].workflow_execution_started_event_attributes.input.payloads[0]
    [run_input] = await client.temporal.data_converter.decode([started])  # through the codec (a claim-check)
    assert run_input["patches"] == []
    markers = [e for e in events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert markers, "with no patch listed, the answer's patch is taken by marker"
