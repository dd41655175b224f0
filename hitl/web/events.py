"""Live feeds as server-sent events: one run's changes, and the inbox's.

A run's feeds (the thread stream, `runs/stream`) read the run's own event
stream (`hitl.stream`: woken by Temporal's history, nothing polled). The inbox
spans every waiting run, which no single history tells, so it counts them in
Temporal's visibility store at a bounded interval. A feed stops when the client
disconnects or the run ends, or says why it stopped (an `error` event); each
identity holds at most `Settings.max_streams` feeds open at once (hitl/web/slots.py).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import temporalio.service
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

import hitl
from hitl import _finite as finite
from hitl._errors import read_with_retries
from hitl._protocol import WAITING_SINCE
from hitl.stream import ENDED, RunEvent, StreamMode, check_modes, chunks
from hitl.types import HitlError, InvalidInputError, StateSnapshot
from hitl.web import api, search, shapes
from hitl.web.context import caller, decider, web
from hitl.web.errors import one_line
from hitl.web.models import RunCreate
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
"""The thread feed's event names for the run's events (`hitl.stream.RunEvent.kind`); node events are not sent."""


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


async def inbox_changes(client: hitl.Client, every: float, scope: Reader) -> AsyncIterator[Change]:
    """A signal whenever the set of waiting runs the caller may read (`scope`) changes: a run paused, or
    was answered.

    Two COUNT queries per tick, whatever the inbox's size: waiting runs in total,
    and those that started waiting since the feed opened (one answered and one
    new pause between ticks would leave the total unchanged).
    """
    opened = datetime.now(timezone.utc)
    waiting = scope.filter(search.Filter(status="interrupted")).query()
    fresh = f'{waiting} AND {WAITING_SINCE.name} >= "{search.stamp(opened)}"'
    last: tuple[int, int] | None = None
    while True:
        try:
            seen = (
                await read_with_retries(lambda: search.count(client.temporal, waiting)),
                await read_with_retries(lambda: search.count(client.temporal, fresh)),
            )
        except temporalio.service.RPCError as e:
            raise HitlError(
                f"cannot reach Temporal ({e.message}); the inbox no longer updates live: reload the page once it is back"
            ) from None
        if seen != last:
            if last is not None:
                yield Change("changed", {"waiting": seen[0]}, f"{seen[0]}.{seen[1]}")
            last = seen
        await asyncio.sleep(every)


async def sse(request: Request, changes: AsyncIterator[Change], end: bool = True) -> AsyncIterator[bytes]:
    """Frame changes as SSE; heartbeats keep proxies from closing a quiet stream.

    A stream never closes silently on a failure: an `error` event (LangGraph Server's shape,
    `{"error": ..., "message": ...}`) says why the feed failed (the run disappeared, Temporal stayed
    unreachable past the feed's retries). With `end`, a feed that is done sends a last `end` event,
    which tells an EventSource not to reconnect (the feeds); a run's stream (a POST, read with fetch)
    just closes when done, as LangGraph Server's does."""
    yield b"retry: 2000\n\n"
    pending: asyncio.Task[Change] | None = None
    try:
        while not await request.is_disconnected():
            pending = pending or asyncio.ensure_future(anext_change(changes))
            done, _ = await asyncio.wait({pending}, timeout=HEARTBEAT_SECONDS)
            if not done:
                yield b": keep-alive\n\n"
                continue
            pending = None
            try:
                change = done.pop().result()
            except StopAsyncIteration:
                if end:
                    yield b"event: end\ndata: null\n\n"
                return
            except Exception as e:  # the feed failed: say so, then close
                yield failed(e).encode()
                return
            yield change.encode()
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
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
    does: `metadata`, then one event per chunk named by its mode (`values`, `updates`; `stream_mode` takes
    one or a list), then the stream closes (after an `error` event when the run failed)."""
    modes = check_modes(body.stream_mode or "values")
    client, scope = decider(request), reader(request)
    run = client.get_run(thread_id)
    held = slot(request)  # past the caller's cap: 429 before the decision is sent
    events: AsyncIterator[RunEvent] | None = None
    opening: list[RunEvent] = []
    try:
        current = await scope.snapshot_or_none(thread_id)
        # A paused run's stream opens on the run as it is (LangGraph's resumed stream starts with its values),
        # before the decision, so nothing the decision sets off is missed.
        events = run.events() if current is not None and current.status == "interrupted" else None
        if events is not None:
            async for event in events:
                opening.append(event)
                if event.kind != "values":
                    break
        since = await turn_start(run, current)
        created = await api.start_or_decide(client, scope, thread_id, body, wait=False, request_id=idempotency_key)
    except BaseException:
        held.release()
        if events is not None:
            await events.aclose()  # type: ignore[attr-defined]
        raise
    following = events if events is not None else run.events(since=since)
    record = shapes.run(thread_id, body.assistant_id, "running", created.run_id)
    return stream(
        request, lambda: run_parts(record, opening, following, modes), held, shapes.run_location(record), end=False
    )


async def turn_start(run: hitl.Run, current: StateSnapshot | None) -> int:
    """The checkpoint seq a started run's stream replays from: 0, or past the thread's checkpoints when new input
    on a completed thread starts its next turn (hitl/_turns.py), whose history carries them."""
    if current is None or current.status != "completed":
        return 0
    newest = await run.get_state_history(limit=1)
    return newest[0].seq + 1 if newest else 0


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


async def run_parts(
    record: dict[str, Any], opening: list[RunEvent], events: AsyncIterator[RunEvent], modes: list[StreamMode]
) -> AsyncIterator[Change]:
    """LangGraph Server's stream parts for one run request: its chunks until the next pause or the end."""
    n = 0
    yield Change("metadata", {"run_id": record["run_id"], "attempt": 1}, str(n))
    try:
        for event in opening[:1]:  # the state as the decision found it; its pause is the one being answered
            for mode, chunk in chunks(event, modes):
                n += 1
                yield Change(mode, shapes.chunk(chunk), str(n))
        async for event in events:
            for mode, chunk in chunks(event, modes):
                n += 1
                yield Change(mode, shapes.chunk(chunk), str(n))
            if event.kind in ("failed", "cancelled"):
                error = "RunFailed" if event.kind == "failed" else "RunCancelled"
                yield Change(
                    "error", {"error": error, "message": event.error or f"run {event.run_id} {event.kind}"}, ""
                )
            if event.kind == "paused" or event.kind in ENDED:
                return
    finally:
        await events.aclose()  # type: ignore[attr-defined]


@router.get("/ui/inbox/stream", include_in_schema=False)
async def inbox_stream(request: Request) -> StreamingResponse:
    w = web(request)
    scope = reader(request)
    return stream(request, lambda: inbox_changes(w.base, max(w.settings.poll_seconds, 1.0), scope))
