"""A view-only reader in a real browser (Debian's chromium under Playwright): dana's inbox lists the
waiting run with no bulk answer form, and its page shows the question with no control to answer,
continue, edit, fork or cancel; bob's inbox leaves out a run of a graph he may not read."""

from __future__ import annotations

import shutil
import uuid

import pytest

import hitl
from hitl.web.testing import CHROMIUM
from tests.helpers import wait_for
from tests.web_fixtures import Served

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"needs {CHROMIUM} (apt-get install chromium)")
playwright_api = pytest.importorskip("playwright.async_api")


async def paused(client: hitl.Client, graph: str) -> hitl.Run:
    run = await client.start(graph, {"draft": f"browse-{uuid.uuid4().hex[:8]}"})
    await wait_for(run, "interrupted")
    return run


async def test_a_viewer_reads_the_inbox_and_a_run_without_decision_controls(served: Served, open_as) -> None:  # noqa: ANN001
    run = await paused(served.client, "payment_open")
    inbox = await open_as("tok-dana", "/?graph=payment_open&order=newest")
    await inbox.locator(f"tr.row[data-run='{run.run_id}']").wait_for()
    assert await inbox.get_by_test_id("bulk").count() == 0
    assert await inbox.locator("input[name=run]").count() == 0
    assert "view-only" in await inbox.get_by_test_id("view-only").inner_text()

    page = await open_as("tok-dana", f"/runs/{run.run_id}")
    question = page.locator(f"section.question[data-interrupt='{(await run.get_state()).interrupts[0].id}']")
    assert "browse-" in await question.inner_text()  # she reads the question
    assert "view-only" in await question.get_by_test_id("view-only").inner_text()
    assert await page.locator("form[action*='/ui/runs/']").count() == 0, "no form that changes the run"
    assert await page.get_by_role("button", name="Send answer").count() == 0


async def test_bob_s_inbox_leaves_out_a_run_he_may_not_read(served: Served, open_as) -> None:  # noqa: ANN001
    private = await paused(served.client, "payment_private")
    alice = await open_as("tok-alice", "/?graph=payment_private&order=newest")
    await alice.locator(f"tr.row[data-run='{private.run_id}']").wait_for()  # listed for its reader
    bob = await open_as("tok-bob", "/?order=newest")
    await bob.get_by_test_id("counts").wait_for()
    assert await bob.locator(f"tr.row[data-run='{private.run_id}']").count() == 0
    assert await bob.locator("[data-graph='payment_private']").count() == 0
