"""Threads that exist before (and between) their runs, kept in Temporal only, so every replica sees them.

Design. A thread is the Temporal workflow id its runs start under. Created before any run, it is a
*record*: an execution of type `hitl.Thread` under the thread id, on a task queue no worker polls,
started with a century-long `start_delay`, so it never gets a workflow task, costs no worker and never
ends by itself; its memo (`hitl_thread`) holds the metadata and creation time, its HitlGraph and
HitlStatus ("thread") search attributes what searches filter on. A record stays Running, so it is not
subject to the namespace's retention (closed executions are) and lives until the thread is deleted.
Temporal cannot change a memo from outside a workflow: new metadata supersedes the record with a new
one (the old one ended by its Temporal run id, so a run that took the id meanwhile is never touched).
The first run supersedes the record the same way (`hitl.client.threads.ThreadStart`: ended by run id just before
the run starts with ALLOW_DUPLICATE; of two racing starts Temporal lets one in, the other gets 409) and
carries the memo on. Searches and counts list running records and runs only (`search.Filter.records`):
a superseded record is closed and never matches, so no thread is listed twice. Deleting a thread
deletes every execution under its id (`DeleteWorkflowExecution`). A record naming no graph is readable
by anyone signed in; one with a graph, and every run, by the graph's readers (hitl/web/scope.py).
The next turn on a finished thread is a fork of its last checkpoint under the same id (hitl/client/turns.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import temporalio.api.common.v1
import temporalio.api.workflowservice.v1
import temporalio.client
import temporalio.common
import temporalio.exceptions
import temporalio.service

import hitl
from hitl.client.threads import ThreadStart, delete_executions
from hitl.protocol.wire import GRAPH, STATUS, THREAD_MEMO, THREAD_WORKFLOW, WORKFLOW_NAME
from hitl.types import RunAlreadyExistsError, RunNotFoundError, StateSnapshot
from hitl.web import shapes
from hitl.web.scope import Reader

RECORD_QUEUE = "hitl-thread-records"
"""No worker polls it: a record never runs."""
NEVER = timedelta(days=365 * 100)
RECORD_STATUS = "thread"
"""HitlStatus of a record (a thread with no run yet)."""


@dataclass(frozen=True)
class Found:
    """The current execution under a thread id: its record, or its run."""

    thread_id: str
    execution: str
    """Temporal's run id of that execution."""
    record: bool
    graph: str | None
    thread: ThreadStart
    task_queue: str | None = None
    """The execution's task queue, as the describe said (None where no describe was read)."""

    def readable_by(self, scope: Reader) -> bool:
        """A record naming no graph is anyone's; otherwise the graph's readers decide."""
        return self.graph is None or scope.may_read(self.graph)


async def find(temporal: temporalio.client.Client, thread_id: str) -> Found | None:
    """The thread's current execution (one describe, no worker); None when no thread has the id."""
    try:
        described = await temporal.get_workflow_handle(thread_id).describe()
    except temporalio.service.RPCError as e:
        if e.status in (temporalio.service.RPCStatusCode.NOT_FOUND, temporalio.service.RPCStatusCode.INVALID_ARGUMENT):
            return None
        raise
    record = described.workflow_type == THREAD_WORKFLOW
    if record and described.status != temporalio.client.WorkflowExecutionStatus.RUNNING:
        return None  # superseded by a run that did not start: no thread
    if not record and described.workflow_type != WORKFLOW_NAME:
        return None
    memo = (await described.memo()).get(THREAD_MEMO)
    graph = described.typed_search_attributes.get(GRAPH)
    started = ThreadStart.of(memo, described.run_id)
    return Found(thread_id, described.run_id or "", record, graph, started, described.task_queue)


async def visible(scope: Reader, thread_id: str) -> tuple[Found, StateSnapshot | None]:
    """The thread and its run's state (None for a record), or the unknown-id error when there is no thread
    or the caller may not read it."""
    found = await find(scope.web.base.temporal, thread_id)
    if found is None or (found.record and not found.readable_by(scope)):
        raise unknown(thread_id)
    if found.record:
        return found, None
    try:
        return found, await scope.state(thread_id)  # the run's own read check (its graph, indexed or in its state)
    except RunNotFoundError:
        raise unknown(thread_id) from None


def unknown(thread_id: str) -> RunNotFoundError:
    return RunNotFoundError(f"thread '{thread_id}' not found; create it with POST /threads or start a run on it")


async def create(
    client: hitl.Client, thread_id: str, graph: str | None, thread: ThreadStart, *, supersede: bool = False
) -> Found:
    """Store a record for the thread (`supersede`: in place of the record `thread.replaces`)."""
    attributes = None
    if await client.search_attributes_registered():
        pairs: list[temporalio.common.SearchAttributePair[Any]] = [
            temporalio.common.SearchAttributePair(STATUS, RECORD_STATUS)
        ]
        if graph:
            pairs.append(temporalio.common.SearchAttributePair(GRAPH, graph))
        attributes = temporalio.common.TypedSearchAttributes(pairs)
    if supersede:
        await thread.supersede(client.temporal, thread_id)
    try:
        handle = await client.temporal.start_workflow(
            THREAD_WORKFLOW,
            id=thread_id,
            task_queue=RECORD_QUEUE,
            start_delay=NEVER,
            memo=thread.memo(),
            search_attributes=attributes,
            id_reuse_policy=temporalio.common.WorkflowIDReusePolicy.ALLOW_DUPLICATE
            if supersede
            else temporalio.common.WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary="hitl thread (no run yet)",
        )
    except temporalio.exceptions.WorkflowAlreadyStartedError:
        raise RunAlreadyExistsError(
            f"thread '{thread_id}' exists already"
            + ("" if not supersede else " with a run now; its metadata is fixed once a run starts")
        ) from None
    kept = ThreadStart(thread.metadata, thread.created_at, handle.result_run_id)
    return Found(thread_id, handle.result_run_id or "", True, graph, kept)


async def delete(temporal: temporalio.client.Client, thread_id: str) -> None:
    """Delete every execution under the thread's id (its record, its run, earlier executions), open ones too."""
    await delete_executions(temporal, thread_id)


def metadata(found: Found | None, graph: str | None) -> dict[str, Any]:
    """A thread's metadata as LangGraph shows it: what it was given, and its graph."""
    own = dict(found.thread.metadata) if found else {}
    return {**own, **(shapes.metadata(graph) if graph else {})}


def record(found: Found) -> dict[str, Any]:
    """A thread no run has used yet (LangGraph: idle, no values)."""
    at = shapes.iso(found.thread.created_at)
    return {
        **shapes.fresh_thread(found.thread_id, found.graph),
        "created_at": at,
        "updated_at": at,
        "state_updated_at": at,
        "metadata": metadata(found, found.graph),
    }
