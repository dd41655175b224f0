"""Live feeds as server-sent events: one run's changes, and the inbox's.

Both are fed by polling Temporal at a bounded interval, behind one function
each (`run_changes`, `inbox_changes`), so a workflow-side stream can replace
the polling later without touching the endpoints. A feed stops when the client
disconnects or the run ends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

import hitl
from hitl._protocol import WAITING_SINCE
from hitl.types import InvalidInputError, RunNotFoundError, StateSnapshot
from hitl.web import search, shapes
from hitl.web.context import caller, web

router = APIRouter(dependencies=[Depends(caller)])
HEARTBEAT_SECONDS = 15.0


@dataclass
class Change:
    """One thing that happened: `event` names it, `data` is JSON, `id` lets a client resume."""

    event: str
    data: Any
    id: str

    def encode(self) -> bytes:
        return f"id: {self.id}\nevent: {self.event}\ndata: {json.dumps(self.data, default=str)}\n\n".encode()


def classify(before: StateSnapshot | None, now: StateSnapshot) -> str | None:
    """What changed between two readings of a run: step, paused, resumed, ended (or nothing)."""
    if before is None:
        return (
            "ended"
            if now.status in ("completed", "failed", "cancelled")
            else ("paused" if now.status == "interrupted" else "step")
        )
    if now.status != before.status:
        if now.status == "interrupted":
            return "paused"
        if now.status in ("completed", "failed", "cancelled"):
            return "ended"
        return "resumed"
    if now.step != before.step or [i.id for i in now.interrupts] != [i.id for i in before.interrupts]:
        return "paused" if now.status == "interrupted" else "step"
    if len(now.decisions) != len(before.decisions):
        return "step"
    return None


async def run_changes(client: hitl.Client, run_id: str, every: float) -> AsyncIterator[Change]:
    """The run's state changes, polled from `run.get_state()`; ends after the run ends.

    An unknown run id (a thread no run has used yet) is watched until its run starts.
    """
    run = client.get_run(run_id)
    last: StateSnapshot | None = None
    while True:
        try:
            now = await run.get_state()
        except RunNotFoundError:
            await asyncio.sleep(every)
            continue
        kind = classify(last, now)
        if kind:
            yield Change(kind, shapes.thread(now), f"{now.step}.{now.status}.{len(now.decisions)}")
        if now.status in ("completed", "failed", "cancelled"):
            return
        last = now
        await asyncio.sleep(every)


async def inbox_changes(client: hitl.Client, every: float) -> AsyncIterator[Change]:
    """A signal whenever the set of waiting runs changes: a run paused, or was answered.

    Two COUNT queries per tick, whatever the inbox's size: waiting runs in total,
    and those that started waiting since the feed opened (one answered and one
    new pause between ticks would leave the total unchanged).
    """
    opened = datetime.now(timezone.utc)
    waiting = search.Filter(status="interrupted").query()
    fresh = f'{waiting} AND {WAITING_SINCE.name} >= "{search.stamp(opened)}"'
    last: tuple[int, int] | None = None
    while True:
        seen = (await search.count(client.temporal, waiting), await search.count(client.temporal, fresh))
        if seen != last:
            if last is not None:
                yield Change("changed", {"waiting": seen[0]}, f"{seen[0]}.{seen[1]}")
            last = seen
        await asyncio.sleep(every)


async def sse(request: Request, changes: AsyncIterator[Change]) -> AsyncIterator[bytes]:
    """Frame changes as SSE; heartbeats keep proxies from closing a quiet stream."""
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
                yield b"event: end\ndata: null\n\n"
                return
            yield change.encode()
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
        await changes.aclose()  # type: ignore[attr-defined]


async def anext_change(changes: AsyncIterator[Change]) -> Change:
    return await changes.__anext__()


def stream(request: Request, feed: Callable[[], AsyncIterator[Change]]) -> StreamingResponse:
    return StreamingResponse(
        sse(request, feed()),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


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
    w = web(request)
    return stream(request, lambda: run_changes(w.base, thread_id, w.settings.poll_seconds))


@router.get("/ui/inbox/stream", include_in_schema=False)
async def inbox_stream(request: Request) -> StreamingResponse:
    w = web(request)
    return stream(request, lambda: inbox_changes(w.base, max(w.settings.poll_seconds, 1.0)))
