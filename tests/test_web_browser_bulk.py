"""The inbox's bulk answer in a real browser (Debian's chromium under Playwright), safe by construction:
pinned to the runs and questions the preview showed, offered only over one kind of question, previewed
with each run's own checks before one more confirmation sends it, a refusal keeping the filter, the
ticks and the typed answer, and a plain word read as text only where the question takes text."""

from __future__ import annotations

import shutil
import uuid
from typing import Any

import pytest

import hitl
from hitl.web.testing import CHROMIUM
from tests.helpers import event_count, wait_for
from tests.web_fixtures import Served

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"needs {CHROMIUM} (apt-get install chromium)")
pytest.importorskip("playwright.async_api")


async def paused(client: hitl.Client, graph: str = "batch_review", **input: object) -> hitl.Run:
    if graph == "batch_review":
        input = {"topic": f"t{uuid.uuid4().hex[:8]}", **input}
    run = await client.start(graph, input)
    await wait_for(run, "interrupted")
    return run


async def tick(page: Any, *runs: hitl.Run) -> None:
    for r in runs:
        box = page.locator(f"tr.row[data-run='{r.run_id}'] input[name=run]")
        await box.wait_for()  # the live inbox lists it once the visibility store does
        await box.check()


async def counts(client: hitl.Client, runs: list[hitl.Run]) -> dict[str, int]:
    return {r.run_id: await event_count(client, r.run_id) for r in runs}


async def test_a_bulk_answer_goes_to_the_runs_and_questions_previewed_only(served: Served, open_as) -> None:  # noqa: ANN001
    """A run arriving after the preview is not answered; a previewed run whose question was answered
    meanwhile (it now asks another) is refused, not answered at its new question."""
    first = await paused(served.client)
    moved = await paused(served.client, again=True)
    page = await open_as("tok-alice", "/?graph=batch_review&node=review&order=newest")
    await tick(page, first, moved)
    await page.get_by_label("Answer (JSON)").fill('"approve"')
    await page.get_by_role("button", name="Preview").click()
    rows = page.get_by_test_id("bulk-rows")
    await rows.wait_for()
    shown = {
        r.run_id: await rows.locator(f"tr[data-run='{r.run_id}']").get_attribute("data-interrupt")
        for r in (first, moved)
    }
    assert await rows.locator("tbody tr").count() == 2
    assert shown[first.run_id] == (await first.get_state()).interrupts[0].id
    assert "checks passed" in await rows.locator(f"tr[data-run='{first.run_id}']").inner_text()
    assert [d.kind for d in (await first.get_state()).decisions] == []  # a preview sends nothing
    arrived = await paused(served.client)  # a new run: listed live above the ticked ones
    await page.locator(f"tr.row[data-run='{arrived.run_id}']").wait_for()
    await moved.resume("approve", identity="bob")  # answered elsewhere: it now asks at `check`
    assert [i.node for i in (await moved.get_state()).interrupts] == ["check"]
    before = await counts(served.client, [arrived, moved])
    await page.get_by_role("button", name="Send to 2 runs").click()
    results = page.get_by_test_id("batch-results")
    await results.wait_for()
    assert await results.locator(f"tr[data-run='{first.run_id}']").get_attribute("data-outcome") == "applied"
    refused = results.locator(f"tr[data-run='{moved.run_id}']")
    assert await refused.get_attribute("data-outcome") == "refused"
    assert f"no longer waits on question {shown[moved.run_id]}" in await refused.inner_text()
    assert await results.locator("tbody tr").count() == 2
    assert await counts(served.client, [arrived, moved]) == before  # nothing reached either
    assert [(d.identity, d.value) for d in (await wait_for(first, "completed")).decisions] == [("alice", "approve")]
    assert await page.get_by_role("link", name="← Inbox").get_attribute("href") == (
        "/?graph=batch_review&node=review&age=any&order=newest"
    )
    await arrived.resume("reject")
    await moved.resume("reject")


async def test_mixed_questions_are_refused_naming_the_rows_that_differ(served: Served, open_as) -> None:  # noqa: ANN001
    """Runs of two graphs ticked under "All graphs": no preview, the refusal names each kind of question
    and its runs, the odd rows are marked, nothing is sent and the ticks and answer stay."""
    approvals = [await paused(served.client) for _ in range(2)]
    score = await paused(served.client, "scored")
    page = await open_as("tok-alice", "/?order=newest")
    await tick(page, *approvals, score)
    await page.get_by_label("Answer (JSON)").fill('"approve"')
    before = await counts(served.client, [*approvals, score])
    await page.get_by_role("button", name="Preview").click()
    refusal = page.get_by_test_id("bulk-refusal")
    await refusal.wait_for()
    text = await refusal.inner_text()
    assert "2 kinds of question" in text and "batch_review · review" in text and "scored · ask" in text
    assert score.run_id in text and all(r.run_id in text for r in approvals)
    assert "a number from 0 to 100" in text and 'one of "approve", "reject"' in text
    assert await page.get_by_test_id("bulk-confirm").count() == 0  # nothing to confirm
    assert "differs" in (await page.locator(f"tr.row[data-run='{score.run_id}']").get_attribute("class") or "")
    assert "differs" not in (
        await page.locator(f"tr.row[data-run='{approvals[0].run_id}']").get_attribute("class") or ""
    )
    for r in (*approvals, score):
        assert await page.locator(f"tr.row[data-run='{r.run_id}'] input[name=run]").is_checked()
    assert await page.get_by_label("Answer (JSON)").input_value() == '"approve"'
    assert await counts(served.client, [*approvals, score]) == before
    for r in approvals:
        await r.resume("reject")
    await score.resume(1)


async def test_a_refused_word_keeps_the_filter_the_ticks_and_the_answer(served: Served, open_as) -> None:  # noqa: ANN001
    """`approve` typed for a number question: refused inline before anything is sent, the page as it was;
    the answer corrected, the preview then confirmation sends it."""
    scores = [await paused(served.client, "scored") for _ in range(2)]
    path = "/?graph=scored&node=ask&order=newest"
    page = await open_as("tok-alice", path)
    await tick(page, *scores)
    answer = page.get_by_label("Answer (JSON)")
    await answer.fill("approve")
    before = await counts(served.client, scores)
    await page.get_by_role("button", name="Preview").click()
    refusal = page.get_by_test_id("bulk-refusal")
    await refusal.wait_for()
    assert "'approve' is not JSON" in await refusal.inner_text()
    assert "takes a number from 0 to 100" in await refusal.inner_text()
    assert page.url == served.url + path  # the filter: the page never left
    assert await page.locator("select[name=graph]").input_value() == "scored"
    for r in scores:
        assert await page.locator(f"tr.row[data-run='{r.run_id}'] input[name=run]").is_checked()
    assert await answer.input_value() == "approve"
    assert await counts(served.client, scores) == before
    await answer.fill("42")
    assert await refusal.count() == 0  # a changed answer drops what was shown for the old one
    await page.get_by_role("button", name="Preview").click()
    await page.get_by_test_id("bulk-rows").wait_for()
    assert await page.get_by_test_id("bulk-value").inner_text() == "42"
    await page.get_by_role("button", name="Send to 2 runs").click()
    await page.get_by_test_id("batch-results").wait_for()
    for r in scores:
        assert (await wait_for(r, "completed")).values["score"] == 42


async def test_a_plain_word_is_read_as_text_where_the_question_takes_text(served: Served, open_as) -> None:  # noqa: ANN001
    """`approve` without quotes for an approve/reject question: the preview says it reads it as the text
    "approve", lists a run whose reviewers exclude the caller as not sent (its own check), and confirming
    answers the others only."""
    runs = [await paused(served.client) for _ in range(2)]
    locked = await paused(served.client, reviewers=["carol"])
    page = await open_as("tok-alice", "/?graph=batch_review&node=review&order=newest")
    await tick(page, *runs, locked)
    await page.get_by_label("Answer (JSON)").fill("approve")
    await page.get_by_role("button", name="Preview").click()
    rows = page.get_by_test_id("bulk-rows")
    await rows.wait_for()
    assert 'read as the text "approve"' in await page.get_by_test_id("bulk-note").inner_text()
    assert await page.get_by_test_id("bulk-value").inner_text() == '"approve"'
    held = rows.locator(f"tr[data-run='{locked.run_id}']")
    assert await held.get_attribute("data-outcome") == "refused"
    assert "'alice' may not answer" in await held.inner_text() and "not sent" in (await held.inner_text()).lower()
    before = await event_count(served.client, locked.run_id)
    await page.get_by_role("button", name="Send to 2 runs").click()
    results = page.get_by_test_id("batch-results")
    await results.wait_for()
    assert await results.locator("tbody tr").count() == 2
    for r in runs:
        assert [(d.identity, d.value) for d in (await wait_for(r, "completed")).decisions] == [("alice", "approve")]
    assert await event_count(served.client, locked.run_id) == before
    await locked.resume("reject", identity="carol")
