"""Batch answers: one decision sent to many waiting runs (`client.resume_many`).

Each run still validates its own decision (schema, reviewers, already answered)
and applies it exactly once: the decision is pinned to the question the batch
saw (`map={interrupt_id: value}`) and carries a request id derived from the
batch id and the run, so sending the same batch again after a crash, a timeout
or a double click applies nothing twice (the report says "already applied").
A batch id is its first user's: another identity sending the same id is refused
on each run the first one answered with it (naming who), never told "already
applied" for a decision it did not make; the run itself refuses such a reused
request id too (its digest covers who decides: workflows/checks.py).
One run refusing, or not being reachable, never stops the others: the result
is a per-run report, never an exception halfway through.

Runs may be pinned (`{run_id: interrupt_id}`): each is answered at exactly that
question or refused, never at whatever it asks by the time the batch arrives. A
dry run asks each run's snapshot what the run itself would: the same per-answer
rules the workflow checks (`hitl.protocol.policy.answer_refused`), so `would_apply` means
the run's checks pass as it stands.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, Protocol

import temporalio.client

from hitl._text import searchable
from hitl.client.listing import WAITING, graph_in, list_runs
from hitl.protocol.limits import MAX_DECISION_BYTES, clip, shorten, too_deep, too_large
from hitl.protocol.policy import answer_refused, answers_over_state, decider_refused
from hitl.protocol.wire import GRAPH, NO_VALUE, PENDING_NODES, ResumeRequest
from hitl.types import (
    DecisionRejectedError,
    HitlError,
    Interrupt,
    InvalidInputError,
    RunNotFoundError,
    StateSnapshot,
)


class Run(Protocol):
    """What a batch needs of one run (hitl.client.client.Run has it): named here, so this module imports
    nothing from the client it serves (`Client.resume_many` calls in)."""

    @property
    def run_id(self) -> str: ...
    async def resume(self, *, map: dict[str, Any] | None, request_id: str | None, wait: bool) -> Any: ...
    async def indexed_graph(self) -> str | None: ...
    def not_found(self) -> RunNotFoundError: ...
    async def check_reachable(self) -> None: ...
    async def get_state(self) -> StateSnapshot: ...
    async def starter(self) -> str: ...
    async def _resume_request(
        self,
        value: Any,
        map: dict[str, Any] | None,
        update: dict[str, Any] | None,
        goto: str | list[str] | None,
        wait: bool,
        identity: str | None,
        roles: Sequence[str] | None,
        request_id: str | None,
    ) -> ResumeRequest: ...


class Client(Protocol):
    """What a batch needs of the client (hitl.client.client.Client has it)."""

    @property
    def identity(self) -> str: ...
    @property
    def roles(self) -> list[str]: ...
    @property
    def temporal(self) -> temporalio.client.Client: ...
    def as_caller(self, identity: str | None = None, roles: Sequence[str] | None = None) -> Client: ...
    async def search_attributes_registered(self) -> bool: ...
    async def pending(self, limit: int | None = None) -> Any: ...
    def get_run(self, run_id: str) -> Run: ...


Outcome = Literal["applied", "already_applied", "refused", "unreachable", "would_apply"]
DONE: tuple[Outcome, ...] = ("applied", "already_applied")
DEFAULT_CONCURRENCY = 8
"""Runs answered at once: enough to keep a batch of thousands moving, few enough not to flood a worker."""
MAX_CONCURRENCY = 64
MAX_BATCH_ID = 64


@dataclass
class Waiting:
    """Which waiting runs a batch answers: by graph, by the node asking, by words of the question.

    `graph` and `node` are found server-side (visibility store); `question` is
    matched on each run's pending question (a substring of its JSON)."""

    graph: str | None = None
    node: str | None = None
    question: str | None = None
    graphs: tuple[str, ...] | None = None
    """Only runs of these graphs (those the caller may read, in `hitl serve`); None: any graph."""

    def query(self) -> str:
        parts = [WAITING]
        if self.graph:
            parts.append(f'{GRAPH.name} = "{searchable(self.graph, "graph")}"')
        if self.graphs is not None:
            parts.append(graph_in(self.graphs))
        if self.node:
            parts.append(f'{PENDING_NODES.name} = "{searchable(self.node, "node")}"')
        return " AND ".join(parts)


@dataclass
class BatchResult:
    """What happened to one run of a batch. `reason` is the run's one-line refusal, or why it was not reached."""

    run_id: str
    outcome: Outcome
    reason: str = ""
    interrupt_id: str | None = None
    request_id: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in DONE or self.outcome == "would_apply"


@dataclass
class BatchReport:
    """The per-run report of `resume_many`. `ok` when every run has the decision (now or before)."""

    batch_id: str
    results: list[BatchResult] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def counts(self) -> dict[str, int]:
        """How many runs had each outcome, in a fixed order (done first), outcomes seen only."""
        order: tuple[Outcome, ...] = ("applied", "already_applied", "would_apply", "refused", "unreachable")
        return {k: n for k in order if (n := sum(r.outcome == k for r in self.results))}


Progress = Callable[[BatchResult, int, int], None]
"""Called after each run with its result, how many are done, and how many there are."""


def request_id_for(batch_id: str, run_id: str) -> str:
    """The request id of a batch's decision on one run: the same batch and run, the same id.

    One decision per run and batch (not per question): a run that asked again
    after the batch answered it is not answered a second time by a resent batch."""
    return f"batch-{batch_id}-{hashlib.sha256(run_id.encode()).hexdigest()[:16]}"


def check_batch_id(batch_id: str | None) -> str:
    if batch_id is None:
        return uuid.uuid4().hex[:16]
    if not batch_id or len(batch_id) > MAX_BATCH_ID or not all(c.isalnum() or c in "-_." for c in batch_id):
        raise InvalidInputError(
            f"batch id {batch_id!r} is not accepted; use 1 to {MAX_BATCH_ID} letters, digits, '-', '_' or '.'"
        )
    return batch_id


Pins = Mapping[str, str]
"""Runs pinned to the question each was shown: run id to interrupt id."""


async def resume_many(
    client: Client,
    runs: Sequence[str | Run] | Pins | Waiting | None,
    value: Any,
    *,
    identity: str | None = None,
    roles: Sequence[str] | None = None,
    graph: str | None = None,
    node: str | None = None,
    question: str | None = None,
    batch_id: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    dry_run: bool = False,
    on_result: Progress | None = None,
    readable: Callable[[str], bool] | None = None,
) -> BatchReport:
    """Answer the question each run waits on with `value`, exactly once per run; see `Client.resume_many`.
    Pinned runs (`{run_id: interrupt_id}`) are answered at that question only.

    `readable(graph)` (`hitl serve`'s read rule): a run of a graph it refuses is answered nothing and
    reported exactly as an id no run has."""
    batch_id = check_batch_id(batch_id)
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InvalidInputError(f"concurrency must be from 1 to {MAX_CONCURRENCY}; got {concurrency}")
    refused = too_deep(value, "the batch's answer") or too_large(value, MAX_DECISION_BYTES, "the batch's answer")
    if refused:
        raise InvalidInputError(refused)
    wanted = runs if isinstance(runs, Waiting) else Waiting()
    wanted = Waiting(graph or wanted.graph, node or wanted.node, question or wanted.question, wanted.graphs)
    if runs is None or isinstance(runs, Waiting):
        if not (wanted.graph or wanted.node or wanted.question):
            raise InvalidInputError(
                "a batch over waiting runs needs a filter (graph, node or question: --graph, --node, --question), "
                "so one answer never reaches every question of every graph by accident; or name the runs"
            )
        ids = await waiting_runs(client, wanted)
    elif isinstance(runs, Mapping):
        ids = list(runs)
    elif isinstance(runs, str):
        raise InvalidInputError("runs must be a list of run ids (or runs), or a Waiting filter; got one string")
    else:
        ids = list(dict.fromkeys(r if isinstance(r, str) else r.run_id for r in runs))
    decider = client.as_caller(identity, roles)
    report = BatchReport(batch_id, dry_run=dry_run)
    gate = asyncio.Semaphore(concurrency)
    done = 0

    selecting = runs is None or isinstance(runs, Waiting)
    pins = runs if isinstance(runs, Mapping) else {}

    async def one(run_id: str) -> BatchResult | None:
        nonlocal done
        async with gate:
            result = await answer_one(
                decider,
                run_id,
                value,
                wanted,
                batch_id,
                dry_run,
                selecting=selecting,
                readable=readable,
                pinned=pins.get(run_id),
            )
        done += 1
        if on_result is not None and result is not None:
            on_result(result, done, len(ids))
        return result

    report.results = [r for r in await asyncio.gather(*(one(r) for r in ids)) if r is not None]
    return report


async def waiting_runs(client: Client, wanted: Waiting) -> list[str]:
    """The ids of the runs waiting for a person that match `wanted`, oldest first: graph and
    node server-side, the question's words on the summary each run publishes of its questions."""
    if not await client.search_attributes_registered():
        await client.pending(limit=1)  # raises the one line naming the commands that register them
    found = []
    async for row in list_runs(client.temporal, wanted.query()):
        if wanted.question and wanted.question not in row.pending.summary:
            continue
        found.append((row.created_at.timestamp() if row.created_at else 0.0, row.pending.run_id))
    return [run_id for _, run_id in sorted(found)]


async def answer_one(
    client: Client,
    run_id: str,
    value: Any,
    wanted: Waiting,
    batch_id: str,
    dry_run: bool,
    *,
    selecting: bool = False,
    readable: Callable[[str], bool] | None = None,
    pinned: str | None = None,
    snapshot: StateSnapshot | None = None,
) -> BatchResult | None:
    """One run of a batch, never raising: the run's own checks decide, its refusal is the reason.

    When `selecting` (a filter chose the runs), a run whose question does not contain
    the filter's `question` words is not part of the batch: None. `pinned`: the only
    question of the run the batch may answer. `snapshot`: the run's state as the caller
    already read it (under its read rule), not read again."""
    request_id = request_id_for(batch_id, run_id)
    result = BatchResult(run_id, "refused", request_id=request_id)
    try:
        run = client.get_run(run_id)
        if snapshot is None:
            snapshot = await readable_state(run, readable)
        earlier = next((d for d in snapshot.decisions if d.request_id == request_id), None)
        put_back = next((d for d in snapshot.decisions if d.request_id == request_id and d.kind == "rollback"), None)
        if earlier is not None and earlier.identity != client.identity:  # the id is its first user's, not ours
            result.interrupt_id = earlier.interrupt_id
            result.reason = (
                f"batch id {batch_id} was used on this run by {earlier.identity} "
                f"(at {earlier.at:%Y-%m-%d %H:%M:%S} UTC), not by {client.identity}; nothing was sent: "
                "a batch id belongs to whoever used it first, so answer with a new batch id"
            )
            return result
        if earlier is not None and put_back is not None:  # its id stays used: a resend would be taken as done
            result.interrupt_id = put_back.interrupt_id
            error = put_back.value.get("error") if isinstance(put_back.value, dict) else None
            result.reason = (
                f"batch {batch_id}'s answer to this run was rolled back ({shorten(str(error), 200)}); "
                "its question is pending again: answer it with a new batch id"
            )
            return result
        if earlier is not None:
            result.interrupt_id = earlier.interrupt_id
            if earlier.value != clip(value):  # the run records answers clipped, as here
                result.reason = (
                    f"batch {batch_id} already answered this run with another value "
                    f"({json.dumps(earlier.value, default=str)[:80]}); use a new batch id"
                )
                return result
            result.outcome = "already_applied"
            result.reason = f"applied by {earlier.identity} at {earlier.at:%Y-%m-%d %H:%M:%S} (batch {batch_id})"
            return result
        if selecting and wanted.question and not any(mentions(i, wanted.question) for i in snapshot.interrupts):
            return None
        target, why = pinned_question(snapshot, pinned) if pinned is not None else pick_question(snapshot, wanted)
        if target is None:
            result.reason = why
            return result
        result.interrupt_id = target.id
        if dry_run:
            refused = await dry_run_refusal(client, run, snapshot, target, value, request_id)
            result.outcome = "refused" if refused else "would_apply"
            result.reason = refused or f"would answer {target.node} [{target.id}]; {checks_of(target, client)}"
            return result
        await run.resume(map={target.id: value}, request_id=request_id, wait=False)
        result.outcome = "applied"
    except Exception as e:  # a batch reports every run; one surprise must not lose the others' results
        result.outcome, result.reason = failure(run_id, e)
    return result


def failure(run_id: str, error: Exception) -> tuple[Outcome, str]:
    """What one run's error means for a batch: the run refused (or has no such run, or the input does not
    fit it), else it was not reached (no worker, Temporal, anything unforeseen)."""
    if isinstance(error, DecisionRejectedError | RunNotFoundError | InvalidInputError):
        return "refused", str(error)
    if isinstance(error, HitlError):
        return "unreachable", str(error)
    return "unreachable", f"run '{run_id}': {type(error).__name__}: {error}"


async def readable_state(run: Run, readable: Callable[[str], bool] | None) -> StateSnapshot:
    """The run's state, or the unknown-id error when `readable` refuses its graph (checked on the indexed
    graph first: before anything that tells a run from no run, its worker being down, say)."""
    if readable is not None:
        graph = await run.indexed_graph()
        if graph is not None and not readable(graph):
            raise run.not_found()
    await run.check_reachable()
    snapshot = await run.get_state()
    if readable is not None and not readable(snapshot.graph):
        raise run.not_found()
    return snapshot


async def dry_run_refusal(
    client: Client, run: Run, snapshot: StateSnapshot, target: Interrupt, value: Any, request_id: str
) -> str | None:
    """Why the run would refuse this answer as it stands (None when its checks pass): the decision as
    `resume` would build it (JSON, depth, size), who sends it, and the per-answer rules the workflow
    applies (reviewers, schema, quorum votes, claims, the state's room): the very functions, on the snapshot.
    A quorum that bars its starter asks the run who that is (one query, for such questions only)."""
    try:
        await run._resume_request(NO_VALUE, {target.id: value}, None, None, False, None, None, request_id)
    except InvalidInputError as e:
        return str(e)
    starter = ""
    if target.quorum is not None and not target.quorum.requester_may_approve:
        starter = await run.starter()
    why = (
        decider_refused(client.identity, client.roles, None, request_id)
        or answers_over_state(snapshot.values, [(target, value)])
        or answer_refused(target, value, client.identity, client.roles, starter=starter, now=datetime.now(timezone.utc))
    )
    return f"run '{run.run_id}' would refuse the decision: {why}" if why else None


def checks_of(question: Interrupt, client: Client) -> str:
    """How the run checks the answer, in words (a dry run's preview)."""
    parts = [
        f"{client.identity} is on its reviewers {question.reviewers}" if question.reviewers else "anyone may answer"
    ]
    if question.schema is not None:
        parts.append("the answer fits its schema")
    if question.quorum is not None:
        parts.append(f"a vote ({len(question.votes) + 1} of the {question.quorum.n} it needs)")
    if question.claimed_by:
        parts.append(f"claimed by {question.claimed_by}")
    return "checks passed: " + "; ".join(parts)


def pinned_question(snapshot: StateSnapshot, interrupt_id: str) -> tuple[Interrupt | None, str]:
    """The question the batch was pinned to on this run, or why it no longer waits (never another one)."""
    found = next((i for i in snapshot.interrupts if i.id == interrupt_id), None)
    if found is not None:
        return found, ""
    asking = ", ".join(f"{i.node} [{i.id}]" for i in snapshot.interrupts) or f"nothing (it is {snapshot.status})"
    return None, (
        f"run '{snapshot.run_id}' no longer waits on question {interrupt_id}, the one the batch was shown "
        f"(it asks {asking}); nothing was sent: answer it on its own page"
    )


def pick_question(snapshot: StateSnapshot, wanted: Waiting) -> tuple[Interrupt | None, str]:
    """The one question of this run the batch answers, or why there is none."""
    where = f"run '{snapshot.run_id}'"
    if wanted.graph and snapshot.graph != wanted.graph:
        return None, f"{where} runs graph '{snapshot.graph}', not '{wanted.graph}'"
    if snapshot.status != "interrupted":
        return None, f"{where} is {snapshot.status}: nothing waits for an answer (it moved on)"
    if not snapshot.interrupts:
        return None, f"{where} is paused at a breakpoint, not on a question; continue it on its own"
    matching = [
        i
        for i in snapshot.interrupts
        if (not wanted.node or i.node == wanted.node) and (not wanted.question or mentions(i, wanted.question))
    ]
    if not matching:
        asking = ", ".join(f"{i.node} [{i.id}]" for i in snapshot.interrupts)
        return None, f"{where} has no question matching the batch (node {wanted.node or 'any'}); it asks {asking}"
    if len(matching) > 1:
        ids = ", ".join(f"{i.node} [{i.id}]" for i in matching)
        return None, (
            f"{where} has {len(matching)} matching questions ({ids}); a batch answers one per run: "
            "narrow it with a node, or answer this run with --map"
        )
    return matching[0], ""


def mentions(question: Interrupt, words: str) -> bool:
    return words in json.dumps(question.value, default=str, ensure_ascii=False)
