"""The queue's picture (`/stats`) in a real browser (Debian's chromium under Playwright), at a desk's
1280x800 and a phone's 390x844: its four plots are drawn (server-side SVG, with their titles), the page
fits the screen's width, nothing is loaded from another origin and nothing breaks its CSP."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from hitl.web.testing import CHROMIUM
from tests.stats_seed import KNOWN, seed, settled
from tests.web_fixtures import BROWSER_TIMEOUT, own_temporal

pytestmark = [
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"needs {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.server,
]
pytest.importorskip("playwright.async_api")
SHOTS = Path("/tmp")


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
async def test_the_queue_page_draws_its_plots_at_a_desk_and_on_a_phone(
    browser: Any, tmp_path: Path, width: int, height: int
) -> None:
    async with own_temporal(tmp_path, f"stats-{width}", KNOWN) as (_, client, url):
        async with client.worker():
            await seed(client)
            await settled(client)
            context = await browser.new_context(viewport={"width": width, "height": height})
            context.set_default_timeout(BROWSER_TIMEOUT)
            await context.add_cookies([{"name": "hitl_token", "value": "tok-alice", "url": url}])
            page = await context.new_page()
            asked: list[str] = []
            problems: list[str] = []
            page.on("request", lambda r: asked.append(r.url))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "CSP" in m.text else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            failed: list[str] = []
            page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
            await page.add_init_script(
                "document.addEventListener('securitypolicyviolation', e => console.error('CSP: ' + e.violatedDirective))"
            )
            await page.goto(url + "/stats")
            plots = page.locator("svg.plot[role=img]")
            assert await plots.count() == 4
            titles = [await plots.nth(i).locator("title").first.text_content() for i in range(4)]
            assert titles[0] == "Runs waiting now, per graph" and all(titles), titles
            for i in range(4):
                box = await plots.nth(i).bounding_box()
                assert box is not None and 0 < box["x"] and box["x"] + box["width"] <= width, (i, box)
            waiting = page.locator("svg.plot").first.locator("g title")
            assert await waiting.all_text_contents() == ["review: 2", "payment_private: 1"]
            fits = await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert fits, "the page is wider than the screen"
            assert await page.get_by_test_id("stats-graphs").is_visible()
            await page.screenshot(path=str(SHOTS / f"hitl-stats-{width}.png"), full_page=True)
            here = urlsplit(url).netloc
            assert asked and all(urlsplit(u).netloc == here for u in asked), asked
            assert problems == [], problems  # nothing the page's CSP refused, no script error
            assert [u for u in failed if not u.endswith("/favicon.ico")] == [], failed
            await context.close()
