"""`python -m bench.plain_worker --address HOST:PORT --task-queue QUEUE`: the floor's workflows
(`bench/plain.py`) on a worker in its own process, set up as a hitl worker is (`create_worker`'s
defaults: 200 cached runs, 100 activities at once, no sandbox), so the scale table compares
the workflows and not the workers' settings."""

from __future__ import annotations

import argparse
import asyncio

import temporalio.client
from temporalio.worker import Worker

from bench import plain
from hitl.worker import CACHED_RUNS, NODES_AT_ONCE, workflow_runner


async def serve(address: str, task_queue: str, max_cached_runs: int = CACHED_RUNS) -> None:
    temporal = await temporalio.client.Client.connect(address)
    async with Worker(
        temporal,
        task_queue=task_queue,
        workflows=plain.WORKFLOWS,
        activities=plain.ACTIVITIES,
        max_cached_workflows=max_cached_runs,
        max_concurrent_activities=NODES_AT_ONCE,
        workflow_runner=workflow_runner(),
    ):
        await asyncio.Event().wait()  # until the bench terminates this process


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.plain_worker", description=__doc__)
    parser.add_argument("--address", required=True, help="Temporal host:port")
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--max-cached-runs", type=int, default=CACHED_RUNS, metavar="N", help="as `hitl worker`'s")
    args = parser.parse_args()
    asyncio.run(serve(args.address, args.task_queue, args.max_cached_runs))


if __name__ == "__main__":
    main()
