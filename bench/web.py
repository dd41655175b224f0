"""Bench section `web`: the inbox and the HTTP API with N runs waiting, and a
decision's round trip through the API compared with the Python client."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

import httpx

import hitl
from hitl.web import NoAuth, create_app
from hitl.web.testing import running


def log(message: str) -> None:
    print(f"  ... {message}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def timed(call: Callable[[], Awaitable[httpx.Response]], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        response = await call()
        out.append(time.perf_counter() - t)
        assert response.status_code == 200, response.text
    return out


async def fill(client: hitl.Client, n: int) -> int:
    """Start n approval runs and wait until all of them are listed as waiting."""
    gate = asyncio.Semaphore(200)
    prefix = f"web-{time.time_ns()}"

    async def one(i: int) -> None:
        async with gate:
            await client.start("bench_approval", {"topic": "tea"}, run_id=f"{prefix}-{i}")

    await asyncio.gather(*(one(i) for i in range(n)))
    query = f'WorkflowType = "hitl.Graph" AND HitlStatus = "interrupted" AND WorkflowId STARTS_WITH "{prefix}"'
    while (count := (await client.temporal.count_workflows(query)).count) < n:
        log(f"web: {count}/{n} runs waiting")
        await asyncio.sleep(1)
    return (await client.temporal.count_workflows('WorkflowType = "hitl.Graph" AND HitlStatus = "interrupted"')).count


async def round_trips(client: hitl.Client, http: httpx.AsyncClient, k: int) -> tuple[list[float], list[float]]:
    """k resumes of a one-node loop, through the API and through the client."""
    api, direct = [], []
    via_api = await client.start("bench_stepper", {"i": 0, "limit": k})
    via_client = await client.start("bench_stepper", {"i": 0, "limit": k})
    await via_api.wait(), await via_client.wait()
    body = {"assistant_id": "bench_stepper", "command": {"resume": "ok"}}
    for _ in range(k):
        t = time.perf_counter()
        response = await http.post(f"/threads/{via_api.run_id}/runs/wait", json=body)
        api.append(time.perf_counter() - t)
        assert response.status_code == 200, response.text
        t = time.perf_counter()
        await via_client.resume("ok")
        direct.append(time.perf_counter() - t)
    return api, direct


async def report(client: hitl.Client, n: int, repeats: int, resumes: int) -> list[str]:
    log(f"web: starting {n} waiting runs")
    waiting = await fill(client, n)
    app = create_app(client, NoAuth("bench"))
    async with running(app) as url, httpx.AsyncClient(base_url=url, timeout=120) as http:
        last = max(1, -(-waiting // 50))
        cases = {
            "inbox page, first 50 (GET /)": lambda: http.get("/"),
            f"inbox page, last of {last} pages": lambda: http.get(f"/?page={last}"),
            "inbox page, newest first": lambda: http.get("/?order=newest"),
            "POST /threads/search, 50, visibility fields only": lambda: http.post(
                "/threads/search",
                json={"status": "interrupted", "limit": 50, "select": ["thread_id", "status", "updated_at"]},
            ),
            "POST /threads/search, 10 with values (LangGraph default)": lambda: http.post(
                "/threads/search", json={"status": "interrupted", "limit": 10}
            ),
            "POST /threads/search, 50 by waiting-since, offset N/2": lambda: http.post(
                "/threads/search",
                json={
                    "status": "interrupted",
                    "limit": 50,
                    "offset": waiting // 2,
                    "sort_by": "updated_at",
                    "sort_order": "asc",
                    "select": ["thread_id"],
                },
            ),
            "POST /threads/count": lambda: http.post("/threads/count", json={"status": "interrupted"}),
        }
        rows = []
        for name, call in cases.items():
            log(f"web: {name}")
            times = await timed(call, repeats)
            rows.append(f"| {name} | {pct(times, 0.5) * 1000:.0f} | {pct(times, 0.95) * 1000:.0f} |")
        log(f"web: {resumes} decisions through the API and the client")
        api, direct = await round_trips(client, http, resumes)
    a50, d50 = statistics.median(api), statistics.median(direct)
    return [
        "",
        f"### 6. Web inbox and HTTP API ({waiting:,} runs waiting; {repeats} requests each)",
        "",
        "| request | p50 ms | p95 ms |",
        "|---|---:|---:|",
        *rows,
        "",
        f"Decision round trip ({resumes} resumes, resume to paused again after one node):",
        "",
        "| path | p50 ms | p95 ms | p50 ratio |",
        "|---|---:|---:|---:|",
        f"| Python client `run.resume()` | {d50 * 1000:.1f} | {pct(direct, 0.95) * 1000:.1f} | 1.00x |",
        f"| HTTP `POST /threads/{{id}}/runs/wait` | {a50 * 1000:.1f} | {pct(api, 0.95) * 1000:.1f} | {a50 / d50:.2f}x |",
    ]
