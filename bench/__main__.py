"""`python -m bench [--small]`: every figure measured in one run, on one machine,
against its own local dev server, side by side with a hand-written Temporal
workflow (the floor) and with what users would pick instead. Prints Markdown."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import temporalio.client
from temporalio.worker import PollerBehaviorAutoscaling, Worker

import hitl
import hitl.protocol.wire as hitl_protocol
from bench import graphs, plain
from hitl.client.serving import list_workers
from hitl.server import DevServer
from hitl.worker import CACHED_RUNS, create_worker, workflow_runner

ROOT = Path(__file__).resolve().parent.parent
POLL = 0.05
T = TypeVar("T")


@dataclass
class Sizes:
    runs: int
    repeats: int
    resumes: int
    scale: int
    loop: int
    waiting: int = 5000
    """Runs waiting in the inbox-scale section (`--waiting N`)."""
    cached_runs: int = CACHED_RUNS
    """Runs each worker of the scale and listing sections keeps in memory (`--max-cached-runs`)."""


FULL = Sizes(runs=200, repeats=3, resumes=100, scale=5000, loop=10000)
SMALL = Sizes(runs=10, repeats=1, resumes=10, scale=25, loop=300)
"""CI's size: enough to run every section end to end (so it cannot rot), not to compare figures."""


def log(message: str) -> None:
    print(f"  ... {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    while not await check():  # noqa: ASYNC110 - the condition is a query to Temporal, not a local flag
        await asyncio.sleep(POLL)


# ---------------------------------------------------------------- 1. approval


async def approval_by_signal(temporal: temporalio.client.Client, workflow: str, task_queue: str, n: int) -> float:
    """A hand-written approval workflow: start n, wait until all wait, signal, collect."""
    start = time.perf_counter()
    handles = await asyncio.gather(
        *(
            temporal.start_workflow(workflow, "tea", id=f"{task_queue}-{time.time_ns()}-{i}", task_queue=task_queue)
            for i in range(n)
        )
    )
    await asyncio.gather(*(until(lambda h=h: h.query("is_waiting")) for h in handles))
    await asyncio.gather(*(h.signal("decide", "approve") for h in handles))
    results = await asyncio.gather(*(h.result() for h in handles))
    assert all(r["status"] == "published" for r in results)
    return time.perf_counter() - start


async def approval_hitl(
    client: hitl.Client, graph: str, n: int, *, breakpoint: bool = False, runs_out: list[hitl.Run] | None = None
) -> float:
    """n approval runs started, answered once all pause, finished; the seconds. `runs_out` gets the runs."""
    start = time.perf_counter()
    runs = await asyncio.gather(
        *(client.start(graph, {"topic": "tea"}, interrupt_before=["publish"] if breakpoint else None) for _ in range(n))
    )
    if runs_out is not None:
        runs_out.extend(runs)

    async def paused(run: hitl.Run) -> bool:
        return (await run.get_state()).status == "interrupted"

    await asyncio.gather(*(until(lambda r=r: paused(r)) for r in runs))
    if breakpoint:
        await asyncio.gather(*(r.resume(wait=False) for r in runs))
    else:
        await asyncio.gather(*(r.resume("approve", wait=False) for r in runs))
    results = await asyncio.gather(*(r.result() for r in runs))
    assert all(r["status"] == "published" for r in results)
    return time.perf_counter() - start


async def approval_careful(temporal: temporalio.client.Client, extras: plain.Extras, n: int) -> float:
    """The floor with some of hitl's extras switched on (`plain.Careful`)."""
    start = time.perf_counter()
    spec = "x" * extras.start_padding
    handles = await asyncio.gather(
        *(
            temporal.start_workflow(
                "plain.Careful",
                args=["tea", extras, spec],
                id=f"careful-{time.time_ns()}-{i}",
                task_queue="bench-plain",
            )
            for i in range(n)
        )
    )
    await asyncio.gather(*(until(lambda h=h: h.query("is_waiting")) for h in handles))
    if extras.update:
        name = "decide_update" if extras.validator else "decide_unvalidated"
        await asyncio.gather(*(h.execute_update(name, "approve") for h in handles))
    else:
        await asyncio.gather(*(h.signal("decide", "approve") for h in handles))
    results = await asyncio.gather(*(h.result() for h in handles))
    assert all(r["status"] == "published" for r in results)
    return time.perf_counter() - start


CAREFUL = plain.Extras(status=True, update=True, validator=True)
"""The second floor: what a careful Temporal user writes for an inbox."""

ASKING = plain.Extras(status=True, update=True, validator=True, ask=True, rerun=True)
"""The third floor: the careful floor shaped as interrupt() shapes a graph (the step that asks runs
before the wait and again after it), so it runs the same four activities as hitl's approval."""
FLOOR_ROW = "hand-written Temporal workflow (floor)"
CAREFUL_ROW = "careful hand-written workflow (update + validator + status attribute)"
ASKING_ROW = "careful hand-written workflow asking as interrupt() does (its asking step run before and after the wait)"
"""Table 1's floors' rows: each ratio column is read against one of them."""


async def hitl_sizes(client: hitl.Client) -> tuple[int, int]:
    """Bytes of one approval run's start input and of its mean node input, from its history."""
    run = await client.start("bench_approval", {"topic": "tea"})
    await run.wait()
    await run.resume("approve")
    history = await events(client.temporal, run.run_id)
    started = [e for e in history if e.HasField("workflow_execution_started_event_attributes")]
    start = sum(p.ByteSize() for p in started[0].workflow_execution_started_event_attributes.input.payloads)
    nodes = [
        sum(p.ByteSize() for p in e.activity_task_scheduled_event_attributes.input.payloads)
        for e in history
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    return start, sum(nodes) // max(1, len(nodes))


# ---------------------------------------------------------------- 2. resume latency


Resume = Callable[[], Awaitable[object]]
"""One resume of a waiting stepper run; returns once the run waits again."""


async def stepper_floor(temporal: temporalio.client.Client, k: int, per_answer: int = 1) -> Resume:
    handle = await temporal.start_workflow(
        "plain.Stepper", args=[k, per_answer], id=f"plain-step-{time.time_ns()}", task_queue="bench-plain"
    )
    return partial(handle.execute_update, "decide", "ok")


async def stepper_hitl(client: hitl.Client, k: int, *, breakpoint: bool, graph: str = "bench_stepper") -> Resume:
    if breakpoint:
        run = await client.start("bench_ticker", {"i": 0, "limit": k}, interrupt_before=["tick"])
        await run.wait()
        return run.resume
    run = await client.start(graph, {"i": 0, "limit": k})
    await run.wait()
    return partial(run.resume, "ok")


async def latencies(steppers: dict[str, Resume], k: int) -> dict[str, list[float]]:
    """k timed resumes of each stepper, the steppers taking turns (each round starting one later), so
    whatever drifts during the section weighs on every row alike."""
    out: dict[str, list[float]] = {name: [] for name in steppers}
    turns = list(steppers.items())
    for i in range(k):
        for name, resume in rotated(turns, i % len(turns), len(turns)):
            t = time.perf_counter()
            await resume()
            out[name].append(time.perf_counter() - t)
    return out


# ---------------------------------------------------------------- 3. history cost


async def events(temporal: temporalio.client.Client, run_id: str) -> list[Any]:
    return [e async for e in temporal.get_workflow_handle(run_id).fetch_history_events()]


async def history_cost(client: hitl.Client) -> dict[str, float]:
    t = client.temporal
    chain5 = await client.start("bench_chain5", {"i": 0})
    chain20 = await client.start("bench_chain20", {"i": 0})
    await chain5.result(), await chain20.result()
    e5, e20 = len(await events(t, chain5.run_id)), len(await events(t, chain20.run_id))
    local = await client.start("bench_loop", {"i": 0, "limit": 20})
    local5 = await client.start("bench_loop", {"i": 0, "limit": 5})
    await local.result(), await local5.result()
    l20, l5 = len(await events(t, local.run_id)), len(await events(t, local5.run_id))

    async def stepper_events(k: int, breakpoint: bool, graph: str = "bench_stepper") -> int:
        graph = "bench_ticker" if breakpoint else graph
        run = await client.start(graph, {"i": 0, "limit": k}, interrupt_before=["tick"] if breakpoint else None)
        await run.wait()
        for _ in range(k):
            await (run.resume() if breakpoint else run.resume("ok"))
        await run.result()
        return len(await events(t, run.run_id))

    d_interrupt = (await stepper_events(6, False) - await stepper_events(2, False)) / 4
    rerun_local = "bench_stepper_rerun_local"
    d_local = (await stepper_events(6, False, rerun_local) - await stepper_events(2, False, rerun_local)) / 4
    d_breakpoint = (await stepper_events(6, True) - await stepper_events(2, True)) / 4

    async def approval_events(graph: str) -> int:
        approval = await client.start(graph, {"topic": "tea"})
        await approval.wait()
        await approval.resume("approve")
        return len(await events(t, approval.run_id))

    e_approval, e_rerun_local = (
        await approval_events("bench_approval"),
        await approval_events("bench_approval_rerun_local"),
    )
    floor = await t.start_workflow("plain.Approval", "tea", id=f"plain-h-{time.time_ns()}", task_queue="bench-plain")
    await until(lambda: floor.query("is_waiting"))
    await floor.signal("decide", "approve")
    await floor.result()
    e_floor = len(await events(t, floor.id))
    asking = await t.start_workflow(
        "plain.Careful", args=["tea", ASKING, ""], id=f"plain-a-{time.time_ns()}", task_queue="bench-plain"
    )
    await until(lambda: asking.query("is_waiting"))
    await asking.execute_update("decide_update", "approve")
    await asking.result()
    e_asking = len(await events(t, asking.id))

    blob = "x" * 100_000

    async def step_bytes(graph: str) -> tuple[int, int]:
        big = await client.start(graph, {"i": 0, "blob": blob})
        await big.result()
        history = await events(t, big.run_id)
        sent = sum(
            len(e.SerializeToString()) for e in history if e.HasField("activity_task_scheduled_event_attributes")
        )
        got = sum(len(e.SerializeToString()) for e in history if e.HasField("activity_task_completed_event_attributes"))
        return sent, got

    (inputs, results), (narrow, _) = await step_bytes("bench_chain5"), await step_bytes("bench_chain5_narrow")
    return {
        "events per activity node": (e20 - e5) / 15,
        "events per local-activity node": (l20 - l5) / 15,
        "events per decision, interrupt() (incl. the node's re-run)": d_interrupt,
        'events per decision, interrupt(), rerun="local"': d_local,
        "events per decision, breakpoint": d_breakpoint,
        "events, approval run (hitl)": e_approval,
        'events, approval run (hitl, rerun="local")': e_rerun_local,
        "events, approval run (hand-written)": e_floor,
        "events, approval run (careful hand-written, asking as interrupt() does)": e_asking,
        "bytes per step into history, 100 KB state: node input": inputs / 5,
        "bytes per step into history, 100 KB state: node result": results / 5,
        "bytes per step into history, 100 KB state: node input, node reads one key (input_schema)": narrow / 5,
    }


# ---------------------------------------------------------------- 4. scale

GATE = 200
"""Starts or decisions in flight at once when thousands are sent."""

FLOOR_AT_SCALE = plain.Extras(status=True)
"""The floor at scale: `plain.Approval`'s steps plus the status search attribute (set at pause,
resume and finish, as hitl sets it; table 1b's second row), so that the server counts the floor's
waiting runs with the same query as hitl's: the same kind of waiting for both rows."""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class AtScale:
    """One system in the scale table: its worker (run in its own process) and how to start and
    resume one of its runs, given the run's id."""

    name: str
    queue: str
    worker: list[str]
    """The worker's command line after `python`, less `--address` and `--task-queue`."""
    workflow_type: str
    start: Callable[[str], Awaitable[object]]
    resume: Callable[[str], Awaitable[object]]
    listing: Callable[[], Awaitable[int]] | None = None
    """Lists this system's waiting runs, if it has an inbox; returns how many there are."""

    def query(self, condition: str) -> str:
        return f'WorkflowType = "{self.workflow_type}" AND {condition} AND WorkflowId STARTS_WITH "{self.queue}-"'


def hitl_at_scale(
    client: hitl.Client,
    queue: str,
    cached_runs: int,
    graph: str = "bench_approval",
    name: str = "hitl, `interrupt()` in a node",
) -> AtScale:
    async def listing() -> int:
        return len([p for p in await client.pending() if p.run_id.startswith(f"{queue}-")])

    return AtScale(
        name,
        queue,
        [str(ROOT / "worker.py"), "bench.graphs", "--max-cached-runs", str(cached_runs)],
        hitl_protocol.WORKFLOW_NAME,
        start=lambda run_id: client.start(graph, {"topic": "tea"}, run_id=run_id),
        resume=lambda run_id: client.get_run(run_id).resume("approve", wait=False),
        listing=listing,
    )


def floor_at_scale(temporal: temporalio.client.Client, queue: str, cached_runs: int) -> AtScale:
    return AtScale(
        "hand-written workflow + status attribute (floor)",
        queue,
        ["-m", "bench.plain_worker", "--max-cached-runs", str(cached_runs)],
        "plain.Careful",
        start=lambda run_id: temporal.start_workflow(
            "plain.Careful", args=["tea", FLOOR_AT_SCALE, ""], id=run_id, task_queue=queue
        ),
        resume=lambda run_id: temporal.get_workflow_handle(run_id).signal("decide", "approve"),
    )


@contextmanager
def worker_process(argv: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    """A worker in a process of its own: its memory is its own, its CPU not the bench's."""
    worker = subprocess.Popen(
        [sys.executable, *argv], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL
    )
    try:
        yield worker
    finally:
        worker.terminate()
        worker.wait()


async def polling(temporal: temporalio.client.Client, queue: str, worker: subprocess.Popen[bytes]) -> None:
    """Until the worker polls `queue`, so that its start-up (imports, connecting) is not timed."""
    while not any(w.live for w in await list_workers(temporal, queue)):
        if worker.poll() is not None:
            raise RuntimeError(f"the worker for task queue {queue!r} exited ({worker.returncode}): its error is above")
        await asyncio.sleep(POLL)


async def each_until_counted(
    temporal: temporalio.client.Client,
    n: int,
    system: AtScale,
    call: Callable[[str], Awaitable[object]],
    condition: str,
) -> float:
    """`call` on each of the system's n run ids, `GATE` at a time, then the server's count of the
    system's runs matching `condition` polled until it reaches n: seconds from the first call."""
    gate = asyncio.Semaphore(GATE)

    async def one(i: int) -> None:
        async with gate:
            await call(f"{system.queue}-{i}")

    t = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    query, last = system.query(condition), -1
    while (count := (await temporal.count_workflows(query)).count) < n:
        if count // 500 != last // 500:
            log(f"{system.queue}: {count}/{n} runs {condition}")
        last = count
        await asyncio.sleep(0.5)
    return time.perf_counter() - t


@asynccontextmanager
async def paused_runs(
    temporal: temporalio.client.Client, n: int, system: AtScale
) -> AsyncIterator[tuple[subprocess.Popen[bytes], float]]:
    """n of the system's runs started on its worker and waited for until all are paused:
    (the worker's process, seconds from the first start)."""
    address = temporal.service_client.config.target_host
    with worker_process([*system.worker, "--address", address, "--task-queue", system.queue]) as worker:
        await polling(temporal, system.queue, worker)
        yield worker, await each_until_counted(temporal, n, system, system.start, 'HitlStatus = "interrupted"')


@dataclass
class ScaleRow:
    paused_s: float
    rss_mb: float
    list_s: float | None
    resumed_s: float
    load: float


async def at_scale(temporal: temporalio.client.Client, n: int, system: AtScale) -> ScaleRow:
    """Start n runs until all are paused, read the worker's memory, list them (if the system
    can), then decide all and wait until all are completed."""
    log(f"scale: {system.name}, {n} runs")
    async with paused_runs(temporal, n, system) as (worker, paused_s):
        rss, list_s = rss_mb(worker.pid), None
        if system.listing:
            t = time.perf_counter()
            assert await system.listing() == n
            list_s = time.perf_counter() - t
        resumed_s = await each_until_counted(temporal, n, system, system.resume, 'ExecutionStatus = "Completed"')
    return ScaleRow(paused_s, rss, list_s, resumed_s, os.getloadavg()[0])


async def report_scale(n: int, cached_runs: int) -> None:
    """The floor and hitl at scale, each on a fresh dev server of its own (on a shared one, each row
    would pay for the runs of the rows before it: the SQLite file grows by about 10,000 runs a row),
    warmed up first; each row printed as soon as it is measured, hitl's with its ratios to the floor's."""
    emit(
        [
            "",
            f"### 4. Scale ({n:,} approval runs; each system on a fresh dev server, its worker in its own "
            f"process, {cached_runs} cached runs)",
            "",
            "| system | start until all paused s | ratio | worker RSS, all paused, MB | ratio "
            "| list all pending s | resume all to completion s | ratio | load average |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
    )

    def floor_on(client: hitl.Client) -> AtScale:
        return floor_at_scale(client.temporal, "scale-floor", cached_runs)

    def hitl_on(client: hitl.Client) -> AtScale:
        return hitl_at_scale(client, "scale-hitl", cached_runs)

    def local_on(client: hitl.Client) -> AtScale:
        return hitl_at_scale(
            client,
            "scale-hitl",
            cached_runs,
            graph="bench_approval_rerun_local",
            name='hitl, `interrupt()` in a node, `rerun="local"`',
        )

    floor: ScaleRow | None = None
    for system_on in (floor_on, hitl_on, local_on):
        with tempfile.TemporaryDirectory() as data, DevServer(data, port=free_port(), ui_port=free_port()) as server:
            client = await hitl.connect(server.address, task_queue="scale-hitl", graphs=graphs.GRAPHS)
            log("scale: warming up a fresh server (its first runs cost more)")
            await at_scale(client.temporal, min(n, 20), floor_at_scale(client.temporal, "scale-warmup", cached_runs))
            system = system_on(client)
            row = await at_scale(client.temporal, n, system)
        floor = floor or row
        listed = "–" if row.list_s is None else f"{row.list_s:.2f}"
        emit(
            [
                f"| {system.name} | {row.paused_s:,.1f} | {row.paused_s / floor.paused_s:.2f}x "
                f"| {row.rss_mb:.0f} | {row.rss_mb / floor.rss_mb:.2f}x | {listed} "
                f"| {row.resumed_s:,.1f} | {row.resumed_s / floor.resumed_s:.2f}x | {row.load:.1f} |"
            ]
        )


# ---------------------------------------------------------------- 4b. listing


async def list_bare(temporal: temporalio.client.Client, query: str) -> int:
    """The floor: the SDK's own listing of the same query, every row, nothing read from it."""
    return len([w async for w in temporal.list_workflows(query)])


async def list_as_before(temporal: temporalio.client.Client, query: str) -> int:
    """How hitl listed before it read visibility pages itself: the SDK's typed search attributes
    (all of them decoded per row) and `memo_value` per row."""
    rows = []
    async for w in temporal.list_workflows(query):
        sa = w.typed_search_attributes
        memo = await w.memo_value("hitl_pending", default="") if w.raw_info.memo.fields else ""
        rows.append((w.id, sa.get(hitl_protocol.GRAPH), sa.get(hitl_protocol.PENDING_NODES), memo))
    return len(rows)


async def report_listing(server: DevServer, n: int, repeats: int, cached_runs: int) -> None:
    """Listing n waiting runs, warm, median of repeats: the floor is a hand-written workflow's own
    inbox (the scale table's floor runs, waiting with a status attribute, listed by the bare SDK), so
    the table separates what the dev server costs per row from what hitl adds; then the bare SDK over
    hitl's runs, hitl's listing before, and `client.pending()`. Also the worker's memory with all paused."""
    client = await hitl.connect(server.address, task_queue="listing", graphs=graphs.GRAPHS)
    floor_runs = floor_at_scale(client.temporal, "listing-floor", cached_runs)
    async with (
        paused_runs(client.temporal, n, floor_runs),
        paused_runs(client.temporal, n, hitl_at_scale(client, "listing", cached_runs)) as (worker, paused_in),
    ):
        rss = rss_mb(worker.pid)
        query = f'WorkflowType = "{hitl_protocol.WORKFLOW_NAME}" AND HitlStatus = "interrupted"'
        floor_query = f'WorkflowType = "{floor_runs.workflow_type}" AND HitlStatus = "interrupted"'

        async def pending() -> int:
            return len(await client.pending())

        variants: list[tuple[str, Callable[[], Awaitable[int]]]] = [
            (
                "hand-written workflows waiting with a status attribute, bare SDK `list_workflows` (floor)",
                lambda: list_bare(client.temporal, floor_query),
            ),
            ("bare SDK `list_workflows` over hitl's runs, same query", lambda: list_bare(client.temporal, query)),
            ("hitl as before (SDK listing, every attribute decoded)", lambda: list_as_before(client.temporal, query)),
            ("hitl, `client.pending()` / `hitl inbox`", pending),
        ]
        first: dict[str, float] = {}
        results: dict[str, tuple[float, float]] = {}
        for name, call in variants:
            walls, cpus = [], []
            for r in range(repeats + 1):
                log(f"listing: {name}, {r + 1}/{repeats + 1}")
                t, cpu = time.perf_counter(), time.process_time()
                assert await call() >= n
                wall, cpu = time.perf_counter() - t, time.process_time() - cpu
                if r == 0:
                    first[name] = wall
                else:
                    walls.append(wall)
                    cpus.append(cpu)
            results[name] = statistics.median(walls), statistics.median(cpus)
        floor = results[variants[0][0]][0]
        emit(
            [
                "",
                f"### 4b. Listing {n:,} waiting runs (median of {repeats} warm listings after a first one; {load()})",
                "",
                "| listing | first s | warm s | ratio to floor | Python CPU s |",
                "|---|---:|---:|---:|---:|",
            ]
            + [f"| {k} | {first[k]:.2f} | {w:.2f} | {w / floor:.2f}x | {c:.2f} |" for k, (w, c) in results.items()]
            + [
                "",
                f"Worker (own process) resident memory with all {n:,} of hitl's runs paused: {rss:.0f} MB; "
                f"starting them until all were paused took {paused_in:.0f} s.",
            ]
        )


# ---------------------------------------------------------------- 5. long loop


async def long_loop(client: hitl.Client, steps: int) -> dict[str, float]:
    t = time.perf_counter()
    run = await client.start("bench_loop", {"i": 0, "limit": steps})
    final = await run.result()
    elapsed = time.perf_counter() - t
    assert final["i"] == steps
    sizes = []
    async for w in client.temporal.list_workflows(f'WorkflowId = "{run.run_id}"'):
        h = client.temporal.get_workflow_handle(run.run_id, run_id=w.run_id)
        sizes.append(len([e async for e in h.fetch_history_events()]))
    return {"steps": steps, "time (s)": elapsed, "histories": len(sizes), "largest history (events)": max(sizes)}


# ---------------------------------------------------------------- report


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def emit(lines: list[str]) -> None:
    """Print a table as soon as it is measured, so a late failure loses nothing before it."""
    print("\n".join(lines), flush=True)


SECTIONS = ("approval", "breakdown", "latency", "history", "settings", "scale", "listing", "loop", "web", "inbox-scale")
NAMED_ONLY = ("inbox-scale",)
"""Sections run only when `--only` names them (minutes of setup each)."""


async def run(sizes: Sizes, only: set[str], profile: Path | None = None) -> None:
    emit(
        [
            f"Machine: {platform.node()}, {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
            f"Temporal dev server (SQLite). Sizes: {sizes}.",
            "",
        ]
    )
    with tempfile.TemporaryDirectory() as data, DevServer(data, port=free_port(), ui_port=free_port()) as server:
        client = await hitl.connect(server.address, task_queue="bench", graphs=graphs.GRAPHS)
        temporal = client.temporal
        assert server.process is not None
        server_pid = server.process.pid
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(client.worker())
            sandboxed = await hitl.connect(server.address, task_queue="bench-sandboxed", graphs=graphs.GRAPHS)
            await stack.enter_async_context(
                create_worker(sandboxed.temporal, graphs.GRAPHS, task_queue="bench-sandboxed", sandboxed=True)
            )
            await stack.enter_async_context(
                Worker(temporal, task_queue="bench-plain", workflows=plain.WORKFLOWS, activities=plain.ACTIVITIES)
            )
            await stack.enter_async_context(  # the floor set up as hitl's worker is: outside the sandbox
                Worker(
                    temporal,
                    task_queue="bench-plain-unsandboxed",
                    workflows=plain.WORKFLOWS,
                    activities=plain.ACTIVITIES,
                    workflow_runner=workflow_runner(),
                )
            )
            peers = _peers_available()
            if peers:
                from bench import peers as lg

                await stack.enter_async_context(
                    Worker(temporal, task_queue="bench-plugin", workflows=[lg.PluginApproval], plugins=[lg.plugin()])
                )

            if "approval" in only:
                await report_approval(client, sizes.runs, sizes.repeats, server_pid, profile, sandboxed)
            if "breakdown" in only:
                await report_breakdown(client, sizes.runs, sizes.repeats, profile, server_pid)
            if "latency" in only:
                await report_latency(client, sizes.resumes)
            if "history" in only:
                log("history cost")
                cost = await history_cost(client)
                emit(
                    ["", "### 3. History cost", "", "| measure | value |", "|---|---:|"]
                    + [f"| {k} | {v:,.1f} |" for k, v in cost.items()]
                )
            if "settings" in only:
                await report_settings(client, sizes.runs, sizes.repeats, server_pid)
            if "scale" in only:
                await report_scale(sizes.scale, sizes.cached_runs)
            if "listing" in only:
                log(f"listing: {sizes.scale} waiting runs")
                await report_listing(server, sizes.scale, sizes.repeats, sizes.cached_runs)
            if "loop" in only:
                log(f"long loop: {sizes.loop} steps")
                ll = await long_loop(client, sizes.loop)
                emit(
                    [
                        "",
                        "### 5. Long loop (local-activity node, default 5,000-event bound)",
                        "",
                        "| measure | value |",
                        "|---|---:|",
                    ]
                    + [f"| {k} | {v:,.1f} |" for k, v in ll.items()]
                )
            if "web" in only:
                from bench import web

                emit(await web.report(client, sizes.scale, 30 if sizes.repeats > 1 else 10, sizes.resumes))
            if "inbox-scale" in only:
                from bench import inbox_scale

                emit(await inbox_scale.report(client, server.address, graphs.GRAPHS, sizes.waiting, 20, sizes.resumes))


WORKER_SETTINGS: list[tuple[str, dict[str, Any]]] = [
    ("hitl's defaults (Temporal's: 5 + 5 pollers, 100 workflow tasks and 100 nodes at once)", {}),
    (
        "2 workflow-task + 2 activity-task pollers",
        {"max_concurrent_workflow_task_polls": 2, "max_concurrent_activity_task_polls": 2},
    ),
    ("10 + 10 pollers", {"max_concurrent_workflow_task_polls": 10, "max_concurrent_activity_task_polls": 10}),
    ("20 + 20 pollers", {"max_concurrent_workflow_task_polls": 20, "max_concurrent_activity_task_polls": 20}),
    (
        "pollers autoscaling",
        {
            "workflow_task_poller_behavior": PollerBehaviorAutoscaling(),
            "activity_task_poller_behavior": PollerBehaviorAutoscaling(),
        },
    ),
    ("20 workflow tasks at once", {"max_concurrent_workflow_tasks": 20}),
    ("20 nodes at once", {"max_concurrent_activities": 20}),
]
"""Worker settings measured against hitl's defaults (issue #15: tuning measured, not guessed)."""


async def report_settings(client: hitl.Client, n: int, repeats: int, server: int) -> None:
    """The approval batch on a worker with each of `WORKER_SETTINGS` (`create_worker`'s
    pass-through), the settings taken in turn within each repeat so that load spreads over all,
    each repeat starting further along (`rotated`; the first batch after a pause costs more)."""
    results: dict[str, list[Measured]] = {name: [] for name, _ in WORKER_SETTINGS}
    for r in range(repeats):
        for i, (name, options) in rotated([*enumerate(WORKER_SETTINGS)], r, repeats):
            log(f"worker settings: {name}, repeat {r + 1}/{repeats}")
            tuned = await hitl.connect(
                client.temporal.service_client.config.target_host,
                task_queue=f"bench-settings-{r}-{i}",
                graphs=graphs.GRAPHS,
            )
            async with tuned.worker(**options):
                await approval_hitl(tuned, "bench_approval", 5)
                results[name].append(await once(lambda t=tuned: approval_hitl(t, "bench_approval", n), n, server))
    median = {k: medians(v) for k, v in results.items()}
    base = median[WORKER_SETTINGS[0][0]]
    out = [
        "",
        f"### 3b. Worker settings (hitl's approval batch, {n} runs; median of {repeats}; {load()})",
        "",
        "| worker | ms/run | ratio to defaults | Python CPU ms/run | server CPU ms/run | slowest repeat ms/run |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    out += [
        f"| {k} | {m.wall:.2f} | {m.wall / base.wall:.2f}x | {m.cpu:.1f} | {m.server:.1f} "
        f"| {max(x.wall for x in results[k]):.2f} |"
        for k, m in median.items()
    ]
    emit(out)


class Measured(NamedTuple):
    """Medians per run of one approval variant: wall ms, this process's CPU ms (client and worker),
    the dev server's CPU ms (another process; the two halves of the work on this machine)."""

    wall: float
    cpu: float
    server: float


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) another process has spent so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def once(measure: Callable[[], Awaitable[float]], n: int, server: int) -> Measured:
    """One batch of n runs (`measure` returns its seconds): wall ms, this process's CPU ms and the
    server process's (`server`, its pid) CPU ms, each per run."""
    cpu, server_cpu = time.process_time(), cpu_s(server)
    wall = await measure() / n * 1000
    return Measured(wall, (time.process_time() - cpu) / n * 1000, (cpu_s(server) - server_cpu) / n * 1000)


def medians(batches: list[Measured]) -> Measured:
    return Measured(*(statistics.median(b[field] for b in batches) for field in range(len(Measured._fields))))


def rotated(items: list[T], r: int, repeats: int) -> list[T]:
    """Round `r` of `repeats` starts `r * len / repeats` items in: no item always goes first (the first
    batch after a pause costs more), and a server that slows as its database grows spreads its drift
    over all items rather than charging the last ones."""
    k = r * len(items) // max(1, repeats)
    return items[k:] + items[:k]


async def measured(
    rows: list[tuple[str, Callable[[], Awaitable[float]]]],
    n: int,
    repeats: int,
    profile: Path | None,
    server: int,
) -> dict[str, Measured]:
    """Per row (in the order given): median wall ms/run, CPU ms/run of this process (which moves less
    with the other load on the machine than wall time) and of the server process `server` (its pid).

    The rows take turns within each repeat (`rotated`), so the server's drift over a long run is spread
    over all of them rather than charged to whichever rows come last."""
    batches: dict[str, list[Measured]] = {name: [] for name, _ in rows}
    for r in range(repeats):
        for name, measure in rotated(rows, r, repeats):
            log(f"approval: {name}, repeat {r + 1}/{repeats}")
            profiler = cProfile.Profile() if profile and r == 0 else None

            async def profiled(
                profiler: cProfile.Profile | None = profiler, measure: Callable[[], Awaitable[float]] = measure
            ) -> float:
                if profiler:
                    profiler.enable()
                try:
                    return await measure()
                finally:
                    if profiler:
                        profiler.disable()

            batches[name].append(await once(profiled, n, server))
            if profiler and profile:
                profiler.dump_stats(profile / (re.sub(r"\W+", "_", name).strip("_") + ".prof"))
    return {name: medians(b) for name, b in batches.items()}


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


async def report_breakdown(client: hitl.Client, n: int, repeats: int, profile: Path | None, server: int) -> None:
    """The floor with hitl's extras added one at a time, then all of them: what each costs."""
    temporal = client.temporal
    spec_bytes, node_bytes = await hitl_sizes(client)
    rows: list[tuple[str, plain.Extras]] = [
        ("floor (signal, no extras)", plain.Extras()),
        ("+ status search attribute (pause, resume, finish)", plain.Extras(status=True)),
        ("+ hitl's three search attributes", plain.Extras(all_attributes=True)),
        ("+ summary memo at the pause", plain.Extras(memo=True)),
        ("+ decision as an update (no validator)", plain.Extras(update=True)),
        ("+ decision as an update with a validator", plain.Extras(update=True, validator=True)),
        (f"+ {spec_bytes:,} bytes in the start input (hitl's GraphSpec)", plain.Extras(start_padding=spec_bytes)),
        (f"+ {node_bytes:,} bytes in each node input (hitl's node task)", plain.Extras(node_input_padding=node_bytes)),
        ("+ the asking node re-run after the answer", plain.Extras(rerun=True)),
        ("+ the asking node's run before the wait", plain.Extras(ask=True)),
        ("careful floor (update + validator + status attribute)", CAREFUL),
        ("careful floor asking as interrupt() does (+ both runs of the asking node)", ASKING),
        (
            "all of hitl's extras",
            plain.Extras(
                all_attributes=True,
                memo=True,
                update=True,
                validator=True,
                start_padding=spec_bytes,
                node_input_padding=node_bytes,
                rerun=True,
                ask=True,
            ),
        ),
    ]
    batches: list[tuple[str, Callable[[], Awaitable[float]]]] = [
        (name, partial(approval_careful, temporal, extras, n)) for name, extras in rows
    ]
    batches.append(("hitl itself, interrupt() in a node", partial(approval_hitl, client, "bench_approval", n)))
    results = await measured(batches, n, repeats, profile, server)
    wall0, cpu0, server0 = results["floor (signal, no extras)"]
    out = [
        "",
        f"### 1b. Cost breakdown (the floor plus one of hitl's extras at a time; {n} runs; median of {repeats}; {load()})",
        "",
        "| variant | ms/run | ratio to floor | Python CPU ms/run | CPU ratio | server CPU ms/run | server CPU ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    out += [
        f"| {k} | {w:.2f} | {w / wall0:.2f}x | {c:.1f} | {c / cpu0:.2f}x | {sv:.1f} | {sv / server0:.2f}x |"
        for k, (w, c, sv) in results.items()
    ]
    emit(out)


async def report_approval(
    client: hitl.Client,
    n: int,
    repeats: int,
    server: int,
    profile: Path | None = None,
    sandboxed: hitl.Client | None = None,
) -> None:
    temporal = client.temporal
    variants: list[tuple[str, Callable[[], Awaitable[float]]]] = [
        (FLOOR_ROW, lambda: approval_by_signal(temporal, "plain.Approval", "bench-plain", n)),
        (
            "hand-written Temporal workflow, worker outside the sandbox (as hitl's)",
            lambda: approval_by_signal(temporal, "plain.Approval", "bench-plain-unsandboxed", n),
        ),
        (CAREFUL_ROW, lambda: approval_careful(temporal, CAREFUL, n)),
        (ASKING_ROW, lambda: approval_careful(temporal, ASKING, n)),
        ("hitl, interrupt() in a node", lambda: approval_hitl(client, "bench_approval", n)),
        *(
            [("hitl, interrupt() in a node, sandboxed worker", lambda: approval_hitl(sandboxed, "bench_approval", n))]
            if sandboxed
            else []
        ),
        (
            'hitl, interrupt() in a node, rerun="local"',
            lambda: approval_hitl(client, "bench_approval_rerun_local", n),
        ),
        ("hitl, interrupt() in a node, local activities", lambda: approval_hitl(client, "bench_approval_local", n)),
        ("hitl, static breakpoint", lambda: approval_hitl(client, "bench_approval_breakpoint", n, breakpoint=True)),
    ]
    peers = _peers_available()
    if peers:
        from bench import peers as lg

        variants += [
            ("LangGraph in process, SQLite checkpointer", lambda: asyncio.to_thread(lg.langgraph_sqlite, n)),
            (
                "LangGraph under temporalio-langgraph",
                lambda: approval_by_signal(temporal, "bench.LangGraphPluginApproval", "bench-plugin", n),
            ),
        ]
    log("approval: warming up (the first runs on a fresh server cost more, whichever row comes first)")
    await approval_by_signal(temporal, "plain.Approval", "bench-plain", 5)
    await approval_careful(temporal, CAREFUL, 5)
    await approval_hitl(client, "bench_approval", 5)
    results = await measured(variants, n, repeats, profile, server)
    floor, cpu_floor, server_floor = results[FLOOR_ROW]
    careful = results[CAREFUL_ROW].wall
    asking = results[ASKING_ROW].wall
    out = [
        f"### 1. Approval scenario ({n} runs started, paused, resumed, finished; median of {repeats}; {load()})",
        "",
        "| system | ms/run | ratio to floor | ratio to careful floor | ratio to asking floor | Python CPU ms/run "
        "| CPU ratio to floor | server CPU ms/run | server CPU ratio to floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    out += [
        f"| {k} | {w:.2f} | {w / floor:.2f}x | {w / careful:.2f}x | {w / asking:.2f}x | {c:.1f} | {c / cpu_floor:.2f}x "
        f"| {sv:.1f} | {sv / server_floor:.2f}x |"
        for k, (w, c, sv) in results.items()
    ]
    if not peers:
        out.append("| LangGraph peers | not installed | `pip install -e '.[bench]'` |")
    emit(out)


async def report_latency(client: hitl.Client, k: int) -> None:
    log("resume latency")
    steppers = {
        FLOOR_ROW: await stepper_floor(client.temporal, k),
        "hand-written, asking as interrupt() does (the asking step again, then the next step)": await stepper_floor(
            client.temporal, k, per_answer=2
        ),
        "hitl, interrupt() in a node": await stepper_hitl(client, k, breakpoint=False),
        'hitl, interrupt() in a node, rerun="local"': await stepper_hitl(
            client, k, breakpoint=False, graph="bench_stepper_rerun_local"
        ),
        "hitl, static breakpoint": await stepper_hitl(client, k, breakpoint=True),
    }
    lat = await latencies(steppers, k)
    f50, f95 = pct(lat[FLOOR_ROW], 0.5), pct(lat[FLOOR_ROW], 0.95)
    out = [
        "",
        f"### 2. Resume latency (resume call to paused again after one node; {k} resumes)",
        "",
        "| system | p50 ms | p95 ms | p50 ratio | p95 ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, values in lat.items():
        p50, p95 = pct(values, 0.5), pct(values, 0.95)
        out.append(f"| {name} | {p50 * 1000:.1f} | {p95 * 1000:.1f} | {p50 / f50:.2f}x | {p95 / f95:.2f}x |")
    emit(out)


def _peers_available() -> bool:
    try:
        import langgraph.checkpoint.sqlite  # noqa: F401
        import temporalio.langgraph  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--small", action="store_true", help="CI sizes: a minute, not half an hour")
    parser.add_argument(
        "--only",
        default=None,
        help=f"comma-separated sections to run, of {', '.join(SECTIONS)} (default: all but {', '.join(NAMED_ONLY)}; with --small, also not breakdown)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="write a cProfile of this process (client and in-process worker) per approval variant into DIR",
    )
    parser.add_argument("--runs", type=int, metavar="N", help="runs per approval batch (overrides the size's)")
    parser.add_argument("--repeats", type=int, metavar="N", help="repeats of each approval batch (overrides)")
    parser.add_argument(
        "--scale", type=int, metavar="N", help="runs in the scale, listing and web sections (overrides)"
    )
    parser.add_argument(
        "--waiting", type=int, metavar="N", help="runs waiting in the inbox-scale section (default 5000)"
    )
    parser.add_argument(
        "--cached-runs",
        type=int,
        metavar="N",
        help=f"runs each worker of the scale and listing sections keeps in memory (default {CACHED_RUNS}, as `hitl worker`)",
    )
    args = parser.parse_args()
    if args.only is None:  # the breakdown is 15 more approval batches: CI's --small stays about a minute without it
        args.only = ",".join(x for x in SECTIONS if x not in NAMED_ONLY and not (args.small and x == "breakdown"))
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    if not only or not only <= set(SECTIONS):
        parser.error(f"--only takes sections from {', '.join(SECTIONS)}; got {args.only!r}")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    sizes = SMALL if args.small else FULL
    for name in ("runs", "repeats", "scale", "cached_runs", "waiting"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} takes a whole number of at least 1; got {value}")
    sizes = dataclasses.replace(
        sizes,
        runs=args.runs or sizes.runs,
        repeats=args.repeats or sizes.repeats,
        scale=args.scale or sizes.scale,
        cached_runs=args.cached_runs or sizes.cached_runs,
        waiting=args.waiting or sizes.waiting,
    )
    asyncio.run(run(sizes, only, args.profile))


if __name__ == "__main__":
    main()
