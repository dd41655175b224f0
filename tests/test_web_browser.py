"""The inbox in a real browser (Debian's chromium under Playwright): the four
patterns answered through the pages, refusals shown inline, a tool-call edit
with its diff, live updates, and two reviewers racing on one question."""

from __future__ import annotations

import asyncio
import shutil

import pytest

import hitl
from hitl.web.testing import CHROMIUM
from tests.helpers import event_count, wait_for
from tests.web_fixtures import Served

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"needs {CHROMIUM} (apt-get install chromium)")
playwright_api = pytest.importorskip("playwright.async_api")
REFUND = {"messages": [{"role": "user", "content": "Please refund order 42."}]}


async def started(client: hitl.Client, graph: str, input: dict) -> hitl.Run:
    run = await client.start(graph, input)
    await wait_for(run, "interrupted")
    return run


async def settled(run: hitl.Run, *statuses: str) -> hitl.StateSnapshot:
    for _ in range(200):
        s = await run.get_state()
        if s.status in statuses:
            return s
        await asyncio.sleep(0.05)
    raise AssertionError(f"{run.run_id} is {s.status}, wanted {statuses}")


async def test_approval_from_the_inbox_with_the_keyboard(served: Served, open_as) -> None:  # noqa: ANN001
    run = await started(served.client, "approval", {"topic": "browsers"})
    page = await open_as("tok-alice", "/?order=newest&graph=approval")
    row = page.locator(f"tr.row[data-run='{run.run_id}']")
    await row.wait_for()
    await page.keyboard.press("j")  # newest first: our run is at the top
    assert await page.locator("tr.row.selected").get_attribute("data-run") == run.run_id
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/runs/{run.run_id}?in=*")  # the run page keeps the inbox's filter
    assert await page.locator(".prompt .q").inner_text() == "Publish this draft?"
    await page.keyboard.press("?")
    assert await page.locator("#help").is_visible()
    await page.keyboard.press("Escape")
    await page.get_by_test_id("stay").locator("input").check()  # stay to watch this run (else: the next run)
    await page.keyboard.press("a")  # approve
    await page.get_by_test_id("done").wait_for()
    assert (await run.result())["status"] == "published"
    await page.get_by_test_id("status").filter(has_text="completed").wait_for()  # the live feed updated the page
    [decision] = [d for d in (await run.get_state()).decisions if d.kind == "resume"]
    assert decision.identity == "alice" and decision.value == "approve"
    assert await page.locator(".timeline .decision", has_text="alice").count() == 1


async def test_edit_state_then_continue(served: Served, open_as) -> None:  # noqa: ANN001
    run = await started(served.client, "edit_state", {"topic": "tea"})
    page = await open_as("tok-carol", f"/runs/{run.run_id}")
    editor = page.locator("textarea[name=values]")
    text = (await editor.input_value()).replace(
        "Tea is great. We think you will like tea.", "Tea, edited in a browser."
    )
    await editor.fill(text)
    diff = page.locator("[data-state-diff] table.diff")
    await diff.wait_for()
    assert "Tea, edited in a browser." in await diff.inner_text()
    await page.get_by_role("button", name="Save edit").click()
    await page.get_by_test_id("done").filter(has_text="state edit").wait_for()
    await page.get_by_role("button", name="Continue").click()
    assert (await run.result())["published"] == "Tea, edited in a browser."
    [edit] = [d for d in (await run.get_state()).decisions if d.kind == "update_state"]
    assert edit.identity == "carol" and edit.value == {"draft": "Tea, edited in a browser."}


async def test_validate_input_with_inline_validation_and_a_refusal(served: Served, open_as) -> None:  # noqa: ANN001
    run = await started(served.client, "validate_input", {"name": "Ada"})
    page = await open_as("tok-alice", f"/runs/{run.run_id}")
    answer = page.locator("form.answer textarea[name=v]")
    await answer.fill("old")
    await page.locator("form.answer .json-error", has_text="Not valid JSON").wait_for()
    await answer.fill('"old"')
    await page.locator("form.answer button[type=submit]").click()
    await page.locator(".prompt .q", has_text="'old' is not an age").wait_for()
    await page.locator("form.answer textarea[name=v]").fill("36")
    await page.locator("form.answer button[type=submit]").click()
    number = page.locator("form.answer input[name=v]")  # confirm_age has a schema: a number field
    await number.wait_for()
    before = await event_count(served.client, run.run_id)
    await number.fill("0")
    assert await page.locator("form.answer button[type=submit]").is_disabled()  # the form stops it (min=1)
    async with page.expect_navigation():  # sent anyway (as without app.js): the server refuses it itself
        await page.locator("form.answer").evaluate("f => f.submit()")
    refusal = page.get_by_test_id("refusal")
    await refusal.wait_for()
    assert "less than or equal to the minimum of 0" in await refusal.inner_text()
    assert await event_count(served.client, run.run_id) == before  # refused at the edge
    await page.locator("form.answer input[name=v]").fill("36")
    await page.locator("form.answer button[type=submit]").click()
    assert await run.result() == {"name": "Ada", "age": 36, "confirmed": True}


async def test_tool_review_edit_shows_its_diff_and_keeps_it(served: Served, open_as) -> None:  # noqa: ANN001
    run = await started(served.client, "tool_review", REFUND)
    page = await open_as("tok-alice", f"/runs/{run.run_id}")
    refund = page.locator(".tool-card[data-call='0']")
    email = page.locator(".tool-card[data-call='1']")
    assert await refund.locator("input[value=respond]").count() == 0  # not allowed for refunds
    await refund.locator("input[value=edit]").check()
    await refund.locator("input[name='d0.args.amount']").fill("12.5")
    preview = refund.locator("[data-preview='0'] table.diff")
    await preview.wait_for()
    assert "30.0" in await preview.locator("del").inner_text() and "12.5" in await preview.locator("ins").inner_text()
    await email.locator("input[value=reject]").check()
    await email.locator("textarea[name='d1.message']").fill("We will call her instead.")
    async with page.expect_navigation():  # the post's redirect lands before the page is reloaded below
        await page.get_by_role("button", name="Submit decisions").click()
    final = await run.result()
    tools = {m["tool_call_id"]: m["content"] for m in final["messages"] if m["type"] == "tool"}
    assert tools["call_refund"] == "refunded 12.50 on order 42"
    assert tools["call_email"] == "The reviewer rejected this call to send_email: We will call her instead."
    await page.reload()
    kept = page.locator(".timeline .decision table.diff")
    await kept.wait_for()
    assert "amount" in await kept.inner_text() and "12.5" in await kept.inner_text()


async def test_reviewer_not_allowed_is_refused_inline(served: Served, open_as) -> None:  # noqa: ANN001
    run = await started(served.client, "guarded", {"draft": "x"})
    page = await open_as("tok-bob", f"/runs/{run.run_id}")
    assert "the run will refuse you" in await page.locator("p.warn").inner_text()
    before = await event_count(served.client, run.run_id)
    await page.locator("form.answer textarea[name=v]").fill('"ok"')
    await page.locator("form.answer button[type=submit]").click()
    refusal = page.get_by_test_id("refusal")
    await refusal.wait_for()
    assert "'bob' may not answer" in await refusal.inner_text()
    assert await event_count(served.client, run.run_id) == before
    await run.cancel(identity="alice")  # the run is guarded: only its reviewers may cancel it


async def test_inbox_updates_live_when_answered_elsewhere(served: Served, open_as) -> None:  # noqa: ANN001
    run = await started(served.client, "approval", {"topic": "live"})
    page = await open_as("tok-alice", "/?graph=approval&order=newest")
    row = page.locator(f"tr.row[data-run='{run.run_id}']")
    await row.wait_for()
    await served.client.get_run(run.run_id).resume("reject")  # answered from Python, not this page
    await row.wait_for(state="detached")
    newcomer = await started(served.client, "approval", {"topic": "newcomer"})
    await page.locator(f"tr.row[data-run='{newcomer.run_id}']").wait_for()


async def test_two_reviewers_race_one_wins_the_other_sees_who(served: Served, open_as) -> None:  # noqa: ANN001
    run = await started(served.client, "approval", {"topic": "race"})
    alice = await open_as("tok-alice", f"/runs/{run.run_id}")
    carol = await open_as("tok-carol", f"/runs/{run.run_id}")
    # The clicks do not wait for their pages to load (Playwright's 30 s for that ran out once on a loaded CI
    # machine); what each reviewer ends up seeing is waited for below, as long as a loaded machine needs.
    await asyncio.gather(
        alice.locator("button.choice", has_text="approve").click(no_wait_after=True),
        carol.locator("button.choice", has_text="reject").click(no_wait_after=True),
    )
    outcomes = {}
    for name, page in (("alice", alice), ("carol", carol)):
        await page.locator("[data-testid=done], [data-testid=refusal]").first.wait_for(timeout=90_000)
        outcomes[name] = "won" if await page.get_by_test_id("done").count() else "lost"
    assert sorted(outcomes.values()) == ["lost", "won"], outcomes
    winner = next(n for n, o in outcomes.items() if o == "won")
    loser = alice if outcomes["alice"] == "lost" else carol
    assert f"{winner} answered this question first" in await loser.get_by_test_id("answered-by").inner_text()
    final = await settled(run, "completed")
    assert final.values["status"] == ("published" if winner == "alice" else "rejected")
    assert len([d for d in final.decisions if d.kind == "resume"]) == 1


async def test_double_click_counts_once(served: Served, open_as) -> None:  # noqa: ANN001
    run = await started(served.client, "validate_input", {"name": "Bo"})
    page = await open_as("tok-alice", f"/runs/{run.run_id}")
    await page.locator("form.answer textarea[name=v]").fill("7")
    button = page.locator("form.answer button[type=submit]")
    await button.dblclick()
    await page.get_by_test_id("done").wait_for()
    state = await settled(run, "interrupted")
    assert [d.value for d in state.decisions if d.kind == "resume"] == [7]


async def test_inbox_fits_a_phone(served: Served, open_as) -> None:  # noqa: ANN001
    await started(served.client, "approval", {"topic": "phones"})
    page = await open_as("tok-alice", "/", width=390)
    await page.locator("tr.row").first.wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
