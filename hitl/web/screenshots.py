"""`python -m hitl.web.screenshots [OUT_DIR]`: the docs' screenshots (docs/*.png), made by the real app.

Starts its own Temporal dev server and worker with the example graphs, starts a
few runs that wait for a person, serves the app, and photographs the inbox (desk and phone
widths, its first page and, by its Next link, the second), a tool-review page, the queue's picture and a
bulk answer's page (its progress, then each run's result; desk and phone widths) with Debian's chromium.
Nothing here is hand-made.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import examples
import hitl
from hitl.server import DevServer, free_port
from hitl.web import Identity, Settings, TokenAuth, create_app
from hitl.web.testing import launch_chromium, running

TOKEN = "screenshot-token"
PAGE_SIZE = 6
"""Ten runs wait: two pages, so the pager shows."""
DESK, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}
BULK = 20
"""Digests started for the bulk answer's picture: with the five announcements, enough for its progress page."""
REFUND = {"messages": [{"role": "user", "content": "Please refund order 42."}]}
EMAIL = {"to": "ada@example.com", "subject": "Your refund", "body": "We refunded 30.00 for your teapot."}


async def stage(client: hitl.Client) -> str:
    """A believable inbox: waiting runs of every pattern, one run with a decided history."""
    topics = ["the spring release", "our new pricing", "the tea launch", "office move", "API v2 deprecation"]
    runs = [await client.start("approval", {"topic": t}, run_id=f"announce-{i + 1}") for i, t in enumerate(topics)]
    runs.append(await client.start("edit_state", {"topic": "green tea"}, run_id="newsletter-7"))
    runs.append(await client.start("validate_input", {"name": "Ada"}, run_id="signup-ada"))
    for n in (42, 57):
        runs.append(await client.start("tool_review", REFUND, run_id=f"refund-{n}"))
    runs.append(await client.start("email_review", EMAIL, run_id="email-ada"))
    for r in runs:
        await r.wait()
    done = await client.start("approval", {"topic": "the holiday schedule"}, run_id="announce-0")
    await done.wait()
    await done.resume("approve")
    return "refund-42"


async def shoot(out: Path) -> list[Path]:
    from playwright.async_api import async_playwright

    out.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before anything runs
    with tempfile.TemporaryDirectory() as data, DevServer(data, port=free_port(), ui_port=free_port()) as server:
        client = await hitl.connect(server.address, task_queue="screenshots", graphs=examples.GRAPHS, identity="agent")
        async with client.worker():
            review = await stage(client)
            app = create_app(
                client, TokenAuth({TOKEN: Identity("ada", ("support",))}), settings=Settings(page_size=PAGE_SIZE)
            )
            async with running(app) as url, async_playwright() as p:
                browser = await launch_chromium(p)
                shots = []
                for name, path, width, height in [
                    ("inbox.png", "/", 1280, 800),
                    ("tool-review.png", f"/runs/{review}", 1280, 1100),
                    ("inbox-phone.png", "/", 390, 844),
                    ("queue.png", "/stats", 1280, 800),
                ]:
                    context = await browser.new_context(
                        viewport={"width": width, "height": height}, device_scale_factor=1
                    )
                    await context.add_cookies([{"name": "hitl_token", "value": TOKEN, "url": url}])
                    page = await context.new_page()
                    await page.goto(url + path)
                    if name == "tool-review.png":
                        await page.locator("[data-call='0'] input[value=edit]").check()
                        await page.locator("input[name='d0.args.amount']").fill("12.5")
                        await page.locator("[data-call='1'] input[value=reject]").check()
                        await page.locator("textarea[name='d1.message']").fill("We will call her instead.")
                        await page.locator("[data-preview='0'] table.diff").wait_for()
                    elif name == "queue.png":
                        await page.locator("svg.plot").first.wait_for()
                    else:
                        await page.locator("tr.row").first.wait_for()
                        await page.keyboard.press("j")
                    target = out / name
                    await page.screenshot(path=str(target), full_page=name == "tool-review.png")
                    shots.append(target)
                    await context.close()
                context = await browser.new_context(viewport=DESK, device_scale_factor=1)
                await context.add_cookies([{"name": "hitl_token", "value": TOKEN, "url": url}])
                shots += await paging(await context.new_page(), url, out)
                await context.close()
                # A bulk answer large enough to show its progress, on an inbox of the default page size.
                digests = [
                    await client.start("approval", {"topic": f"weekly digest {i}"}, run_id=f"digest-{i:02}")
                    for i in range(1, BULK + 1)
                ]
                for r in digests:
                    await r.wait()
                wide = create_app(client, TokenAuth({TOKEN: Identity("ada", ("support",))}))
                async with running(wide) as bulk_url:
                    context = await browser.new_context(viewport=DESK, device_scale_factor=1)
                    await context.add_cookies([{"name": "hitl_token", "value": TOKEN, "url": bulk_url}])
                    shots += await bulk(await context.new_page(), bulk_url, out)
                    await context.close()
                await browser.close()
    return shots


async def both(page: Any, out: Path, name: str) -> list[Path]:
    """The page as it is, at desk and then phone width."""
    shots = []
    for suffix, size in (("", DESK), ("-phone", PHONE)):
        await page.set_viewport_size(size)
        target = out / f"{name}{suffix}.png"
        await page.screenshot(path=str(target))
        shots.append(target)
    return shots


async def paging(page: Any, url: str, out: Path) -> list[Path]:
    """The inbox's second page, reached by its Next link."""
    await page.goto(url + "/")
    await page.get_by_test_id("next-page").click()
    await page.wait_for_url(re.compile(r"after="))
    await page.locator("tr.row").first.wait_for()
    return await both(page, out, "inbox-next")


async def bulk(page: Any, url: str, out: Path) -> list[Path]:
    """A bulk answer to every waiting announcement and digest: ticked, previewed, confirmed; its page shows
    how many runs are answered so far as it is sent, then each run's result."""
    await page.goto(url + "/?graph=approval")
    boxes = await page.locator("tr.row input[name=run]").all()
    for box in boxes:
        await box.check()
    await page.get_by_label("Answer (JSON)").fill('"approve"')
    await page.get_by_role("button", name="Preview").click()
    await page.get_by_test_id("bulk-rows").wait_for()
    await page.get_by_role("button", name=f"Send to {len(boxes)} runs").click()
    await page.get_by_test_id("batch-results").wait_for()
    return await both(page, out, "bulk-answer")


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs")
    for path in asyncio.run(shoot(out)):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
