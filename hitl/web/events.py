"""Live feeds as server-sent events: one run's changes, and the inbox's.

A run's feeds (the thread stream, `runs/stream` and its rejoin `runs/{run_id}/stream`)
read the run's own event stream (`hitl.client.stream`: woken by Temporal's history, nothing
polled); a run request's parts are made in hitl/web/parts.py and walked in order in
hitl/web/walk.py, so a rejoin rebuilds them from the run's history alone. The inbox
spans every waiting run, which no single history tells, so it counts them in
Temporal's visibility store at a bounded interval, once per web process for all
open inbox pages (hitl/web/inbox_feed.py). A feed stops when the client
disconnects or the run ends, or says why it stopped (an `error` event); each
identity holds at most `Settings.max_streams` feeds open at once (hitl/web/slots.py).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

import hitl
from hitl.protocol import finite
from hitl.protocol.limits import shorten
from hitl.types import HitlError, InvalidInputError
from hitl.web import api, parts, run_records, shapes, walk
from hitl.web.bodies import RunCreate
from hitl.web.context import caller, decider, web
from hitl.web.disconnect import cancel_later, refuse_from_elsewhere
from hitl.web.errors import one_line
from hitl.web.inbox_feed import InboxFeed
from hitl.web.pages import version
from hitl.web.scope import Reader, reader
from hitl.web.slots import Slot

log = logging.getLogger("hitl.web")
router = APIRouter(dependencies=[Depends(caller)])
HEARTBEAT_SECONDS = 15.0


@dataclass
class Change:
    """One thing that happened: `event` names it, `data` is JSON, `id` lets a client resume."""

    event: str
    data: Any
    id: str

    def encode(self) -> bytes:
        return f"id: {self.id}\nevent: {self.event}\ndata: {finite.dumps(self.data, default=str)}\n\n".encode()


SSE_NAMES = {"paused": "paused", "decision": "resumed", "completed": "ended", "failed": "ended", "cancelled": "ended"}
"""The thread feed's event names for the run's events (`hitl.client.stream.RunEvent.kind`); node events are not sent."""


async def run_changes(run: hitl.Run) -> AsyncIterator[Change]:
    """The thread's changes, from the run's own event stream (`Run.events()`, the one source
    every watcher uses); each carries the thread as it is. Ends after the run ends.

    The first event is the run as it is: `step` while it runs, else `paused` or `ended`. The run
    exists and the caller may read it when the stream opens (the route answers 404 otherwise, as for
    an unknown id); one that disappears later (deleted) ends the stream with an `error` event, as
    does Temporal staying unreachable.
    """
    events = run.events()
    try:
        async for event in events:
            if event.kind == "values":
                if event.source is None and event.status != "running":
                    continue  # the picture now: its pause or end follows at once
                name = "step"
            elif event.kind in SSE_NAMES:
                name = SSE_NAMES[event.kind]
            else:
                continue
            now = await run.get_state()
            # The id is the state's version, as the run's page renders it: a page already showing it skips it.
            yield Change(name, shapes.thread(now), version(now))
    finally:
        await events.aclose()  # type: ignore[attr-defined]


async def inbox_changes(feed: InboxFeed, scope: Reader, seen: int | None = None) -> AsyncIterator[Change]:
    """A signal whenever the set of waiting runs the caller may read (`scope`) changes: a run paused, or
    was answered, since the page showed `seen` of them. Counted by the web process's one poller
    (hitl/web/inbox_feed.py), shared by every open inbox page of viewers who may read the same graphs."""
    async for waiting, told in feed.listen(scope.graphs, seen):
        yield Change("changed", {"waiting": waiting}, f"{waiting}.{told}")


async def sse(request: Request, changes: AsyncIterator[Change], end: bool = True) -> AsyncIterator[bytes]:
    """Frame changes as SSE; heartbeats keep proxies from closing a quiet stream.

    A stream never closes silently on a failure: an `error` event (LangGraph Server's shape,
    `{"error": ..., "message": ...}`) says why the feed failed (the run disappeared, Temporal stayed
    unreachable past the feed's retries). With `end`, a feed that is done sends a last `end` event,
    which tells an EventSource not to reconnect (the feeds); a run's stream (a POST, read with fetch)
    just closes when done, as LangGraph Server's does.

    A server stopping after its drain (`Web.closing`) closes its streams with no `end` event: clients
    reconnect, through the load balancer to another copy, and rejoin after their `Last-Event-ID`."""
    yield b"retry: 2000\n\n"
    pending: asyncio.Task[Change] | None = None
    closing = asyncio.ensure_future(web(request).closing.wait())
    try:
        while not await request.is_disconnected():
            pending = pending or asyncio.ensure_future(anext_change(changes))
            await asyncio.wait({pending, closing}, timeout=HEARTBEAT_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            if closing.done():
                return
            if not pending.done():
                yield b": keep-alive\n\n"
                continue
            arrived, pending = pending, None
            try:
                change = arrived.result()
            except StopAsyncIteration:
                if end:
                    yield b"event: end\ndata: null\n\n"
                return
            except Exception as e:  # the feed failed: say so, then close
                yield failed(e).encode()
                return
            yield change.encode()
    finally:
        closing.cancel()
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, closing, return_exceptions=True)
        await changes.aclose()  # type: ignore[attr-defined]


def failed(e: Exception) -> Change:
    """The `error` event ending a feed that failed: hitl's one-line reason, or (for a surprise, logged
    here with its traceback) its type only, since an internal message is not for the client."""
    if isinstance(e, HitlError):
        return Change("error", {"error": type(e).__name__, "message": one_line(str(e))}, "")
    log.exception("a live stream failed")
    return Change("error", {"error": "InternalError", "message": f"the stream failed ({type(e).__name__})"}, "")


async def anext_change(changes: AsyncIterator[Change]) -> Change:
    return await changes.__anext__()


class HeldStream(StreamingResponse):
    """A stream holding one of its caller's stream slots until it ends, however it ends."""

    def __init__(self, body: AsyncIterator[bytes], slot: Slot, headers: dict[str, str] | None = None) -> None:
        super().__init__(
            body,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no", **(headers or {})},
        )
        self.slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.slot.release()


def slot(request: Request) -> Slot:
    """One of the caller's stream slots (429 past `Settings.max_streams`), taken before anything starts."""
    return web(request).streams.take(caller(request).name)


def stream(
    request: Request,
    feed: Callable[[], AsyncIterator[Change]],
    held: Slot | None = None,
    headers: dict[str, str] | None = None,
    end: bool = True,
) -> StreamingResponse:
    held = held or slot(request)
    try:
        changes = feed()
    except BaseException:
        held.release()
        raise
    return HeldStream(sse(request, changes, end), held, headers)


STREAM_MODES = ("run_modes", "values", "lifecycle", "state_update")


@router.get("/threads/{thread_id}/stream", tags=["threads"])
async def thread_stream(
    request: Request, thread_id: str, stream_mode: list[str] = Query(["run_modes"])
) -> StreamingResponse:
    """Server-sent events as the thread's run moves: `step`, `paused`, `resumed`, `ended`, then `end`.

    Each event's data is the thread (LangGraph's Thread shape, with values)."""
    bad = [m for m in stream_mode if m not in STREAM_MODES]
    if bad:
        raise InvalidInputError(
            f"stream_mode '{bad[0]}' is not supported; the thread stream sends its run's state changes ({', '.join(STREAM_MODES)})"
        )
    held = slot(request)
    try:
        await reader(request).state(thread_id)  # no run the caller may read: 404 now, not a stream waiting forever
        run = web(request).base.get_run(thread_id)
    except BaseException:
        held.release()
        raise
    return stream(request, lambda: run_changes(run), held)


@router.post("/threads/{thread_id}/runs/stream", tags=["runs"])
async def run_stream(
    request: Request, thread_id: str, body: RunCreate, idempotency_key: str | None = Header(None)
) -> StreamingResponse:
    """Start the thread's run or answer it, and stream it until it pauses again or ends, as LangGraph Server
    does: `metadata`, then one event per part in the modes asked for (hitl/web/parts.py), then the stream
    closes (after an `error` event when the run failed). Each event has an id: `Last-Event-ID` on
    `GET /threads/{id}/runs/{run_id}/stream` rejoins after it. With `on_disconnect: cancel`, a client
    that goes away before the run pauses or ends cancels it."""
    modes = parts.check_modes(body.stream_mode)
    client, scope = decider(request), reader(request)
    run = client.get_run(thread_id)
    held = slot(request)  # past the caller's cap: 429 before the decision is sent
    try:
        created = await api.start_or_decide(client, scope, thread_id, body, wait=False, request_id=idempotency_key)
        since, resuming = await run_records.events_start(run, created.run_id, turn=created.turn)
        subgraphs = subgraphs_of(request, thread_id, body.assistant_id) if body.stream_subgraphs else None
    except BaseException:
        held.release()
        raise
    command = body.command.model_dump(exclude_unset=True) if body.command is not None else None
    feed = parts.Parts(thread_id, body.assistant_id, created.run_id, parts.MODES, command)
    cancel = run if body.on_disconnect == "cancel" else None
    return stream(
        request,
        lambda: run_parts(
            walk.request_parts(
                feed, run.events(since=since, custom="custom" in modes, tasks="updates" in modes), resuming, subgraphs
            ),
            only={*modes, "metadata"},
            cancel=cancel,
        ),
        held,
        request_headers(thread_id, created.run_id),
        end=False,
    )


@router.get("/threads/{thread_id}/runs/{run_id}/stream", tags=["runs"])
async def join_stream(
    request: Request,
    thread_id: str,
    run_id: str,
    stream_mode: list[str] | None = Query(None),
    stream_subgraphs: bool = False,
    cancel_on_disconnect: bool = False,
    last_event_id: str | None = Header(None),
) -> StreamingResponse:
    """Rejoin a run's stream (the SDK's `runs.join_stream`): its parts again, rebuilt from the thread's
    history, after the event `Last-Event-ID` names (all of them without it), then live until it pauses or
    ends. The run is one of the thread's runs (hitl/web/run_records.py): where its parts start comes from
    its record. `stream_mode` picks the modes (the SDK sends the ones it streamed); none: `values` and
    `metadata`, what a LangGraph run streams by default. `stream_subgraphs` adds its subgraphs' parts.

    With `cancel_on_disconnect` this GET is a write (dropping it cancels the run): refused from another
    origin's page as every write is, since an `<img>` of a sibling origin would carry the session cookie."""
    if cancel_on_disconnect:
        refuse_from_elsewhere(request)
    held = slot(request)
    try:
        snapshot = await reader(request).state(thread_id)  # no run the caller may read: 404, as any stream
        after = event_number(last_event_id)
        wanted = [m for m in stream_mode or [] if m]  # the SDK sends `stream_mode=` when it names none
        only: set[str] = set(parts.check_modes(wanted)) if wanted else {"values", "metadata"}
        cancel = decider(request).get_run(thread_id) if cancel_on_disconnect else None  # view-only: 403
        subgraphs = subgraphs_of(request, thread_id, snapshot.graph) if stream_subgraphs else None
        run = web(request).base.get_run(thread_id)
        found = run_records.find(await run_records.thread_runs(run, snapshot), run_id)
        known = found is not None
        since, resuming = (
            await run_records.events_start(run, run_id, found.created_at, turn=found.turn) if found else (0, False)
        )
    except BaseException:
        held.release()
        raise
    headers = request_headers(thread_id, run_id)
    if not known:  # as LangGraph Server: the stream opens and says so
        missing = Change(
            "error", {"error": "RunNotFound", "message": f"thread '{thread_id}' has no run '{run_id}'"}, ""
        )
        return stream(request, lambda: one(missing), held, headers, end=False)
    feed = parts.Parts(thread_id, snapshot.graph, run_id, parts.MODES)
    return stream(
        request,
        lambda: run_parts(
            walk.request_parts(feed, run.events(since=since, custom="custom" in only), resuming, subgraphs),
            after=after,
            only=only,
            cancel=cancel,
        ),
        held,
        headers,
        end=False,
    )


def request_headers(thread_id: str, run_id: str) -> dict[str, str]:
    """Where a run request's stream lives, as LangGraph Server says it (the SDK's `on_run_created` reads it)."""
    return {
        **shapes.run_location({"thread_id": thread_id, "run_id": run_id}),
        "Location": f"/threads/{thread_id}/runs/{run_id}/stream",
    }


def event_number(last_event_id: str | None) -> tuple[int, int]:
    """The place of the last event a client saw, from its `Last-Event-ID` (`N-K`, as `run_parts` numbers
    them); none (or `-1`): (0, 0), so every event is sent."""
    raw = (last_event_id or "").strip()
    if raw in ("", "-", "$") or (raw.startswith("-") and raw[1:].isdigit()):  # `-1`: from the start, as LangGraph
        return 0, 0
    head, _, tail = raw.partition("-")
    if not head.isdigit() or not (tail or "0").isdigit() or len(head) > 12 or len(tail) > 12:
        raise InvalidInputError(
            f"Last-Event-ID {shorten(last_event_id or '', 40)!r} is not an event id of this stream "
            "(they look like '12-0')"
        )
    return int(head), int(tail or "0")


async def one(change: Change) -> AsyncIterator[Change]:
    yield change


@router.post("/runs/stream", tags=["runs"])
async def threadless_stream(
    request: Request, body: RunCreate, idempotency_key: str | None = Header(None)
) -> StreamingResponse:
    """Start a run on a fresh thread and stream it until it pauses or ends (LangGraph's stateless runs)."""
    if body.command is not None:
        raise InvalidInputError(
            "a run without a thread can only start: send input, or answer a thread's run at /threads/{id}/runs/stream"
        )
    return await run_stream(request, str(uuid.uuid4()), body, idempotency_key)


def subgraphs_of(request: Request, thread_id: str, graph: str) -> walk.Subgraphs:
    """The thread's subgraph nodes, whose runs a `stream_subgraphs` stream reads (as the server's own client:
    a subgraph's run is part of a thread the caller may read)."""
    return walk.Subgraphs(web(request).base.get_run(thread_id), walk.subgraph_nodes(reader(request).graph(graph)))


async def run_parts(
    found: AsyncIterator[parts.Part | walk.Error],
    *,
    after: tuple[int, int] = (0, 0),
    only: set[str] | None = None,
    cancel: hitl.Run | None = None,
) -> AsyncIterator[Change]:
    """LangGraph Server's stream for one run request (`walk.request_parts`): `metadata`, then its parts until
    the run's next pause or its end. Each part is numbered `N-0`, a subgraph's `N-K` (the K-th after part
    N), over every mode the walk makes (`parts.MODES`), so an id names the same part whichever modes and
    subgraphs a stream or its rejoin asks for. Parts up to `after` are not sent (a rejoin), nor, with
    `only`, parts of other modes. With `cancel`, a stream closed before the run paused or ended (the
    client went away) cancels the run."""
    n = k = 0
    done = False
    try:
        async for name, data in found:
            if name is None:  # the run failed or was cancelled: said once, not numbered
                yield Change("error", data, "")
                continue
            mode, nested, _ = name.partition("|")
            n, k = (n, k + 1) if nested else (n + 1, 0)
            if (n, k) > after and (only is None or parts.mode_of(mode) in only):
                yield Change(name, data, f"{n}-{k}")
        done = True
    finally:
        await found.aclose()  # type: ignore[attr-defined]
        if cancel is not None and not done:
            cancel_later(cancel)


@router.get("/ui/inbox/stream", include_in_schema=False)
async def inbox_stream(request: Request, seen: int | None = Query(None, ge=0)) -> StreamingResponse:
    """`seen`: the runs waiting the page rendered; a reconnect's `Last-Event-ID` (`WAITING.TOLD`) says it better."""
    scope = reader(request)
    last = request.headers.get("last-event-id", "").partition(".")[0]
    shown = int(last) if last.isdigit() and len(last) <= 12 else seen
    return stream(request, lambda: inbox_changes(web(request).inbox_feed, scope, shown))
