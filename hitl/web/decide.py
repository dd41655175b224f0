"""Decisions from the run page's forms: answer, continue, edit state, fork, cancel.

Every answer is pinned to the question the page showed: it is sent as
`map={interrupt_id: value}` with the form's own request id as the idempotency
key, so a question answered meanwhile by someone else is refused (the run page
then says who answered first) instead of answering the next question, and a
double click counts once. A form decision taken on a page showing an older
pause (continue, state edit) is refused too. Refusals travel back through
errors.py as a redirect to the run page, the one-line reason in a signed flash (session.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

import hitl
from hitl._whole import whole_number
from hitl.protocol.limits import shorten
from hitl.protocol.schema import schema_unusable
from hitl.protocol.wire import NO_VALUE
from hitl.types import DecisionRejectedError, InvalidInputError
from hitl.web import diff, forms
from hitl.web.context import decider
from hitl.web.pages import kept_query, version
from hitl.web.scope import reader, run_and_state, run_to_change
from hitl.web.session import check_csrf, keep_typed

router = APIRouter(include_in_schema=False)


async def submitted(request: Request, run_id: str, **back: str) -> dict[str, str]:
    """The form's fields, once its CSRF token checks out; refusals return to the run page."""
    request.scope["hitl_return_to"] = f"/runs/{quote(run_id, safe='')}"
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if came := kept_query(fields.get("in", "")):  # a refusal keeps the inbox filter the page came with
        request.scope["hitl_return_to"] += "?" + urlencode({"in": came})
    request.scope["hitl_flash_extra"] = {k: fields[v] for k, v in back.items() if fields.get(v)}
    check_csrf(request, fields.get("csrf"))
    return fields


def done(run_id: str, what: str) -> RedirectResponse:
    return RedirectResponse(f"/runs/{quote(run_id, safe='')}?done={what}", status_code=303)


def decided(run_id: str, what: str, form: dict[str, str]) -> RedirectResponse:
    """After an answer: on to the next run waiting under the inbox filter the page came with (pages.next_run),
    unless the reviewer chose to stay (`stay`, app.js's setting) or came from elsewhere."""
    back = kept_query(form.get("in", ""))
    if form.get("stay") or "in" not in form:
        where = f"/runs/{quote(run_id, safe='')}?" + urlencode({"done": what, **({"in": back} if "in" in form else {})})
        return RedirectResponse(where, status_code=303)
    return RedirectResponse(f"/ui/next?{urlencode({'after': run_id})}" + (f"&{back}" if back else ""), status_code=303)


@router.post("/ui/runs/{run_id}/answer")
async def answer(request: Request, run_id: str) -> Response:
    """Answer one question; the value is read with the form the page generated for it."""
    form = await submitted(request, run_id, iid="interrupt_id")
    keep_typed(request, form)  # a refusal shows the answer as typed (after the CSRF check: not for other sites)
    iid = form.get("interrupt_id", "")
    if form.get("mode") == "json":
        # The answer is read without its question: only the read check is needed (the run refuses an answer
        # to a question no longer waiting, writing nothing). Its describe is the one the decision's worker check
        # would make (the run's task queue), so the form costs what `run.resume()` does.
        run = decider(request).get_run(run_id)
        await reader(request).check(run_id, run)
        value = answer_value(form, None, iid)
    else:
        run, current = await run_and_state(request, run_id)
        value = answer_value(form, next((i for i in current.interrupts if i.id == iid), None), iid)
    await run.resume(map={iid: value}, request_id=form.get("request_id") or None, wait=False)
    return decided(run_id, "answered", form)


def answer_value(form: dict[str, str], pending: hitl.Interrupt | None, iid: str) -> Any:
    """The answer a question's form says, read with the form the page generated for it
    (also the signed-link page's, hitl/web/link_page.py)."""
    if form.get("mode") == "json":
        return forms.loads(form.get("json", ""), "the answer")
    if pending is None:
        raise DecisionRejectedError(f"question {iid or '(none)'} is no longer waiting for an answer")
    if pending.schema is not None and (unusable := schema_unusable(pending.schema, "its answer schema")):
        raise DecisionRejectedError(f"question {iid} cannot take an answer: {unusable.partition('; ')[0]}")
    if cards := forms.review_cards(pending.value, pending.schema):
        return forms.parse_review(cards, form)
    if pending.schema:
        return forms.parse(forms.build(pending.schema), form)
    return forms.loads(form.get("v", ""), "the answer")


@router.post("/ui/runs/{run_id}/continue")
async def continue_run(request: Request, run_id: str) -> Response:
    """Continue from the breakpoint the page showed (refused if the run has moved on since)."""
    form = await submitted(request, run_id)
    run = await run_to_change(request, run_id)
    await same_pause(run, form)
    await run.resume(NO_VALUE, request_id=form.get("request_id") or None, wait=False)
    return decided(run_id, "continued", form)


@router.post("/ui/runs/{run_id}/state")
async def edit_state(request: Request, run_id: str) -> Response:
    """Write the keys the person changed, as `as_node` if chosen (update_state)."""
    form = await submitted(request, run_id)
    run = await run_to_change(request, run_id)
    await same_pause(run, form)
    edited = forms.loads(form.get("values", ""), "the edited state")
    shown = forms.loads(form.get("base", "{}"), "the state the page showed")
    if not isinstance(edited, dict) or not isinstance(shown, dict):
        raise InvalidInputError("the edited state must be a JSON object of state keys")
    changed = diff.changed_keys(shown, edited)
    if not changed and not form.get("as_node"):
        raise InvalidInputError("nothing changed: edit a value, or choose a node to write as")
    await run.update_state(changed, as_node=form.get("as_node") or None)
    return done(run_id, "edited")


@router.post("/ui/runs/{run_id}/fork")
async def fork(request: Request, run_id: str) -> Response:
    """Time travel: a new run from this run's checkpoint at `step`; its page is shown next."""
    form = await submitted(request, run_id)
    step = whole_number(form.get("step", ""))
    if step is None:
        raise InvalidInputError(
            f"step must be a whole number from 0 (ASCII digits); got {shorten(form.get('step', ''), 40)!r}"
        )
    await run_to_change(request, run_id)
    new = await decider(request).fork(run_id, step)
    return RedirectResponse(f"/runs/{quote(new.run_id, safe='')}?done=forked", status_code=303)


@router.post("/ui/runs/{run_id}/cancel")
async def cancel(request: Request, run_id: str) -> Response:
    """Cancel the run (Temporal cancellation: the run ends `cancelled`)."""
    await submitted(request, run_id)
    await (await run_to_change(request, run_id)).cancel()
    return done(run_id, "cancelled")


async def same_pause(run: hitl.Run, form: dict[str, str]) -> None:
    """Refuse a decision made on a page showing an older pause of the run."""
    now = await run.get_state()
    shown = form.get("version")
    if shown and shown != version(now):
        raise DecisionRejectedError(
            f"the run has changed since the page was loaded (it is {now.status} at step {now.step}); review it again"
        )
