"""Clearing a queue in a real browser (Debian's chromium under Playwright), issue 26 items 2, 3 and 6: rows
one can decide from (title, fields, a short id), a dozen of them on a laptop's screen and the first on a
phone's, keys to tick rows and to edit, a decision moving on to the next run of the same filter (or
staying), the filter kept on every way back, and claim controls folded under the question."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from typing import Any

import pytest

import hitl
from hitl.web.testing import CHROMIUM
from tests.helpers import wait_for
from tests.row_graphs import clear
from tests.web_fixtures import Served

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"needs {CHROMIUM} (apt-get install chromium)")
playwright_api = pytest.importorskip("playwright.async_api")
REFUND = {"messages": [{"role": "user", "content": "Please refund order 42."}]}


async def waiting(client: hitl.Client, graph: str, input: dict, run_id: str | None = None) -> hitl.Run:
    run = await client.start(graph, input, run_id=run_id)
    await wait_for(run, "interrupted")
    return run


async def orders(client: hitl.Client, n: int) -> list[hitl.Run]:
    """`n` waiting orders, oldest first (started one after another: the queue's order is theirs)."""
    await clear(client, "titled_order")
    return [await waiting(client, "titled_order", {"customer": f"C{i}", "total": f"€{i}"}) for i in range(n)]


async def sized_page(browser: Any, served: Served, path: str, width: int, height: int) -> Any:
    context = await browser.new_context(viewport={"width": width, "height": height})
    await context.add_cookies([{"name": "hitl_token", "value": "tok-alice", "url": served.url}])
    page = await context.new_page()
    await page.goto(served.url + path)
    return page


async def test_rows_show_the_questions_title_fields_and_a_short_id(served: Served, open_as) -> None:  # noqa: ANN001
    client = served.client
    titled = await waiting(
        client, "titled_order", {"customer": "Ada Lovelace", "total": "€1,250.00"}, run_id=str(uuid.uuid4())
    )
    by_function = await waiting(client, "summarized_refund", {"customer": "Bob", "total": "€9"})
    email = await waiting(client, "email_review", {"to": "grace@example.com"})
    approval = await waiting(client, "approval", {"topic": "rows"})
    page = await open_as("tok-alice", "/?order=newest")

    async def row(run: hitl.Run) -> tuple[str, list[str], Any]:
        r = page.locator(f"tr.row[data-run='{run.run_id}']")
        await r.wait_for()
        fields = [" ".join((t or "").split()) for t in await r.get_by_test_id("row-field").all_text_contents()]
        return await r.get_by_test_id("row-title").first.inner_text(), fields, r

    title, fields, r = await row(titled)
    assert (title, fields) == ("Order for Ada Lovelace", ["customer Ada Lovelace", "total €1,250.00"])
    link = r.get_by_test_id("run-id")
    assert await link.inner_text() == titled.run_id[:8] + "…"
    assert await link.get_attribute("title") == titled.run_id
    copied = await page.evaluate(
        """(el) => {
            let got = null;
            window.addEventListener("copy", (e) => { got = e.clipboardData.getData("text/plain"); }, { once: true });
            const range = document.createRange();
            range.selectNodeContents(el);
            getSelection().removeAllRanges();
            getSelection().addRange(range);
            document.execCommand("copy");
            return got;
        }""",
        await link.element_handle(),
    )
    assert copied == titled.run_id, "copying the short id copies the whole id"
    title, fields, _ = await row(by_function)
    assert (title, fields) == ("Refund", ["who Bob", "amount €9"])
    title, fields, r = await row(email)
    assert title == "send_email"
    assert fields[:2] == ["description Send this email to grace@example.com?", "to grace@example.com"]
    assert "{" not in await r.get_by_test_id("row-summary").inner_text(), "no raw JSON in the row"
    title, fields, _ = await row(approval)
    assert title == "Publish this draft?" and fields[0].startswith("draft ") and "rows" in fields[0]
    for run in (titled, by_function, email, approval):
        await run.cancel()


async def test_twelve_rows_on_a_laptop_and_the_first_on_a_phone(browser, served: Served) -> None:  # noqa: ANN001
    await clear(served.client, "titled_order")
    runs = await asyncio.gather(
        *(waiting(served.client, "titled_order", {"customer": f"C{i}", "total": "€1"}) for i in range(13))
    )
    laptop = await sized_page(browser, served, "/?graph=titled_order", 1280, 800)
    await laptop.locator("tr.row").nth(12).wait_for()
    bottoms = [
        box["y"] + box["height"] for box in [await r.bounding_box() for r in await laptop.locator("tr.row").all()]
    ]
    assert sum(b <= 800 for b in bottoms) >= 12, bottoms
    await laptop.screenshot(path="/tmp/rows-test-1280x800.png")
    phone = await sized_page(browser, served, "/?graph=titled_order", 390, 844)
    first = await phone.locator("tr.row").first.bounding_box()
    assert first["y"] + first["height"] <= 844, first
    assert "Order for C" in await phone.locator("tr.row").first.get_by_test_id("row-title").inner_text()
    await phone.screenshot(path="/tmp/rows-test-390x844.png")
    for page in (laptop, phone):
        await page.context.close()
    await asyncio.gather(*(r.cancel() for r in runs))


async def test_x_ticks_a_row_and_shift_x_a_range(served: Served, open_as) -> None:  # noqa: ANN001
    runs = await orders(served.client, 4)
    page = await open_as("tok-alice", "/?graph=titled_order")
    await page.locator("tr.row").nth(3).wait_for()
    boxes = page.locator("tr.row input[name=run]")
    assert not await page.get_by_test_id("bulk").is_visible(), "the bulk bar is folded until used"
    await page.keyboard.press("j")
    await page.keyboard.press("x")
    assert [await b.is_checked() for b in await boxes.all()] == [True, False, False, False]
    assert await page.get_by_test_id("bulk").is_visible(), "ticking a run unfolds the bulk bar"
    await page.keyboard.press("j")
    await page.keyboard.press("j")
    await page.keyboard.press("Shift+X")
    assert [await b.is_checked() for b in await boxes.all()] == [True, True, True, False]
    assert await page.locator("[data-ticked]").inner_text() == "3"
    await page.keyboard.press("x")  # x again: unticks the selected row
    assert [await b.is_checked() for b in await boxes.all()] == [True, True, False, False]
    await page.keyboard.press("?")
    assert "tick the selected run" in await page.locator("#help").inner_text()
    for r in runs:
        await r.cancel()


async def test_a_decision_moves_on_to_the_next_run_of_the_filter(served: Served, open_as) -> None:  # noqa: ANN001
    first, second, third = await orders(served.client, 3)
    other = await waiting(served.client, "approval", {"topic": "not in the filter"})
    page = await open_as("tok-alice", "/?graph=titled_order")
    await page.locator("tr.row").first.wait_for()
    await page.keyboard.press("j")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/runs/{first.run_id}?in=graph%3Dtitled_order")
    await page.keyboard.press("a")  # one key: the answer, and on to the next
    await page.wait_for_url(f"**/runs/{second.run_id}?in=graph%3Dtitled_order")
    assert (await first.result())["outcome"] == "shipped"
    await page.keyboard.press("r")
    await page.wait_for_url(f"**/runs/{third.run_id}?in=graph%3Dtitled_order")
    assert (await second.result())["outcome"] == "held"
    await page.keyboard.press("g")
    await page.keyboard.press("i")  # back to the inbox: the filter is kept
    await page.wait_for_url("**/?graph=titled_order")
    assert await page.locator("select[name=graph]").input_value() == "titled_order"
    await page.locator(f"tr.row[data-run='{third.run_id}']").wait_for()
    await page.keyboard.press("j")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/runs/{third.run_id}?in=graph%3Dtitled_order")
    await page.keyboard.press("a")  # the last one: back to the filtered inbox, nothing else visited
    await page.wait_for_url("**/?graph=titled_order")
    assert (await third.result())["outcome"] == "shipped"
    assert (await other.get_state()).status == "interrupted"
    await other.cancel()


async def test_stay_keeps_the_run(served: Served, open_as) -> None:  # noqa: ANN001
    first, second = await orders(served.client, 2)
    page = await open_as("tok-alice", f"/runs/{first.run_id}?in=graph%3Dtitled_order")
    stay = page.get_by_test_id("stay").locator("input")
    await stay.check()  # the setting is the browser's: it holds on the next page too
    await page.keyboard.press("a")
    await page.get_by_test_id("done").wait_for()
    assert page.url.endswith(f"/runs/{first.run_id}?done=answered&in=graph%3Dtitled_order"), page.url
    assert (await first.result())["outcome"] == "shipped"
    await page.get_by_test_id("back").click()
    await page.wait_for_url("**/?graph=titled_order")
    await page.goto(f"{served.url}/runs/{second.run_id}?in=graph%3Dtitled_order")
    assert await page.get_by_test_id("stay").locator("input").is_checked()
    await second.cancel()


async def test_e_edits_the_answer(served: Served, open_as) -> None:  # noqa: ANN001
    tools = await waiting(served.client, "tool_review", REFUND)
    page = await open_as("tok-alice", f"/runs/{tools.run_id}")
    await page.keyboard.press("e")
    assert await page.locator("[data-call='0'] input[value=edit]").is_checked()
    assert await page.evaluate("document.activeElement.closest('[data-call]')?.dataset.call") == "0"
    typed = await waiting(served.client, "validate_input", {"name": "Ada"})
    await page.goto(f"{served.url}/runs/{typed.run_id}")
    await page.keyboard.press("e")
    assert await page.evaluate("document.activeElement.name") == "v"
    order, *_ = await orders(served.client, 1)
    await page.goto(f"{served.url}/runs/{order.run_id}")
    await page.keyboard.press("e")  # buttons only: the state editor opens
    assert await page.locator("#state-editor").get_attribute("open") is not None
    assert await page.evaluate("document.activeElement.name") == "values"
    for r in (tools, typed, order):
        await r.cancel()


async def test_claim_controls_fold_under_the_question_and_the_row_shows_the_holder(
    served: Served,
    open_as,  # noqa: ANN001
) -> None:
    [run] = await orders(served.client, 1)
    page = await open_as("tok-alice", f"/runs/{run.run_id}")
    question, claim = page.locator(".question .choices"), page.get_by_test_id("claim")
    assert (await claim.bounding_box())["y"] > (await question.bounding_box())["y"], "the question comes first"
    assert not await page.get_by_test_id("claim-button").is_visible(), "claiming is folded"
    await page.get_by_test_id("claim-fold").locator("summary").click()
    await page.locator("select[name=ttl]").first.select_option("1h")
    await page.get_by_test_id("claim-button").click()
    await page.get_by_test_id("done").filter(has_text="You hold this question now").wait_for()
    until = (await run.get_state()).interrupts[0].claimed_until
    assert until is not None
    inbox = await open_as("tok-alice", "/?graph=titled_order")
    held = inbox.locator(f"tr.row[data-run='{run.run_id}']").get_by_test_id("held")
    await held.wait_for()
    assert "claimed by alice" in await held.inner_text()
    assert await held.get_by_test_id("held-until").get_attribute("datetime") == until.isoformat()
    await run.cancel()
