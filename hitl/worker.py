"""A Temporal worker that serves compiled graphs: the workflow plus their activities."""

from __future__ import annotations

from collections.abc import Sequence

import temporalio.client
from temporalio.worker import Worker

from activities import GraphActivities
from hitl._protocol import DEFAULT_TASK_QUEUE
from hitl._workers import worker_identity
from hitl.codec import with_codec
from hitl.graph import CompiledGraph
from hitl.types import GraphValidationError
from workflows import GraphWorkflow

CACHED_RUNS = 200
"""Runs a worker keeps in memory between tasks. Temporal's default is 1,000, but a
paused run needs no cache: its next task replays its (short, bounded) history.
At about 0.5 MB a cached run, this keeps a worker with thousands of paused runs small."""


def create_worker(
    client: temporalio.client.Client,
    graphs: Sequence[CompiledGraph],
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    max_concurrent_activities: int = 100,
    max_cached_workflows: int = CACHED_RUNS,
) -> Worker:
    """A worker for `graphs` on `task_queue`. Use it as `async with` or `await worker.run()`.

    Its identity names the keys it holds (`hitl-keys=...`), so clients can refuse
    to send runs it could not read; without keys it still reads an encrypted run
    as one clear line (a failed workflow task saying which key it needs).
    """
    client = with_codec(client)
    names = [g.name for g in graphs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise GraphValidationError(f"graphs {duplicates} are given twice; each graph needs its own compile(name=...)")
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[GraphWorkflow],
        activities=GraphActivities(graphs).all(),
        max_concurrent_activities=max_concurrent_activities,
        max_cached_workflows=max_cached_workflows,
        identity=worker_identity(client),
    )
