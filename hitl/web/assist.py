"""Small JSON helpers behind the run page's scripts: inline schema checks and diff previews.

They reuse the code the decision itself goes through (the schema check in
hitl/protocol/policy.py, the form reader), so the page's preview cannot drift from the outcome.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict

import hitl
from hitl.protocol.finite import non_finite
from hitl.protocol.policy import may_review, schema_refused
from hitl.types import DecisionRejectedError, Interrupt, InvalidInputError
from hitl.web import diff, forms
from hitl.web.context import caller, decider
from hitl.web.errors import WebError
from hitl.web.rendering import render, templates
from hitl.web.scope import reader

router = APIRouter(include_in_schema=False)


class CheckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_id: str
    interrupt_id: str
    value: Any = None


class DiffBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    before: Any = None
    after: Any = None


async def reviewing(request: Request, run_id: str, interrupt_id: str, what: str) -> Interrupt:
    """The question `interrupt_id` of a run the caller may read, if they may answer it (not view-only, and
    the question's reviewer rule): check and preview help only those who could submit what they check."""
    decider(request)  # a view-only credential: the 403 every changing route gives
    who = caller(request)
    snapshot = await reader(request).state(run_id)
    pending = next((i for i in snapshot.interrupts if i.id == interrupt_id), None)
    if pending is None:
        raise DecisionRejectedError(f"question {interrupt_id} is no longer waiting for an answer")
    if pending.reviewers and not may_review(pending.reviewers, who.name, list(who.roles)):
        raise WebError(403, f"'{who.name}' may not answer question {interrupt_id}, so cannot {what}")
    return pending


@router.post("/ui/api/check")
async def check_answer(request: Request, body: CheckBody) -> dict[str, bool]:
    """Inline validation of the JSON editor: the same checks the run applies to an answer (finite numbers,
    the question's schema), for those who may answer the question only (the reviewer rule of answering),
    and in a worker thread, so that no answer holds the server's event loop."""
    pending = await reviewing(request, body.run_id, body.interrupt_id, "check answers to it")
    refused = non_finite(body.value, "the answer")
    if refused is None and pending.schema:
        refused = await asyncio.to_thread(schema_refused, body.value, pending.schema, "the answer")
    if refused:
        raise InvalidInputError(refused)
    return {"ok": True}


class PreviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_id: str
    interrupt_id: str
    fields: dict[str, str]


@router.post("/ui/api/preview")
async def preview_review(request: Request, body: PreviewBody) -> dict[str, Any]:
    """The diff of each edited tool call, read from the form exactly as submitting it would, for those who
    may answer the question; worked out in a worker thread, the calls' diffs sharing one bound (hitl/web/diff.py)."""
    pending = await reviewing(request, body.run_id, body.interrupt_id, "preview edits to it")
    if not forms.review_cards(pending.value, pending.schema):
        raise DecisionRejectedError(f"question {body.interrupt_id} is no longer waiting for an answer")
    return {"diffs": await asyncio.to_thread(previews, pending, body.fields)}


def previews(pending: Interrupt, fields: dict[str, str]) -> dict[str, str]:
    budget = diff.Budget()
    out = {}
    for card in forms.review_cards(pending.value, pending.schema):
        if fields.get(f"d{card.index}.type") == "edit" and card.args_form is not None:
            changes = diff.changes(card.args, forms.parse(card.args_form, fields), budget=budget)
            out[str(card.index)] = templates.get_template("_diff.html").render(changes=changes)
    return out


@router.post("/ui/api/diff", response_class=HTMLResponse)
async def show_diff(request: Request, body: DiffBody, client: hitl.Client = Depends(decider)) -> HTMLResponse:
    """The diff an edit would make, rendered as the timeline will show it: for those who may change runs
    (the state editor is theirs), bounded, and worked out in a worker thread."""
    changes = await asyncio.to_thread(diff.changes, body.before, body.after)
    return render(request, "_diff.html", changes=changes)
