"""The inbox page in a real browser (Debian's chromium under Playwright) when Temporal goes away under its
live feed: the page says the live updates stopped and why, instead of going quiet (a dev server of the
test's own is stopped)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

import hitl
from hitl.server import DevServer
from hitl.web import Settings, TokenAuth, create_app
from hitl.web.testing import CHROMIUM, running
from tests import graphs
from tests.helpers import free_port
from tests.web_fixtures import BROWSER_TIMEOUT, TOKENS

pytestmark = [
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"needs {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.server,
]
pytest.importorskip("playwright.async_api")


async def test_the_inbox_says_its_live_feed_stopped_when_temporal_goes_away(browser: Any, tmp_path: Path) -> None:
    server = DevServer(tmp_path / "data", port=free_port(), ui_port=free_port())
    await asyncio.to_thread(server.start)
    try:
        client = await hitl.connect(server.address, task_queue="inbox-lost", graphs=graphs.GRAPHS, identity="ops")
        app = create_app(client, TokenAuth(TOKENS), settings=Settings(poll_seconds=1.0))
        async with running(app) as url:
            context = await browser.new_context()
            context.set_default_timeout(BROWSER_TIMEOUT)
            await context.add_cookies([{"name": "hitl_token", "value": "tok-alice", "url": url}])
            page = await context.new_page()
            await page.goto(url + "/")
            lost = page.get_by_test_id("feed-lost")
            assert not await lost.is_visible()
            await asyncio.to_thread(server.stop)
            await lost.wait_for(state="visible", timeout=120_000)  # after the feed's retries (about 30 s)
            text = await lost.inner_text()
            assert "Live updates stopped" in text and "cannot reach Temporal" in text, text
            await context.close()
    finally:
        await asyncio.to_thread(server.stop)
