"""Claims from the run page's forms and the HTTP API: claim, release or delegate a question.

The run decides who may (hitl/protocol/policy.py, `claim_refused`); this reads the form and sends
the claim as the signed-in person, with the form's own request id so a double click counts
once. A refusal comes back to the run page as one line (errors.py) and writes nothing to the
run's history.

A delegation is also checked here against what only the server knows, before anything is sent:
the one it is handed to must be able to act on it here (read the run, and not sign in view-only),
or the question would be locked for everyone until the claim ran out (the holder alone may release
it). With tokens the server knows everyone who can sign in; behind a proxy or without auth it
refuses only a name that certainly may not read the run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

import hitl
from hitl.protocol.policy import delegate_name_refused
from hitl.types import DecisionRejectedError, InvalidInputError, StateSnapshot
from hitl.web.context import web
from hitl.web.decide import done, submitted
from hitl.web.scope import delegation_refused, people, reader, run_to_change

router = APIRouter(include_in_schema=False)
Action = Literal["claim", "release", "delegate"]
TTLS = {"30m": timedelta(minutes=30), "1h": timedelta(hours=1), "4h": timedelta(hours=4), "1d": timedelta(days=1)}
"""How long the page offers to hold a question (the API and CLI take any length up to 30 days)."""
ACTIONS: dict[str, Action] = {"claim": "claim", "release": "release", "delegate": "delegate"}
OUTCOME: dict[Action, str] = {"claim": "claimed", "release": "released", "delegate": "delegated"}


async def check_delegation(request: Request, run_id: str, to: str | None) -> None:
    """Refuse (409, nothing sent) a delegation to someone who could not act on the question here."""
    if not to or not to.strip() or delegate_name_refused(to.strip()):
        return  # `apply` sends it, and the run says what a delegation needs
    w = web(request)
    snapshot = await reader(request).state(run_id)
    refused = delegation_refused(to.strip(), w.readers.get(snapshot.graph, []), people(w.auth))
    if refused:
        raise DecisionRejectedError(refused)


async def apply(
    run: hitl.Run,
    action: Action,
    interrupt_id: str | None,
    to: str | None,
    ttl: timedelta,
    request_id: str | None = None,
) -> StateSnapshot:
    """One claim decision, as the client carries it (the run checks who may)."""
    if action == "claim":
        return await run.claim(interrupt_id, ttl=ttl, request_id=request_id)
    if action == "release":
        return await run.release(interrupt_id, request_id=request_id)
    if not to or not to.strip():
        raise InvalidInputError("delegate needs 'to': an identity or role:NAME on the question's reviewer list")
    return await run.delegate(to.strip(), interrupt_id, ttl=ttl, request_id=request_id)


@router.post("/ui/runs/{run_id}/claim")
async def claim_form(request: Request, run_id: str) -> Response:
    """Claim, release or delegate the question the form names, as the signed-in person."""
    form = await submitted(request, run_id, iid="interrupt_id")
    action = ACTIONS.get(form.get("action", ""))
    if action is None:
        raise InvalidInputError(f"action must be one of claim, release or delegate; got {form.get('action', '')!r}")
    ttl = form.get("ttl") or "30m"
    if ttl not in TTLS:
        raise InvalidInputError(f"a claim from this page holds for {', '.join(TTLS)}; got {ttl!r}")
    run = await run_to_change(request, run_id)
    if action == "delegate":
        await check_delegation(request, run_id, form.get("to"))
    iid = form.get("interrupt_id") or None
    await apply(run, action, iid, form.get("to"), TTLS[ttl], form.get("request_id") or None)
    return done(run_id, OUTCOME[action])
