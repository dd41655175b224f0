"""The inbox's bulk action: one answer to the runs ticked on the inbox page, a result per run.

The form carries a batch id made when the inbox was rendered, so posting it
twice (a double click, a reload of the result page) applies nothing twice: the
second report says "already applied". Each run checks the answer itself; the
result page lists every run with what happened to it (hitl/batch.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hitl.types import InvalidInputError
from hitl.web import forms
from hitl.web.rendering import render
from hitl.web.scope import answer_many
from hitl.web.session import check_csrf

router = APIRouter(include_in_schema=False)
MAX_SELECTED = 1000


@router.post("/ui/batch", response_class=HTMLResponse)
async def answer_selected(request: Request) -> HTMLResponse:
    """Send the one answer to each ticked run (at `node` when the inbox was filtered by node)."""
    request.scope["hitl_return_to"] = "/"
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    runs = list(dict.fromkeys(str(r) for r in form.getlist("run") if str(r)))
    if not runs:
        raise InvalidInputError("tick the runs to answer first")
    if len(runs) > MAX_SELECTED:
        raise InvalidInputError(f"{len(runs)} runs ticked; answer at most {MAX_SELECTED} at once")
    value = forms.loads(str(form.get("value") or ""), "the answer")
    node = str(form.get("node") or "") or None
    report = await answer_many(request, runs, value, node=node, batch_id=str(form.get("batch_id") or "") or None)
    return render(request, "batch.html", report=report, value=value, node=node)
