"""A thread's runs as LangGraph Server serves them: list, get, join, cancel.

The runs are derived from the thread's hitl run (hitl/web/run_records.py), read within the caller's
read scope: a thread they may not read is an unknown id, and so are its runs. A cancel acts as the
caller (`scope.run_to_change`: refused for a view-only credential) and is a decision the run records.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

import hitl
from hitl.types import InvalidInputError, StateSnapshot
from hitl.web import disconnect, run_records, shapes, threads
from hitl.web.context import caller, web
from hitl.web.errors import WebError
from hitl.web.run_records import RunRecord
from hitl.web.scope import reader, run_to_change

router = APIRouter(dependencies=[Depends(caller)])

RunStatus = Literal["pending", "running", "error", "success", "timeout", "interrupted"]


async def thread_runs(request: Request, thread_id: str) -> tuple[StateSnapshot, list[RunRecord]]:
    """The thread's state and its runs, oldest first (404 when the caller may not read it)."""
    scope = reader(request)
    snapshot = await scope.state(thread_id)
    return snapshot, await run_records.thread_runs(scope.web.base.get_run(thread_id), snapshot)


def no_such_run(thread_id: str, run_id: str) -> WebError:
    return WebError(404, f"thread '{thread_id}' has no run '{run_id}'; its runs are at GET /threads/{thread_id}/runs")


@router.get("/threads/{thread_id}/runs", tags=["runs"])
async def list_runs(
    request: Request,
    thread_id: str,
    limit: int = Query(10, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    status: RunStatus | None = None,
    select: list[str] | None = Query(None),
) -> list[dict[str, Any]]:
    """The thread's runs, newest first: its start, then one per answer it took; none on a thread no run
    started on yet (as LangGraph lists them)."""
    scope = reader(request)
    _, snapshot = await threads.visible(scope, thread_id)  # 404 for a thread the caller may not read
    if snapshot is None:
        return []
    runs = await run_records.thread_runs(scope.web.base.get_run(thread_id), snapshot)
    picked = [r for r in reversed(runs) if status is None or r.status == status][offset : offset + limit]
    out = [run_records.record(snapshot, r, runs) for r in picked]
    if select:
        out = [{k: v for k, v in r.items() if k in select} for r in out]
    return out


@router.get("/threads/{thread_id}/runs/{run_id}", tags=["runs"])
async def get_run(request: Request, thread_id: str, run_id: str) -> dict[str, Any]:
    snapshot, runs = await thread_runs(request, thread_id)
    found = run_records.find(runs, run_id)
    if found is None:
        raise no_such_run(thread_id, run_id)
    return run_records.record(snapshot, found, runs)


@router.get("/threads/{thread_id}/runs/{run_id}/join", tags=["runs"])
async def join_run(request: Request, thread_id: str, run_id: str, cancel_on_disconnect: bool = False) -> Any:
    """Wait until the thread pauses or ends after the run; its values then, as `runs/wait` returns them.

    An answer enqueued on a busy thread is a run from when the run applies it, at its next pause: an id
    not found while the thread runs is looked for again then. An unknown run is reported in the body
    with status 200, as LangGraph Server does (`__error__`). With `cancel_on_disconnect` (refused for a
    view-only caller: 403), a client that goes away before the run pauses or ends cancels it, as the
    caller, as a run's stream with `on_disconnect: cancel` does (hitl/web/disconnect.py); being a write, it is
    refused from another origin's page. A join holds a long poll while the run runs, so it takes one of the
    caller's stream slots (429 past `--max-streams`), as a stream does: a script joining in a loop cannot hold
    polls without bound."""
    if cancel_on_disconnect:
        disconnect.refuse_from_elsewhere(request)
    run = reader(request).web.base.get_run(thread_id)
    owner = await run_to_change(request, thread_id) if cancel_on_disconnect else None
    held = web(request).streams.take(caller(request).name)
    try:
        snapshot, runs = await thread_runs(request, thread_id)
        if run_records.find(runs, run_id) is None and snapshot.status == "running":
            if await until_settled(request, run.wait(), owner) is None:
                return client_gone()
            snapshot, runs = await thread_runs(request, thread_id)
        if run_records.find(runs, run_id) is None:
            return {"__error__": {"error": "RunNotFound", "message": str(no_such_run(thread_id, run_id).detail)}}
        settled = await until_settled(request, run.wait(), owner)
        return client_gone() if settled is None else shapes.wait_output(settled)
    finally:
        held.release()


def client_gone() -> Response:
    """The answer to a client that went away (nginx's "client closed request"): nobody reads it."""
    return Response(status_code=499)


async def until_settled(
    request: Request, settling: Coroutine[Any, Any, StateSnapshot], owner: hitl.Run | None
) -> StateSnapshot | None:
    """The state `settling` gives (the run's once it paused or ended). With `owner` (the run as the caller may
    change it), a client gone first cancels it instead: None."""
    if owner is None:
        return await settling
    waiting, gone = asyncio.ensure_future(settling), asyncio.ensure_future(disconnect.until_gone(request))
    try:
        done, _ = await asyncio.wait({waiting, gone}, return_when=asyncio.FIRST_COMPLETED)
        if waiting in done:
            return waiting.result()
        disconnect.cancel_later(owner)
        return None
    finally:
        for task in (waiting, gone):
            task.cancel()
        await asyncio.gather(waiting, gone, return_exceptions=True)


@router.post("/threads/{thread_id}/runs/{run_id}/cancel", tags=["runs"])
async def cancel_run(
    request: Request,
    thread_id: str,
    run_id: str,
    wait: bool = False,
    action: Literal["interrupt", "rollback"] = "interrupt",
) -> Response:
    """Cancel the thread's running run, as the caller: the hitl run ends where it is (`action=interrupt`).

    202 at once, or with `wait` 200 once it ended. A run that is not running (it finished, or no run has
    the id) is 404, as LangGraph Server has it. `action=rollback` is refused: Temporal's history keeps
    every step, so a run cannot be deleted with its checkpoints."""
    if action == "rollback":
        raise InvalidInputError(
            "action 'rollback' is not supported: a run's steps stay in its Temporal history; "
            "cancel with action 'interrupt' (the run ends where it is), or fork an earlier step"
        )
    run = await run_to_change(request, thread_id)
    _, runs = await thread_runs(request, thread_id)
    found = run_records.find(runs, run_id)
    if found is None or found.status not in ("pending", "running"):
        raise WebError(
            404,
            f"thread '{thread_id}' has no pending or running run '{run_id}' to cancel (it finished, or no run has that id)",
        )
    await run.cancel(f"run {run_id} cancelled through the API")
    if not wait:
        return Response(status_code=202)
    await run.wait()
    return JSONResponse({})


@router.delete("/threads/{thread_id}/runs/{run_id}", tags=["runs"])
async def delete_run(request: Request, thread_id: str, run_id: str) -> Response:
    """Refused for a run that exists (404 for one that does not): a run's steps are its thread's Temporal
    history, which keeps them, and the thread's state is what they made."""
    await run_to_change(request, thread_id)
    _, runs = await thread_runs(request, thread_id)
    if run_records.find(runs, run_id) is None:
        raise no_such_run(thread_id, run_id)
    raise InvalidInputError(
        f"run '{run_id}' cannot be deleted: its steps are thread '{thread_id}''s Temporal history, which keeps "
        "them (retention is the namespace's setting); to go on from an earlier step, fork it"
    )
