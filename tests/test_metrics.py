"""Metrics (issue 29 item 2): `hitl serve --metrics` answers /metrics in Prometheus' text format with the
queue as the visibility store counts it and the requests it answered; off, there is no /metrics and
prometheus_client is not imported. Read back with prometheus_client's own parser after real runs and
decisions, on a graph and task queue of this file's own (no other test's runs in the counts)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

import hitl
from hitl.server import DevServer, free_port
from hitl.web import NoAuth, Settings, create_app
from tests.hitl_graphs import review_b

ON_THE_SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")
GRAPH = "metrics_review"
measured = review_b.compile(name=GRAPH)


@pytest_asyncio.fixture(loop_scope="session")
async def own(server: DevServer) -> AsyncIterator[hitl.Client]:
    c = await hitl.connect(server.address, task_queue=f"metrics-{free_port()}", graphs=[measured], identity="alice")
    async with c.worker():
        yield c


def scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample: (name, sorted labels) -> value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def metrics_of(http: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = await http.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return scrape(answer.text)


async def waiting(
    http: httpx.AsyncClient, graph: str, n: int, scrapes: list[int]
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """A scrape once it counts `n` runs of `graph` waiting: the visibility store takes in a run's pause or
    end moments after the run (a minute at most). `scrapes` counts the scrapes made (each is a request the
    next scrape counts)."""
    for _ in range(600):
        seen = await metrics_of(http)
        scrapes[0] += 1
        if seen.get(("hitl_runs_waiting", (("graph", graph),))) == n:
            break
        await asyncio.sleep(0.1)
    return seen


def app_for(client: hitl.Client, **settings: object) -> FastAPI:
    return create_app(client, NoAuth("alice"), graphs=[measured], settings=Settings(**settings))  # type: ignore[arg-type]


@ON_THE_SESSION_LOOP
async def test_serve_metrics_count_the_queue_and_the_requests(own: hitl.Client) -> None:
    runs = [await own.start(GRAPH, {"draft": f"m{i}"}) for i in range(3)]
    for run in runs:
        await run.wait()
    await runs[0].claim(identity="alice")
    app = app_for(own, metrics=True)
    app.state.metrics.every = 0.0  # every scrape refreshes (the default keeps a refresh for 15 s)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hitl") as http:
        scrapes = [0]
        seen = await waiting(http, GRAPH, 3, scrapes)
        g = (("graph", GRAPH),)
        assert seen[("hitl_runs_waiting", g)] == 3
        assert seen[("hitl_questions_waiting", (("graph", GRAPH), ("node", "review")))] == 3
        assert seen[("hitl_questions_waiting", (("graph", GRAPH), ("node", "publish")))] == 0
        assert seen[("hitl_claims_held", g)] == 1
        assert seen[("hitl_oldest_waiting_seconds", g)] >= 0

        answered = await http.post(
            f"/threads/{runs[1].run_id}/runs/wait", json={"assistant_id": GRAPH, "command": {"resume": "approve"}}
        )
        assert answered.status_code == 200, answered.text
        refused = await http.post(
            f"/threads/{runs[2].run_id}/runs/wait", json={"assistant_id": GRAPH, "command": {"resume": "maybe"}}
        )
        assert refused.status_code >= 400

        seen = await waiting(http, GRAPH, 2, scrapes)
        assert seen[("hitl_runs_waiting", g)] == 2
        assert seen[("hitl_questions_waiting", (("graph", GRAPH), ("node", "review")))] == 2
        route = "/threads/{thread_id}/runs/wait"
        ok = (("method", "POST"), ("route", route), ("status", "200"))
        bad = (("method", "POST"), ("route", route), ("status", str(refused.status_code)))
        assert seen[("hitl_http_requests_total", ok)] == 1
        assert seen[("hitl_http_requests_total", bad)] == 1
        earlier = scrapes[0] - 1  # a scrape counts the ones before it
        assert (
            seen[("hitl_http_requests_total", (("method", "GET"), ("route", "/metrics"), ("status", "200")))] == earlier
        )

        for run in (runs[0], runs[2]):  # the rest; runs[1] has ended published
            await run.cancel(identity="alice")
        seen = await waiting(http, GRAPH, 0, scrapes)
        assert seen[("hitl_runs_waiting", g)] == 0 and seen[("hitl_claims_held", g)] == 0
        assert ("hitl_oldest_waiting_seconds", g) not in seen  # nothing waits: no age to tell


@ON_THE_SESSION_LOOP
async def test_scrapes_between_refreshes_make_no_query(own: hitl.Client) -> None:
    """Within `every` seconds a scrape is answered from the last refresh: no scraper makes Temporal list
    or count anything (10 scrapes, one refresh)."""
    app = app_for(own, metrics=True)
    app.state.metrics.every = 3600.0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hitl") as http:
        for _ in range(10):
            await metrics_of(http)
    assert app.state.metrics.refreshes == 1


@ON_THE_SESSION_LOOP
async def test_metrics_are_off_by_default(own: hitl.Client) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_for(own)), base_url="http://hitl") as http:
        assert (await http.get("/metrics")).status_code == 404


def test_off_nothing_of_prometheus_is_imported() -> None:
    probe = (
        "import sys, json, hitl, hitl.worker, hitl.cli.entry, hitl.web.app\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('prometheus_client', 'hitl.web.metrics')))))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "HITL_METRICS"}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
