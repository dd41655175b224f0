"""The thread routes of the LangGraph-shaped API: create, get, update, delete, copy, search, count.

A thread is a record until its first run (hitl/web/threads.py), then its run. A thread the caller may not
read answers as an id never created (404) on every route here; a change needs a caller who may decide
(`context.decider`: 403 for a view-only credential).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

import hitl
from hitl.client.client import check_run_id
from hitl.client.threads import ThreadStart
from hitl.protocol.limits import too_large
from hitl.protocol.policy import override_refused
from hitl.protocol.wire import SUBGRAPH_RUN_MARK
from hitl.types import DecisionRejectedError, InvalidInputError, RunAlreadyExistsError, RunNotFoundError, StateSnapshot
from hitl.web import search, shapes, threads
from hitl.web.bodies import MetadataFilter, ThreadCount, ThreadCreate, ThreadPatch, ThreadSearch
from hitl.web.context import caller, decider
from hitl.web.scope import reader

router = APIRouter(dependencies=[Depends(caller)])
READ_CONCURRENCY = 16
MAX_METADATA_BYTES = 16_000
"""A thread's metadata travels in its memo: kept well under Temporal's memo limit."""
SCAN = 1000
"""At most this many threads are read to filter on given metadata or values (not indexed)."""
GRAPH_KEYS = ("graph_id", "assistant_id")


def given_metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    out = {k: v for k, v in (metadata or {}).items() if k not in GRAPH_KEYS}
    refused = too_large(out, MAX_METADATA_BYTES, "thread metadata")
    if refused:
        raise InvalidInputError(refused)
    return out


@router.post("/threads", tags=["threads"])
async def create_thread(request: Request, body: ThreadCreate | None = None) -> dict[str, Any]:
    """Create a thread: stored in Temporal at once (a record until a run starts on it)."""
    body = body or ThreadCreate()
    scope = reader(request)
    named = body.metadata or {}
    graph = body.graph_id or named.get("graph_id") or named.get("assistant_id")
    if graph is not None:
        scope.graph(str(graph))
    if body.thread_id is not None:
        check_run_id(body.thread_id, new=True)  # a thread id is the id its runs start under
    thread_id = body.thread_id or str(uuid.uuid4())
    metadata = given_metadata(body.metadata)
    if body.thread_id is not None and await threads.find(scope.web.base.temporal, thread_id) is not None:
        if body.if_exists == "do_nothing":
            try:
                return view(*await threads.visible(scope, thread_id))
            except RunNotFoundError:
                pass  # not theirs to read: the id is taken all the same
        raise RunAlreadyExistsError(f"thread '{thread_id}' exists already; pass if_exists='do_nothing' to reuse it")
    found = await threads.create(decider(request), thread_id, str(graph) if graph else None, ThreadStart(metadata))
    return threads.record(found)


@router.get("/threads/{thread_id}", tags=["threads"])
async def get_thread(request: Request, thread_id: str) -> dict[str, Any]:
    """A thread; 404 for an id never created (or one the caller may not read)."""
    return view(*await threads.visible(reader(request), thread_id))


@router.patch("/threads/{thread_id}", tags=["threads"])
async def update_thread(request: Request, thread_id: str, body: ThreadPatch) -> dict[str, Any]:
    """Merge metadata into a thread no run has started on (a run's thread keeps what it started with)."""
    scope = reader(request)
    found, _ = await threads.visible(scope, thread_id)
    client = decider(request)
    if not found.record:
        raise RunAlreadyExistsError(
            f"thread '{thread_id}' has a run; its metadata is fixed when its first run starts (hitl keeps it "
            "with the run's start)"
        )
    merged = {**found.thread.metadata, **given_metadata(body.metadata)}
    replaced = ThreadStart(merged, found.thread.created_at, found.execution)
    return threads.record(await threads.create(client, thread_id, found.graph, replaced, supersede=True))


@router.delete("/threads/{thread_id}", tags=["threads"], status_code=204)
async def delete_thread(request: Request, thread_id: str) -> Response:
    """Delete a thread: its record, or its run (ended if still going) and every earlier execution.

    Deleting a run ends it and drops its history (its audit trail too): an override, as a cancel is, so a
    guarded run is deleted only by someone its guard allows (refused before anything is deleted)."""
    scope = reader(request)
    _, snapshot = await threads.visible(scope, thread_id)
    decider(request)  # 403 for a view-only credential
    if SUBGRAPH_RUN_MARK in thread_id:  # its parent waits on it, under the parent's guard, not its own
        raise DecisionRejectedError(
            f"'{thread_id}' is a subgraph's run inside its parent run's step, not a thread: "
            "delete or cancel the parent run"
        )
    who = caller(request)
    refused = override_refused(snapshot.guarded_by, who.name, list(who.roles), "delete it") if snapshot else None
    if refused:
        raise DecisionRejectedError(f"thread '{thread_id}' was not deleted: {refused}")
    await threads.delete(scope.web.base.temporal, thread_id)
    return Response(status_code=204)


@router.post("/threads/{thread_id}/copy", tags=["threads"])
async def copy_thread(request: Request, thread_id: str) -> dict[str, Any]:
    """A new thread with this one's metadata and state: a record's copy is a record; a run's is a fork of
    its newest checkpoint (its run's checks apply: a guarded run is copied only by whom it allows)."""
    scope = reader(request)
    found, snapshot = await threads.visible(scope, thread_id)
    client = decider(request)
    new_id = str(uuid.uuid4())
    if snapshot is None:  # LangGraph's copy of a thread with no state answers without `values`
        made = await threads.create(client, new_id, found.graph, ThreadStart(found.thread.metadata))
        return {k: v for k, v in threads.record(made).items() if k != "values"}
    copied = await client.fork(thread_id, snapshot.step, new_run_id=new_id, thread=ThreadStart(found.thread.metadata))
    return with_metadata(shapes.thread(await copied.get_state()), found.thread)


@router.post("/threads/search", tags=["threads"])
async def search_threads(request: Request, body: ThreadSearch | None = None) -> list[dict[str, Any]]:
    body = body or ThreadSearch()
    scope = reader(request)
    temporal = scope.web.base.temporal
    f = scope.filter(thread_filter(body.status, body.metadata, body.ids))
    sort = sort_key(body.sort_by, body.status)
    descending = (body.sort_order or "desc") == "desc"
    given = body.metadata.given if body.metadata else {}
    if given or body.values:
        rows = await scanned(scope.web.base, f, given, body.values)
        ordered = sorted(rows, key=lambda r: r[0].key(sort), reverse=descending)
        out = [t for _, t in ordered[body.offset : body.offset + body.limit]]
    else:
        found = await search.page(temporal, f, offset=body.offset, limit=body.limit, sort=sort, descending=descending)
        wants_state = not body.select or bool({"values", "interrupts", "error"} & set(body.select))
        out = await with_state(scope.web.base, found.items) if wants_state else [listed(x) for x in found.items]
    if body.select:
        out = [{k: v for k, v in t.items() if k in body.select or k == "thread_id"} for t in out]
    return out


@router.post("/threads/count", tags=["threads"])
async def count_threads(request: Request, body: ThreadCount | None = None) -> int:
    body = body or ThreadCount()
    scope = reader(request)
    f = scope.filter(thread_filter(body.status, body.metadata, None))
    given = body.metadata.given if body.metadata else {}
    if given or body.values:
        return len(await scanned(scope.web.base, f, given, body.values))
    return await search.count(scope.web.base.temporal, f.query())


# ------------------------------------------------------------------ helpers


def view(found: threads.Found, snapshot: StateSnapshot | None) -> dict[str, Any]:
    """The thread as LangGraph shows it: a record's metadata, or its run's state and metadata."""
    return threads.record(found) if snapshot is None else with_metadata(shapes.thread(snapshot), found.thread)


def with_metadata(thread: dict[str, Any], given: ThreadStart | None) -> dict[str, Any]:
    """A run's thread with the metadata it was created with and the time its thread was created."""
    if given is None:
        return thread
    return {
        **thread,
        "metadata": {**given.metadata, **thread["metadata"]},
        "created_at": shapes.iso(given.created_at),
    }


def listed(x: search.Listed) -> dict[str, Any]:
    """A listed thread without reading its run (the visibility store's fields and its memo)."""
    given = ThreadStart.of(x.thread) if x.thread is not None else None
    if x.record and given is not None:
        graph = x.pending.graph if x.pending.graph != "?" else None
        return threads.record(threads.Found(x.pending.run_id, "", True, graph, given))
    return with_metadata(shapes.listed_thread(x.pending, x.status, x.created_at), given)


async def with_state(client: hitl.Client, items: list[search.Listed]) -> list[dict[str, Any]]:
    """Threads with values and interrupts, read from each run (bounded concurrency); records as stored."""
    gate = asyncio.Semaphore(READ_CONCURRENCY)

    async def one(x: search.Listed) -> dict[str, Any]:
        if x.record:
            return listed(x)
        async with gate:
            snapshot = await search.readable_state(client, x.pending.run_id)
        given = ThreadStart.of(x.thread) if x.thread is not None else None
        return with_metadata(shapes.thread(snapshot), given) if snapshot else listed(x)

    return list(await asyncio.gather(*(one(x) for x in items)))


async def scanned(
    client: hitl.Client, f: search.Filter, given: dict[str, Any], values: dict[str, Any] | None
) -> list[tuple[search.Listed, dict[str, Any]]]:
    """The threads of `f` whose metadata has `given` and whose values have `values` (read here: neither is
    indexed), each with its thread; refused beyond SCAN threads (narrow by status or graph first)."""
    rows = await search.listing(client.temporal, f.query(), limit=SCAN + 1)
    if len(rows) > SCAN:
        raise InvalidInputError(
            f"filtering on metadata keys other than graph_id or on values reads each thread; more than {SCAN} "
            "match the rest of the search: narrow it with status, metadata.graph_id or ids"
        )
    shown = await with_state(client, rows)
    return [
        (row, t)
        for row, t in zip(rows, shown, strict=True)
        if has(t.get("metadata") or {}, given) and has(t.get("values") or {}, values or {})
    ]


def has(found: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """LangGraph's filter: every wanted key present with an equal value."""
    return all(k in found and found[k] == v for k, v in wanted.items())


def thread_filter(status: str | None, metadata: MetadataFilter | None, ids: list[str] | None) -> search.Filter:
    return search.Filter(
        status=status,
        graph=metadata.graph_name if metadata else None,
        node=metadata.node if metadata else None,
        ids=list(ids or []),
        records=True,
    )


def sort_key(sort_by: str | None, status: str | None) -> search.SortKey:
    if sort_by in (None, "created_at"):
        return "created"
    if sort_by in ("updated_at", "state_updated_at"):
        if status != "interrupted":
            raise InvalidInputError(
                f"sort_by '{sort_by}' needs status 'interrupted' (it is the time the run started waiting)"
            )
        return "waiting"
    raise InvalidInputError(
        f"sort_by '{sort_by}' is not supported; use created_at, or updated_at with status 'interrupted'"
    )
