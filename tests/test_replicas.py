"""Several `hitl serve` processes and workers against one Temporal, as a cluster runs them (docs/deploy.md).

Two web servers and two workers, all subprocesses on a task queue of this module's own: requests alternate
between the servers; one server and one worker are SIGKILLed in the middle of a 100-run batch answer and a
live stream, and the other server finishes both (the batch resent under its id, the stream rejoined with
`Last-Event-ID`): every decision is applied exactly once and no run is left stuck. Then the workers are
rolled (SIGTERM, which lets the node running there finish; a new one started) while 200 runs wait and get
answered. And the probes: `/livez` and `/readyz` of both, and SIGTERM draining.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import pytest_asyncio
import temporalio.client

import hitl
from hitl.client import signed_links as links
from hitl.health import Health
from hitl.health import serve as serve_health
from hitl.server import DevServer
from tests.helpers import ROOT, WorkerProcess, free_port
from tests.web_fixtures import CSRF_FIELD

pytestmark = pytest.mark.server

TOKEN = "replica-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SHARED = {"HITL_WEB_SECRET": "replicas-share-this-secret-" + "x" * 16, "HITL_LINK_KEY": "replicas-link-key-" + "y" * 16}
"""What every replica shares through its environment (docs/deploy.md): the form key and the link key."""
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class ServeProcess:
    """`hitl serve` as a subprocess (its own process group), so a test can SIGKILL or SIGTERM it."""

    def __init__(self, address: str, task_queue: str, tokens: Path, drain: float = 1.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "starter.py"),
                "serve",
                "--address",
                address,
                "--task-queue",
                task_queue,
                "--graphs",
                "tests.graphs",
                "--port",
                str(self.port),
                "--tokens",
                str(tokens),
                "--drain",
                str(drain),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **SHARED},
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)


async def ready(url: str, proc: subprocess.Popen[bytes], limit: float = 90) -> None:
    """Wait until `url`/readyz says 200 (the probe a load balancer asks); fail if the process exits first."""
    async with httpx.AsyncClient(timeout=10) as http:
        for _ in range(int(limit / 0.1)):
            assert proc.poll() is None, f"{proc.args} exited with {proc.returncode} before it was ready"
            try:
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url}/readyz never said ready")


@dataclass
class Worker:
    process: WorkerProcess
    health: str

    @property
    def pid(self) -> int:
        assert self.process.proc is not None
        return self.process.proc.pid

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        assert self.process.proc is not None
        return self.process.proc


@dataclass
class Cluster:
    """Two web servers and two workers on one task queue, and a client of that queue (it runs no worker)."""

    server: DevServer
    queue: str
    tokens: Path
    client: hitl.Client
    webs: list[ServeProcess] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)

    def worker(self, drain: float = 60) -> Worker:
        """A new worker; `--drain` long, so a SIGTERMed worker's node finishes however slow the machine."""
        health = f"http://127.0.0.1:{free_port()}"
        flags = ["--health", health.removeprefix("http://"), "--drain", str(drain)]
        found = Worker(WorkerProcess(self.server.address, self.queue).start(flags=flags), health)
        self.workers.append(found)
        return found

    def web(self, drain: float = 1.0) -> ServeProcess:
        found = ServeProcess(self.server.address, self.queue, self.tokens, drain)
        self.webs.append(found)
        return found

    def alive(self) -> list[Worker]:
        return [w for w in self.workers if w.proc.poll() is None]

    def running(self, marker: Path) -> Worker:
        """The worker running the node that wrote `marker` (its pid)."""
        pid = int(marker.read_text())
        return next(w for w in self.workers if w.pid == pid)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cluster(server: DevServer, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    from tests.graphs import GRAPHS

    tokens = tmp_path_factory.mktemp("replicas") / "tokens.json"
    tokens.write_text(json.dumps({TOKEN: {"identity": "rita", "roles": []}}))
    queue = f"hitl-replicas-{free_port()}"
    client = await hitl.connect(server.address, task_queue=queue, graphs=GRAPHS, identity="tester")
    found = Cluster(server, queue, tokens, client)
    try:
        for _ in range(2):
            found.worker()
            found.web()
        await asyncio.gather(
            *(ready(w.health, w.proc) for w in found.workers), *(ready(s.url, s.proc) for s in found.webs)
        )
        yield found
    finally:
        for w in found.workers:
            w.process.kill()
        for s in found.webs:
            s.signal(signal.SIGKILL)
            s.proc.wait()


async def waiting_runs(client: hitl.Client, n: int) -> list[hitl.Run]:
    """`n` runs of replica_review, each waiting for its answer. Waited for in the visibility store, not by
    polling each run's state: a state query runs on a worker, and the workers are what these tests measure."""
    tag = f"rep-{uuid.uuid4().hex[:8]}"
    runs = await asyncio.gather(
        *(client.start("replica_review", {"topic": f"t{i}"}, run_id=f"{tag}-{i}") for i in range(n))
    )
    await until(lambda: tagged(client, tag, "interrupted", n), f"{n} runs to wait")
    return list(runs)


async def tagged(client: hitl.Client, tag: str, status: str, n: int) -> bool:
    """Whether `n` runs whose ids start with `tag` have `status`, as the visibility store counts them."""
    query = f"WorkflowId STARTS_WITH '{tag}-' AND HitlStatus = '{status}'"
    return (await client.temporal.count_workflows(query)).count >= n


async def answered_once(runs: list[hitl.Run], batch: str) -> None:
    """Every run ended with the batch's answer, applied exactly once (its decision log: one answer, the batch's)."""
    ended = await asyncio.gather(*(asyncio.wait_for(r.result(), 120) for r in runs))  # long polls: no worker
    assert all(values["status"] == "approve" for values in ended)
    reading = asyncio.Semaphore(8)

    async def check(run: hitl.Run) -> None:
        async with reading:
            snapshot = await run.get_state()
        answers = [d for d in snapshot.decisions if d.kind == "resume"]
        assert snapshot.status == "completed", (run.run_id, snapshot.status)
        assert len(answers) == 1 and answers[0].identity == "rita", (run.run_id, answers)
        assert batch in (answers[0].request_id or ""), answers[0]

    await asyncio.gather(*(check(r) for r in runs))


@dataclass
class Event:
    id: str
    event: str
    data: Any


async def events(response: httpx.Response, into: list[Event]) -> None:
    """Read an SSE response into `into` as it comes, until it closes (or its server dies)."""
    current: dict[str, str] = {}
    try:
        async for line in response.aiter_lines():
            if line == "":
                if "event" in current:
                    into.append(Event(current.get("id", ""), current["event"], json.loads(current.get("data", "null"))))
                current = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                current[name] = value
    except (httpx.RemoteProtocolError, httpx.ReadError):
        pass  # its server was killed: what came before it is in `into`


async def until(check: Callable[[], bool | Awaitable[bool]], what: str, limit: float = 120) -> None:
    """Wait for `check` (a poll, never a fixed time) up to a generous `limit`."""
    for _ in range(int(limit / 0.05)):
        found = check()
        if found if isinstance(found, bool) else await found:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"waited {limit} s for {what}")


def node_attempts(history: list[Any], activity_type: str = "") -> list[int]:
    """The attempt of each node activity that completed in a run's history."""
    started = {
        e.event_id: e.activity_task_started_event_attributes.attempt
        for e in history
        if e.HasField("activity_task_started_event_attributes")
    }
    return [
        started[e.activity_task_completed_event_attributes.started_event_id]
        for e in history
        if e.HasField("activity_task_completed_event_attributes")
    ]


async def history(client: hitl.Client, run_id: str) -> list[Any]:
    return [e async for e in client.temporal.get_workflow_handle(run_id).fetch_history_events()]


async def test_a_server_and_a_worker_killed_mid_batch_and_mid_stream_lose_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    client = cluster.client
    a, b = cluster.webs
    runs = await waiting_runs(client, 100)
    linked = (await waiting_runs(client, 1))[0]
    async with httpx.AsyncClient(timeout=60, headers=AUTH) as http:
        # Requests alternate between the servers: each reads the same runs off Temporal.
        for i, run in enumerate(runs[:6]):
            thread = await http.get(f"{(a, b)[i % 2].url}/threads/{run.run_id}")
            assert thread.status_code == 200 and thread.json()["status"] == "interrupted", thread.text
        # A browser signs in on B with the form A gave it, and A knows who it is (the cookie holds the token).
        async with httpx.AsyncClient(timeout=60) as browser:
            login = await browser.get(f"{a.url}/login", headers={"accept": "text/html"})
            csrf = CSRF_FIELD.search(login.text)
            assert csrf, login.text
            signed = await browser.post(
                f"{b.url}/ui/login", content=urlencode({"csrf": csrf.group(1), "token": TOKEN}), headers=FORM
            )
            assert signed.status_code == 303 and signed.headers["location"] == "/", signed.headers  # not refused
            page = await browser.get(f"{a.url}/runs/{runs[0].run_id}", headers={"accept": "text/html"})
            assert page.status_code == 200 and "rita" in page.text and runs[0].run_id in page.text
        # A form made by one server is taken by the other (HITL_WEB_SECRET), and a signed link used on one is
        # used up on both (its answer's request id is in the run's history, not in a server's memory).
        made = await links.create(
            client, linked.run_id, base_url=a.url, key=SHARED["HITL_LINK_KEY"].encode(), identity="rita"
        )
        token = made.url.rsplit("/link/", 1)[1]
        async with httpx.AsyncClient(timeout=60) as browser:
            page = await browser.get(f"{a.url}/link/{token}", headers={"accept": "text/html"})
            csrf = CSRF_FIELD.search(page.text)
            assert page.status_code == 200 and csrf, page.text
            form = urlencode({"csrf": csrf.group(1), "v": json.dumps("approve")})
            sent = await browser.post(f"{b.url}/ui/link/{token}", content=form, headers=FORM)
            assert sent.status_code == 303, sent.text
            again = await browser.post(f"{a.url}/ui/link/{token}", content=form, headers=FORM)
            assert again.status_code == 410 and "already used" in again.text

        # A live stream on server A: a run whose node is held until the test lets it go.
        marker = tmp_path / "node"
        streamed: list[Event] = []
        request = http.build_request(
            "POST",
            f"{a.url}/threads/{uuid.uuid4()}/runs/stream",
            json={"assistant_id": "held", "input": {"marker": str(marker)}, "stream_mode": ["values", "updates"]},
        )
        response = await http.send(request, stream=True)
        assert response.status_code == 200, await response.aread()
        reading = asyncio.create_task(events(response, streamed))
        await until(lambda: marker.exists() and len(streamed) >= 2, "the node to run")
        node_worker = cluster.running(marker)

        # A 100-run batch answer on server A, killed with the worker running the node partway through.
        batch = f"replicas-{uuid.uuid4().hex[:8]}"
        body = {"run_ids": [r.run_id for r in runs], "value": "approve", "batch_id": batch, "concurrency": 2}
        first = asyncio.create_task(http.post(f"{a.url}/hitl/batch/resume", json=body))
        tag = runs[0].run_id.rpartition("-")[0]
        await until(lambda: tagged(client, tag, "completed", 10), "the batch to be partway")
        a.signal(signal.SIGKILL)
        node_worker.process.kill()
        a.proc.wait()
        with pytest.raises(httpx.TransportError):
            await first  # the server died under it: its caller resends, to another server, under the same id
        await reading
        assert not await tagged(client, tag, "completed", 100), "the batch was over before the kill"
        await asyncio.to_thread(
            Path(f"{marker}.go").write_text, ""
        )  # the node's retry, on the other worker, runs to the end

        # The other server: the stream rejoined after its last event, the batch resent under its id.
        location = response.headers["location"]
        seen = [e for e in streamed if e.id]
        rejoined: list[Event] = []
        modes = urlencode({"stream_mode": ["values", "updates"]}, doseq=True)
        async with http.stream(
            "GET", f"{b.url}{location}?{modes}", headers={"Last-Event-ID": seen[-1].id}
        ) as again_stream:
            assert again_stream.status_code == 200
            await events(again_stream, rejoined)
        resent = await http.post(f"{b.url}/hitl/batch/resume", json={**body, "concurrency": 16})
        report = resent.json()
        assert resent.status_code == 200 and report["ok"], report
        outcomes = report["counts"]
        assert outcomes.get("applied", 0) + outcomes.get("already_applied", 0) == 100, outcomes
        assert outcomes.get("already_applied", 0) >= 10, outcomes  # what A sent before it died: not sent again

        # The stream from the start, read afresh: the killed stream and its rejoin, exactly (no gap, no repeat).
        async with http.stream("GET", f"{b.url}{location}?{modes}") as whole:
            everything: list[Event] = []
            await events(whole, everything)
    before = [e for e in streamed if e.id and e.event != "metadata"]  # a join streams no metadata
    assert [(e.id, e.data) for e in everything] == [(e.id, e.data) for e in before + rejoined]
    assert rejoined and everything[-1].data == {"marker": str(marker), "done": ["held", "after"]}
    await answered_once(runs, batch)
    [link_answer] = [d for d in (await linked.wait(timeout=60)).decisions if d.kind == "resume"]
    assert link_answer.identity == "rita"
    cluster.worker()  # two workers again for the rolling restart
    await ready(cluster.workers[-1].health, cluster.workers[-1].proc)


async def test_rolling_restart_of_workers_while_200_runs_wait_and_get_answered(
    cluster: Cluster, tmp_path: Path
) -> None:
    client, web = cluster.client, cluster.webs[-1]
    assert len(cluster.alive()) == 2
    runs = await waiting_runs(client, 200)
    marker = tmp_path / "node"
    held = await client.start("held", {"marker": str(marker)})
    await until(lambda: marker.exists(), "the node to run")
    batch = f"rolling-{uuid.uuid4().hex[:8]}"
    body = {"run_ids": [r.run_id for r in runs], "value": "approve", "batch_id": batch, "concurrency": 16}
    async with httpx.AsyncClient(timeout=300, headers=AUTH) as http:
        answering = asyncio.create_task(http.post(f"{web.url}/hitl/batch/resume", json=body))
        # The worker running the node first: SIGTERM drains it (not ready, no new work) while its node runs on.
        old = [cluster.running(marker), *(w for w in cluster.alive() if w.pid != cluster.running(marker).pid)]
        for i, worker in enumerate(old):
            worker.proc.send_signal(signal.SIGTERM)
            if i == 0:  # its node is held: it drains until the test lets the node go
                await until(partial(_not_ready, http, worker.health), "the draining worker to say so")
                probe = await http.get(f"{worker.health}/readyz")
                assert probe.status_code == 503 and "draining" in probe.json()["reason"], probe.text
                assert (await http.get(f"{worker.health}/livez")).status_code == 200
                await asyncio.to_thread(Path(f"{marker}.go").write_text, "")
            assert await asyncio.to_thread(worker.proc.wait, 120) == 0
            fresh = cluster.worker()
            await ready(fresh.health, fresh.proc)
        report = (await answering).json()
    assert report["ok"] and report["counts"] == {"applied": 200}, report["counts"]
    await answered_once(runs, batch)
    done = await held.wait(timeout=120)
    assert done.status == "completed" and done.values["done"] == ["held", "after"]
    assert node_attempts(await history(client, held.run_id)) == [1, 1]  # the held node finished where it ran


async def test_serve_health_and_draining_on_sigterm(cluster: Cluster) -> None:
    web = cluster.web(drain=600)  # a drain longer than the test: a second SIGTERM ends it
    await ready(web.url, web.proc)
    run = (await waiting_runs(cluster.client, 1))[0]
    async with httpx.AsyncClient(timeout=60, headers=AUTH) as http:
        assert (await http.get(f"{web.url}/livez")).json() == {"ok": True}
        streamed: list[Event] = []
        async with http.stream("GET", f"{web.url}/threads/{run.run_id}/stream") as stream:
            reading = asyncio.create_task(events(stream, streamed))
            await until(lambda: bool(streamed), "the stream's first event")
            web.signal(signal.SIGTERM)
            await until(lambda: _not_ready(http, web.url), "/readyz to say it drains")
            probe = await http.get(f"{web.url}/readyz")
            assert probe.status_code == 503 and "draining" in probe.json()["reason"]
            served = await http.get(f"{web.url}/threads/{run.run_id}")  # still served while the balancer notices
            assert served.status_code == 200 and served.json()["status"] == "interrupted"
            assert not reading.done()
            web.signal(signal.SIGTERM)  # the drain cut short: streams end (no `end`: clients reconnect elsewhere)
            await reading
        assert [e.event for e in streamed] == ["paused"]
        assert await asyncio.to_thread(web.proc.wait, 60) == 0


async def _not_ready(http: httpx.AsyncClient, url: str) -> bool:
    return (await http.get(f"{url}/readyz")).status_code == 503


async def test_readiness_says_why_when_temporal_does_not_answer() -> None:
    """A process whose Temporal is unreachable is alive but not ready: the probe names the address."""
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    health = Health(await temporalio.client.Client.connect(address, lazy=True))
    probes = await serve_health(health, "127.0.0.1", 0)
    port = probes.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            assert (await http.get("/livez")).json() == {"ok": True}
            probe = await http.get("/readyz")
            assert probe.status_code == 503 and f"Temporal at {address} does not answer" in probe.json()["reason"]
            assert (await http.get("/metrics")).status_code == 404
    finally:
        probes.close()
