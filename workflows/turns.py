"""Decisions take turns: each is checked up front by its update's validator, then again in its turn.

Each decision (an update, or a signal held for the pause) is checked by the update's validator, where a
refusal writes nothing to the run's history. Decisions then take turns (`Execution.turn`); in its turn the
handler checks again (what replay runs). A resume first claims, without awaiting, what later decisions are
checked against (its request id, the questions it answers, the run no longer paused), then does what has to
wait (a subgraph's signal, a user reducer). A decision arriving meanwhile is therefore refused up front, with
the real reason, when the one being applied made it unfit. An edit claims only its request id before its
write (where it leads can depend on user code: a reducer's result, a router's target), so a decision queued
behind an edit that runs user code is checked once more in its turn and, should it no longer fit, refused
then: its update fails after acceptance with nothing applied, the one refusal that leaves events in the
history.

`view` is the workflow's `RunView` builder, called where the check runs (the run as it is then).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from hitl.protocol.patches import BOUNDED_CHECKS, FINITE_SIGNALS
    from hitl.protocol.schema import SCHEMA_STEPS
    from hitl.protocol.wire import (
        CancelRequest,
        ClaimRequest,
        ParentRef,
        ResumeRequest,
        UpdateStateRequest,
        request_digest,
    )
    from hitl.workflows import checks
    from hitl.workflows.failures import rejecting

R = TypeVar("R", ResumeRequest, UpdateStateRequest, CancelRequest, ClaimRequest)
View = Callable[[], checks.RunView]
Check = Callable[[checks.RunView, R], None]


def validate(view: View, parent: ParentRef | None, req: R, check: Check[R]) -> None:
    """An update's validator. A subgraph's run takes decisions only through its parent run, which checks
    them against its own claims and guard and passes the answers down (as signals). Validators never
    run on replay: refusing here changes no history."""
    if parent is not None:
        checks.reject(
            f"run {workflow.info().workflow_id} is the subgraph '{parent.node}' of run {parent.run_id}: "
            f"send decisions to run {parent.run_id}, where its questions show"
        )
    checks.check_finite(req)  # here only: the handlers' checks replay, and answers once took NaN
    checks.check_decider(req)  # likewise: decisions by longer names or roles were once taken
    is_resend(view, req, check, replays=False)  # bounded here only, for the same reason


def is_resend(view: View, req: R, check: Check[R], *, replays: bool = True) -> bool:
    """True when this request id was applied already; raises the refusal when the decision does not fit now.
    A handler's check (`replays`) judges the decision as recorded histories were (`checks.as_recorded`, schema
    checks unbounded); a validator's, new rules and all (schema checks within `SCHEMA_STEPS`)."""
    seen = view() if replays else dataclasses.replace(view(), schema_budget=SCHEMA_STEPS)
    if checks.already_applied(seen, req):
        return True
    check(seen, checks.as_recorded(req) if replays else req)
    return False


async def take_turn(
    turn: asyncio.Lock, view: View, req: R, check: Check[R], apply: Callable[[R], Coroutine[Any, Any, bool]]
) -> bool:
    """Apply a decision once the decisions accepted before it are done. True when it moved the run on
    (the caller may wait for the next stop); False for a resend of an applied decision, an edit that
    leaves the run where it was, votes that leave a quorum question pending, or a claim."""
    async with turn:
        # The validator's check again (what replay runs); for a decision that waited, against the state the
        # decisions before it left, which their user code's part may have made unfit.
        if is_resend(view, req, check):
            return False
        return await rejecting(apply(req))


def check_held(view: View, req: ResumeRequest, patched: Callable[[str], bool]) -> None:
    """What a decision held from a signal must pass before its turn, under the patches that check it there
    (no validator ran: numbers must be finite, and checking it must stay cheap)."""
    refused = checks.non_finite_refusal(req)
    if refused and patched(FINITE_SIGNALS):
        checks.reject(refused)
    refused = checks.costly_refusal(view(), req)
    if refused and patched(BOUNDED_CHECKS):
        checks.reject(refused)


def hold(held: list[ResumeRequest], req: ResumeRequest) -> None:
    """Keep a decision sent as a signal until the run pauses (HELD_SIGNALS); a resend of a held decision (same
    request id, same content) is the same decision."""
    digest = request_digest(req)
    if not any(h.request_id and h.request_id == req.request_id and request_digest(h) == digest for h in held):
        held.append(req)


def check_cancel(view: checks.RunView, req: CancelRequest, *, racing_with: str | None, step: int) -> None:
    """A cancel also loses to a decision that released the pause (`racing_with`: who, when), while the step
    that decision released runs: of a cancel and an answer racing for one pause, exactly one is applied."""
    checks.check_cancel(view, req)
    if racing_with is not None:
        checks.reject(
            f"run was resumed by {racing_with} and is carrying that decision out (step "
            f"{step}); cancel again once it moves on or pauses, if you still mean to"
        )
