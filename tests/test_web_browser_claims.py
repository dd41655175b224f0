"""Claims in a real browser (Debian's chromium under Playwright): alice claims a payment from its
page, carol sees who holds it and her answer is refused, alice releases it, carol answers; a
stranger's claim and delegation are refused on the page in one line and write nothing; the inbox's
"Assigned to me" shows the claimed run with its holder."""

from __future__ import annotations

import shutil

import pytest

import hitl
from hitl.web.testing import CHROMIUM
from tests.helpers import event_count, wait_for
from tests.web_fixtures import Served

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"needs {CHROMIUM} (apt-get install chromium)")
playwright_api = pytest.importorskip("playwright.async_api")


async def paused(client: hitl.Client) -> hitl.Run:
    run = await client.start("payment", {})
    await wait_for(run, "interrupted")
    return run


async def test_claim_then_another_reviewer_is_held_off_until_release(served: Served, open_as) -> None:  # noqa: ANN001
    run = await paused(served.client)
    alice = await open_as("tok-alice", f"/runs/{run.run_id}")
    await alice.get_by_test_id("claim-fold").locator("summary").click()  # claiming is folded under the question
    await alice.locator("select[name=ttl]").first.select_option("1h")
    await alice.get_by_test_id("claim-button").click()
    await alice.get_by_test_id("done").filter(has_text="You hold this question now").wait_for()
    assert "Claimed by alice (you) until" in await alice.get_by_test_id("holder").inner_text()
    assert "left)" in await alice.get_by_test_id("holder").inner_text(), "app.js counts the claim down"

    inbox = await open_as("tok-alice", "/?graph=payment&order=newest")
    await inbox.get_by_test_id("filters-fold").locator("summary").click()
    await inbox.get_by_label("Assigned to me").check()  # the filter form submits itself
    row = inbox.locator(f"tr.row[data-run='{run.run_id}']")
    await row.wait_for()
    assert "claimed by alice" in await row.get_by_test_id("held").inner_text()

    carol = await open_as("tok-carol", f"/runs/{run.run_id}")
    holder = await carol.get_by_test_id("holder").inner_text()
    assert "Claimed by alice until" in holder and "only they may answer" in holder
    assert await carol.get_by_test_id("claim-button").count() == 0
    before = await event_count(served.client, run.run_id)
    await carol.locator("button.choice", has_text="approve").click()
    refusal = carol.get_by_test_id("refusal")
    await refusal.wait_for()
    assert "is claimed by alice until" in await refusal.inner_text()
    assert await event_count(served.client, run.run_id) == before, "the refused answer wrote nothing"

    await alice.get_by_test_id("release").click()
    await alice.get_by_test_id("done").filter(has_text="free for its reviewers again").wait_for()
    await carol.goto(f"{served.url}/runs/{run.run_id}")
    assert await carol.get_by_test_id("holder").count() == 0
    await carol.locator("button.choice", has_text="approve").click()
    await carol.get_by_test_id("done").filter(has_text="Your answer was recorded").wait_for()
    assert (await run.result())["paid"] == "pay 1M"
    kinds = [(d.kind, d.identity) for d in (await run.get_state()).decisions]
    assert kinds == [("claim", "alice"), ("release", "alice"), ("resume", "carol")]


async def test_a_strangers_claim_and_delegation_are_refused_on_the_page(served: Served, open_as) -> None:  # noqa: ANN001
    run = await paused(served.client)
    before = await event_count(served.client, run.run_id)
    bob = await open_as("tok-bob", f"/runs/{run.run_id}")
    assert "the run will refuse you" in await bob.get_by_test_id("claim").inner_text()
    await bob.get_by_test_id("claim-fold").locator("summary").click()
    await bob.get_by_test_id("claim-button").click()
    refusal = bob.get_by_test_id("refusal")
    await refusal.wait_for()
    assert "'bob' may not claim interrupt" in await refusal.inner_text()
    await bob.get_by_test_id("claim-fold").locator("summary").click()
    await bob.locator("form:has([data-testid=delegate]) select[name=to]").select_option("alice")
    await bob.get_by_test_id("delegate").click()
    await bob.get_by_test_id("refusal").filter(has_text="may not delegate").wait_for()
    assert await event_count(served.client, run.run_id) == before, "nothing was written to the run"
    assert (await run.get_state()).interrupts[0].claimed_by is None
    await run.cancel(identity="alice")
