"""`python -m bench.eager_stall`: hunt the stalled node activity of bench/README.md's table 3b.

Seen in `python -m bench --only settings`: Temporal recorded a node's activity as
started by a worker that never ran it, and retried it only after its
start_to_close (5 min). It hit a worker started seconds before, on the node's
re-run scheduled in the workflow task that accepted the decision update; the
dev server allows eager activity dispatch, the suspect. This loop makes the
same shape fast: one dev server, a fresh worker per batch of approval runs
(activity, activity, wait for an update, activity, activity), a short
start_to_close so that a lost task shows within seconds as an attempt > 1 after
a timeout, counted from the histories. Compare `--eager on/off`, hitl's worker
and workflow against a plain Temporal one (`--mode`), a fresh task queue per
worker (as the bench) or one shared queue, and `--overlap`: the next worker
starts while the previous one still serves, which is then shut down mid-batch.

Caveat: a worker given more runs at once than it keeps up with (`--runs 200` on
2 cores) also lets a first attempt pass a 10 s start_to_close before its code
begins (sdk-core then cancels it locally and reports nothing), which looks the
same here; a longer `--timeout` tells a lost task from a late one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

import temporalio.api.history.v1
import temporalio.client
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.worker import Worker

import hitl
from bench.__main__ import approval_hitl, until
from bench.graphs import Approval as ApprovalState
from bench.graphs import publish, review, write_draft
from hitl.client.serving import wait_until_polling
from hitl.server import DevServer, free_port
from hitl.worker import CACHED_RUNS, NODES_AT_ONCE, create_worker, workflow_runner

RAN: dict[tuple[str, str, int], float] = {}
"""(workflow id, activity id, attempt) -> when its code began here. A stalled attempt that began is a slow one;
one that never began was lost, or cancelled by the worker's own start_to_close before it began."""


def ran() -> None:
    info = activity.info()
    RAN[(info.workflow_id or "", info.activity_id, info.attempt)] = time.time()


@activity.defn(name="eager_stall.step")
async def step(name: str) -> str:
    ran()
    return name


def recorded(fn: Callable[[ApprovalState], dict[str, Any]]) -> Callable[[ApprovalState], dict[str, Any]]:
    """A node that notes its attempt in RAN before running (hitl runs it in a thread with the activity's context)."""

    def node(state: ApprovalState) -> dict[str, Any]:
        ran()
        return fn(state)

    return node


@workflow.defn(name="eager_stall.Approval")
class PlainApproval:
    """hitl's approval shape by hand: draft, ask, wait for the update, re-run the asking step, publish."""

    def __init__(self) -> None:
        self.decision: str | None = None
        self.asking = False

    @workflow.run
    async def run(self, timeout_s: float) -> str:
        timeout = timedelta(seconds=timeout_s)
        for name in ("draft", "review"):
            await workflow.execute_activity(step, name, start_to_close_timeout=timeout)
        self.asking = True  # the client sends the update once the run waits, as a person would
        await workflow.wait_condition(lambda: self.decision is not None)
        # Scheduled in the same workflow task that accepts and completes the update, as hitl's re-run.
        for name in ("review-rerun", "publish"):
            await workflow.execute_activity(step, name, start_to_close_timeout=timeout)
        return "published"

    @workflow.update
    def decide(self, value: str) -> str:
        self.decision = value
        return value

    @workflow.query
    def waiting(self) -> bool:
        return self.asking and self.decision is None


def hitl_graph(timeout_s: float) -> hitl.graph.CompiledGraph:
    """bench's approval graph with a short node timeout."""
    b = hitl.StateGraph(ApprovalState)
    for name, fn in (("write_draft", write_draft), ("review", review), ("publish", publish)):
        b.add_node(name, recorded(fn), timeout=timedelta(seconds=timeout_s))
    b.add_edge(hitl.START, "write_draft")
    b.add_edge("write_draft", "review")
    b.add_edge("review", "publish")
    b.add_edge("publish", hitl.END)
    return b.compile(name="eager_stall_approval")


@dataclass
class Tally:
    tasks: int = 0
    eager: int = 0
    """Tasks the server started in the workflow task's completion (started at the scheduling instant)."""
    after_update: int = 0
    """Eager tasks scheduled by the workflow task that accepted the update (the stalled one's place)."""
    stalls: list[str] = field(default_factory=list)
    lost: int = 0
    """Stalls whose attempt 1 never reached the activity's code in this process."""
    wft_timeouts: int = 0


async def count(temporal: temporalio.client.Client, ids: list[str], worker_start: float, tally: Tally) -> None:
    """Activity tasks scheduled, how many eagerly, and attempts that followed a start_to_close timeout."""
    for wid in ids:
        scheduled: dict[int, temporalio.api.history.v1.HistoryEvent] = {}
        wft_completed = update_wft = 0
        async for e in temporal.get_workflow_handle(wid).fetch_history_events():
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                wft_completed = e.event_id
            elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                update_wft = wft_completed
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                tally.tasks += 1
                scheduled[e.event_id] = e
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                a = e.activity_task_started_event_attributes
                s = scheduled[a.scheduled_event_id]
                # Eager: the server wrote it with the schedule, microseconds apart; a poll takes milliseconds.
                if a.attempt == 1 and e.event_time.ToNanoseconds() - s.event_time.ToNanoseconds() < 1_000_000:
                    tally.eager += 1
                    by_update = s.activity_task_scheduled_event_attributes.workflow_task_completed_event_id
                    tally.after_update += by_update == update_wft
                if a.attempt > 1 and a.last_failure.HasField("timeout_failure_info"):
                    at = s.event_time.ToDatetime().timestamp() - worker_start
                    name = s.activity_task_scheduled_event_attributes.activity_type.name
                    began = RAN.get((wid, s.activity_task_scheduled_event_attributes.activity_id, 1))
                    seen = (
                        "never ran here"
                        if began is None
                        else f"ran {began - s.event_time.ToDatetime().timestamp():.1f}s late"
                    )
                    tally.lost += began is None
                    tally.stalls.append(f"{wid} {name} attempt {a.attempt} by {a.identity}, attempt 1 {seen}")
                    print(f"  STALL: {tally.stalls[-1]}, scheduled {at:.1f}s after its worker started", flush=True)
            elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                tally.wft_timeouts += 1
                kind = TimeoutType.Name(e.workflow_task_timed_out_event_attributes.timeout_type)
                at = e.event_time.ToDatetime().timestamp() - worker_start
                print(f"  workflow task timed out: {wid} {kind}, {at:.1f}s after its worker started", flush=True)


async def plain_batch(temporal: temporalio.client.Client, tq: str, n: int, timeout_s: float) -> list[str]:
    """n runs started, each answered once it waits (as a person would), all finished; their ids."""
    ids = [f"{tq}-{uuid.uuid4().hex[:12]}" for _ in range(n)]
    handles = await asyncio.gather(
        *(temporal.start_workflow(PlainApproval.run, timeout_s, id=i, task_queue=tq) for i in ids)
    )
    await asyncio.gather(*(until(partial(h.query, PlainApproval.waiting)) for h in handles))
    await asyncio.gather(*(h.execute_update(PlainApproval.decide, "approve") for h in handles))
    await asyncio.gather(*(h.result() for h in handles))
    return ids


async def main(args: argparse.Namespace) -> None:
    eager = args.eager == "on"
    label = f"{args.mode} eager={args.eager} queue={args.queue} runs={args.runs} bystanders={args.bystanders}"
    label += " overlap" if args.overlap else ""
    graph = hitl_graph(args.timeout)
    tally = Tally()
    deadline = time.monotonic() + args.minutes * 60
    with tempfile.TemporaryDirectory() as data, DevServer(data, port=free_port(), ui_port=free_port()) as server:
        idle = await temporalio.client.Client.connect(server.address)
        bystanders = [  # as the bench's other workers: idle, same process and runtime, other queues
            Worker(
                idle,
                task_queue=f"bystander-{i}",
                workflows=[PlainApproval],
                activities=[step],
                workflow_runner=workflow_runner(False),
            )
            for i in range(args.bystanders)
        ]
        bystanding = [asyncio.create_task(w.run()) for w in bystanders]
        previous: tuple[Worker, asyncio.Task[None]] | None = None
        k = 0
        while k < args.workers and time.monotonic() < deadline:
            tq = "eager-stall" if args.queue == "same" else f"eager-stall-{k}"
            if args.mode == "hitl":  # as bench's settings table: a client per worker, create_worker's defaults
                client = await hitl.connect(server.address, task_queue=tq, graphs=[graph])
                temporal = client.temporal
                worker = create_worker(temporal, [graph], task_queue=tq, disable_eager_activity_execution=not eager)
                batch: Callable[[], Coroutine[Any, Any, list[str]]] = partial(hitl_batch, client, args.runs)
            else:
                temporal = await temporalio.client.Client.connect(server.address)
                worker = Worker(
                    temporal,
                    task_queue=tq,
                    workflows=[PlainApproval],
                    activities=[step],
                    max_concurrent_activities=NODES_AT_ONCE,
                    max_cached_workflows=CACHED_RUNS,
                    workflow_runner=workflow_runner(False),
                    identity=f"eager-stall-worker-{k}",
                    disable_eager_activity_execution=not eager,
                )
                batch = partial(plain_batch, temporal, tq, args.runs, args.timeout)
            started = time.time()
            running = asyncio.create_task(worker.run())
            await wait_until_polling(temporal, tq, worker.config()["identity"] or "")  # as client.worker()
            work = asyncio.create_task(batch())
            if previous is not None:  # --overlap: the old worker served until now; it stops mid-batch
                await asyncio.sleep(args.overlap_delay)
                await previous[0].shutdown()
                await previous[1]
            ids = await work
            if args.overlap:
                previous = (worker, running)
            else:
                await worker.shutdown()
                await running
            await count(temporal, ids, started, tally)
            k += 1
            print(
                f"[{label}] worker {k}: {tally.tasks} activity tasks ({tally.eager} eager, {tally.after_update} of them "
                f"after the update), {len(tally.stalls)} stalls ({tally.lost} lost), "
                f"{tally.wft_timeouts} workflow-task timeouts, {time.time() - started:.1f}s",
                flush=True,
            )
        if previous is not None:
            await previous[0].shutdown()
            await previous[1]
        await asyncio.gather(*(w.shutdown() for w in bystanders), *bystanding)
    per_k = 1000 * len(tally.stalls) / max(tally.tasks, 1)
    print(
        f"RESULT [{label}] workers={k} runs/worker={args.runs} tasks={tally.tasks} eager={tally.eager} "
        f"eager_after_update={tally.after_update} stalls={len(tally.stalls)} lost={tally.lost} "
        f"({per_k:.3f}/1000) wft_timeouts={tally.wft_timeouts}",
        flush=True,
    )


async def hitl_batch(client: hitl.Client, n: int) -> list[str]:
    """bench's approval batch; the run ids (workflow ids) to read the histories of."""
    runs: list[hitl.Run] = []
    await approval_hitl(client, "eager_stall_approval", n, runs_out=runs)
    return [r.run_id for r in runs]


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.eager_stall", description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=("hitl", "plain"), default="hitl")
    p.add_argument("--eager", choices=("on", "off"), default="on")
    p.add_argument("--queue", choices=("fresh", "same"), default="fresh", help="a task queue per worker, or one")
    p.add_argument("--overlap", action="store_true", help="start the next worker before stopping the previous")
    p.add_argument("--overlap-delay", type=float, default=0.3, help="s the two workers serve together")
    p.add_argument("--workers", type=int, default=1000, help="workers in turn (stops earlier at --minutes)")
    p.add_argument("--runs", type=int, default=50, help="approval runs per worker")
    p.add_argument("--timeout", type=float, default=10.0, help="activities' start_to_close, s")
    p.add_argument("--bystanders", type=int, default=0, help="idle workers on other queues in the process")
    p.add_argument("--minutes", type=float, default=10.0, help="stop starting workers after this")
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse(sys.argv[1:])))
