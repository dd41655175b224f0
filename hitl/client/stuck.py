"""A run whose workflow task keeps failing, named at once instead of after a query's timeout.

Temporal holds a query to a run until a workflow task answers it; when every task fails (a worker running
code that cannot replay the run's history, or a bug in it), the query only times out, half a minute later,
as "deadline exceeded", which reads as a slow worker. A read that has not come back within `STUCK_AFTER`
asks Temporal once what the run is doing; when its workflow task is on a second attempt or later, the read
ends with what failed it and where to look.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import temporalio.client
import temporalio.service
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest

from hitl.types import HitlError

T = TypeVar("T")

STUCK_AFTER = 2.0
"""Seconds a read may take before Temporal is asked whether the run's workflow task is failing (a healthy
run answers in milliseconds; a busy one is only asked once, and then waited for as before)."""


async def watched(read: Awaitable[T], stuck: Callable[[], Awaitable[HitlError | None]]) -> T:
    """`read`, unless it is still out after `STUCK_AFTER` and `stuck()` names why it never will be."""
    task = asyncio.ensure_future(read)
    try:
        done, _ = await asyncio.wait({task}, timeout=STUCK_AFTER)
        if not done:
            why = await stuck()
            if why is not None:
                raise why
        return await task
    finally:
        task.cancel()


async def failing_task(temporal: temporalio.client.Client, run_id: str, where: str) -> HitlError | None:
    """The error for a run whose workflow task is failing (second attempt or later), else None."""
    try:
        described = await temporal.get_workflow_handle(run_id).describe()
    except temporalio.service.RPCError:
        return None  # the read itself will say what is wrong
    pending = described.raw_description.pending_workflow_task
    if not described.raw_description.HasField("pending_workflow_task") or pending.attempt < 2:
        return None
    cause = await _last_failure(temporal, run_id)
    return HitlError(
        f"run '{run_id}' is stuck: its workflow task has failed {pending.attempt - 1} times{cause}; a worker "
        "runs code that cannot take this run (a change to workflow code that breaks its replay, or a bug): roll "
        f"that worker back or fix it, or reset the run (`temporal workflow reset --workflow-id {run_id} "
        f"--type LastWorkflowTask`) — {where}"
    )


async def _last_failure(temporal: temporalio.client.Client, run_id: str) -> str:
    """` (its first line)` of the newest recorded workflow task failure, or "" when none can be read (Temporal
    records a task's first failure only: its retries fail the same way)."""
    request = GetWorkflowExecutionHistoryReverseRequest(namespace=temporal.namespace, maximum_page_size=50)
    request.execution.workflow_id = run_id
    try:
        history = await temporal.workflow_service.get_workflow_execution_history_reverse(request)
    except temporalio.service.RPCError:
        return ""
    for event in history.history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failed = event.workflow_task_failed_event_attributes
            message = failed.failure.message.splitlines()[0] if failed.failure.message else "no message"
            return f" ({message[:300]})"
    return ""
