"""Listing runs from Temporal's visibility store, for `client.pending()`, `hitl inbox` and the web inbox.

One function reads the raw `ListWorkflowExecutions` pages and decodes only what an
inbox row shows: five search attributes and the summary memo. The SDK's
`list_workflows` decodes every search attribute of every row (about 13 per run)
into typed values first, which was most of the client-side cost of listing 5,000
waiting runs; the visibility query itself is the server's.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import temporalio.api.common.v1
import temporalio.api.enums.v1
import temporalio.api.workflow.v1
import temporalio.api.workflowservice.v1
import temporalio.client
import temporalio.converter

from hitl._text import SEARCHABLE
from hitl.payloads.blobs import ClaimCheckError
from hitl.protocol.wire import (
    ASSIGNED,
    GRAPH,
    PENDING_NODES,
    REVIEWERS,
    STATUS,
    SUMMARY_MEMO,
    THREAD_MEMO,
    WAITING_SINCE,
    WORKFLOW_NAME,
)
from hitl.types import KeyMismatchError

RUNNING = 'ExecutionStatus NOT IN ("Completed", "Failed", "Canceled", "Terminated", "ContinuedAsNew", "TimedOut")'
"""`ExecutionStatus = "Running"`, said so that SQLite's planner (the dev server's visibility) does not pick the
status index for it and scan every running execution: it then starts from the graph's index, and a count of a
graph with nothing waiting costs a lookup (2-5 ms at 5,000 waiting) instead of a scan (15-25 ms)."""
WAITING = f'WorkflowType = "{WORKFLOW_NAME}" AND {STATUS.name} = "interrupted" AND {RUNNING}'
"""Every run waiting for a person (`client.pending()`, a batch's runs)."""

PAGE_SIZE = 1000
"""The most rows Temporal's visibility returns per page by default (`frontend.visibilityMaxPageSize`)."""
ENCRYPTED = "(encrypted)"
"""The summary shown for a run encrypted with a key this process lacks: listed, unread."""
CLAIM_CHECKED = "(claim-checked)"
"""A summary kept in a claim-check store this process cannot read (none configured, or the blob is gone)."""


@dataclass
class PendingRun:
    """A run waiting for a person, as the inbox lists it."""

    run_id: str
    graph: str
    nodes: list[str]
    summary: str
    waiting_since: datetime | None
    assigned: list[str] = field(default_factory=list)
    """Who holds its questions (claims: identities, or role:NAME), where HitlAssigned is indexed."""
    reviewers: list[str] = field(default_factory=list)
    """Who may answer its questions (HitlReviewers), where indexed."""


@dataclass
class ListedRun:
    """One listed run: the inbox row, Temporal's execution status, hitl's status, its start time."""

    pending: PendingRun
    execution_status: str
    """Temporal's status name without its prefix: RUNNING, COMPLETED, FAILED, ..."""
    hitl_status: str | None
    created_at: datetime | None
    workflow_type: str = WORKFLOW_NAME
    """hitl.Graph for a run, hitl.Thread for a `hitl serve` thread's record before its first run."""
    thread: object = None
    """The execution's thread memo as stored (hitl/client/threads.py), where it has one."""


async def list_runs(
    temporal: temporalio.client.Client, query: str, limit: int | None = None, *, summaries: bool = True
) -> AsyncIterator[ListedRun]:
    """Runs matching a visibility `query`, in the server's order, page by page (at most `limit`);
    without `summaries`, no memo is decoded (each row's summary is empty): for counting, not showing.

    Client interceptors are not called for this listing: it reads the
    workflow service directly, as `list_workflows` does underneath."""
    token = b""
    seen = 0
    while True:
        size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - seen)
        response = await temporal.workflow_service.list_workflow_executions(
            temporalio.api.workflowservice.v1.ListWorkflowExecutionsRequest(
                namespace=temporal.namespace, page_size=size, next_page_token=token, query=query
            ),
            retry=True,
        )
        shown = await _summaries(temporal, response.executions) if summaries else [""] * len(response.executions)
        threads = (
            await _memos(temporal, response.executions, THREAD_MEMO) if summaries else [None] * len(response.executions)
        )
        for info, summary, thread in zip(response.executions, shown, threads, strict=True):
            yield dataclasses.replace(_listed(info, summary), workflow_type=info.type.name, thread=thread)
            seen += 1
            if limit is not None and seen >= limit:
                return
        token = response.next_page_token
        if not token:
            return


def graph_in(graphs: Sequence[str]) -> str:
    """A visibility clause for runs of `graphs` only (`hitl serve`'s read scope); with none, a clause
    no run matches. A name the query language cannot hold is left out: its runs cannot be listed by name."""
    names = [g for g in graphs if SEARCHABLE.match(g)]
    if not names:
        return 'WorkflowId = ""'
    return f"{GRAPH.name} IN (" + ", ".join(f'"{g}"' for g in names) + ")"


def _listed(info: temporalio.api.workflow.v1.WorkflowExecutionInfo, summary: str) -> ListedRun:
    fields = info.search_attributes.indexed_fields
    graph = _keyword(fields.get(GRAPH.name))
    nodes = _value(fields.get(PENDING_NODES.name))
    assigned = _value(fields.get(ASSIGNED.name))
    waiting = _keyword(fields.get(WAITING_SINCE.name))
    status = temporalio.api.enums.v1.WorkflowExecutionStatus.Name(info.status) if info.status else None
    return ListedRun(
        PendingRun(
            run_id=info.execution.workflow_id,
            graph=graph or "?",
            nodes=_strings(nodes),
            summary=summary,
            waiting_since=_datetime(waiting),
            assigned=_strings(assigned),
            reviewers=_strings(_value(fields.get(REVIEWERS.name))),
        ),
        execution_status=status.removeprefix("WORKFLOW_EXECUTION_STATUS_") if status else "RUNNING",
        hitl_status=_keyword(fields.get(STATUS.name)),
        created_at=info.start_time.ToDatetime().replace(tzinfo=timezone.utc) if info.HasField("start_time") else None,
    )


def _value(payload: temporalio.api.common.v1.Payload | None) -> object:
    """A search attribute's value: visibility stores them as plain JSON."""
    if payload is None or not payload.data:
        return None
    try:
        return json.loads(payload.data)
    except ValueError:
        return None


def _strings(value: object) -> list[str]:
    """A keyword-list attribute's strings (a store may hand one value back bare)."""
    items = value if isinstance(value, list) else [value]
    return [x for x in items if isinstance(x, str)]


def _keyword(payload: temporalio.api.common.v1.Payload | None) -> str | None:
    """A keyword (or datetime) attribute; some stores hand a single value back as a one-item list."""
    value = _value(payload)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value if isinstance(value, str) else None


def _datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


async def _summaries(
    temporal: temporalio.client.Client, executions: Sequence[temporalio.api.workflow.v1.WorkflowExecutionInfo]
) -> list[str]:
    """The summary memo of each row ("" where it has none)."""
    return ["" if m is None else str(m) for m in await _memos(temporal, executions, SUMMARY_MEMO)]


async def _memos(
    temporal: temporalio.client.Client,
    executions: Sequence[temporalio.api.workflow.v1.WorkflowExecutionInfo],
    key: str,
) -> list[object]:
    """One memo field of each row (None where absent), decoded with the client's converter and codec (so
    encrypted runs decode where the key is here). One codec call per page; if any row's key is missing,
    the page is decoded row by row so only those rows show as encrypted."""
    payloads = [info.memo.fields.get(key) for info in executions]
    present = [p for p in payloads if p is not None]
    converter = temporal.data_converter
    try:
        decoded = iter(await converter.decode(present) if present else [])
    except (KeyMismatchError, ClaimCheckError):
        decoded = iter([await _one(converter, p) for p in present])
    return [None if p is None else next(decoded) for p in payloads]


async def _one(converter: temporalio.converter.DataConverter, payload: temporalio.api.common.v1.Payload) -> object:
    try:
        return (await converter.decode([payload]))[0]
    except KeyMismatchError:
        return ENCRYPTED
    except ClaimCheckError:
        return CLAIM_CHECKED
