"""The inbox's bulk action and the signed-link page in a real browser (Debian's chromium
under Playwright): ticked runs answered at once with a result per run, and a reviewer
answering from a link without signing in, once."""

from __future__ import annotations

import shutil
import uuid
from datetime import timedelta

import pytest

import hitl
from hitl.client import signed_links as links
from hitl.web.testing import CHROMIUM
from tests.helpers import event_count, wait_for
from tests.web_fixtures import Served

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"needs {CHROMIUM} (apt-get install chromium)")
pytest.importorskip("playwright.async_api")
KEY = "browser-link-key-" + "z" * 24


async def paused(client: hitl.Client, topic: str, **input: object) -> hitl.Run:
    run = await client.start("batch_review", {"topic": topic, **input})
    await wait_for(run, "interrupted")
    return run


async def test_tick_runs_in_the_inbox_and_answer_them_at_once(served: Served, open_as) -> None:  # noqa: ANN001
    topic = f"t{uuid.uuid4().hex[:8]}"
    runs = [await paused(served.client, topic) for _ in range(2)]
    locked = await paused(served.client, topic, reviewers=["carol"])
    untouched = await paused(served.client, topic)
    page = await open_as("tok-alice", "/?graph=batch_review&node=review&order=newest")
    for r in (*runs, locked):
        box = page.locator(f"tr.row[data-run='{r.run_id}'] input[name=run]")
        await box.wait_for()  # the live inbox lists it once the visibility store does
        await box.check()
    assert page.url.endswith("order=newest")  # ticking a row's box does not open the run
    before = await event_count(served.client, locked.run_id)
    await page.get_by_label("Answer (JSON)").fill('"approve"')
    await page.get_by_role("button", name="Preview").click()
    refused = page.get_by_test_id("bulk-rows").locator(f"tr[data-run='{locked.run_id}']")
    assert await refused.get_attribute("data-outcome") == "refused"  # its own reviewer check, before sending
    assert "'alice' may not answer" in await refused.inner_text()
    await page.get_by_role("button", name="Send to 2 runs").click()
    results = page.get_by_test_id("batch-results")
    await results.wait_for()
    for r in runs:
        assert await results.locator(f"tr[data-run='{r.run_id}']").get_attribute("data-outcome") == "applied"
    assert await results.locator(f"tr[data-run='{locked.run_id}']").count() == 0  # never sent
    assert "2 applied" in await page.get_by_test_id("batch-summary").inner_text()
    for r in runs:
        assert [d.identity for d in (await wait_for(r, "completed")).decisions] == ["alice"]
    assert await event_count(served.client, locked.run_id) == before
    assert (await untouched.get_state()).status == "interrupted"  # not ticked, not answered
    await locked.resume("reject", identity="carol")
    await untouched.resume("reject")


async def test_a_reviewer_answers_from_a_signed_link_without_signing_in_once(
    served: Served,
    open_as,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HITL_LINK_KEY", KEY)
    run = await paused(served.client, f"t{uuid.uuid4().hex[:8]}", reviewers=["dana"])
    made = await links.create(
        served.client, run.run_id, expires=timedelta(hours=1), base_url=served.url, key=KEY.encode(), identity="dana"
    )
    page = await open_as(None, made.url)
    assert await page.locator("h1").inner_text() == "A question for dana"
    assert "Publish the note about" in await page.locator(".prompt .q").inner_text()
    await page.get_by_role("button", name="approve").click()
    await page.get_by_test_id("link-done").wait_for()
    assert "dana" in await page.get_by_test_id("link-done").inner_text()
    done = await wait_for(run, "completed")
    assert [(d.identity, d.value) for d in done.decisions] == [("dana", "approve")]
    before = await event_count(served.client, run.run_id)
    again = await page.goto(made.url)
    assert again is not None and again.status == 410
    assert "already used" in await page.get_by_test_id("link-problem").inner_text()
    tampered = await page.goto(made.url[:-3] + ("AAA" if not made.url.endswith("AAA") else "BBB"))
    assert tampered is not None and tampered.status == 403
    assert "not valid" in await page.get_by_test_id("link-problem").inner_text()
    assert await event_count(served.client, run.run_id) == before
