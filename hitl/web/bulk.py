"""The inbox's bulk answer: preview, then confirm; each run answered at the question it showed, a result per run.

Ticking runs and typing an answer sends nothing: "Preview" lists each ticked run, the question it will be
answered at and what its own checks say (hitl/web/bulk_preview.py). Only the preview's confirmation sends,
and it carries the exact run and interrupt ids the preview showed (`pins`), never row positions or a filter
read again: a run that asked something else meanwhile is refused, not answered. The page fetches the preview
in place (app.js), so a refusal leaves the filter, the ticks and the typed answer as they were; without
scripts the preview is a page of its own, and a refusal goes back to the same filter with the ticks and the
answer kept (in the signed flash). The form's batch id, made when the inbox was rendered, makes a resent
confirmation apply nothing twice ("already applied").
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData

from hitl.types import InvalidInputError
from hitl.web import forms
from hitl.web.bulk_preview import MAX_SELECTED, preview, ticked
from hitl.web.context import decider
from hitl.web.rendering import render, render_text
from hitl.web.scope import answer_many
from hitl.web.session import check_csrf

router = APIRouter(include_in_schema=False)
PROGRESS_FROM = 20
"""A batch of this many runs or more is answered on a page that shows its progress as it goes."""
PROGRESS_MARK, REPORT_MARK = "\x00progress\x00", "\x00report\x00"
"""Where a streamed batch page's counts and report go (no template text holds a NUL)."""
RUNNING: set[asyncio.Task[Any]] = set()
"""Batches being sent for a page that may have gone: held here until done."""
FILTERS = ("graph", "node", "age", "order", "mine", "assigned", "page")
"""The inbox's query parameters a bulk answer returns to."""
KEPT_CHARS = 2400
"""Most characters of ticked run ids a refusal keeps in the flash (a cookie holds about 4 kB)."""


class PreviewBody(BaseModel):
    """The page's in-place preview request (app.js): what is ticked and typed, where the inbox is."""

    model_config = ConfigDict(extra="forbid")
    runs: list[str] = Field(default_factory=list, max_length=MAX_SELECTED + 1)
    value: str = Field("", max_length=300_000)
    node: str | None = None
    back: str = "/"
    batch_id: str = ""


def back_to(raw: str) -> str:
    """The inbox with its filter as the form was on it: only the inbox's own query parameters, never
    another path (no open redirect)."""
    query = raw.partition("?")[2] if raw.startswith("/?") else ""
    kept = [(k, v) for k, v in parse_qsl(query) if k in FILTERS and v]
    return "/?" + urlencode(kept) if kept else "/"


def keep(request: Request, back: str, runs: list[str], text: str) -> None:
    """Should this form be refused, the inbox it returns to keeps its filter, ticks and typed answer."""
    request.scope["hitl_return_to"] = back
    kept = " ".join(runs)
    request.scope["hitl_flash_extra"] = {"value": text[:1000], "runs": kept if len(kept) <= KEPT_CHARS else ""}


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.post("/ui/api/batch/preview", response_class=HTMLResponse)
async def preview_in_place(request: Request, body: PreviewBody) -> HTMLResponse:
    """The preview (or why not) as a part of the inbox page, which stays as it is."""
    found = await preview(request, body.runs, body.value, body.node or None, body.batch_id)
    return render(request, "_bulk_preview.html", preview=found, back=back_to(body.back), in_place=True)


@router.post("/ui/batch/preview", response_class=HTMLResponse)
async def preview_page(request: Request) -> HTMLResponse:
    """The preview as a page (no scripts); a refusal goes back to the inbox as it was."""
    form = await request.form()
    runs = [str(r) for r in form.getlist("run")]
    text, back = form_text(form, "value"), back_to(form_text(form, "back"))
    keep(request, back, runs, text)
    check_csrf(request, form_text(form, "csrf"))
    found = await preview(request, runs, text, form_text(form, "node") or None, form_text(form, "batch_id"))
    if found.refusal:
        raise InvalidInputError(found.refusal)
    return render(request, "batch_preview.html", preview=found, back=back, in_place=False)


@router.post("/ui/batch", response_class=HTMLResponse)
async def answer_pinned(request: Request) -> Response:
    """Send the previewed answer to the previewed runs, each at the interrupt id it showed."""
    form = await request.form()
    back = back_to(form_text(form, "back"))
    try:
        pins: dict[str, str] | None = read_pins(form_text(form, "pins"))
    except InvalidInputError as e:
        pins, unpinned = None, e
    keep(request, back, list(pins or {}), form_text(form, "value"))
    check_csrf(request, form_text(form, "csrf"))
    decider(request)  # a view-only credential: refused as such before anything else is said
    if pins is None:
        raise unpinned
    value = forms.loads(form_text(form, "value"), "the answer")
    batch_id = form_text(form, "batch_id") or None
    if len(pins) < PROGRESS_FROM:
        report = await answer_many(request, pins, value, batch_id=batch_id)
        return render(request, "batch.html", report=report, value=value, node=None, back=back)
    return await with_progress(request, pins, value, batch_id, back)


async def with_progress(
    request: Request, pins: dict[str, str], value: Any, batch_id: str | None, back: str
) -> Response:
    """A large batch's page, sent as it goes: the page at once, then how many runs are answered so far
    (each count a line; the page's CSS shows the last only, so it works without scripts), then the
    per-run report. The batch runs on if the page is closed: every run it was sent to gets its answer.

    What refuses the whole batch (its id, its answer's size) is said before the page starts, as a
    refusal of the form: the page is sent only once the first run has its result."""
    counted: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    batch = asyncio.create_task(
        answer_many(request, pins, value, batch_id=batch_id, on_result=lambda _r, n, of: counted.put_nowait((n, of)))
    )
    RUNNING.add(batch)
    batch.add_done_callback(RUNNING.discard)
    first = asyncio.ensure_future(counted.get())
    await asyncio.wait({batch, first}, return_when=asyncio.FIRST_COMPLETED)
    if batch.done() and batch.exception() is not None:
        first.cancel()
        raise batch.exception()  # type: ignore[misc]
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    page = render_text(
        request,
        "batch_running.html",
        value=value,
        total=len(pins),
        batch_id=batch_id or "",
        back=back,
        progress_mark=PROGRESS_MARK,
        report_mark=REPORT_MARK,
    )
    head, _, rest = page.partition(PROGRESS_MARK)
    between, _, tail = rest.partition(REPORT_MARK)

    async def parts() -> AsyncIterator[str]:
        yield head
        while not batch.done() or not counted.empty():
            waiting = asyncio.ensure_future(counted.get())
            await asyncio.wait({batch, waiting}, return_when=asyncio.FIRST_COMPLETED)
            if not waiting.done():
                waiting.cancel()
                continue
            done, of = waiting.result()
            while not counted.empty():
                done, of = counted.get_nowait()
            yield f'<p class="step" data-done="{done}">{done} of {of} runs answered</p>\n'
        report = await batch
        yield between
        yield render_text(request, "_batch_report.html", report=report, value=value, node=None, back=back)
        yield tail

    return StreamingResponse(parts(), media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})


def read_pins(raw: str) -> dict[str, str]:
    """The runs a confirmation answers and the question of each: `{"run id": "interrupt id"}` from the preview."""
    try:
        pins: Any = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        pins = None
    if not isinstance(pins, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in pins.items()):
        raise InvalidInputError(
            "a bulk answer is sent from its preview, which names each run and the question it answers; "
            "tick the runs, type the answer and press Preview"
        )
    ticked(list(pins))
    return pins
