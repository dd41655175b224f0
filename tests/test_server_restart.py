"""The Temporal server itself restarts (same SQLite file): paused runs are all
still there, still in the inbox, and each resumes to completion."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import hitl
from hitl.server import DevServer
from tests import graphs
from tests.helpers import free_port

pytestmark = pytest.mark.server  # starts (and restarts) a dev server of its own

RUNS = 100


async def _inbox_ids(client: hitl.Client, expected: int) -> set[str]:
    ids: set[str] = set()
    for _ in range(100):
        ids = {p.run_id for p in await client.pending()}
        if len(ids) >= expected:
            break
        await asyncio.sleep(0.2)
    return ids


async def test_paused_runs_survive_a_server_restart(tmp_path: Path) -> None:
    port, ui = free_port(), free_port()
    server = DevServer(tmp_path / "data", port=port, ui_port=ui)
    await asyncio.to_thread(server.start)
    try:
        client = await hitl.connect(server.address, task_queue="restart", graphs=graphs.GRAPHS, identity="ops")
        async with client.worker():
            runs = await asyncio.gather(
                *(client.start("review", {"draft": f"d{i}"}, run_id=f"restart-{i}") for i in range(RUNS))
            )
            states = await asyncio.gather(*(r.wait(timeout=60) for r in runs))
            assert {s.status for s in states} == {"interrupted"}
            before = await _inbox_ids(client, RUNS)
            assert before == {r.run_id for r in runs}
        await asyncio.to_thread(server.stop)
        assert not server.healthy()
        await asyncio.to_thread(server.start)

        client = await hitl.connect(server.address, task_queue="restart", graphs=graphs.GRAPHS, identity="ops")
        assert await _inbox_ids(client, RUNS) == before
        async with client.worker():
            done = await asyncio.gather(*(client.get_run(r.run_id).resume("approve") for r in runs))
        assert [s.values["status"] for s in done] == ["published"] * RUNS
        assert [s.values["draft"] for s in done] == [f"d{i}" for i in range(RUNS)]
        assert await _settled(client, runs), "answered runs must leave the inbox"
    finally:
        await asyncio.to_thread(server.stop)


async def _settled(client: hitl.Client, runs: list[hitl.Run]) -> bool:
    """Visibility is eventually consistent: give the inbox a moment to catch up."""
    for _ in range(50):
        if not {p.run_id for p in await client.pending()} & {r.run_id for r in runs}:
            return True
        await asyncio.sleep(0.2)
    return False
