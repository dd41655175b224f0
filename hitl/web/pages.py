"""The inbox and a run's page: server-rendered, working without JS (app.js only enhances).

The forms these pages render post to decide.py; a refusal comes back here in a signed flash
(session.py: its reason, and the question it was about), and the run page then shows who
answered that question first. No message is ever taken from the URL.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

import hitl
from hitl.protocol import finite
from hitl.protocol.policy import claim_blocks, claim_refused, holds, live_claim, may_decide, may_review, vote_refused
from hitl.protocol.schema import schema_unusable
from hitl.types import Checkpoint, Decision, StateSnapshot
from hitl.web import diff, forms, row_lines, search
from hitl.web.auth import Identity
from hitl.web.context import caller, web
from hitl.web.inbox_feed import waiting_query
from hitl.web.rendering import render
from hitl.web.scope import delegation_refused, people, reader
from hitl.web.session import Flash, take_flash

router = APIRouter(include_in_schema=False)
SHORT_ID = 16
UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
NEXT_LOOKAHEAD = 20
"""Runs the next-run redirect looks through for one still waiting (listings lag decisions by a moment)."""
OFFERED_TTL_S = 1800.0
"""A length the page offers a claim for: only whether `who` may claim at all is asked of the rules."""
LISTED_WHOLE = 4
"""Up to this many pages' worth of matches, a page lists them all and sorts here; beyond, it lists a window."""
AGES = {"any": None, "1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}


# ------------------------------------------------------------------ inbox


@dataclass
class Row:
    run_id: str
    graph: str
    nodes: list[str]
    summary: str
    waiting_since: datetime | None
    assigned: list[str]
    lines: list[row_lines.Line] = field(default_factory=list)
    """The questions' words to decide from (hitl/web/row_lines.py)."""
    held_until: datetime | None = None
    """When the claim of a held question runs out (read from the run: the listing has no such attribute)."""

    @property
    def short_id(self) -> str:
        """The id as the row shows it (the page keeps the whole id in the link's title and on copy): a UUID's
        first 8 characters, the ends of another long id (where ids made of a name and a counter differ)."""
        if len(self.run_id) <= SHORT_ID:
            return self.run_id
        if UUID.fullmatch(self.run_id):
            return self.run_id[:8] + "…"
        return self.run_id[:8] + "…" + self.run_id[-6:]


@router.get("/", response_class=HTMLResponse)
async def inbox(
    request: Request,
    who: Identity = Depends(caller),
    graph: str | None = None,
    node: str | None = None,
    mine: bool = False,
    assigned: bool = False,
    age: Literal["any", "1h", "1d", "7d"] = "any",
    order: Literal["oldest", "newest"] = "oldest",
    page: int = Query(1, ge=1, le=100_000),
    after: str | None = Query(None, max_length=2000),
    partial: bool = False,
) -> HTMLResponse:
    """Every run waiting for a person, across graphs, filtered and paged server-side.

    The next-page link carries `after`, where this page ended (`search.Cursor`): the next page is found
    by a query starting there, never by listing the pages before it. `page` only numbers it.

    "I may decide" (`mine`) and "assigned to me" (`assigned`) are filtered by the visibility store where
    the runs index them (HitlReviewers, HitlAssigned: kept current on every claim change, vote and
    claim expiry, see `hitl.protocol.policy.deciders`); where not, each filters the page it is on.
    A bulk answer's refusal (bad JSON, nothing ticked, CSRF) comes back here in the flash."""
    w, scope = web(request), reader(request)
    flash = None if partial else take_flash(request)
    size = w.settings.page_size
    cursor = search.Cursor.parse(after) if after else None
    wanted, tests = await inbox_filter(request, who, graph, node, mine, assigned, age)
    per_graph = scope.filter(search.Filter(status="interrupted", node=node or None, older_than=AGES[age]))
    found, counts, everything, seen = await asyncio.gather(
        search.page(
            w.base.temporal,
            wanted,
            offset=0 if cursor else (page - 1) * size,
            limit=size,
            sort="waiting",
            descending=order == "newest",
            small=LISTED_WHOLE * size,
            slack=size,  # listing a row costs about 1/30 of a COUNT: a page's worth either side is cheap
            after=cursor,
            # the graph's count beside the page is this count when one graph is shown: asked once
            counter=w.inbox_feed.count if order == "oldest" or cursor else None,
        ),
        search.counts_by_graph(
            w.base.temporal, sorted(scope.served), per_graph, w.inbox_feed.count, first=(graph,) if graph else ()
        ),
        w.inbox_feed.count(per_graph.query()),  # also runs of subgraphs they may read
        # what the live feed counts, for its stream to start from (the same COUNT as above when unfiltered)
        w.inbox_feed.count(waiting_query(scope.graphs)),
    )
    items = found.items
    if tests:
        items = await this_page(w.base, items, who, tests)
    rows = [
        Row(
            x.pending.run_id,
            x.pending.graph,
            x.pending.nodes,
            summarize(x.pending.summary),
            x.pending.waiting_since,
            x.pending.assigned,
            row_lines.lines(x.pending.summary, summarize),
        )
        for x in items
    ]
    await claim_ends(w.base, rows)
    context: dict[str, Any] = dict(
        rows=rows,
        total=found.total,
        counts=counts,
        everything=everything,
        seen=seen,
        page=page,
        size=size,
        previous=paged(graph, node, mine, assigned, age, order, page - 1) if page > 1 else None,
        next=paged(graph, node, mine, assigned, age, order, page + 1, found.next) if found.next else None,
        filters={
            "graph": graph or "",
            "node": node or "",
            "mine": mine,
            "assigned": assigned,
            "age": age,
            "order": order,
        },
        back=inbox_query(graph, node, mine, assigned, age, order),
        now=datetime.now(timezone.utc),
        error=flash.error if flash else None,
        kept=kept_bulk(flash),
        view_only=who.view_only,
        batch_id=uuid.uuid4().hex[:16],  # the bulk form's: posting it twice applies nothing twice
    )
    return render(request, "_inbox_body.html" if partial else "inbox.html", **context)


def kept_bulk(flash: Flash | None) -> dict[str, Any]:
    """What a refused bulk answer had ticked and typed (hitl/web/bulk.py keeps it in the flash), to show again."""
    extra = flash.extra if flash else {}
    return {"value": extra.get("value", ""), "runs": set(extra.get("runs", "").split())}


async def inbox_filter(
    request: Request, who: Identity, graph: str | None, node: str | None, mine: bool, assigned: bool, age: str
) -> tuple[search.Filter, list[RunTest]]:
    """The inbox's filter as a visibility query, and the tests left for each listed run (where "I may decide"
    and "assigned to me" are not indexed)."""
    w = web(request)
    me = (who.name, *(f"role:{r}" for r in who.roles))
    by_index = mine and await w.base.reviewers_indexed()
    held_by_index = assigned and await w.base.assigned_indexed()
    wanted = reader(request).filter(
        search.Filter(
            status="interrupted",
            graph=graph or None,
            node=node or None,
            older_than=AGES[age],
            may_decide=me if by_index else (),
            assigned_to=me if held_by_index else (),
        )
    )
    tests: list[RunTest] = [decides] if mine and not by_index else []
    tests += [holds_one] if assigned and not held_by_index else []
    return wanted, tests


FILTER_KEYS = ("graph", "node", "mine", "assigned", "age", "order")


def inbox_query(graph: str | None, node: str | None, mine: bool, assigned: bool, age: str, order: str) -> str:
    """The inbox's filter as a query string (defaults left out): carried to each run page and back, and
    to the next run after a decision, so the filter survives every navigation."""
    pairs = {
        "graph": graph or "",
        "node": node or "",
        "mine": "true" if mine else "",
        "assigned": "true" if assigned else "",
    }
    pairs |= {"age": age if age != "any" else "", "order": order if order != "oldest" else ""}
    return urlencode({k: v for k, v in pairs.items() if v})


def paged(
    graph: str | None,
    node: str | None,
    mine: bool,
    assigned: bool,
    age: str,
    order: str,
    page: int,
    after: search.Cursor | None = None,
) -> str:
    """A pager link's query: the filter, the page's number and, going on, where this page ended."""
    pairs = [("page", str(page))] + ([("after", after.token())] if after else [])
    filters = inbox_query(graph, node, mine, assigned, age, order)
    return "&".join(x for x in (filters, urlencode(pairs) if page > 1 else "") if x)


def kept_query(text: str) -> str:
    """A carried inbox query, reduced to the filter's own keys (it comes back from the browser)."""
    return urlencode([(k, v) for k, v in parse_qsl(text[:2000]) if k in FILTER_KEYS])


@router.get("/ui/next")
async def next_run(
    request: Request,
    who: Identity = Depends(caller),
    after: str = "",
    graph: str | None = None,
    node: str | None = None,
    mine: bool = False,
    assigned: bool = False,
    age: Literal["any", "1h", "1d", "7d"] = "any",
    order: Literal["oldest", "newest"] = "oldest",
) -> RedirectResponse:
    """After a decision: the next run still waiting under the same filter (the inbox when none is left).

    The listing may still show runs answered a moment ago (visibility lags the runs), so each candidate's
    own state is read until one still waits; `after`, the run just decided, is skipped."""
    w = web(request)
    back = inbox_query(graph, node, mine, assigned, age, order)
    wanted, tests = await inbox_filter(request, who, graph, node, mine, assigned, age)
    found = await search.page(w.base.temporal, wanted, limit=NEXT_LOOKAHEAD, descending=order == "newest")
    now = datetime.now(timezone.utc)
    for x in found.items:
        if x.pending.run_id == after:
            continue
        s = await search.readable_state(w.base, x.pending.run_id)
        if s is not None and s.status == "interrupted" and all(t(s, who, now) for t in tests):
            link = f"/runs/{quote(x.pending.run_id, safe='')}"
            return RedirectResponse(f"{link}?{urlencode({'in': back})}", status_code=303)
    return RedirectResponse(f"/?{back}" if back else "/", status_code=303)


async def claim_ends(client: hitl.Client, rows: list[Row]) -> None:
    """The claim's end of each held row: one read of each held run on the page (few are held at a time)."""
    now = datetime.now(timezone.utc)

    async def end(r: Row) -> None:
        s = await search.readable_state(client, r.run_id)
        ends = [i.claimed_until for i in (s.interrupts if s else []) if i.claimed_until and live_claim(i, now)]
        r.held_until = min(ends) if ends else None

    await asyncio.gather(*(end(r) for r in rows if r.assigned))


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
        if one.startswith("breakpoint "):
            _, where, nodes = (one.split(" ", 2) + ["", ""])[:3]
            parts.append(
                f"Paused {where} {nodes}: check the state, then continue" if where == "before" else f"Paused {one[11:]}"
            )
        elif '"action_requests"' in one:
            names = list(dict.fromkeys(TOOL.findall(one))) + (["…"] if one.endswith("…") else [])
            parts.append(
                ("Review tool calls: " if len(names) > 1 else "Review tool call: ") + ", ".join(names)
                if names
                else "Review tool calls"
            )
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


RunTest = Callable[[StateSnapshot, Identity, datetime], bool]


def decides(s: StateSnapshot, who: Identity, now: datetime) -> bool:
    """A breakpoint, or a question `who` may answer now (the starter's quorum refusal is left to the run)."""
    return not s.interrupts or any(may_decide(i, who.name, list(who.roles), now) for i in s.interrupts)


def holds_one(s: StateSnapshot, who: Identity, now: datetime) -> bool:
    """A question claimed by `who`, or delegated to them or to a role they hold."""
    return any(live_claim(i, now) and holds(i.claimed_by, who.name, list(who.roles)) for i in s.interrupts)


async def this_page(
    client: hitl.Client, items: list[search.Listed], who: Identity, tests: list[RunTest]
) -> list[search.Listed]:
    """The runs on this page that pass every test, read one by one (where the attributes are not indexed)."""
    now = datetime.now(timezone.utc)

    async def keep(x: search.Listed) -> bool:
        s = await search.readable_state(client, x.pending.run_id)
        return s is not None and s.status == "interrupted" and all(t(s, who, now) for t in tests)

    kept = await asyncio.gather(*(keep(x) for x in items))
    return [x for x, k in zip(items, kept, strict=True) if k]


# ------------------------------------------------------------------ run page


@dataclass
class Claiming:
    """Who holds a question, as the page shows it to `who`, and what it offers them (claims.py posts it)."""

    held: bool
    """A claim holds it now (one past its time is freed by the run's timer any moment)."""
    mine: bool
    may_claim: bool
    delegates: list[str] | None
    """Whom it may be handed to (its reviewer list, but the holder, and who could act on it here:
    `claims.delegation_refused`); None: anyone (typed in); empty: nobody (no form)."""
    request_id: str
    """Its own: a claim and an answer sent from one page are two decisions."""


@dataclass
class Question:
    interrupt: hitl.Interrupt
    form: forms.Field | None
    cards: list[forms.ToolCard]
    may_answer: bool
    request_id: str
    blocked: str | None = None
    """Why `who` may not answer it now though on its list: someone else holds it, or they already voted."""
    claim: Claiming | None = None
    """None for a quorum question (it takes several people: nobody claims it) and on a signed-link page."""
    unusable: str | None = None
    """Why its answer schema cannot check answers (a question asked before hitl checked schemas when asking):
    the page shows the question and this note instead of a form no answer could pass."""
    typed: dict[str, str] = field(default_factory=dict)
    """What was typed into its form before a refusal (session.keep_typed): the forms show it again."""

    def all_allow(self, kind: str) -> bool:
        """Every reviewed call allows `kind`: offer it for all at once."""
        return bool(self.cards) and all(kind in c.allowed for c in self.cards)


@dataclass
class Moment:
    """One entry of the timeline: a checkpoint and the decisions that led to it."""

    checkpoint: Checkpoint
    decisions: list[tuple[Decision, diff.Diff, str]]
    changes: diff.Diff


@router.get("/runs/{run_id}", response_class=HTMLResponse)
async def run_page(
    request: Request,
    run_id: str,
    who: Identity = Depends(caller),
    done: str | None = None,
    partial: bool = False,
    came_from: str | None = Query(None, alias="in"),
) -> HTMLResponse:
    """A run's page; a form's refusal is shown from the flash (a live refresh, `partial`, leaves it be).

    `in` is the inbox filter the page was opened from (its rows link with it): the back link returns to it
    and a decision moves on to the next run waiting under it (decide.decided)."""
    w = web(request)
    flash = None if partial else take_flash(request)
    iid = flash.extra.get("iid") if flash else None
    snapshot = await reader(request).state(run_id)
    history = await w.base.get_run(run_id).get_state_history()

    def delegable(to: str) -> bool:
        return delegation_refused(to, w.readers.get(snapshot.graph, []), people(w.auth)) is None

    answered = next((d for d in reversed(snapshot.decisions) if iid and d.interrupt_id == iid), None)
    nodes = list(w.graphs[snapshot.graph].nodes) if snapshot.graph in w.graphs else []
    context: dict[str, Any] = dict(
        s=snapshot,
        questions=[
            question(
                i,
                who,
                claims=not who.view_only,
                delegable=delegable,
                typed=flash.typed if flash and i.id == iid else None,
            )
            for i in snapshot.interrupts
        ],
        view_only=who.view_only,
        timeline=await asyncio.to_thread(timeline, history, snapshot),  # diffs of states: off the event loop
        nodes=nodes,
        error=flash.error if flash else None,
        code=flash.code if flash else None,
        typed_cut=bool(flash and flash.typed_cut),
        answered=answered,
        done=done,
        values_json=finite.dumps(snapshot.values, indent=2, default=str),
        version=version(snapshot),
        ui_url=w.base.ui_url(run_id) if w.settings.ui_links else None,
        request_id=uuid.uuid4().hex,
        now=datetime.now(timezone.utc),
        back=None if came_from is None else kept_query(came_from),
    )
    return render(request, "_run_live.html" if partial else "run.html", **context)


def version(s: StateSnapshot) -> str:
    """Matches the event ids of the run's live feed (events.run_changes)."""
    return f"{s.step}.{s.status}.{len(s.decisions)}"


def question(
    i: hitl.Interrupt,
    who: Identity,
    claims: bool = False,
    delegable: Callable[[str], bool] = lambda to: True,
    typed: dict[str, str] | None = None,
) -> Question:
    """A question's forms for `who`; with `claims`, what they may do about who holds it (and to whom of its
    reviewers it can be handed: `delegable`); with `typed`, the forms show what was typed before a refusal."""
    unusable = schema_unusable(i.schema, "its answer schema") if i.schema is not None else None
    cards = forms.review_cards(i.value, i.schema) if not unusable else []
    form = None if cards or unusable else (forms.build(i.schema) if i.schema else None)
    for shown in [form, *(c.args_form for c in cards)] if typed else []:
        if shown is not None:
            forms.refill(shown, typed or {})
    roles, now = list(who.roles), datetime.now(timezone.utc)
    allowed = not who.view_only and (not i.reviewers or may_review(i.reviewers, who.name, roles))
    blocked = claim_blocks(i, who.name, roles, now) or vote_refused(i, who.name, "")
    claiming = None
    if claims and i.quorum is None:
        held = live_claim(i, now)
        claiming = Claiming(
            held=held,
            mine=held and holds(i.claimed_by, who.name, roles),
            may_claim=claim_refused(i, "claim", who.name, roles, None, OFFERED_TTL_S, now) is None,
            delegates=[r for r in i.reviewers if r != i.claimed_by and delegable(r)] if i.reviewers else None,
            request_id=uuid.uuid4().hex,
        )
    return Question(i, form, cards, allowed, uuid.uuid4().hex, blocked, claiming, unusable, dict(typed or {}))


def timeline(history: list[Checkpoint], s: StateSnapshot) -> list[Moment]:
    out = []
    for n, c in enumerate(history):
        older = history[n + 1] if n + 1 < len(history) else None
        decided = [(d, decision_changes(d, older), said(d)) for d in c.decisions]
        changes = diff.Diff()
        if c.source == "update" and c.values is not None and older is not None and older.values is not None:
            changes = diff.changes(older.values, c.values)
        out.append(Moment(c, decided, changes))
    recorded = {(d.at, d.identity, d.kind, d.interrupt_id) for c in history for d in c.decisions}
    latest = [d for d in s.decisions if (d.at, d.identity, d.kind, d.interrupt_id) not in recorded]
    if latest and out:
        out[0] = Moment(
            out[0].checkpoint,
            out[0].decisions + [(d, decision_changes(d, None), said(d)) for d in latest],
            out[0].changes,
        )
    return out


def said(d: Decision) -> str:
    """A decision's value in a few words: per-call verdicts of a tool review, else compact JSON."""
    if d.value is None:
        return ""
    calls = d.value.get("decisions") if isinstance(d.value, dict) else None
    if isinstance(calls, list) and all(isinstance(c, dict) for c in calls):
        return " · ".join(
            f"{n + 1}. {c.get('type', '?')}" + (f": {c['message']}" if c.get("message") else "")
            for n, c in enumerate(calls)
        )
    text = finite.dumps(d.value, default=str)
    return text if len(text) <= 140 else text[:139] + "…"


def decision_changes(d: Decision, older: Checkpoint | None) -> diff.Diff:
    """What an edit changed: tool-call arguments (kept in the decision; one diff across the calls) or state keys."""
    if d.kind == "resume" and isinstance(d.value, dict) and isinstance(d.value.get("decisions"), list):
        out = diff.Diff()
        for n, item in enumerate(d.value["decisions"]):
            if isinstance(item, dict) and item.get("type") == "edit" and "original_args" in item:
                out.compare(item["original_args"], (item.get("edited_action") or {}).get("args"), f"call {n + 1}")
        return out
    if (
        d.kind == "update_state"
        and isinstance(d.value, dict)
        and "__clipped__" not in d.value  # an edit over 2 kB is kept as a stub: no keys to compare
        and older is not None
        and older.values is not None
    ):
        return diff.changes({k: older.values[k] for k in d.value if k in older.values}, d.value)
    return diff.Diff()
