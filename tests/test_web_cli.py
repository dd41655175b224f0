"""`hitl serve` and `hitl dev` start the web app, as a newcomer runs them (subprocesses)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import httpx

import hitl
from tests.helpers import ROOT, TASK_QUEUE, cli, free_port, one_line_error, wait_for


async def launch(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "starter.py"),
        *args,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )


async def read_until(proc: asyncio.subprocess.Process, marker: str, timeout: float = 60) -> str:
    seen = ""

    async def read() -> None:
        nonlocal seen
        while marker not in seen:
            line = await proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                raise AssertionError(f"exited before printing {marker!r}: {seen}{(await proc.stderr.read()).decode()}")  # type: ignore[union-attr]
            seen += line.decode()

    await asyncio.wait_for(read(), timeout)
    return seen


async def stop(proc: asyncio.subprocess.Process) -> int:
    os.killpg(proc.pid, signal.SIGINT)
    return await asyncio.wait_for(proc.wait(), 30)


async def test_serve_with_tokens(client: hitl.Client, tmp_path: Path) -> None:
    run = await client.start("approval", {"topic": "serve"})
    await wait_for(run, "interrupted")
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"s3cret": {"identity": "erin", "roles": ["ops"]}}))
    port = free_port()
    address = client.temporal.service_client.config.target_host
    proc = await launch(
        "serve",
        "--address",
        address,
        "--task-queue",
        TASK_QUEUE,
        "--graphs",
        "tests.graphs",
        "examples",
        "--port",
        str(port),
        "--tokens",
        str(tokens),
        "--cors-origin",
        "http://localhost:3000",
        env={"HITL_CORS_ORIGINS": "http://localhost:4000"},
    )
    try:
        banner = await read_until(proc, "review inbox and HTTP API on")
        assert f"http://localhost:{port}" in banner and "bearer tokens" in banner
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            assert (await http.post("/threads/search", json={})).status_code == 401
            auth = {"Authorization": "Bearer s3cret"}
            out = await http.post(
                f"/threads/{run.run_id}/runs/wait",
                json={"assistant_id": "approval", "command": {"resume": "approve"}},
                headers=auth,
            )
            assert out.status_code == 200 and out.json()["status"] == "published"
            for origin in ("http://localhost:3000", "http://localhost:4000", "http://localhost:5000"):
                preflight = {"Origin": origin, "Access-Control-Request-Method": "POST"}
                answer = await http.options("/threads/search", headers=preflight)
                listed = origin != "http://localhost:5000"  # --cors-origin and HITL_CORS_ORIGINS both count
                assert answer.headers.get("access-control-allow-origin") == (origin if listed else None)
    finally:
        assert await stop(proc) == 130  # Ctrl-C, as a terminal reports it
    [decision] = [d for d in (await run.get_state()).decisions if d.kind == "resume"]
    assert decision.identity == "erin"


async def test_serve_refuses_to_start_without_a_way_to_authenticate(client: hitl.Client) -> None:
    error = one_line_error(await cli(client, "serve", env={"HITL_WEB_TOKENS": ""}))
    assert "--tokens" in error and "--no-auth" in error


async def test_serve_refuses_a_cors_origin_that_is_not_one(client: hitl.Client) -> None:
    error = one_line_error(await cli(client, "serve", "--no-auth", "--cors-origin", "http://localhost:3000/app"))
    assert "'http://localhost:3000/app'" in error and "scheme://host[:port]" in error


async def test_serve_refuses_a_stream_cap_below_one(client: hitl.Client) -> None:
    error = one_line_error(await cli(client, "serve", "--no-auth", "--max-streams", "0"))
    assert "--max-streams: expected a whole number of at least 1; got '0'" in error


async def test_dev_prints_the_inbox_url_next_to_temporals(client: hitl.Client) -> None:
    port = free_port()
    address = client.temporal.service_client.config.target_host
    proc = await launch("dev", "--address", address, "--task-queue", f"web-dev-{port}", "--web-port", str(port))
    out = ""
    try:
        out = await read_until(proc, "ready; Ctrl-C to stop.")
        assert "Temporal Web UI:" in out and f"review inbox and API: http://localhost:{port}" in out
        assert f"or in the browser: http://localhost:{port}/runs/approval-" in out
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            page = await http.get("/", headers={"accept": "text/html"})
        assert "No authentication." in page.text
    finally:
        assert await stop(proc) == 130  # Ctrl-C, as a terminal reports it
        demo = out.split("or in the browser: ", 1)[1].split("/runs/", 1)[1].split()[0]
        # its worker is gone: leave no run waiting on a dead queue (an admin's terminate needs no worker)
        await client.temporal.get_workflow_handle(demo).terminate("test over")


async def test_dev_serves_the_worker_metrics_and_the_inbox_metrics(client: hitl.Client) -> None:
    """`hitl dev` runs a worker and the inbox: `--worker-metrics HOST:PORT` serves its worker's metrics as
    `hitl worker --metrics` does, `--metrics` the inbox's /metrics as `hitl serve --metrics` does."""
    port, metrics = free_port(), f"127.0.0.1:{free_port()}"
    address = client.temporal.service_client.config.target_host
    queue = f"web-dev-{port}"
    proc = await launch(
        "dev",
        "--address",
        address,
        "--task-queue",
        queue,
        "--web-port",
        str(port),
        "--metrics",
        "--worker-metrics",
        metrics,
    )
    out = ""
    try:
        out = await read_until(proc, "ready; Ctrl-C to stop.")
        assert f"worker metrics:       http://{metrics}/metrics" in out
        demo = out.split("or in the browser: ", 1)[1].split("/runs/", 1)[1].split()[0]
        run = (await hitl.connect(address, task_queue=queue, identity="dev-user")).get_run(demo)
        await run.resume("approve")
        await wait_for(run, "completed")
        async with httpx.AsyncClient(timeout=30) as http:
            worker = (await http.get(f"http://{metrics}/metrics")).text
            inbox = await http.get(f"http://127.0.0.1:{port}/metrics")
        decisions = [line for line in worker.splitlines() if line.startswith("hitl_decisions{")]
        assert any('decision="resume"' in d and 'outcome="applied"' in d and d.endswith(" 1") for d in decisions), (
            worker
        )
        assert "temporal_" in worker
        assert inbox.status_code == 200 and "hitl_runs_waiting" in inbox.text
    finally:
        assert await stop(proc) == 130
