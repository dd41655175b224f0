"""`python -m bench.inbox_keys [--items 30] [--shots DIR]`: keystrokes and seconds per decision in the inbox.

A reviewer clears a queue of mixed items (approvals, tool-call reviews, Agent Inbox emails, breakpoints)
with the keyboard, in Debian's chromium under Playwright, against the real app, its own Temporal dev server
and worker. Two ways are measured, whichever the page offers:

- `advance`: open the first row once (`j`, `Enter`), then one decision key per item; the page moves on to
  the next waiting run of the same filter by itself (issue 26).
- `return`: the way the page offered before: from the inbox `j`, `Enter`, the decision key, `g i` back.

Keys are counted as pressed (typed answer text apart); a click is counted where no key does the job.
Page time is the wall time from pressing the decision key until the next question is on screen and
ready for a key. Run it on any checkout: the "before" figures came from the parent commit's code.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import examples
import hitl
from hitl.server import DevServer, free_port
from hitl.web import Identity, TokenAuth, create_app
from hitl.web.testing import launch_chromium, running

TOKEN = "bench-token"
MIX = [("approval", "a"), ("tool_review", "a"), ("approval", "r"), ("email_review", None), ("edit_state", "c")]
"""The queue's item kinds in turn, with the key that decides each (None: the page offers no key)."""
REFUND = {"messages": [{"role": "user", "content": "Please refund order 42."}]}
INPUTS: dict[str, Callable[[int], dict[str, Any]]] = {
    "approval": lambda n: {"topic": f"item {n}"},
    "tool_review": lambda n: REFUND,
    "email_review": lambda n: {"to": f"person{n}@example.com"},
    "edit_state": lambda n: {"topic": f"tea {n}"},
}


@dataclass
class Tally:
    keys: int = 0
    clicks: int = 0
    typed: int = 0
    seconds: list[float] = field(default_factory=list)
    per_kind: dict[str, list[int]] = field(default_factory=dict)


async def stage(client: hitl.Client, items: int) -> list[str]:
    """`items` runs waiting, oldest first in MIX order (so the queue is mixed as a reviewer meets it)."""
    ids = []
    for n in range(items):
        graph, _ = MIX[n % len(MIX)]
        run = await client.start(graph, INPUTS[graph](n), run_id=f"{graph}-{n:02d}-{time.time_ns()}")
        await run.wait()
        ids.append(run.run_id)
    return ids


async def decide(page: Any, kind: str, key: str | None, tally: Tally) -> None:
    """One decision on an open run page: its key, else the one click it takes."""
    counts = tally.per_kind.setdefault(kind, [])
    before = tally.keys + tally.clicks
    if key is not None:
        await page.keyboard.press(key)
        tally.keys += 1
    else:
        await page.get_by_role("button", name="Submit decisions").click()
        tally.clicks += 1
    counts.append(tally.keys + tally.clicks - before)


async def ready(page: Any, seen: str) -> str:
    """The next question's page (another run than `seen`, or the inbox) once it is ready for a key."""
    try:
        await page.wait_for_function(
            "seen => document.readyState === 'complete' && (document.body.dataset.run || 'inbox') !== seen", arg=seen
        )
    except Exception:
        print(f"no next question after {seen}: the page is at {page.url}", file=sys.stderr)
        raise
    return str(await page.evaluate("document.body.dataset.run || ''"))


async def by_advance(page: Any, url: str, ids: list[str], tally: Tally) -> None:
    await page.goto(url + "/")
    await page.locator("tr.row").first.wait_for()
    await page.keyboard.press("j")
    await page.keyboard.press("Enter")
    tally.keys += 2
    current = await ready(page, "inbox")
    for _ in ids:
        graph = next(g for g, _ in MIX if current.startswith(g))
        t = time.perf_counter()
        await decide(page, graph, key_for(current), tally)
        current = await ready(page, current)
        tally.seconds.append(time.perf_counter() - t)
        if not current:
            break


async def by_return(page: Any, url: str, ids: list[str], tally: Tally) -> None:
    await page.goto(url + "/")
    for _ in ids:
        await page.locator("tr.row").first.wait_for()
        t = time.perf_counter()
        await page.keyboard.press("j")
        await page.keyboard.press("Enter")
        current = await ready(page, "inbox")
        graph = next(g for g, _ in MIX if current.startswith(g))
        await decide(page, graph, key_for(current), tally)
        tally.keys += 2
        tally.per_kind[graph][-1] += 4
        await page.locator("[data-testid=done]").wait_for()
        await page.keyboard.press("g")
        await page.keyboard.press("i")
        tally.keys += 2
        await ready(page, current)
        tally.seconds.append(time.perf_counter() - t)


def key_for(run_id: str) -> str | None:
    """The key for a run of MIX: its kind's, by the item's number (approvals alternate approve, reject)."""
    n = int(run_id.split("-")[1])
    return MIX[n % len(MIX)][1]


async def measure(items: int, mode: str, shots: Path | None, trace: bool = False) -> Tally:
    from playwright.async_api import async_playwright

    tally = Tally()
    with tempfile.TemporaryDirectory() as data, DevServer(data, port=free_port(), ui_port=free_port()) as server:
        client = await hitl.connect(server.address, task_queue="inbox-keys", graphs=examples.GRAPHS, identity="agent")
        async with client.worker():
            ids = await stage(client, items)
            app = create_app(client, TokenAuth({TOKEN: Identity("ada", ("support",))}))
            async with running(app) as url, async_playwright() as p:
                browser = await launch_chromium(p)
                context = await browser.new_context(viewport={"width": 1280, "height": 800})
                await context.add_cookies([{"name": "hitl_token", "value": TOKEN, "url": url}])
                page = await context.new_page()
                if trace:
                    page.on(
                        "requestfinished",
                        lambda r: print(
                            f"{r.timing['responseEnd']:.0f} ms {r.method} {r.url[len(url) :][:70]}", file=sys.stderr
                        ),
                    )
                if shots:
                    await photograph(browser, url, shots)
                await (by_advance if mode == "advance" else by_return)(page, url, ids, tally)
                await browser.close()
    return tally


async def photograph(browser: Any, url: str, out: Path) -> None:
    """The inbox at both widths and a run page, as the reviewer first sees them."""
    out.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before the run
    for name, path, width, height in [
        ("inbox.png", "/", 1280, 800),
        ("inbox-phone.png", "/", 390, 844),
        ("run.png", "/runs/{first}", 1280, 800),
        ("run-phone.png", "/runs/{first}", 390, 844),
    ]:
        context = await browser.new_context(viewport={"width": width, "height": height})
        await context.add_cookies([{"name": "hitl_token", "value": TOKEN, "url": url}])
        page = await context.new_page()
        await page.goto(url + "/")
        first = await page.locator("tr.row").first.get_attribute("data-run")
        if path != "/":
            await page.goto(url + path.format(first=first))
        await page.screenshot(path=str(out / name))
        await context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--mode", choices=["advance", "return"], default="advance")
    parser.add_argument("--trace", action="store_true", help="print each request's time")
    parser.add_argument("--shots", type=Path, default=None, help="also save screenshots here")
    args = parser.parse_args()
    tally = asyncio.run(measure(args.items, args.mode, args.shots, args.trace))
    decisions = len(tally.seconds)
    print(f"inbox keys ({args.mode}): {decisions} decisions over {args.items} mixed items")
    print(f"  keys {tally.keys} ({tally.keys / decisions:.2f} per decision), clicks {tally.clicks}")
    for kind, counts in tally.per_kind.items():
        print(f"  {kind}: {statistics.mean(counts):.2f} actions per decision")
    s = sorted(tally.seconds)
    print(f"  page time per decision: median {statistics.median(s):.2f} s, max {s[-1]:.2f} s, total {sum(s):.1f} s")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
