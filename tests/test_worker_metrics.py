"""`hitl worker --metrics HOST:PORT` (issue 29 item 2): Temporal's worker metrics and hitl's on one Prometheus
endpoint, read back with prometheus_client's parser after real decisions on a worker process."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import hitl
from hitl.server import DevServer, free_port
from hitl.types import DecisionRejectedError
from tests.graphs import GRAPHS
from tests.helpers import WorkerProcess, cli

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def metered(server: DevServer) -> Iterator[tuple[WorkerProcess, str]]:
    port = free_port()
    worker = WorkerProcess(server.address, f"hitl-metered-{free_port()}")
    # One run cached: every decision on the other run replays its history from the start, which must not count
    # anything twice.
    worker.start("tests.graphs", flags=["--metrics", f"127.0.0.1:{port}", "--max-cached-runs", "1"])
    yield worker, f"http://127.0.0.1:{port}/metrics"
    worker.kill()


async def scrape(url: str) -> Samples:
    async with httpx.AsyncClient() as http:
        for _ in range(600):  # the worker process is starting
            try:
                answer = await http.get(url)
                break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"nothing answers at {url}")
    assert answer.status_code == 200
    return {
        (
            s.name,
            tuple(
                sorted(
                    (k, v)
                    for k, v in s.labels.items()
                    if k in ("graph", "decision", "outcome", "reason", "action", "kind", "le")
                )
            ),
        ): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


@pytest.mark.asyncio(loop_scope="session")
async def test_the_worker_measures_decisions_claims_and_time_to_decision(
    client: hitl.Client, metered: tuple[WorkerProcess, str]
) -> None:
    worker, url = metered
    await scrape(url)  # up: Temporal's runtime serves it
    own = hitl.Client(client.temporal, task_queue=worker.task_queue, graphs=GRAPHS, identity="alice")
    runs = [await own.start("review", {"draft": f"w{i}"}) for i in range(2)]
    for run in runs:
        await run.wait()
    for run in runs:  # taking turns: each decision finds the other run in the cache
        await run.claim(identity="alice")
    for run in runs:
        with pytest.raises(DecisionRejectedError):
            await run.resume("maybe", identity="alice")
    for run in runs:
        await run.resume("approve", identity="alice")
    seen = await scrape(url)
    assert any(k[0].startswith("temporal_") for k in seen)  # Temporal's own worker metrics
    g = ("graph", "review")
    decided = "hitl_decisions_total"
    assert seen[(decided, (("decision", "resume"), g, ("outcome", "applied"), ("reason", "")))] == 2
    assert seen[(decided, (("decision", "resume"), g, ("outcome", "refused"), ("reason", "schema")))] == 2
    assert seen[(decided, (("decision", "claim"), g, ("outcome", "applied"), ("reason", "")))] == 2
    assert seen[("hitl_claims_total", (("action", "claim"), g))] == 2
    waited = (g, ("kind", "resume"))
    assert seen[("hitl_time_to_decision_seconds_count", waited)] == 2
    buckets = sorted(float(k[1][-1][1]) for k in seen if k[0] == "hitl_time_to_decision_seconds_bucket")
    assert buckets[:3] == [1.0, 10.0, 60.0] and buckets[-1] == float("inf")  # seconds to days, not milliseconds


@pytest.mark.asyncio(loop_scope="session")
async def test_the_worker_counts_escalation_steps_and_rollbacks(
    client: hitl.Client, metered: tuple[WorkerProcess, str]
) -> None:
    worker, url = metered
    await scrape(url)
    own = hitl.Client(client.temporal, task_queue=worker.task_queue, graphs=GRAPHS, identity="alice")
    laddered = await own.start("ladder", {})  # remind at 1 s, widen at 2 s, answer itself at 3 s
    noted = await own.start("answer_note", {})
    asked = await noted.wait()
    put_back = await noted.resume(5, identity="alice")  # its node fails on a number: the answer is put back
    assert put_back.refused and put_back.refused[0].rolled_back
    await noted.resume("fine", identity="alice")
    await laddered.result()
    seen = await scrape(url)
    assert seen[("hitl_escalation_steps_total", (("graph", "ladder"),))] == 2
    assert seen[("hitl_rollbacks_total", (("graph", "answer_note"),))] == 1
    assert seen[("hitl_time_to_decision_seconds_count", (("graph", "ladder"), ("kind", "deadline")))] == 1
    assert asked.status == "interrupted"


@pytest.mark.asyncio(loop_scope="session")
async def test_a_bad_metrics_address_is_refused_in_one_line(client: hitl.Client) -> None:
    done = await cli(client, "worker", "--metrics", "9464")
    assert done.code == 2
    assert done.err.strip() == (
        "error: --metrics takes HOST:PORT to listen on, e.g. 127.0.0.1:9464 or 0.0.0.0:9464; got '9464'"
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        done = await cli(client, "worker", "--metrics", address)
    assert done.code == 2
    line = done.err.strip()
    assert "\n" not in line and line.startswith(f"error: --metrics {address}: cannot serve metrics there (Address")
    assert line.endswith("give a free port on an IP address of this machine, e.g. 127.0.0.1:9464 or 0.0.0.0:9464")
