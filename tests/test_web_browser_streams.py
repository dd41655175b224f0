"""The inbox page in a real browser (Debian's chromium under Playwright) when Temporal goes away under its
live feed: the page says the live updates stopped and why, instead of going quiet (a dev server of the
test's own is stopped)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from hitl.web.testing import CHROMIUM
from tests.web_fixtures import BROWSER_TIMEOUT, own_temporal

pytestmark = [
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"needs {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.server,
]
pytest.importorskip("playwright.async_api")


async def test_the_inbox_says_its_live_feed_stopped_when_temporal_goes_away(browser: Any, tmp_path: Path) -> None:
    async with own_temporal(tmp_path, "inbox-lost", stopped=True) as (server, client, url):
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
