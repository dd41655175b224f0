"""Is a human decision acceptable right now? Pure checks, one clear line when not.

The workflow calls these from its update validators, so a refused decision
never reaches the run's history, and again in the handlers (what replay runs,
and once more when a decision's turn comes after others: see "decisions" in
workflows/graph_workflow.py). Signals cannot be refused up front:
the workflow runs the same checks when it applies a signal and records a
refusal on the run instead of applying it.

Who may do what is defined once, in `hitl/protocol/policy.py`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from hitl.protocol import topology
    from hitl.protocol.finite import non_finite
    from hitl.protocol.limits import (
        MAX_DECISION_BYTES,
        MAX_STATE_BYTES,
        json_size,
        over_limit,
        too_large,
    )
    from hitl.protocol.policy import (
        ROLE,
        answer_refused,
        answers_over_state,
        claim_refused,
        decider_refused,
        override_refused,
        schema_refused,
        too_costly,
        values_refused,
    )
    from hitl.protocol.reducers import apply_builtin_writes
    from hitl.protocol.schema import SCHEMA_STEPS, TooCostly, first_error
    from hitl.protocol.wire import (
        CancelRequest,
        ClaimRequest,
        GraphSpec,
        Request,
        ResumeRequest,
        RunState,
        UpdateStateRequest,
        request_digest,
    )
    from hitl.types import END, Interrupt

Decision = TypeVar("Decision", ResumeRequest, UpdateStateRequest, CancelRequest, ClaimRequest)


@dataclass(frozen=True, kw_only=True)
class RunView:
    """What the checks need to know about a run at the moment a decision arrives."""

    spec: GraphSpec
    status: str
    pause: str | None
    next: list[str]
    pending: list[Interrupt]
    guard: list[list[str]]
    retired: dict[str, str]
    requests: dict[str, str]
    values: dict[str, Any]
    starter: str = ""
    """Who started the run (a quorum may bar them from answering)."""
    now: datetime | None = None
    """The run's time, for claims that may have run out."""
    schema_budget: int | None = None
    """Steps a schema check may take (`hitl.protocol.schema.SCHEMA_STEPS` in the update validators, where a refusal
    writes nothing); None, unbounded, in the handlers' checks, which replay as decisions were first taken."""


def view_of(spec: GraphSpec, run: RunState, *, cancelled: bool, starter: str, now: datetime) -> RunView:
    """The run as the checks see it now (`cancelled`: a cancel was applied, so it counts as cancelled)."""
    return RunView(
        spec=spec,
        status="cancelled" if cancelled else run.phase.status,
        pause=run.phase.value if run.phase.paused else None,
        next=topology.step_names(run.next, run.sends),
        pending=[i for t in run.tasks for i in t.interrupts],
        guard=run.guard,
        retired=run.retired,
        requests=run.requests,
        values=run.values,
        starter=starter,
        now=now,
    )


def as_recorded(req: Decision) -> Decision:
    """The decision as the handlers' checks (what replay runs) have always judged it.

    An identity named `role:X` once matched the list entry `role:X` as an identity; the rules in
    hitl/protocol/policy.py no longer let it, and the validators (which never replay) refuse it. A history may
    hold such a decision accepted, so the handlers judge it as then: as holding role X, which gives
    exactly the old outcome. A new one reaches a handler only as a raw Temporal signal, outside what
    hitl vouches for (docs/security.md, "Who may decide"): hitl's own front-ends refuse such identities.
    """
    if not req.identity.startswith(ROLE):
        return req
    return dataclasses.replace(req, roles=[*req.roles, req.identity[len(ROLE) :]])


def ran_ahead(before: tuple[int, datetime], now: tuple[int, datetime]) -> bool:
    """Does this activation (history length, clock) take events a query handed over ahead of any workflow task?

    Every workflow task, run or replayed, starts with a new clock: a longer history under the same clock as the
    activation before is a copy a query ran ahead (docs/durability.md). Its clock is its last real task's, so
    what it does can differ from what a replay does, and the commands it would keep for the next task land
    before that task's decisions: it must keep nothing. A local activity's result comes at the same length.
    """
    return now[0] > before[0] and now[1] == before[1]


def reject(message: str) -> None:
    raise ApplicationError(message, type="DecisionRejected", non_retryable=True)


def answers(req: ResumeRequest, pending: list[Interrupt]) -> dict[str, Any]:
    """The interrupt answers a resume request carries, by interrupt id."""
    resume_map = answer_map(req, pending)
    if resume_map is not None:
        return dict(resume_map)
    if req.has_resume and pending:
        return {pending[0].id: req.resume}
    return {}


def answer_map(req: ResumeRequest, pending: list[Interrupt], retired: Iterable[str] = ()) -> dict[str, Any] | None:
    """The map of interrupt id to answer a request carries, if it carries one.

    A map is a map when asked for (`map=`), or when the resume value is a dict
    whose keys are all interrupt ids pending right now (as LangGraph reads
    `Command(resume={id: value})`). Ids of questions no longer pending
    (`retired`) count too, so an answer pinned to a question someone else
    answered meanwhile is refused as such instead of answering the next one.
    Never from the shape of the keys alone: a dict answer whose keys merely look
    like ids is an answer.
    """
    if req.resume_map is not None:
        return req.resume_map
    ids = {i.id for i in pending} | set(retired)
    if req.has_resume and isinstance(req.resume, dict) and req.resume and all(k in ids for k in req.resume):
        return req.resume
    return None


def already_applied(view: RunView, req: Request) -> bool:
    """True when this request id was applied before with the same decision (answer it as done).

    The same id with a different decision is refused: a reused idempotency key
    must never silently stand for someone else's answer.
    """
    if not req.request_id or req.request_id not in view.requests:
        return False
    digest, _, who = view.requests[req.request_id].partition(" ")
    if digest != request_digest(req):
        reject(
            f"request id '{req.request_id}' was already used for a different decision ({who}); send a new request id"
        )
    return True


def check_open(view: RunView, *, paused: bool = True) -> None:
    """A decision needs a run that has not ended, and (but for a cancel) a paused one."""
    if view.status not in ("interrupted", "running") or (paused and view.status != "interrupted"):
        last = next(reversed(view.retired.items()), None)
        why = f" (its last question, interrupt {last[0]}, was {last[1]})" if last else ""
        reject(f"run is {view.status}; it accepts a decision only while interrupted{why}")


def check_resume(view: RunView, req: ResumeRequest) -> None:
    check_open(view)
    check_decision_size([req.resume, req.resume_map, req.update])
    _check_redirect(view, req)
    _check_answered_questions(view, req)
    _check_answers(view, req)


def _check_redirect(view: RunView, req: ResumeRequest) -> None:
    """What a decision does besides answering: a goto to known nodes, an update that fits, by someone the
    run's guard allows."""
    if req.goto:
        unknown = [g for g in req.goto if g not in view.spec.node_names]
        if unknown:
            reject(f"goto names unknown node(s) {unknown}; nodes are {view.spec.node_names}")
        check_override(view, req.identity, req.roles, "redirect it with goto")
    if req.update:
        check_values(view.spec, req.update, "update", view.schema_budget)
        check_override(view, req.identity, req.roles, "change its state")
        check_state_fits(view, req.update, "the update")


def _check_answered_questions(view: RunView, req: ResumeRequest) -> None:
    """The decision answers questions that are pending (a map names them; a bare value answers the one
    pending), or none while some wait only when it redirects the run."""
    by_id = {i.id: i for i in view.pending}
    resume_map = answer_map(req, view.pending, view.retired)
    if resume_map is not None:
        if not resume_map:
            reject(f"the resume map is empty; pending interrupt ids are {sorted(by_id)}")
        unknown = [k for k in resume_map if k not in by_id]
        if unknown:
            reject(_not_pending(unknown, by_id, view.retired))
    elif req.has_resume:
        _check_one_pending(view, by_id)
    elif view.pending and not req.goto:
        reject(f"interrupt(s) {sorted(by_id)} are waiting for an answer; resume with a value, a map, or goto")


def _check_one_pending(view: RunView, by_id: dict[str, Interrupt]) -> None:
    """A bare resume value answers the one question pending: there must be exactly one."""
    if not view.pending:
        last = next(reversed(view.retired.items()), None)
        earlier = f"its last question (interrupt {last[0]}) was {last[1]}; " if last else ""
        reject(
            f"{earlier}run is paused at a breakpoint {view.pause} {view.next}, which takes no resume value; "
            "resume with no value (optionally with update or goto)"
        )
    if len(view.pending) > 1:
        reject(
            f"{len(view.pending)} interrupts are pending ({', '.join(sorted(by_id))}); answer with a map of interrupt id to value"
        )


def _check_answers(view: RunView, req: ResumeRequest) -> None:
    """Each answer fits its question (size, reviewers, schema, quorum, claim)."""
    by_id = {i.id: i for i in view.pending}
    given = answers(req, view.pending)
    if given:
        _refuse_if(answers_over_state(view.values, [(by_id[i], value) for i, value in given.items()]))
    for interrupt_id, value in given.items():
        refused = answer_refused(
            by_id[interrupt_id],
            value,
            req.identity,
            req.roles,
            starter=view.starter,
            now=view.now,
            changes_state=bool(req.update),
            budget=view.schema_budget,
        )
        _refuse_if(refused)


def non_finite_refusal(req: Request) -> str | None:
    """Why a decision cannot be taken because it carries NaN or an infinite number (see hitl/protocol/finite.py).

    Not part of `check_resume`/`check_edit`, which the handlers run again on replay: an answer taken before
    hitl refused such numbers must replay as it ran. The update validators run it (a refusal there writes
    nothing), and the workflow, under a patch, for a decision sent as a signal."""
    if isinstance(req, ResumeRequest):
        parts = [("the answer", req.resume), ("the answer map", req.resume_map), ("the update", req.update)]
    elif isinstance(req, UpdateStateRequest):
        parts = [("values", req.values)]
    else:
        parts = []
    return next((why for what, value in parts if (why := non_finite(value, what))), None)


def check_finite(req: Request) -> None:
    _refuse_if(non_finite_refusal(req))


def check_decider(req: Request) -> None:
    """A decision's who (identity, roles), reason and request id within their bounds (`decider_refused`): a
    long one would be kept in the history and indexed past Temporal's 2 kB a search attribute value holds.
    Checked by the update validators only (which never replay): a history may hold a longer one accepted."""
    reason = req.reason if isinstance(req, CancelRequest) else None
    _refuse_if(decider_refused(req.identity, req.roles, reason, req.request_id))


def check_edit(view: RunView, req: UpdateStateRequest) -> None:
    check_open(view)
    if req.as_node is not None and req.as_node != END and req.as_node not in view.spec.node_names:
        reject(f"as_node '{req.as_node}' is not a node; nodes are {view.spec.node_names} (or {END}: end the run)")
    if not req.values and req.as_node is None:
        reject(
            f"values is empty; name at least one state key to write ({sorted(view.spec.channels)}), "
            "or pass as_node to continue as if that node ran"
        )
    check_values(view.spec, req.values, "values", view.schema_budget)
    check_decision_size(req.values)
    check_override(view, req.identity, req.roles, "edit its state")
    check_state_fits(view, req.values, "the edit")


def claim_target(view: RunView, req: ClaimRequest) -> Interrupt:
    """The question a claim names, or the one pending when it names none."""
    by_id = {i.id: i for i in view.pending}
    if req.interrupt_id is None:
        if len(by_id) != 1:
            reject(
                f"{len(by_id)} questions are pending ({', '.join(sorted(by_id)) or 'none'}); name the one to {req.action}"
            )
        return view.pending[0]
    if req.interrupt_id not in by_id:
        reject(_not_pending([req.interrupt_id], by_id, view.retired))
    return by_id[req.interrupt_id]


def check_claim(view: RunView, req: ClaimRequest) -> None:
    check_open(view)
    interrupt = claim_target(view, req)
    assert view.now is not None
    _refuse_if(claim_refused(interrupt, req.action, req.identity, req.roles, req.to, req.ttl_s, view.now))


def check_cancel(view: RunView, req: CancelRequest) -> None:
    check_open(view, paused=False)
    check_override(view, req.identity, req.roles, "cancel it")


def check_override(view: RunView, identity: str, roles: list[str], action: str) -> None:
    _refuse_if(override_refused(view.guard, identity, roles, action))


def check_values(spec: GraphSpec, values: dict[str, Any], what: str, budget: int | None = None) -> None:
    _refuse_if(values_refused(spec, values, what, budget))


def check_schema(value: Any, schema: dict[str, Any], what: str, budget: int | None = None) -> None:
    _refuse_if(schema_refused(value, schema, what, budget))


def costly_refusal(view: RunView, req: Request) -> str | None:
    """Why a decision sent as a signal cannot be checked against its schemas within `SCHEMA_STEPS` (None when
    it can, whether or not it fits: `check_resume` says that). The workflow checks a held signal in its own
    code, where an unbounded check could pass Temporal's deadlock detector on every attempt of the task."""
    if not isinstance(req, ResumeRequest):
        return None
    by_id = {i.id: i for i in view.pending}
    parts = [
        (f"answer to interrupt {i}", value, by_id[i].schema)
        for i, value in answers(req, view.pending).items()
        if i in by_id
    ]
    channels = view.spec.channels
    parts += [(f"update key '{k}'", v, channels[k].json_schema) for k, v in (req.update or {}).items() if k in channels]
    for what, value, schema in parts:
        if schema is None:
            continue
        try:
            first_error(schema, value, SCHEMA_STEPS)
        except TooCostly:
            return too_costly(what, SCHEMA_STEPS)
        except Exception:
            continue  # a schema that cannot be used: check_resume says so
    return None


def _refuse_if(reason: str | None) -> None:
    if reason:
        reject(reason)


def check_decision_size(value: Any) -> None:
    _refuse_if(too_large(value, MAX_DECISION_BYTES, "the decision"))


def check_state_fits(view: RunView, write: dict[str, Any], what: str) -> None:
    """Refuse a write that would make the state larger than a run can carry."""
    values, owed = apply_builtin_writes(view.spec.channels, view.values, [write])
    size = json_size(values) + (json_size(owed) if owed else 0)
    if size > MAX_STATE_BYTES:
        reject(over_limit(size, MAX_STATE_BYTES, f"the state after {what}"))


def _not_pending(ids: list[str], pending: dict[str, Interrupt], retired: dict[str, str]) -> str:
    """Why answers to these ids cannot land: answered by someone else, withdrawn, or unknown."""
    gone = [f"interrupt {i} was {retired[i]}" for i in ids if i in retired]
    unknown = [i for i in ids if i not in retired]
    parts = gone + ([f"unknown interrupt id(s) {unknown}"] if unknown else [])
    return f"{'; '.join(parts)}; pending interrupt ids are {sorted(pending) or 'none'}"
