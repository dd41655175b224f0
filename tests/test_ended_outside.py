"""A run Temporal ended outside hitl (terminated by hand) reads as ended on every surface: a query of a closed
workflow replays its history, whose last state says running or interrupted, and must not be believed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import hitl
from hitl.types import DecisionRejectedError
from tests.helpers import cli, wait_for
from tests.web_fixtures import Served

ENDED = "terminated in Temporal, outside hitl: test"


async def test_a_paused_run_terminated_in_temporal_reads_as_ended_everywhere(served: Served) -> None:
    client = served.client
    run = await client.start("approval", {"topic": "tea"})
    await wait_for(run, "interrupted")
    await client.temporal.get_workflow_handle(run.run_id).terminate(reason="test")

    snapshot = await run.get_state()
    assert snapshot.status == "failed" and snapshot.error is not None and ENDED in snapshot.error
    assert (await run.wait(timeout=10)).status == "failed"  # ends, never loops on "running"

    with pytest.raises(DecisionRejectedError) as refused:
        await run.resume({"approved": True})
    assert ENDED in str(refused.value) and "(interrupted)" not in str(refused.value)
    with pytest.raises(DecisionRejectedError) as refused:
        await run.release()
    assert ENDED in str(refused.value)

    state = await cli(client, "state", run.run_id)
    assert "failed" in state.out and ENDED in state.out and "hitl resume" not in state.out
    inbox = await cli(client, "inbox", "--json")
    assert run.run_id not in inbox.out

    async with served.http() as http:
        thread = (await http.get(f"/threads/{run.run_id}")).json()
        assert thread["status"] == "error", thread
        got = (await http.get(f"/threads/{run.run_id}/state")).json()
        assert not got["next"] and not got["tasks"], got
        found: list[dict[str, object]] = []
        for _ in range(100):  # the visibility store trails the run a little
            found = (await http.post("/threads/search", json={"ids": [run.run_id], "status": None})).json()
            if found and found[0]["status"] == "error":
                break
            await asyncio.sleep(0.1)
        assert [t["status"] for t in found] == ["error"], found


async def test_a_run_terminated_mid_node_ends_its_wait(client: hitl.Client, tmp_path: Path) -> None:
    marker = tmp_path / "slow-started"
    run = await client.start("slow", {"marker": str(marker)})
    for _ in range(300):
        if marker.exists():
            break
        await asyncio.sleep(0.05)
    assert marker.exists(), "the slow node never started"
    await client.temporal.get_workflow_handle(run.run_id).terminate(reason="test")
    snapshot = await run.wait(timeout=10)
    assert snapshot.status == "failed" and snapshot.error is not None and ENDED in snapshot.error
