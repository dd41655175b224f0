"""Signed decision links (hitl/client/signed_links.py) served by the inbox: answer one question without signing in.

GET /link/{token} shows the question with the same forms as the run page;
POST /ui/link/{token} answers it as the link's identity (and roles), pinned to
its interrupt, with the request id derived from the link's nonce, so the link
answers at most once. Every refusal that can be known before sending (no key,
tampered, expired, revoked (hitl/client/link_revocations.py), already used, question answered by someone else or
withdrawn, run gone or not readable by the link's identity) is a page with its HTTP status and nothing sent; a refusal
by the run itself (its schema) comes back on the link page inline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hitl.client import link_revocations
from hitl.client import signed_links as links
from hitl.client.signed_links import Link, LinkError
from hitl.protocol import finite
from hitl.types import Decision, Interrupt, RunNotFoundError, StateSnapshot
from hitl.web import forms
from hitl.web.auth import Identity
from hitl.web.context import web
from hitl.web.decide import answer_value
from hitl.web.pages import question
from hitl.web.rendering import render
from hitl.web.scope import Reader
from hitl.web.session import check_csrf, keep_typed, take_flash

router = APIRouter(include_in_schema=False)


class Unusable(Exception):
    """The link page to show instead of the question, with its status."""

    def __init__(self, status: int, title: str, detail: str, used: Decision | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.used = status, title, detail, used


async def usable(request: Request, token: str) -> tuple[Link, StateSnapshot]:
    """The link and its run's state, when the link can still answer its question."""
    try:
        link = links.verify(token, links.require_key())
    except LinkError as e:
        titles = {403: "This link is not valid", 410: "This link has expired", 503: "Links are not enabled here"}
        raise Unusable(e.status, titles.get(e.status, "This link cannot be used"), str(e)) from None
    try:
        link_revocations.check(link)
    except LinkError as e:
        title = "This link was revoked" if e.status == 403 else "Links cannot be checked here"
        raise Unusable(e.status, title, str(e)) from None
    try:
        # read as the link's recipient: a link to a run they may not read is a link to a gone run
        snapshot = await Reader.of(web(request), Identity(link.identity, link.roles)).state(link.run_id)
    except RunNotFoundError:
        raise Unusable(404, "This run is gone", f"run '{link.run_id}' no longer exists on this server") from None
    used = next((d for d in snapshot.decisions if d.request_id == link.request_id), None)
    if used is not None:
        put_back = next(
            (d for d in snapshot.decisions if d.request_id == link.request_id and d.kind == "rollback"), None
        )
        why = (
            "; that answer broke the node and was rolled back, so the question waits again: ask for a new link"
            if put_back is not None
            else ""
        )
        raise Unusable(
            410,
            "This link was already used",
            f"{used.identity} answered with it at {used.at:%Y-%m-%d %H:%M:%S} UTC; a link answers once{why}",
            used,
        )
    if not any(i.id == link.interrupt_id for i in snapshot.interrupts):
        other = next((d for d in reversed(snapshot.decisions) if d.interrupt_id == link.interrupt_id), None)
        detail = (
            f"{other.identity} answered this question at {other.at:%Y-%m-%d %H:%M:%S} UTC; the link was not used"
            if other is not None
            else f"the question is no longer waiting (the run is {snapshot.status}); it was withdrawn or the run moved on"
        )
        raise Unusable(409, "This question was already answered", detail, other)
    return link, snapshot


def page(request: Request, token: str, status: int = 200, **context: Any) -> HTMLResponse:
    return render(request, "link.html", status_code=status, token=token, now=datetime.now(timezone.utc), **context)


NO_ANSWER = object()
"""`?answer=` names none of the question's answers."""


@dataclass(frozen=True)
class Chosen:
    """The answer a message's button chose (`?answer=`), shown preselected: still sent only by a confirm."""

    label: str
    json: str
    """The answer as the confirm form sends it (`mode=json`); empty for a review card, whose own form confirms."""


def preselected(pending: Interrupt, answer: str | None) -> tuple[Chosen | None, dict[str, str] | None]:
    """What `?answer=` preselects: for a reviewed action, its decision ticked on the card (typed as a form
    would be); else a confirm button for that answer. None for an answer the question does not list: the
    page shows its forms as they are (the parameter is unsigned; anyone may change it)."""
    allowed = links.allowed_answers(pending.schema) if answer is not None else None
    found = next((a for a in allowed or [] if links.answer_label(a) == answer), NO_ANSWER)
    if found is NO_ANSWER:
        return None, None
    label = links.answer_label(found)
    if forms.review_cards(pending.value, pending.schema):
        return Chosen(label, ""), {"d0.type": label}
    return Chosen(label, finite.dumps(found)), None


@router.get("/link/{token}", response_class=HTMLResponse)
async def show(request: Request, token: str, done: str | None = None, answer: str | None = None) -> HTMLResponse:
    """The question the link answers, or a page saying why it cannot be answered here. A message's button
    opens it with `?answer=`: that answer is preselected, and nothing is sent until it is confirmed (a POST;
    mail scanners open links)."""
    flash = take_flash(request)
    try:
        link, snapshot = await usable(request, token)
    except Unusable as e:
        if done and e.used is not None:  # our own answer, just sent: say so
            return page(request, token, done=True, used=e.used)
        return page(request, token, e.status, problem=e)
    who = Identity(link.identity, link.roles)
    pending = next(i for i in snapshot.interrupts if i.id == link.interrupt_id)
    chosen, ticked = preselected(pending, None if flash else answer)  # after a refusal: what was typed
    q = question(pending, who, typed=flash.typed if flash else ticked)
    q.request_id = link.request_id
    return page(
        request,
        token,
        s=snapshot,
        link=link,
        q=q,
        chosen=chosen,
        error=flash and flash.error,
        code=flash and flash.code,
        typed_cut=flash and flash.typed_cut,
    )


@router.post("/ui/link/{token}")
async def answer(request: Request, token: str) -> Response:
    """Answer the link's question as its identity, once; refusals known up front send nothing."""
    request.scope["hitl_return_to"] = f"/link/{token}"
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    check_csrf(request, fields.get("csrf"))
    keep_typed(request, fields)
    try:
        link, snapshot = await usable(request, token)
    except Unusable as e:
        return page(request, token, e.status, problem=e)
    pending = next(i for i in snapshot.interrupts if i.id == link.interrupt_id)
    value = answer_value(fields, pending, link.interrupt_id)
    client = web(request).client_for(Identity(link.identity, link.roles))
    await client.get_run(link.run_id).resume(map={link.interrupt_id: value}, request_id=link.request_id, wait=False)
    return RedirectResponse(f"/link/{token}?done=answered", status_code=303)
