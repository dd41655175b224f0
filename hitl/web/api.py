"""The JSON API, shaped like LangGraph Server's human-in-the-loop subset.

thread = run, assistant = graph. Reads use the shared client within the caller's
read scope (`scope.reader`: a run they may not read is an unknown id); every write
goes through `scope.writer`, a client acting as the authenticated caller (refused
for a view-only credential), so the run's history records who decided and
`interrupt(..., reviewers=...)` is enforced.
Errors are not handled here: hitl's exceptions reach `errors.install`'s handlers.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Literal, overload

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

import hitl
from hitl._audit import record
from hitl._turns import next_turn
from hitl.client import NO_VALUE
from hitl.types import DecisionRejectedError, InvalidInputError, RunAlreadyExistsError, RunNotFoundError, StateSnapshot
from hitl.web import claims, history, shapes, threads
from hitl.web.context import caller, decider
from hitl.web.errors import WebError
from hitl.web.models import (
    AssistantSearch,
    BatchResume,
    ClaimBody,
    CommandBody,
    HistoryRequest,
    RunCreate,
    StateUpdate,
)
from hitl.web.scope import Reader, answer_many, reader, run_to_change

router = APIRouter(dependencies=[Depends(caller)])
public = APIRouter()
READ_CONCURRENCY = 16


@public.get("/ok", tags=["meta"])
async def ok() -> dict[str, bool]:
    """Health check (no auth, no Temporal call)."""
    return {"ok": True}


# ------------------------------------------------------------------ assistants = graphs


@router.post("/assistants/search", tags=["assistants"])
async def search_assistants(request: Request, body: AssistantSearch | None = None) -> list[dict[str, Any]]:
    body = body or AssistantSearch()
    names = sorted(reader(request).served)
    wanted = body.graph_id or body.name
    if wanted:
        names = [n for n in names if n == wanted]
    names = names[::-1] if body.sort_order == "desc" else names
    return [assistant(request, n) for n in names[body.offset : body.offset + body.limit]]


@router.get("/assistants", tags=["assistants"])
async def list_assistants(request: Request, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    return [assistant(request, n) for n in sorted(reader(request).served)[offset : offset + limit]]


@router.get("/assistants/{assistant_id}", tags=["assistants"])
async def get_assistant(request: Request, assistant_id: str) -> dict[str, Any]:
    reader(request).graph(assistant_id)  # UnknownGraphError (422) names the graphs the caller may read
    return assistant(request, assistant_id)


def assistant(request: Request, name: str) -> dict[str, Any]:
    graph = reader(request).graph(name)
    return shapes.assistant(name, f"hitl graph {name}: nodes {', '.join(graph.nodes)}")


# ------------------------------------------------------------------ threads = runs


@router.get("/threads/{thread_id}/state", tags=["threads"])
async def get_state(request: Request, thread_id: str, subgraphs: bool = False) -> dict[str, Any]:
    if subgraphs:
        raise InvalidInputError(
            "subgraphs=true is not supported: a subgraph runs as its own run (thread); read it by its id"
        )
    scope = reader(request)
    _, snapshot = await threads.visible(scope, thread_id)
    if snapshot is None:
        return shapes.fresh_state(thread_id)
    checkpoints = await scope.web.base.get_run(thread_id).get_state_history()
    return shapes.state(snapshot, history.parent_of(snapshot.step, checkpoints))


@router.get("/threads/{thread_id}/state/{checkpoint_id}", tags=["threads"])
async def get_state_at(request: Request, thread_id: str, checkpoint_id: str) -> dict[str, Any]:
    for entry in await thread_history(reader(request), thread_id):
        if entry["checkpoint_id"] == checkpoint_id:
            return entry
    raise WebError(
        404, f"thread '{thread_id}' has no checkpoint '{checkpoint_id}'; checkpoint ids are its step numbers"
    )


@router.post("/threads/{thread_id}/state", tags=["threads"])
async def update_state(request: Request, thread_id: str, body: StateUpdate) -> dict[str, Any]:
    """Edit a paused thread's state as if `as_node` wrote it (LangGraph's update_state)."""
    run = await run_to_change(request, thread_id)
    snapshot = await run.update_state(body.values or {}, as_node=body.as_node)
    if snapshot.status == "interrupted" and snapshot.error:  # its node failed on the edit, which was put back
        raise DecisionRejectedError(f"thread '{thread_id}' put the edit back: {snapshot.error}")
    return shapes.state_update(thread_id, snapshot.step)


@router.post("/threads/{thread_id}/history", tags=["threads"])
async def get_history(request: Request, thread_id: str, body: HistoryRequest | None = None) -> list[dict[str, Any]]:
    body = body or HistoryRequest()
    before = body.before_step
    entries = await thread_history(reader(request), thread_id)
    return [e for e in entries if before is None or e["metadata"]["step"] < before][: body.limit]


async def thread_history(scope: Reader, thread_id: str) -> list[dict[str, Any]]:
    """The thread's history entries, newest first (hitl/web/history.py); [] before its first run."""
    _, snapshot = await threads.visible(scope, thread_id)
    if snapshot is None:
        return []
    checkpoints = await scope.web.base.get_run(thread_id).get_state_history()
    return history.entries(snapshot, scope.web.graphs.get(snapshot.graph), checkpoints)


@router.post("/threads/{thread_id}/claim", tags=["threads"])
async def claim(request: Request, thread_id: str, body: ClaimBody) -> dict[str, Any]:
    """Claim, release or delegate a pending question as the caller; returns the questions with who holds them."""
    run = await run_to_change(request, thread_id)
    if body.action == "delegate":
        await claims.check_delegation(request, thread_id, body.to)
    snapshot = await claims.apply(run, body.action, body.interrupt_id, body.to, timedelta(seconds=body.ttl_seconds))
    return {"interrupts": [shapes.interrupt(i) for i in snapshot.interrupts]}


@router.get("/threads/{thread_id}/audit", tags=["threads"])
async def audit(request: Request, thread_id: str) -> dict[str, Any]:
    """The run's tamper-evident decision chain, oldest first, checked (`broken` names the first bad record)."""
    scope = reader(request)
    await scope.state(thread_id)
    trail = await scope.web.base.get_run(thread_id).audit()
    verdict = trail.verify()
    return {
        "records": [record(d) for d in trail.records],
        "head": trail.head,
        "verified": verdict.broken is None,
        "broken": verdict.broken,
    }


# ------------------------------------------------------------------ runs = decisions


@router.post("/threads/{thread_id}/runs/wait", tags=["runs"])
async def run_wait(
    request: Request, thread_id: str, body: RunCreate, idempotency_key: str | None = Header(None)
) -> dict[str, Any]:
    """Start the thread's run or answer it, then wait until it pauses again or ends.

    Returns the values; `__interrupt__` lists the questions when it paused on one.
    """
    snapshot = await start_or_decide(
        decider(request), reader(request), thread_id, body, wait=True, request_id=idempotency_key
    )
    return shapes.wait_output(snapshot)


@router.post("/threads/{thread_id}/runs", tags=["runs"])
async def run_background(
    request: Request, thread_id: str, body: RunCreate, idempotency_key: str | None = Header(None)
) -> JSONResponse:
    """Start the thread's run or answer it, and return at once (follow it on /threads/{id}/stream)."""
    await start_or_decide(decider(request), reader(request), thread_id, body, wait=False, request_id=idempotency_key)
    record = shapes.run(thread_id, body.assistant_id, "pending")  # as LangGraph Server: accepted, not yet reported
    return JSONResponse(record, headers=shapes.run_location(record))


@router.post("/runs/wait", tags=["runs"])
async def threadless_wait(
    request: Request, body: RunCreate, idempotency_key: str | None = Header(None)
) -> dict[str, Any]:
    """Start a run on a fresh thread and wait until it pauses or ends (LangGraph's stateless runs)."""
    return await run_wait(request, str(uuid.uuid4()), body, idempotency_key)


@router.post("/runs", tags=["runs"])
async def threadless_background(
    request: Request, body: RunCreate, idempotency_key: str | None = Header(None)
) -> JSONResponse:
    """Start a run on a fresh thread and return at once; the record names the thread."""
    if body.command is not None:
        raise InvalidInputError(
            "a run without a thread can only start: send input, or answer a thread's run at /threads/{id}/runs"
        )
    return await run_background(request, str(uuid.uuid4()), body, idempotency_key)


@overload
async def start_or_decide(
    client: hitl.Client, scope: Reader, thread_id: str, body: RunCreate, *, wait: Literal[True], request_id: str | None
) -> StateSnapshot: ...


@overload
async def start_or_decide(
    client: hitl.Client, scope: Reader, thread_id: str, body: RunCreate, *, wait: Literal[False], request_id: str | None
) -> None: ...


async def start_or_decide(
    client: hitl.Client, scope: Reader, thread_id: str, body: RunCreate, *, wait: bool, request_id: str | None
) -> StateSnapshot | None:
    """A fresh thread starts its run; an existing one takes the command (or continues a breakpoint).

    With `wait`, the run's state once it pauses or ends. Without, nothing: it returns once Temporal took
    the start (or the run accepted the decision), reading no state, since a read is a query that needs a
    worker, and a background start whose only worker just died must answer at once, not when one returns.
    The run's graph is `body.assistant_id` either way (a thread's run of another graph is refused).

    A run the caller may not read is a fresh thread to them, and a graph they may not read one
    they cannot start (whoever may read a graph may start it)."""
    run = client.get_run(thread_id)
    found = await threads.find(client.temporal, thread_id)
    record = found if found is not None and found.record and found.readable_by(scope) else None
    current = None if found is None or found.record else await scope.snapshot_or_none(thread_id)
    if current is None:
        if body.command is not None:
            raise RunNotFoundError(f"thread '{thread_id}' has no run to take a command; start one with input")
        if body.if_not_exists == "reject" and record is None:
            raise RunNotFoundError(f"thread '{thread_id}' does not exist and if_not_exists is 'reject'")
        scope.graph(body.assistant_id)
        if record is not None and record.graph not in (None, body.assistant_id):
            raise InvalidInputError(f"thread '{thread_id}' is for graph '{record.graph}', not '{body.assistant_id}'")
        run = await client.start(
            body.assistant_id,
            body.input or {},
            run_id=thread_id,
            interrupt_before=body.interrupt_before,
            interrupt_after=body.interrupt_after,
            thread=record.thread if record is not None else None,
        )
        return await run.wait() if wait else None
    if body.assistant_id != current.graph:
        raise InvalidInputError(f"thread '{thread_id}' runs graph '{current.graph}', not '{body.assistant_id}'")
    if body.input is not None and body.command is None and current.status == "completed":
        turn = await next_turn(
            client,
            thread_id,
            body.input,
            interrupt_before=body.interrupt_before,
            interrupt_after=body.interrupt_after,
            thread=found.thread if found is not None else None,
        )
        return await turn.wait() if wait else None
    if body.input is not None or body.interrupt_before is not None or body.interrupt_after is not None:
        raise RunAlreadyExistsError(
            f"thread '{thread_id}' already has a run ({shapes.STATUS[current.status]}); answer it with command, "
            "or start a new thread"
        )
    command = body.command or CommandBody()
    # `resume` goes as it came: the run reads `{interrupt_id: value}` as a map (workflows/checks.py answer_map).
    value = command.resume if command.has_resume else NO_VALUE
    decided = await run.resume(value, update=command.update, goto=command.goto, wait=wait, request_id=request_id)
    return decided if wait else None


# ------------------------------------------------------------------ batch answers (hitl's own)


@router.post("/hitl/batch/resume", tags=["batch"])
async def batch_resume(
    request: Request, body: BatchResume, idempotency_key: str | None = Header(None)
) -> dict[str, Any]:
    """Answer many waiting runs with one value, as the caller; a report per run.

    Each run checks the answer itself (schema, reviewers, already answered) and
    applies it once. Always 200 with `results` (`applied`, `already_applied`,
    `refused` with the run's reason, `unreachable`, or `would_apply` for a dry
    run) and `ok` when every run has the answer; a batch whose input does not
    fit is 422 and sends nothing. `batch_id` (or the `Idempotency-Key` header)
    resent after a timeout applies nothing twice.
    """
    report = await answer_many(
        request,
        body.run_ids,
        body.value,
        graph=body.graph,
        node=body.node,
        question=body.question,
        batch_id=body.batch_id or idempotency_key,
        concurrency=body.concurrency,
        dry_run=body.dry_run,
    )
    return shapes.batch(report)


# ------------------------------------------------------------------ helpers
