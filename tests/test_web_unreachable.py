"""`hitl serve` while Temporal is unreachable: 503 with one line naming where it looked, on every route
that reads runs (and an error page, not plain text, for a browser), never a 500 nor a wrong reason
(a dev server of this test's own, stopped before the requests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

import hitl
from hitl.server import DevServer
from hitl.web import Settings, TokenAuth, create_app
from hitl.web.testing import running
from tests import graphs
from tests.helpers import free_port
from tests.web_fixtures import TOKENS


@pytest.mark.server
async def test_every_read_answers_503_with_one_line_while_temporal_is_down(tmp_path: Path) -> None:
    server = DevServer(tmp_path / "data", port=free_port(), ui_port=free_port())
    await asyncio.to_thread(server.start)
    try:
        client = await hitl.connect(server.address, task_queue="unreachable", graphs=graphs.GRAPHS, identity="ops")
        app = create_app(client, TokenAuth(TOKENS), settings=Settings(poll_seconds=1.0))
        async with running(app) as url:
            await asyncio.to_thread(server.stop)
            async with httpx.AsyncClient(
                base_url=url, headers={"Authorization": "Bearer tok-alice"}, timeout=120
            ) as alice:
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
    finally:
        await asyncio.to_thread(server.stop)
