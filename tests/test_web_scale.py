"""The inbox at scale, counted rather than timed: the live feed's visibility queries do not grow with the
open pages (one poller per web process, per read scope), each viewer still hears only of runs they may
read, and a further inbox page is found from where the last one ended (a cursor), never by listing the
pages before it again. The times themselves are the bench's (`python -m bench --only inbox-scale`)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import temporalio.api.workflowservice.v1 as wsv1

import hitl
from hitl.server import DevServer
from hitl.web import Settings, TokenAuth, create_app
from hitl.web.context import Web
from hitl.web.scope import Reader
from hitl.web.testing import CHROMIUM, running
from tests.graphs import SERVED
from tests.helpers import TASK_QUEUE, wait_for
from tests.web_fixtures import TOKENS, csrf_of

ROW = re.compile(r'<tr class="row[^"]*"[^>]*data-run="([^"]+)"')
NEXT = re.compile(r'href="\?([^"]*)" rel="next"')


@dataclass
class Counted:
    """The app's own Temporal client, its visibility calls counted (and the rows its listings returned)."""

    counts: list[str] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    """Rows each listing returned."""
    described: list[str] = field(default_factory=list)
    """The runs each describe asked about."""


@dataclass
class App:
    url: str
    web: Web
    seen: Counted

    def http(self, token: str = "tok-alice") -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


@asynccontextmanager
async def counted_app(server: DevServer, **settings: Any) -> AsyncIterator[App]:
    """`hitl serve` on a client of its own whose COUNT and LIST calls are recorded as they reach Temporal."""
    client = await hitl.connect(server.address, task_queue=TASK_QUEUE, graphs=SERVED, identity="scale")
    seen = Counted()
    service = client.temporal.workflow_service
    count, listing = service.count_workflow_executions, service.list_workflow_executions

    async def counting(request: wsv1.CountWorkflowExecutionsRequest, **kw: Any) -> Any:
        seen.counts.append(request.query)
        return await count(request, **kw)

    async def listing_(request: wsv1.ListWorkflowExecutionsRequest, **kw: Any) -> Any:
        response = await listing(request, **kw)
        seen.listed += [x.execution.workflow_id for x in response.executions]
        seen.sizes.append(len(response.executions))
        return response

    describe = service.describe_workflow_execution

    async def describing(request: wsv1.DescribeWorkflowExecutionRequest, **kw: Any) -> Any:
        seen.described.append(request.execution.workflow_id)
        return await describe(request, **kw)

    service.count_workflow_executions = counting  # type: ignore[method-assign]
    service.list_workflow_executions = listing_  # type: ignore[method-assign]
    service.describe_workflow_execution = describing  # type: ignore[method-assign]
    app = create_app(client, TokenAuth(TOKENS), settings=Settings(poll_seconds=1.0, max_streams=64, **settings))
    async with running(app) as url:
        yield App(url, app.state.web, seen)


async def until(check: Callable[[], bool], what: str, limit: float = 60) -> None:
    """Wait (generously) for a condition of the app's state: never for a fixed time."""
    async with asyncio.timeout(limit):
        while not check():  # noqa: ASYNC110 - the poller's state, changed by its own task
            await asyncio.sleep(0.05)
    assert check(), what


async def paused(client: hitl.Client, graph: str, key: str = "draft") -> hitl.Run:
    run = await client.start(graph, {key: f"scale-{uuid.uuid4().hex[:8]}"})
    await wait_for(run, "interrupted")
    return run


async def waiting_for(client: hitl.Client, graphs: list[str]) -> int:
    names = ", ".join(f'"{g}"' for g in graphs)
    query = f'WorkflowType = "hitl.Graph" AND HitlStatus = "interrupted" AND ExecutionStatus = "Running" AND HitlGraph IN ({names})'
    return (await client.temporal.count_workflows(query)).count


async def waiting_ids(client: hitl.Client, graph: str) -> set[str]:
    query = f'WorkflowType = "hitl.Graph" AND HitlStatus = "interrupted" AND ExecutionStatus = "Running" AND HitlGraph = "{graph}"'
    return {w.id async for w in client.temporal.list_workflows(query)}


class Feed:
    """One open inbox page's live feed, read as an EventSource would."""

    def __init__(self, http: httpx.AsyncClient, path: str = "/ui/inbox/stream") -> None:
        self.http, self.path = http, path
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async with self.http.stream("GET", self.path) as response:
            assert response.status_code == 200
            name = ""
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: ") and name == "changed":
                    await self.events.put(json.loads(line[6:]))

    async def next(self) -> dict[str, Any]:
        async with asyncio.timeout(60):
            return await self.events.get()

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.http.aclose()


async def test_twenty_open_inbox_pages_cost_the_visibility_store_what_one_does(
    server: DevServer, client: hitl.Client
) -> None:
    """20 live inbox pages of viewers who may read the same graphs: one group, one COUNT per tick (the
    waiting runs and the runs paused since the last such count, taking turns), not one per page."""
    async with counted_app(server) as app:
        feeds = [Feed(app.http()) for _ in range(20)]
        try:
            feed = app.web.inbox_feed
            await until(lambda: feed.listening == 20, "all 20 pages listen")
            assert len(feed.groups) == 1
            start, before = feed.ticks, len(app.seen.counts)
            await until(lambda: feed.ticks >= start + 3, "three more ticks")
            ticks, made = feed.ticks - start, len(app.seen.counts) - before
            assert made <= ticks + 1, f"{made} COUNT queries in {ticks} ticks with 20 pages open"
        finally:
            await asyncio.gather(*(f.close() for f in feeds))
        await until(lambda: feed.listening == 0, "the pages are gone")


async def test_viewers_of_different_graphs_each_hear_only_of_their_own_runs(
    server: DevServer, client: hitl.Client
) -> None:
    """alice may read payment_private, bob may not: on the shared poller each page's count is its viewer's,
    and a private run pausing tells bob's page nothing (his first change is his own graph's run)."""
    async with counted_app(server) as app:
        alice, bob = Feed(app.http("tok-alice")), Feed(app.http("tok-bob"))
        try:
            feed = app.web.inbox_feed
            await until(lambda: feed.listening == 2, "both pages listen")
            assert len(feed.groups) == 2
            start = feed.ticks
            await until(lambda: feed.ticks >= start + 2, "both groups counted once")
            await paused(client, "payment_private")
            seen_by_alice = await alice.next()
            await paused(client, "payment_open")
            seen_by_bob = await bob.next()
            readable_by_bob = sorted(Reader.of(app.web, TOKENS["tok-bob"]).graphs)
            assert "payment_private" not in readable_by_bob
            assert seen_by_bob["waiting"] == await waiting_for(client, readable_by_bob)
            everything = await waiting_for(client, sorted(Reader.of(app.web, TOKENS["tok-alice"]).graphs))
            while seen_by_alice["waiting"] != everything:  # alice hears of both runs: one change, or two
                seen_by_alice = await alice.next()
            assert everything > seen_by_bob["waiting"]
            assert bob.events.empty() or (await bob.next())["waiting"] == seen_by_bob["waiting"]
        finally:
            await alice.close()
            await bob.close()


def rows(html: str) -> list[str]:
    return ROW.findall(html)


async def test_a_further_inbox_page_starts_where_the_last_ended_and_lists_none_of_it_again(
    server: DevServer, client: hitl.Client
) -> None:
    """Page size 3, seven runs of a graph waiting: page 2 is reached by a link carrying where page 1
    ended (`after=`), and Temporal's listings for it return none of page 1's runs."""
    async with counted_app(server, page_size=3) as app:
        # One after another, so no two share a waiting-since time (ties at the cursor's time would be listed
        # again too, and dropped before the page is shown).
        for _ in range(7):
            await paused(client, "payment_checked")
        async with app.http() as http:
            first = await http.get("/", params={"graph": "payment_checked"})
            assert first.status_code == 200
            on_first = rows(first.text)
            assert len(on_first) == 3
            link = NEXT.search(first.text)
            assert link, "page 1 has a next-page link"
            query = link.group(1).replace("&amp;", "&")
            assert "after=" in query, query
            app.seen.listed.clear()
            second = await http.get("/?" + query)
            assert second.status_code == 200, (query, second.text[:600])
            on_second = rows(second.text)
            assert len(on_second) == 3 and not set(on_second) & set(on_first)
            assert app.seen.listed, "page 2 was listed"
            # The cursor's time is written at the precision a query takes, so the row it was made from may be
            # listed again (and is dropped before the page is cut); no other row of page 1 may.
            again = set(app.seen.listed) & set(on_first)
            assert again <= {on_first[-1]}, f"page 2's listing returned page 1's runs again: {again}"
            forged = await http.get("/", params={"graph": "payment_checked", "after": "not-a-cursor"})
            assert forged.status_code == 422
            assert "'after' is not one this inbox made" in forged.text


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"needs {CHROMIUM} (apt-get install chromium)")
async def test_the_answer_form_describes_the_run_once_as_the_client_would(
    server: DevServer, client: hitl.Client
) -> None:
    """A JSON answer from the inbox's form reads the run's indexed graph for the read check, and that describe
    also tells the decision its task queue: one describe per answer, as `run.resume()` makes, not two."""
    async with counted_app(server) as app, app.http() as http:
        run = await paused(client, "approval", key="topic")
        [question] = (await run.get_state()).interrupts
        csrf = csrf_of((await http.get("/", headers={"accept": "text/html"})).text)
        app.seen.described.clear()
        form = {"csrf": csrf, "mode": "json", "json": json.dumps("approve"), "interrupt_id": question.id}
        answered = await http.post(f"/ui/runs/{run.run_id}/answer", data=form)
        assert answered.status_code == 303, answered.text[:600]
        assert app.seen.described == [run.run_id]
    assert (await run.result())["status"] == "published"


async def test_a_decision_over_runs_wait_describes_the_thread_once(server: DevServer, client: hitl.Client) -> None:
    """`POST /threads/{id}/runs/wait` reads the thread (a describe) for its checks, and that describe also tells
    the decision its task queue: one describe per decision, as `run.resume()` makes, not two."""
    async with counted_app(server) as app, app.http() as http:
        run = await paused(client, "approval", key="topic")
        app.seen.described.clear()
        body = {"assistant_id": "approval", "command": {"resume": "approve"}}
        answered = await http.post(f"/threads/{run.run_id}/runs/wait", json=body)
        assert answered.status_code == 200, answered.text[:600]
        assert app.seen.described == [run.run_id]
    assert (await run.result())["status"] == "published"


async def test_paging_through_the_inbox_in_a_browser(server: DevServer, client: hitl.Client) -> None:
    """Page size 2: the Next link shows the next two runs, numbered on, none of the first page's."""
    pytest.importorskip("playwright.async_api")
    from playwright.async_api import async_playwright

    from hitl.web.testing import launch_chromium

    async with counted_app(server, page_size=2) as app:
        await asyncio.gather(*(paused(client, "payment_checked_local") for _ in range(5)))
        async with async_playwright() as p:
            browser = await launch_chromium(p)
            try:
                context = await browser.new_context()
                await context.add_cookies([{"name": "hitl_token", "value": "tok-alice", "url": app.url}])
                page = await context.new_page()
                await page.goto(app.url + "/?graph=payment_checked_local")
                first = await page.locator("tr.row").evaluate_all("rows => rows.map(r => r.dataset.run)")
                assert len(first) == 2
                await page.get_by_role("link", name="Next →").click()
                await page.wait_for_url(re.compile(r"after="))
                second = await page.locator("tr.row").evaluate_all("rows => rows.map(r => r.dataset.run)")
                assert len(second) == 2 and not set(second) & set(first)
                assert (await page.locator("nav.pager .muted").inner_text()).startswith("3–4 of ")
                assert await page.get_by_role("link", name="← Previous").count() == 1
            finally:
                await browser.close()


async def test_a_large_bulk_answer_shows_its_progress_then_each_runs_result(
    server: DevServer, client: hitl.Client
) -> None:
    """Twenty runs or more: the confirmation's page is sent as the batch goes (counts of runs answered,
    the last shown), then the per-run report; every run gets its answer once."""
    runs = await asyncio.gather(
        *(client.start("batch_review", {"topic": f"t{uuid.uuid4().hex[:8]}"}) for _ in range(20))
    )
    await asyncio.gather(*(wait_for(r, "interrupted") for r in runs))
    pins = {r.run_id: (await r.get_state()).interrupts[0].id for r in runs}
    async with counted_app(server) as app, app.http() as http:
        form = {"pins": json.dumps(pins), "value": '"approve"', "back": "/", "batch_id": uuid.uuid4().hex[:16]}
        sent = await http.post("/ui/batch", data=form)
    assert sent.status_code == 200
    steps = re.findall(r'<p class="step" data-done="(\d+)">', sent.text)
    assert steps and steps[-1] == "20", steps
    assert sent.text.index('class="step"') < sent.text.index('data-testid="batch-results"')
    assert re.findall(r'data-outcome="([a-z_]+)"', sent.text) == ["applied"] * 20
    assert [len((await r.get_state()).decisions) for r in runs] == [1] * 20


async def shown(client: hitl.Client, waiting: list[hitl.Run], gone: list[hitl.Run]) -> None:
    """Until visibility lists `waiting` as waiting and `gone` as no longer (a page rendered now shows that)."""
    ids = ", ".join(f'"{r.run_id}"' for r in [*waiting, *gone])
    query = f'WorkflowType = "hitl.Graph" AND HitlStatus = "interrupted" AND ExecutionStatus = "Running" AND WorkflowId IN ({ids})'
    want = {r.run_id for r in waiting}
    async with asyncio.timeout(60):
        while {w.id async for w in client.temporal.list_workflows(query)} != want:  # noqa: ASYNC110
            await asyncio.sleep(0.1)


async def test_a_run_answered_and_another_paused_between_two_polls_reach_the_open_pages(
    server: DevServer, client: hitl.Client
) -> None:
    """The poller is driven by hand here. A run pauses after the page opened, then, between two polls, it is
    answered and another pauses: the waiting count is as it was, and the page still hears of it, at the
    waiting count after the one that counted the new pause (three polls at most)."""
    async with counted_app(server) as app:
        feed = app.web.inbox_feed
        feed.every, feed.LAG = 3600.0, timedelta(0)  # no poll but the first (made as the page listens)
        page = Feed(app.http())
        try:
            await until(lambda: feed.listening == 1 and feed.ticks >= 1, "the page listens, counted once")
            first = await paused(client, "approval", "topic")
            await shown(client, [first], [])
            for _ in range(3):
                await feed.tick()
            assert (await page.next())["waiting"] >= 1
            queries = len(app.seen.counts)
            answered = asyncio.create_task(first.resume("approve"))
            second = await paused(client, "approval", "topic")
            await answered
            await wait_for(first, "completed")
            await shown(client, [second], [first])
            for _ in range(3):
                await feed.tick()
            heard = await page.next()  # (on its way through the page's stream; nothing comes in 60 s: fails)
            assert len(app.seen.counts) - queries == 3, "one COUNT per poll"
            assert heard["waiting"] == await waiting_for(client, sorted(Reader.of(app.web, TOKENS["tok-alice"]).graphs))
        finally:
            await page.close()


async def test_a_run_answered_after_the_page_rendered_and_before_its_feed_counted_reaches_the_page(
    server: DevServer, client: hitl.Client
) -> None:
    """The page renders with the run on it; the run is answered before the page's stream joins the feed (a
    slow browser, a loaded server). The feed's first count already lacks it: counted as the baseline, the
    page never heard of it and kept showing an answered run. The page says what it rendered (`seen`)."""
    async with counted_app(server) as app:
        feed = app.web.inbox_feed
        feed.every = 3600.0  # no poll but the first (made as the page listens)
        run = await paused(client, "approval", "topic")
        await shown(client, [run], [])
        async with app.http() as http:
            html = (await http.get("/", params={"graph": "approval"})).text
        assert run.run_id in html
        [stream] = re.findall(r'data-stream="(/ui/inbox/stream\?seen=\d+)"', html)
        await run.resume("approve")
        await wait_for(run, "completed")
        await shown(client, [], [run])
        page = Feed(app.http(), stream)
        try:
            heard = await page.next()  # (nothing comes in 60 s: fails)
            assert heard["waiting"] == int(stream.rpartition("=")[2]) - 1
        finally:
            await page.close()


async def test_paging_on_while_runs_are_answered_and_pause_shows_each_waiting_run_once_in_order(
    server: DevServer, client: hitl.Client
) -> None:
    """Page size 2 over 12 runs (beyond 4 pages' worth, so each page's window is sought with COUNTs): between
    pages a run further on is answered and a new one pauses. Following the Next links shows every run still
    waiting once, oldest first, the new one last (and newest first, the same reversed); no listing returned
    them all."""
    graph = "approval"
    async with counted_app(server, page_size=2) as app:
        runs = [await paused(client, graph, "topic") for _ in range(12)]
        await shown(client, runs, [])
        async with app.http() as http:
            listings = len(app.seen.sizes)
            page = await http.get("/", params={"graph": graph})
            seen = rows(page.text)
            before = await waiting_for(client, [graph])
            await runs[8].resume("approve")
            late = await paused(client, graph, "topic")
            await shown(client, [late], [runs[8]])
            while link := NEXT.search(page.text):
                page = await http.get("/?" + link.group(1).replace("&amp;", "&"))
                assert page.status_code == 200, page.text[:600]
                seen += rows(page.text)
            page = await http.get("/", params={"graph": graph, "order": "newest"})
            newest = rows(page.text)
            while link := NEXT.search(page.text):
                page = await http.get("/?" + link.group(1).replace("&amp;", "&"))
                newest += rows(page.text)
        mine = [r.run_id for r in runs if r is not runs[8]] + [late.run_id]
        assert [x for x in seen if x in set(mine) | {runs[8].run_id}] == mine
        assert len(seen) == len(set(seen)) == before
        assert max(app.seen.sizes[listings:]) < before, "a page listed every waiting run"
        # Runs of the session's other tests may end between the two walks (their deadlines, their teardown):
        # the newest-first walk is the oldest-first one reversed over the runs still waiting after both.
        still = await waiting_ids(client, graph)
        assert len(newest) == len(set(newest)) and set(mine) <= still
        assert [x for x in newest if x in still] == [x for x in seen[::-1] if x in still], (
            "newest first is oldest first reversed"
        )
