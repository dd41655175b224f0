"""Bench section `inbox-scale` (`python -m bench --only inbox-scale [--waiting N]`, N = 5,000 by default; not
part of `--small`): the web inbox with N runs waiting, each figure against the bare Temporal SDK doing the
same listing or update in the same run.

- the inbox's first page and a further page (its next link), server time, vs the SDK's `list_workflows`
  of the same query and page size (the further page with the SDK's own next_page_token);
- visibility queries per poll interval with 50 live inbox pages open (one shared poller) vs one per page;
- a bulk answer over 500 runs through the inbox's bulk path (its page shows progress as it goes) vs the
  same answers one by one through the Python client;
- one decision over HTTP (`POST /threads/{id}/runs/wait`) vs `run.resume()`, and the inbox's answer form
  vs `run.resume(wait=False)` (the form sends and moves on, as `wait=False` does).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import temporalio.api.workflowservice.v1 as wsv1

import hitl
from bench import web as bench_web
from hitl.web import NoAuth, Settings, create_app
from hitl.web.search import HINTS, Filter
from hitl.web.testing import running

GRAPH = "bench_ask"
PAGE = 50
LIVE_PAGES = 50
BULK = 500
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
NEXT = re.compile(r'href="\?([^"]*)" rel="next"')
log = bench_web.log
pct = bench_web.pct


async def fill(client: hitl.Client, n: int, concurrency: int = 64) -> list[str]:
    """n runs of `bench_ask` started, `concurrency` at a time, until the visibility store counts all n waiting."""
    gate = asyncio.Semaphore(concurrency)
    prefix = f"scale-{time.time_ns()}"
    started = 0
    t = time.perf_counter()

    async def one(i: int) -> None:
        nonlocal started
        async with gate:
            await client.start(GRAPH, {"topic": "tea"}, run_id=f"{prefix}-{i}")
        started += 1
        if started % 500 == 0:
            log(f"inbox-scale: {started}/{n} started ({started / (time.perf_counter() - t):.0f}/s)")

    await asyncio.gather(*(one(i) for i in range(n)))
    query = f'WorkflowType = "hitl.Graph" AND HitlStatus = "interrupted" AND WorkflowId STARTS_WITH "{prefix}"'
    while (count := (await client.temporal.count_workflows(query)).count) < n:
        log(f"inbox-scale: {count}/{n} waiting")
        await asyncio.sleep(2)
    log(f"inbox-scale: {n} waiting after {time.perf_counter() - t:.0f} s")
    return [f"{prefix}-{i}" for i in range(n)]


class Calls:
    """The app's own client, its visibility calls counted as they reach Temporal."""

    def __init__(self, client: hitl.Client) -> None:
        self.count = 0
        service = client.temporal.workflow_service
        count, listing = service.count_workflow_executions, service.list_workflow_executions

        async def counting(request: wsv1.CountWorkflowExecutionsRequest, **kw: Any) -> Any:
            self.count += 1
            return await count(request, **kw)

        async def listing_(request: wsv1.ListWorkflowExecutionsRequest, **kw: Any) -> Any:
            self.count += 1
            return await listing(request, **kw)

        service.count_workflow_executions = counting  # type: ignore[method-assign]
        service.list_workflow_executions = listing_  # type: ignore[method-assign]


async def times(call: Callable[[], Awaitable[Any]], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        await call()
        out.append(time.perf_counter() - t)
    return out


async def ok(response: Awaitable[httpx.Response]) -> httpx.Response:
    r = await response
    assert r.status_code in (200, 303), r.text[:300]
    return r


async def bare_page(temporal: Any, query: str, token: bytes | None = None) -> bytes | None:
    """One page of the SDK's own listing (`list_workflows`, its next_page_token): what the inbox page is against."""
    it = temporal.list_workflows(query, page_size=PAGE, next_page_token=token)
    await it.fetch_next_page()
    assert it.current_page and len(it.current_page) == PAGE
    token_out: bytes | None = it.next_page_token
    return token_out


async def live_pages(url: str, app: Any, calls: Calls, every: float) -> tuple[float, int]:
    """50 open inbox feeds: the app's visibility queries per poll interval (counted over a few ticks)."""
    feed = app.state.web.inbox_feed
    clients = [httpx.AsyncClient(base_url=url, timeout=120) for _ in range(LIVE_PAGES)]

    async def hold(c: httpx.AsyncClient) -> None:
        async with c.stream("GET", "/ui/inbox/stream") as r:
            async for _ in r.aiter_bytes():
                pass

    tasks = [asyncio.create_task(hold(c)) for c in clients]
    try:
        while feed.listening < LIVE_PAGES:  # noqa: ASYNC110 - the app's own state, changed by its task
            await asyncio.sleep(0.05)
        start_ticks = feed.ticks
        while feed.ticks < start_ticks + 1:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        ticks0, calls0 = feed.ticks, calls.count
        while feed.ticks < ticks0 + 5:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        return (calls.count - calls0) / (feed.ticks - ticks0), feed.listening
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(c.aclose() for c in clients))


async def pins_of(client: hitl.Client, ids: list[str]) -> dict[str, str]:
    gate = asyncio.Semaphore(32)

    async def one(run_id: str) -> tuple[str, str]:
        async with gate:
            return run_id, (await client.get_run(run_id).get_state()).interrupts[0].id

    return dict(await asyncio.gather(*(one(r) for r in ids)))


async def bulk(http: httpx.AsyncClient, csrf: str, pins: dict[str, str]) -> tuple[float, float, int, str]:
    """The inbox's bulk send (the preview's confirmation) over `pins`: (seconds to the first progress shown,
    seconds in all, progress lines seen, outcomes)."""
    form = {"csrf": csrf, "pins": json.dumps(pins), "value": '"approve"', "back": "/", "batch_id": f"b{time.time_ns()}"}
    t = time.perf_counter()
    first, steps, body = 0.0, 0, b""
    async with http.stream("POST", "/ui/batch", data=form) as r:
        assert r.status_code == 200, (await r.aread())[:300]
        async for chunk in r.aiter_bytes():
            if b'class="step"' in chunk and not first:
                first = time.perf_counter() - t
            steps += chunk.count(b'class="step"')
            body += chunk
    total = time.perf_counter() - t
    outcomes = re.findall(rb'data-outcome="([a-z_]+)"', body)
    summary = ", ".join(f"{outcomes.count(k)} {k.decode()}" for k in sorted(set(outcomes)))
    return first, total, steps, summary


async def one_by_one(client: hitl.Client, ids: list[str]) -> float:
    t = time.perf_counter()
    for run_id in ids:
        await client.get_run(run_id).resume("approve", wait=False)
    return time.perf_counter() - t


async def form_round_trips(
    client: hitl.Client, http: httpx.AsyncClient, csrf: str, ids: list[str]
) -> tuple[list[float], list[float], list[float]]:
    """The inbox's answer form (POST, its 303 not followed) vs `run.resume(wait=False)` (the form sends and
    moves on, as that does) vs `run.resume()` (the issue's yardstick: the client's decision round trip, which
    waits for the run to go on to its end here), in turns, on waiting runs of `bench_ask` (a third each)."""
    form, nowait, waited = [], [], []
    third = len(ids) // 3
    pins = await pins_of(client, ids[:third])
    for a, b, c in zip(ids[:third], ids[third : 2 * third], ids[2 * third :], strict=False):
        t = time.perf_counter()
        await ok(
            http.post(
                f"/ui/runs/{a}/answer",
                data={"csrf": csrf, "interrupt_id": pins[a], "mode": "json", "json": '"approve"'},
            )
        )
        form.append(time.perf_counter() - t)
        t = time.perf_counter()
        await client.get_run(b).resume("approve", wait=False)
        nowait.append(time.perf_counter() - t)
        t = time.perf_counter()
        await client.get_run(c).resume("approve")
        waited.append(time.perf_counter() - t)
    return form, nowait, waited


async def report(
    client: hitl.Client, server_address: str, graphs: list[hitl.CompiledGraph], n: int, repeats: int, resumes: int
) -> list[str]:
    log(f"inbox-scale: starting {n} waiting runs of {GRAPH}")
    ids = await fill(client, n)
    # The app on a client of its own (same server), so its visibility calls are counted alone.
    own = await hitl.connect(server_address, task_queue=client.task_queue, graphs=graphs)
    calls = Calls(own)
    every = 1.0
    app = create_app(own, NoAuth("bench"), settings=Settings(poll_seconds=every, max_streams=LIVE_PAGES + 10))
    query = Filter(status="interrupted", graph=GRAPH, graphs_in=tuple(sorted(app.state.web.graphs))).query()
    rows: list[str] = []
    async with running(app) as url, httpx.AsyncClient(base_url=url, timeout=600) as http:
        first = await ok(http.get("/", params={"graph": GRAPH}))
        csrf = CSRF.search(first.text).group(1)  # type: ignore[union-attr]
        link = NEXT.search(first.text)
        assert link, "the inbox's first page has a next link"
        further = "/?" + link.group(1).replace("&amp;", "&")
        token = await bare_page(client.temporal, query)
        feed = app.state.web.inbox_feed

        async def anew(path: str, **kw: Any) -> httpx.Response:
            feed.forget_counts()  # the page's counts made anew, not the ones kept for a poll interval
            return await ok(http.get(path, **kw))

        async def cold(path: str, **kw: Any) -> httpx.Response:
            HINTS.points.clear()  # nor where an earlier page of the query found its bounds: a fresh process
            return await anew(path, **kw)

        cases: list[tuple[str, Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]] = [
            (
                f"inbox first page ({PAGE} rows), its counts made anew, vs SDK `list_workflows` first page",
                lambda: anew("/", params={"graph": GRAPH}),
                lambda: bare_page(client.temporal, query),
            ),
            (
                "inbox first page, cold (nothing kept from an earlier page: a fresh process) vs the same",
                lambda: cold("/", params={"graph": GRAPH}),
                lambda: bare_page(client.temporal, query),
            ),
            (
                "inbox further page (its next link) vs SDK next page (next_page_token)",
                lambda: anew(further),
                lambda: bare_page(client.temporal, query, token),
            ),
        ]
        for name, ours, bare in cases:
            log(f"inbox-scale: {name}")
            a, b = [], []
            for _ in range(repeats):  # alternating, so the machine's load falls on both alike
                a += await times(ours, 1)
                b += await times(bare, 1)
            ratio = statistics.median(a) / statistics.median(b)
            rows.append(
                f"| {name} | {pct(a, 0.5) * 1000:.0f} | {pct(a, 0.95) * 1000:.0f} "
                f"| {pct(b, 0.5) * 1000:.0f} | {ratio:.2f}x |"
            )
        log(f"inbox-scale: {LIVE_PAGES} live inbox pages")
        per_tick, listening = await live_pages(url, app, calls, every)
        log(f"inbox-scale: bulk answer over {BULK} runs, and {BULK} one by one")
        bulk_ids, single_ids = ids[:BULK], ids[BULK : 2 * BULK]
        pins = await pins_of(client, bulk_ids)
        to_first, bulk_s, steps, outcomes = await bulk(http, csrf, pins)
        single_s = await one_by_one(client, single_ids)
        log(f"inbox-scale: {resumes} decisions over HTTP and through the client")
        api, direct = await bench_web.round_trips(client, http, resumes)
        form, direct_nowait, direct_waited = await form_round_trips(
            client, http, csrf, ids[2 * BULK : 2 * BULK + 3 * resumes]
        )
    a50, d50 = statistics.median(api), statistics.median(direct)
    f50, n50, w50 = statistics.median(form), statistics.median(direct_nowait), statistics.median(direct_waited)
    return [
        "",
        f"### 7. The inbox at scale ({n:,} runs waiting; {repeats} requests each, alternating with the SDK's; "
        f"load {os.getloadavg()[0]:.1f})",
        "",
        "| request | ours p50 ms | ours p95 ms | bare SDK p50 ms | ratio |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
        "| measure | hitl | bare SDK / Python client | ratio |",
        "|---|---:|---:|---:|",
        f"| visibility queries per poll interval, {listening} live inbox pages (one poller; 2 per page before it) "
        f"| {per_tick:.1f} | 1 (one COUNT loop) | {per_tick:.2f}x |",
        f"| bulk answer over {BULK} runs, inbox bulk path ({outcomes}; progress shown after {to_first:.2f} s, "
        f"{steps} updates) vs {BULK} `resume(wait=False)` one by one, s | {bulk_s:.1f} | {single_s:.1f} "
        f"| {bulk_s / single_s:.2f}x |",
        f"| one decision, `POST /threads/{{id}}/runs/wait` vs `run.resume()`, p50 ms ({resumes}) "
        f"| {a50 * 1000:.1f} | {d50 * 1000:.1f} | {a50 / d50:.2f}x |",
        f"| one decision, the inbox's answer form vs `run.resume()` (to the run's end), p50 ms ({len(form)}) "
        f"| {f50 * 1000:.1f} | {w50 * 1000:.1f} | {f50 / w50:.2f}x |",
        f"| one decision, the inbox's answer form vs `run.resume(wait=False)`, p50 ms ({len(form)}) "
        f"| {f50 * 1000:.1f} | {n50 * 1000:.1f} | {f50 / n50:.2f}x |",
    ]
