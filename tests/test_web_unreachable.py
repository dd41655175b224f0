"""`hitl serve` while Temporal is unreachable: 503 with one line naming where it looked, on every route
that reads runs (and an error page, not plain text, for a browser), never a 500 nor a wrong reason
(a dev server of this test's own, stopped before the requests)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.api.enums.v1 import EventType

import hitl
from hitl.web import TokenAuth, create_app
from hitl.web.testing import running
from tests import graphs
from tests.web_fixtures import TOKENS, own_temporal

ALICE = {"Authorization": "Bearer tok-alice"}


@pytest.mark.server
async def test_every_read_answers_503_with_one_line_while_temporal_is_down(tmp_path: Path) -> None:
    async with own_temporal(tmp_path, "unreachable", stopped=True) as (server, client, url):
        await asyncio.to_thread(server.stop)
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer tok-alice"}, timeout=120) as alice:
            for path, body in (
                ("/threads/search", {}),
                ("/threads/count", {}),
                ("/hitl/batch/resume", {"graph": "approval", "value": "approve", "dry_run": True}),
            ):
                refused = await alice.post(path, json=body)
                assert refused.status_code == 503, (path, refused.status_code, refused.text)
                detail = refused.json()["detail"]
                assert list(refused.json()) == ["detail"] and "\n" not in detail, path
                assert detail.startswith(f"cannot reach Temporal at {server.address}"), (path, detail)
                assert "not registered" not in detail, path
            for page in ("/", "/?mine=1"):
                shown = await alice.get(page, headers={"accept": "text/html"})
                assert shown.status_code == 503, (page, shown.text)
                assert shown.headers["content-type"].startswith("text/html"), page
                assert f"cannot reach Temporal at {server.address}" in shown.text and "<html" in shown.text
                asked = await alice.get(page)
                assert asked.status_code == 503 and asked.json()["detail"].startswith("cannot reach Temporal")


async def test_a_background_start_answers_at_once_when_its_only_worker_is_gone(client: hitl.Client) -> None:
    """`POST /threads/{id}/runs` returns once Temporal took the start: it reads no state (a query, which
    waits for a worker), so a start right after the only worker died is not held until one comes back."""
    queue = f"bg-start-{uuid.uuid4().hex[:8]}"
    alone = hitl.Client(client.temporal, task_queue=queue, graphs=graphs.GRAPHS, identity="ops")
    app = create_app(alone, TokenAuth(TOKENS))
    async with running(app) as url, httpx.AsyncClient(base_url=url, headers=ALICE, timeout=120) as alice:
        async with alone.worker():
            first = await alice.post(
                f"/threads/{uuid.uuid4().hex}/runs", json={"assistant_id": "review", "input": {"draft": "a"}}
            )
            assert first.status_code == 200, first.text
        thread = uuid.uuid4().hex  # the worker has stopped; Temporal still lists its pollers as recent
        started = await alice.post(f"/threads/{thread}/runs", json={"assistant_id": "review", "input": {"draft": "b"}})
        assert started.status_code == 200, started.text
        assert started.json()["status"] == "pending" and started.json()["assistant_id"] == "review"
    handle = client.temporal.get_workflow_handle(thread)
    kinds = [e.event_type async for e in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED not in kinds  # no worker ever ran it: nothing was waited for
    await handle.terminate("test cleanup")
    await client.temporal.get_workflow_handle(first.json()["thread_id"]).terminate("test cleanup")
