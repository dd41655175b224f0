"""The JSON API, shaped like LangGraph Server's human-in-the-loop subset.

thread = run, assistant = graph. Reads use the shared client within the caller's
read scope (`scope.reader`: a run they may not read is an unknown id); every write
goes through `scope.writer`, a client acting as the authenticated caller (refused
for a view-only credential), so the run's history records who decided and
`interrupt(..., reviewers=...)` is enforced.
Errors are not handled here: hitl's exceptions reach `errors.install`'s handlers.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response

import hitl
from hitl.client.client import POLL_SECONDS
from hitl.client.turns import next_turn
from hitl.protocol.audit import record
from hitl.protocol.wire import NO_VALUE
from hitl.types import DecisionRejectedError, InvalidInputError, RunAlreadyExistsError, RunNotFoundError, StateSnapshot
from hitl.web import claims, graph_json, history, runs, shapes, threads
from hitl.web.bodies import (
    AssistantSearch,
    BatchResume,
    ClaimBody,
    CommandBody,
    HistoryRequest,
    RunCreate,
    StateUpdate,
)
from hitl.web.context import caller, decider, web
from hitl.web.errors import WebError
from hitl.web.run_records import decision_run_id, is_turn, start_run_id, turn_run_id
from hitl.web.scope import Reader, answer_many, drop, reader, run_to_change, start_reading

router = APIRouter(dependencies=[Depends(caller)])
public = APIRouter()
READ_CONCURRENCY = 16


@public.get("/ok", tags=["meta"])
async def ok() -> dict[str, bool]:
    """Health check (no auth, no Temporal call); the same as /livez."""
    return {"ok": True}


@public.get("/livez", tags=["meta"])
async def livez() -> dict[str, bool]:
    """Liveness: the process answers (no auth, no Temporal call). A failing probe means: restart it."""
    return {"ok": True}


@public.get("/readyz", tags=["meta"], response_model=None)
async def readyz(request: Request) -> dict[str, bool] | JSONResponse:
    """Readiness (no auth): 200 while Temporal answers its health check and the server is not draining;
    503 with the reason otherwise (after SIGTERM, for `hitl serve --drain` seconds), so a load balancer
    sends this copy no new requests."""
    why = await web(request).health.not_ready()
    return {"ok": True} if why is None else JSONResponse({"ok": False, "reason": why}, status_code=503)


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


@router.get("/assistants/{assistant_id}/graph", tags=["assistants"])
async def get_graph(request: Request, assistant_id: str, xray: str | None = None) -> dict[str, Any]:
    """The graph's nodes and edges as LangGraph draws them; `xray` draws subgraphs' nodes inside."""
    try:
        depth = graph_json.xray_depth(xray)
    except ValueError as e:
        raise InvalidInputError(str(e)) from None
    return graph_json.drawable(reader(request).graph(assistant_id), depth)


@router.get("/assistants/{assistant_id}/schemas", tags=["assistants"])
async def get_schemas(request: Request, assistant_id: str) -> dict[str, Any]:
    """The graph's input, output, state, config and context JSON Schemas, as LangGraph Server gives them."""
    return graph_json.schemas(reader(request).graph(assistant_id))


@router.get("/info", tags=["meta"])
async def info() -> dict[str, Any]:
    """What this server is and serves, in LangGraph Server's shape (front-ends read `flags`)."""
    return shapes.info()


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
    """Edit a paused thread's state as if `as_node` wrote it (LangGraph's update_state); as `__end__`, with
    or without values, the run ends there (Agent Inbox's "Mark as Resolved")."""
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
) -> Response:
    """Start the thread's run or answer it, then wait until it pauses again or ends.

    Returns the values; `__interrupt__` lists the questions when it paused on one. `Content-Location`
    names the run (GET /threads/{id}/runs/{run_id}), as LangGraph Server sends it. With `on_disconnect:
    cancel`, a client that goes away before the run pauses or ends cancels it, as a run's stream does
    (hitl/web/disconnect.py): the request takes effect first, whole, then the wait is the one raced.
    """
    client = decider(request)
    if body.on_disconnect != "cancel":
        created = await start_or_decide(client, reader(request), thread_id, body, wait=True, request_id=idempotency_key)
        snapshot = created.snapshot
    else:
        created = await start_or_decide(
            client, reader(request), thread_id, body, wait=False, request_id=idempotency_key
        )
        run = client.get_run(thread_id)
        settled = await runs.until_settled(request, created.settled(run), run)
        if settled is None:
            return runs.client_gone()
        snapshot = settled
    location = shapes.run_location({"thread_id": thread_id, "run_id": created.run_id})
    return JSONResponse(shapes.wait_output(snapshot), headers=location)


@router.post("/threads/{thread_id}/runs", tags=["runs"])
async def run_background(
    request: Request, thread_id: str, body: RunCreate, idempotency_key: str | None = Header(None)
) -> JSONResponse:
    """Start the thread's run or answer it, and return at once (follow it on /threads/{id}/stream)."""
    created = await start_or_decide(
        decider(request), reader(request), thread_id, body, wait=False, request_id=idempotency_key
    )
    record = shapes.run(  # as LangGraph Server: accepted, not yet reported
        thread_id,
        body.assistant_id,
        "pending",
        created.run_id,
        kwargs=created.kwargs,
        multitask_strategy=body.multitask_strategy,
    )
    return JSONResponse(record, headers=shapes.run_location(record))


@router.post("/runs/wait", tags=["runs"])
async def threadless_wait(request: Request, body: RunCreate, idempotency_key: str | None = Header(None)) -> Response:
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


@dataclass(frozen=True)
class Created:
    """A run request taken: the LangGraph run it made (hitl/web/run_records.py) and, when waited for,
    the thread's state once it paused or ended."""

    run_id: str
    kwargs: dict[str, Any]
    waited: StateSnapshot | None = None
    turn: bool = False
    """The thread's next turn (hitl/client/turns.py)."""
    enqueued: bool = False
    """An answer sent to a busy thread to wait for its next pause (`multitask_strategy: enqueue`)."""

    def settled(self, run: hitl.Run) -> Coroutine[Any, Any, StateSnapshot]:
        """The thread's state once this request took effect and the run paused or ended (for one made
        without waiting): an enqueued answer is applied at the run's next pause, anything else already was."""
        return applied(run, self.run_id) if self.enqueued else run.wait()

    @property
    def snapshot(self) -> StateSnapshot:
        assert self.waited is not None, "only a waited-for run request has a state"
        return self.waited


async def start_or_decide(
    client: hitl.Client, scope: Reader, thread_id: str, body: RunCreate, *, wait: bool, request_id: str | None
) -> Created:
    """A fresh thread starts its run; an existing one takes the command (or continues a breakpoint).

    With `wait`, the run's state once it pauses or ends. Without, it returns once Temporal took
    the start (or the run accepted the decision), reading no state, since a read is a query that needs a
    worker, and a background start whose only worker just died must answer at once, not when one returns.
    The run's graph is `body.assistant_id` either way (a thread's run of another graph is refused).
    A decision goes under `request_id` (a fresh one when the caller sent none): it is the LangGraph run's id.

    A run the caller may not read is a fresh thread to them, and a graph they may not read one
    they cannot start (whoever may read a graph may start it)."""
    run = client.get_run(thread_id)
    reading = start_reading(scope.web.base.get_run(thread_id))  # alongside the describe: one round trip
    try:
        found = await threads.find(client.temporal, thread_id)
    except BaseException:
        drop(reading)
        raise
    record = found if found is not None and found.record and found.readable_by(scope) else None
    if found is not None and not found.record:  # the describe's queue: a decision needs no describe of its own
        run = hitl.Run(client, thread_id, task_queue=found.task_queue)
    if found is None or found.record:
        drop(reading)
        current = None
    else:
        current = await scope.snapshot_or_none(thread_id, found.graph, reading)
    if current is None:
        if body.command is not None:
            raise RunNotFoundError(f"thread '{thread_id}' has no run to take a command; start one with input")
        if body.if_not_exists == "reject" and record is None:
            raise RunNotFoundError(f"thread '{thread_id}' does not exist and if_not_exists is 'reject'")
        if body.checkpoint_step is not None:
            raise InvalidInputError(
                f"thread '{thread_id}' has no checkpoint yet; start it without one (to run from an older step "
                "of another thread, fork it: POST /ui/runs/{id}/fork or hitl fork)"
            )
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
            context=body.context,
        )
        kwargs = {"input": body.input or {}, "command": None}
        return Created(start_run_id(thread_id), kwargs, await run.wait() if wait else None)
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
            context=body.context,
        )
        # A next turn is a new LangGraph run on the thread: it begins at the step after the thread's newest.
        kwargs = {"input": body.input, "command": None}
        waited = await turn.wait() if wait else None
        return Created(turn_run_id(thread_id, current.step + 1), kwargs, waited, turn=True)
    if body.input is not None or body.interrupt_before is not None or body.interrupt_after is not None:
        raise RunAlreadyExistsError(
            f"thread '{thread_id}' already has a run ({shapes.STATUS[current.status]}); answer it with command, "
            "or start a new thread"
        )
    if body.context:
        raise InvalidInputError(
            f"thread '{thread_id}' already has a run, and its context is the one it started with; send context "
            "with the input that starts a run (or a thread's next turn)"
        )
    check_head(current, body.checkpoint_step)
    command = body.command or CommandBody()
    # `resume` goes as it came: the run reads `{interrupt_id: value}` as a map (workflows/checks.py answer_map).
    value = command.resume if command.has_resume else NO_VALUE
    request_id = request_id or str(uuid.uuid4())
    check_key(current, request_id)
    kwargs = {"input": None, "command": command.model_dump(exclude_unset=True)}
    if any(d.request_id == request_id for d in current.decisions):
        # The same request again (a retry, or two sent at once under one Idempotency-Key) after the run took
        # it and moved on: its answer, never a busy thread's 409 nor a second decision.
        return Created(request_id, kwargs, await applied(run, request_id) if wait else None)
    if current.status == "running":
        busy_thread(thread_id, body.multitask_strategy)
        async with HOLDING.setdefault(thread_id, asyncio.Lock()):
            check_held(await run.get_state())
            await run.send_resume(value, update=command.update, goto=command.goto, request_id=request_id)
        return Created(request_id, kwargs, await applied(run, request_id) if wait else None, enqueued=True)
    decided = await run.resume(value, update=command.update, goto=command.goto, wait=wait, request_id=request_id)
    return Created(request_id, kwargs, decided if wait else None)


def check_key(current: StateSnapshot, request_id: str) -> None:
    """An Idempotency-Key is the run's id (hitl/web/run_records.py): one already naming another of the thread's
    runs, the start's, a next turn's or a decision sent without a key (all read off the runs list), would merge this answer
    into that run's record. Refused before anything is sent; a key the thread's decisions were sent with
    is left to the run, which takes a resend of the same decision and refuses any other."""
    thread = current.run_id
    taken = {start_run_id(thread)} | {decision_run_id(thread, d) for d in current.decisions if not d.request_id}
    taken |= {turn_run_id(thread, d.step) for d in current.decisions if is_turn(thread, d)}
    if request_id in taken:
        raise InvalidInputError(
            f"Idempotency-Key '{request_id}' is already the id of another run of thread '{thread}' "
            "(GET /threads/{id}/runs lists them); send a fresh key, such as a new uuid"
        )


MAX_HELD = 10
"""Most answers a thread holds sent to wait for its next pause (`enqueue`): each is a signal in the run's history
whether the run applies or refuses it, so without a bound anyone who may answer could grow a busy run's history
to Temporal's limit (50 MB, where Temporal ends the run)."""
HOLDING: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
"""One enqueue at a time per thread in this process, so concurrent ones each see the others' held answers."""


def check_held(current: StateSnapshot) -> None:
    """Refuse an enqueued answer, before it is sent, to a thread already holding `MAX_HELD`."""
    if current.held >= MAX_HELD:
        raise DecisionRejectedError(
            f"thread '{current.run_id}' already holds {current.held} answers sent to wait for its next pause "
            f"(multitask_strategy 'enqueue'), the most it takes; answer once it pauses"
        )


def check_head(current: StateSnapshot, step: int | None) -> None:
    """A run request naming a checkpoint goes on only from the thread's head (what `useStream` sends);
    an older one is refused, naming the head, before anything is sent."""
    if step is not None and step != current.step:
        raise DecisionRejectedError(
            f"thread '{current.run_id}' is at checkpoint '{current.step}', not '{step}': a run goes on from "
            "the thread's newest checkpoint; read its state again (to run from an older step, fork it)"
        )


def busy_thread(thread_id: str, strategy: str | None) -> None:
    """A decision for a thread running a step. `enqueue` waits in the run until it pauses (a signal: the
    run checks it then, as any answer). hitl's default is `reject` (LangGraph Server's is `enqueue`): an
    answer sent while the run is busy would answer the next question before its sender saw it, so waiting
    is asked for by name. hitl cannot stop a node's activity halfway and go on, so `interrupt` and
    `rollback` are refused."""
    if strategy == "enqueue":
        return
    how = (
        f"multitask_strategy '{strategy}' would stop the running step, and hitl runs each node to its end"
        if strategy in ("interrupt", "rollback")
        else "multitask_strategy is 'reject' (hitl's default)"
    )
    raise DecisionRejectedError(
        f"thread '{thread_id}' is running a step and {how}; send multitask_strategy 'enqueue' to have the "
        "answer wait until the run pauses, or cancel the run (POST /threads/{id}/runs/{run_id}/cancel)"
    )


async def applied(run: hitl.Run, request_id: str) -> StateSnapshot:
    """The thread's state once an enqueued decision was applied and the run paused or ended; the run's
    reason when it refused the decision at its pause (409, as an answer refused up front)."""
    while True:
        snapshot = await run.get_state()
        refused = [r for r in snapshot.refused if r.request_id == request_id and not r.rolled_back]
        if refused:
            raise DecisionRejectedError(f"run '{run.run_id}' refused the enqueued answer: {refused[-1].reason}")
        if any(d.request_id == request_id for d in snapshot.decisions) or snapshot.status not in (
            "running",
            "interrupted",
        ):
            return await run.wait()
        await asyncio.sleep(POLL_SECONDS)


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
