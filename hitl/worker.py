"""A Temporal worker that serves compiled graphs: the workflow plus their activities."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Sequence
from typing import Any

import temporalio.client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from hitl.activities import GraphActivities
from hitl.client.serving import worker_identity
from hitl.client.tracing import traced
from hitl.graph import CompiledGraph
from hitl.payloads.codec import with_codec
from hitl.payloads.converter import with_shared_adapters
from hitl.protocol.wire import DEFAULT_TASK_QUEUE
from hitl.types import GraphValidationError
from hitl.workflows import GraphWorkflow

CACHED_RUNS = 200
"""Runs a worker keeps in memory between tasks. Temporal's default is 1,000, but a
paused run needs no cache: its next task replays its (short, bounded) history.
Measured (bench/README.md, after table 4b): about 80 KB a cached run, and no faster
start or resume of 1,000 runs with all of them cached; so the default stays small."""

NODES_AT_ONCE = 100
"""Node activities a worker runs at once (Temporal's own default too)."""


OWNED = ("client", "task_queue", "workflows", "activities", "workflow_runner", "identity", "max_cached_workflows")
"""Worker settings `create_worker` makes itself (hitl needs them so), refused as `worker_options`."""
REFUSED = {
    "workflow_failure_exception_types": (
        "hitl's workflow ends a run itself, with its reason (a node that failed for good, a cancel); any other "
        "error in it must fail only the workflow task, which Temporal retries: e.g. a copy of the run a query ran "
        "ahead of its history (docs/durability.md), which this option would turn into a failed run"
    ),
}
"""Worker settings that would break a hitl run, refused as `worker_options` with why."""


def _check_worker_options(options: dict[str, Any]) -> None:
    """Refuse, before any worker starts, a Temporal worker option that does not exist (a typo,
    with a did-you-mean) or that hitl sets itself; any other `temporalio.worker.Worker` keyword passes."""
    known = [p for p in inspect.signature(Worker.__init__).parameters if p not in ("self", *OWNED)]
    for key in options:
        if key in REFUSED:
            raise GraphValidationError(f"create_worker does not take the worker option '{key}': {REFUSED[key]}")
        if key in OWNED:
            raise GraphValidationError(f"create_worker sets the worker option '{key}' itself; leave it out")
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise GraphValidationError(
                f"'{key}' is not an option of Temporal's worker; {hint}see temporalio.worker.Worker for the accepted ones"
            )


def workflow_runner(sandboxed: bool = False) -> WorkflowRunner:
    """How a hitl worker runs `GraphWorkflow`: outside the sandbox unless asked (see `create_worker`)."""
    return SandboxedWorkflowRunner() if sandboxed else UnsandboxedWorkflowRunner()


def create_worker(
    client: temporalio.client.Client,
    graphs: Sequence[CompiledGraph],
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    max_concurrent_activities: int = NODES_AT_ONCE,
    max_cached_workflows: int = CACHED_RUNS,
    sandboxed: bool = False,
    **worker_options: Any,
) -> Worker:
    """A worker for `graphs` on `task_queue`. Use it as `async with` or `await worker.run()`.

    Its identity names the keys it holds (`hitl-keys=...`), so clients can refuse
    to send runs it could not read; without keys it still reads an encrypted run
    as one clear line (a failed workflow task saying which key it needs).

    `GraphWorkflow` runs outside Temporal's workflow sandbox unless `sandboxed`: user
    code never runs inside it, so the sandbox would only guard hitl's own workflow, at
    the price of re-importing it for every run (about a third of a run's worker CPU).
    Its determinism is guarded instead by replaying every recorded history under the
    strict sandbox in the tests (tests/test_replay.py). Pass `sandboxed=True` to run it
    sandboxed anyway, e.g. while changing the workflow.

    Any other keyword of `temporalio.worker.Worker` (pollers, `tuner`, shutdown timeout...)
    passes through in `worker_options`; a misspelt one is refused here with a did-you-mean.
    """
    _check_worker_options(worker_options)
    client = traced(with_codec(with_shared_adapters(client)))  # its tracing interceptor, when on, serves the worker too
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
        workflow_runner=workflow_runner(sandboxed),
        identity=worker_identity(client),
        **worker_options,
    )
