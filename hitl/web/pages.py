"""The review inbox in the browser: server-rendered pages that work without JS.

Every answer is pinned to the question the page showed: it is sent as
`map={interrupt_id: value}` with the form's own request id as the idempotency
key, so a question answered meanwhile by someone else is refused (and the page
says who answered first) instead of answering the next question, and a double
click counts once. Refusals come back through errors.py as a redirect to the
run page carrying the one-line reason.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal, Optional

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict

import hitl
from hitl.client import NO_VALUE
from hitl.types import Checkpoint, Decision, DecisionRejectedError, InvalidInputError, StateSnapshot
from hitl.web import diff, forms, search
from hitl.web.auth import TOKEN_COOKIE, Identity, TokenAuth, check_csrf, csrf_token
from hitl.web.context import caller, decider, web
from hitl.web.errors import WebError
from workflows.checks import may_review

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
AGES = {"any": None, "1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}


def render(request: Request, name: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    w = web(request)
    return templates.TemplateResponse(
        request,
        name,
        {
            "who": request.scope.get("hitl_identity"),
            "auth_mode": w.auth.mode,
            "csrf": csrf_token(request),
            "temporal_ui": w.base.ui_url() if w.settings.ui_links else None,
            **context,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


async def error_page(request: Request, status: int, detail: str) -> Response:
    return render(request, "error.html", status_code=status, status=status, detail=detail)


# ------------------------------------------------------------------ inbox


@dataclass
class Row:
    run_id: str
    graph: str
    nodes: list[str]
    summary: str
    waiting_since: datetime | None


@router.get("/", response_class=HTMLResponse)
async def inbox(
    request: Request,
    who: Identity = Depends(caller),
    graph: Optional[str] = None,
    node: Optional[str] = None,
    mine: bool = False,
    age: Literal["any", "1h", "1d", "7d"] = "any",
    order: Literal["oldest", "newest"] = "oldest",
    page: int = Query(1, ge=1, le=100_000),
    partial: bool = False,
) -> HTMLResponse:
    """Every run waiting for a person, across graphs, filtered and paged server-side."""
    w = web(request)
    size = w.settings.page_size
    wanted = search.Filter(status="interrupted", graph=graph or None, node=node or None, older_than=AGES[age])
    per_graph = search.Filter(status="interrupted", node=node or None, older_than=AGES[age])
    found, counts = await asyncio.gather(
        search.page(w.base.temporal, wanted, offset=(page - 1) * size, limit=size, sort="waiting", descending=order == "newest"),
        search.counts_by_graph(w.base.temporal, sorted(w.graphs), per_graph),
    )
    items = found.items
    if mine:
        items = await decidable(w.base, items, who)
    rows = [Row(x.pending.run_id, x.pending.graph, x.pending.nodes, summarize(x.pending.summary), x.pending.waiting_since) for x in items]
    context = dict(
        rows=rows, total=found.total, counts=counts, page=page, size=size, pages=max(1, -(-found.total // size)),
        filters={"graph": graph or "", "node": node or "", "mine": mine, "age": age, "order": order},
        now=datetime.now(timezone.utc),
    )
    return render(request, "_inbox_body.html" if partial else "inbox.html", **context)


QUESTION = re.compile(r'"question":\s*"((?:[^"\\]|\\.)*)')
TOOL = re.compile(r'"name":\s*"([^"]+)"')


def summarize(memo: str) -> str:
    """The inbox line for a run: its question's text, or the tools to review, else the raw summary.

    The summary memo is a shortened rendering of the question (possibly cut
    mid-JSON), so this reads it leniently."""
    parts = []
    for one in memo.split("; "):
        if one.startswith('"') and one.endswith('"'):
            try:
                parts.append(str(json.loads(one)))
                continue
            except json.JSONDecodeError:
                pass
        if '"action_requests"' in one:
            names = list(dict.fromkeys(TOOL.findall(one))) + (["…"] if one.endswith("…") else [])
            parts.append(("Review tool calls: " if len(names) > 1 else "Review tool call: ") + ", ".join(names) if names else "Review tool calls")
        elif match := QUESTION.search(one):
            parts.append(unquote(match.group(1)))
        else:
            parts.append(one)
    return " · ".join(parts)


def unquote(text: str) -> str:
    try:
        return str(json.loads(f'"{text}"'))
    except json.JSONDecodeError:
        return text


async def decidable(client: hitl.Client, items: list[search.Listed], who: Identity) -> list[search.Listed]:
    """The runs on this page with a question `who` may answer (reviewers are not indexed, so per page)."""

    async def mine(x: search.Listed) -> bool:
        try:
            s = await client.get_run(x.pending.run_id).get_state()
        except hitl.HitlError:  # gone, or its worker is down: not something to decide now
            return False
        return s.status == "interrupted" and (
            not s.interrupts or any(not i.reviewers or may_review(i.reviewers, who.name, list(who.roles)) for i in s.interrupts)
        )

    keep = await asyncio.gather(*(mine(x) for x in items))
    return [x for x, k in zip(items, keep) if k]


# ------------------------------------------------------------------ run page


@dataclass
class Question:
    interrupt: hitl.Interrupt
    form: forms.Field | None
    cards: list[forms.ToolCard]
    may_answer: bool
    request_id: str

    def all_allow(self, kind: str) -> bool:
        """Every reviewed call allows `kind`: offer it for all at once."""
        return bool(self.cards) and all(kind in c.allowed for c in self.cards)


@dataclass
class Moment:
    """One entry of the timeline: a checkpoint and the decisions that led to it."""

    checkpoint: Checkpoint
    decisions: list[tuple[Decision, list[diff.Change]]]
    changes: list[diff.Change]


@router.get("/runs/{run_id}", response_class=HTMLResponse)
async def run_page(
    request: Request,
    run_id: str,
    who: Identity = Depends(caller),
    error: Optional[str] = None,
    code: Optional[int] = None,
    iid: Optional[str] = None,
    done: Optional[str] = None,
    partial: bool = False,
) -> HTMLResponse:
    w = web(request)
    run = w.base.get_run(run_id)
    snapshot = await run.get_state()
    history = await run.get_state_history()
    answered = next((d for d in reversed(snapshot.decisions) if iid and d.interrupt_id == iid), None)
    nodes = list(w.graphs[snapshot.graph].nodes) if snapshot.graph in w.graphs else []
    context = dict(
        s=snapshot,
        questions=[question(i, who) for i in snapshot.interrupts],
        timeline=timeline(history, snapshot),
        nodes=nodes,
        error=error,
        code=code,
        answered=answered,
        done=done,
        values_json=json.dumps(snapshot.values, indent=2, default=str),
        version=version(snapshot),
        ui_url=w.base.ui_url(run_id) if w.settings.ui_links else None,
        request_id=uuid.uuid4().hex,
        now=datetime.now(timezone.utc),
    )
    return render(request, "_run_live.html" if partial else "run.html", **context)


def version(s: StateSnapshot) -> str:
    """Matches the event ids of the run's live feed (events.run_changes)."""
    return f"{s.step}.{s.status}.{len(s.decisions)}"


def question(i: hitl.Interrupt, who: Identity) -> Question:
    cards = forms.tool_cards(i.value, i.schema) if forms.is_tool_review(i.value) else []
    form = None if cards else (forms.build(i.schema) if i.schema else None)
    allowed = not i.reviewers or may_review(i.reviewers, who.name, list(who.roles))
    return Question(i, form, cards, allowed, uuid.uuid4().hex)


def timeline(history: list[Checkpoint], s: StateSnapshot) -> list[Moment]:
    out = []
    for n, c in enumerate(history):
        older = history[n + 1] if n + 1 < len(history) else None
        decided = [(d, decision_changes(d, older)) for d in c.decisions]
        changes = []
        if c.source == "update" and c.values is not None and older is not None and older.values is not None:
            changes = diff.changes(older.values, c.values)
        out.append(Moment(c, decided, changes))
    recorded = {(d.at, d.identity, d.kind, d.interrupt_id) for c in history for d in c.decisions}
    latest = [d for d in s.decisions if (d.at, d.identity, d.kind, d.interrupt_id) not in recorded]
    if latest and out:
        out[0] = Moment(out[0].checkpoint, out[0].decisions + [(d, decision_changes(d, None)) for d in latest], out[0].changes)
    return out


def decision_changes(d: Decision, older: Checkpoint | None) -> list[diff.Change]:
    """What an edit changed: tool-call arguments (kept in the decision) or state keys."""
    if d.kind == "resume" and isinstance(d.value, dict) and isinstance(d.value.get("decisions"), list):
        out = []
        for n, item in enumerate(d.value["decisions"]):
            if isinstance(item, dict) and item.get("type") == "edit" and "original_args" in item:
                args = (item.get("edited_action") or {}).get("args")
                out += [diff.Change(f"call {n + 1}.{c.path}", c.kind, c.before, c.after) for c in diff.changes(item["original_args"], args)]
        return out
    if d.kind == "update_state" and isinstance(d.value, dict) and older is not None and older.values is not None:
        return diff.changes({k: older.values.get(k, diff.MISSING) for k in d.value}, d.value)
    return []


# ------------------------------------------------------------------ decisions from forms


async def submitted(request: Request, run_id: str, **back: str) -> dict[str, str]:
    """The form's fields, once its CSRF token checks out; refusals return to the run page."""
    request.scope["hitl_return_to"] = f"/runs/{run_id}"
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    request.scope["hitl_return_query"] = {k: fields[v] for k, v in back.items() if fields.get(v)}
    check_csrf(request, fields.get("csrf"))
    return fields


def done(run_id: str, what: str) -> RedirectResponse:
    return RedirectResponse(f"/runs/{run_id}?done={what}", status_code=303)


@router.post("/ui/runs/{run_id}/answer")
async def answer(request: Request, run_id: str) -> Response:
    """Answer one question; the value is read with the form the page generated for it."""
    form = await submitted(request, run_id, iid="interrupt_id")
    run = decider(request).get_run(run_id)
    iid = form.get("interrupt_id", "")
    current = await run.get_state()
    pending = next((i for i in current.interrupts if i.id == iid), None)
    if form.get("mode") == "json":
        value = forms.loads(form.get("json", ""), "the answer")
    elif pending is None:
        raise DecisionRejectedError(f"question {iid or '(none)'} is no longer waiting for an answer")
    elif forms.is_tool_review(pending.value):
        value = forms.parse_review(forms.tool_cards(pending.value, pending.schema), form)
    elif pending.schema:
        value = forms.parse(forms.build(pending.schema), form)
    else:
        value = forms.loads(form.get("v", ""), "the answer")
    await run.resume(map={iid: value}, request_id=form.get("request_id") or None, wait=False)
    return done(run_id, "answered")


@router.post("/ui/runs/{run_id}/continue")
async def continue_run(request: Request, run_id: str) -> Response:
    """Continue from the breakpoint the page showed (refused if the run has moved on since)."""
    form = await submitted(request, run_id)
    run = decider(request).get_run(run_id)
    await same_pause(run, form)
    await run.resume(NO_VALUE, request_id=form.get("request_id") or None, wait=False)
    return done(run_id, "continued")


@router.post("/ui/runs/{run_id}/state")
async def edit_state(request: Request, run_id: str) -> Response:
    """Write the keys the person changed, as `as_node` if chosen (update_state)."""
    form = await submitted(request, run_id)
    run = decider(request).get_run(run_id)
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
    form = await submitted(request, run_id)
    step = form.get("step", "")
    if not step.isdigit():
        raise InvalidInputError(f"step must be a whole number; got {step!r}")
    new = await decider(request).fork(run_id, int(step))
    return RedirectResponse(f"/runs/{new.run_id}?done=forked", status_code=303)


@router.post("/ui/runs/{run_id}/cancel")
async def cancel(request: Request, run_id: str) -> Response:
    await submitted(request, run_id)
    await decider(request).get_run(run_id).cancel()
    return done(run_id, "cancelled")


async def same_pause(run: hitl.Run, form: dict[str, str]) -> None:
    """Refuse a decision made on a page showing an older pause of the run."""
    now = await run.get_state()
    shown = form.get("version")
    if shown and shown != version(now):
        raise DecisionRejectedError(
            f"the run has changed since the page was loaded (it is {now.status} at step {now.step}); review it again"
        )


# ------------------------------------------------------------------ helpers for the page's scripts


class CheckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_id: str
    interrupt_id: str
    value: Any = None


class DiffBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    before: Any = None
    after: Any = None


@router.post("/ui/api/check")
async def check_answer(request: Request, body: CheckBody, who: Identity = Depends(caller)) -> dict[str, bool]:
    """Inline validation of the JSON editor: the same schema check the run applies."""
    from temporalio.exceptions import ApplicationError

    from workflows.checks import check_schema

    snapshot = await web(request).base.get_run(body.run_id).get_state()
    pending = next((i for i in snapshot.interrupts if i.id == body.interrupt_id), None)
    if pending is None:
        raise DecisionRejectedError(f"question {body.interrupt_id} is no longer waiting for an answer")
    if pending.schema:
        try:
            check_schema(body.value, pending.schema, "the answer")
        except ApplicationError as e:
            raise InvalidInputError(e.message) from None
    return {"ok": True}


class PreviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_id: str
    interrupt_id: str
    fields: dict[str, str]


@router.post("/ui/api/preview")
async def preview_review(request: Request, body: PreviewBody, who: Identity = Depends(caller)) -> dict[str, Any]:
    """The diff of each edited tool call, read from the form exactly as submitting it would."""
    snapshot = await web(request).base.get_run(body.run_id).get_state()
    pending = next((i for i in snapshot.interrupts if i.id == body.interrupt_id), None)
    if pending is None or not forms.is_tool_review(pending.value):
        raise DecisionRejectedError(f"question {body.interrupt_id} is no longer waiting for an answer")
    diffs = {}
    for card in forms.tool_cards(pending.value, pending.schema):
        if body.fields.get(f"d{card.index}.type") == "edit" and card.args_form is not None:
            after = forms.parse(card.args_form, body.fields)
            diffs[str(card.index)] = templates.get_template("_diff.html").render(changes=diff.changes(card.args, after))
    return {"diffs": diffs}


@router.post("/ui/api/diff", response_class=HTMLResponse)
async def show_diff(request: Request, body: DiffBody, who: Identity = Depends(caller)) -> HTMLResponse:
    """The diff an edit would make, rendered as the timeline will show it."""
    return render(request, "_diff.html", changes=diff.changes(body.before, body.after))


# ------------------------------------------------------------------ API reference


@router.get("/docs", response_class=HTMLResponse)
async def api_docs(request: Request) -> HTMLResponse:
    """The OpenAPI document as a page, rendered here: no CDN-hosted Swagger UI, which offline machines cannot load."""
    spec = request.app.openapi()
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            schema = ((op.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema") or {})
            ref = schema.get("$ref") or next((o.get("$ref") for o in schema.get("anyOf", []) if o.get("$ref")), None)
            body = list(spec["components"]["schemas"][ref.split("/")[-1]].get("properties", {})) if ref else []
            doc = (op.get("description") or "").strip().split("\n\n")[0].replace("\n", " ")
            groups.setdefault((op.get("tags") or ["meta"])[0], []).append(
                {"method": method, "path": path, "summary": op.get("summary", ""), "doc": doc, "body": body}
            )
    return render(request, "docs.html", groups=groups)


# ------------------------------------------------------------------ signing in


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/", error: Optional[str] = None) -> HTMLResponse:
    return render(request, "login.html", next=safe_next(next), error=error)


@router.post("/ui/login")
async def login(request: Request) -> Response:
    request.scope["hitl_return_to"] = "/login"
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    check_csrf(request, fields.get("csrf"))
    auth = web(request).auth
    if not isinstance(auth, TokenAuth):
        raise WebError(400, f"this server signs people in by {auth.mode}, not with tokens")
    token = fields.get("token", "").strip()
    if auth.lookup(token) is None:
        raise WebError(403, "that token is not known to this server")
    response = RedirectResponse(safe_next(fields.get("next", "/")), status_code=303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


@router.post("/ui/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response


def safe_next(target: str) -> str:
    """Only same-site paths: a login link must not bounce anyone elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else "/"
