"""`/stats`: the queue's picture, per graph and per reviewer, as tables and server-drawn SVG plots.

The figures are read once per reader scope (the graphs the caller may read) per CACHE_S and shared by every
request in that scope meanwhile, waiting on the same read when one is under way: 50 open tabs cost what one
does (hitl/stats/reader.py states the cost of one read).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

import hitl
from hitl.stats import reader as stats_reader
from hitl.stats.figures import HOURS, Figures, Row, waited
from hitl.web import svg
from hitl.web.context import web
from hitl.web.rendering import render
from hitl.web.scope import reader

router = APIRouter(include_in_schema=False)
CACHE_S = 30.0
"""How long one scope's figures are shown before they are read again."""


@dataclass
class Cache:
    """Each scope's latest read (or the read under way), with when it stops being fresh."""

    ttl_s: float = CACHE_S
    reads: dict[tuple[str, ...], tuple[float, asyncio.Task[Figures]]] = field(default_factory=dict)

    async def figures(self, client: hitl.Client, graphs: tuple[str, ...]) -> Figures:
        now = time.monotonic()
        held = self.reads.get(graphs)
        fresh = held is not None and held[0] > now and not (held[1].done() and held[1].exception())
        if not fresh:
            held = (now + self.ttl_s, asyncio.ensure_future(stats_reader.read(client, graphs)))
            self.reads[graphs] = held
        assert held is not None
        return await asyncio.shield(held[1])


def cache(request: Request) -> Cache:
    state = request.app.state
    if not hasattr(state, "hitl_stats"):
        state.hitl_stats = Cache()
    found: Cache = state.hitl_stats
    return found


def age(since: datetime | None, now: datetime) -> str:
    return waited((now - since).total_seconds()) if since else "–"


@dataclass
class Plots:
    waiting: str
    per_hour: str
    p50_week: str
    answers_by_reviewer: str


def hour_labels() -> list[str]:
    """Each hourly bucket's name, oldest first: "23-24 h ago" ... "the last hour"."""
    return [f"{HOURS - i - 1}–{HOURS - i} h ago" for i in range(HOURS - 1)] + ["the last hour"]


def in_unit(rows: list[Row]) -> tuple[list[tuple[str, float]], str]:
    """Each row's median time to decision over the week in one unit that suits the longest (s, min or h)."""
    longest = max((r.week.p50_s or 0 for r in rows), default=0)
    size, unit = (3600, " h") if longest >= 3 * 3600 else (60, " min") if longest >= 120 else (1, " s")
    return [(r.name, round((r.week.p50_s or 0) / size, 1)) for r in rows], unit


def plots(f: Figures) -> Plots:
    timed, unit = in_unit([r for r in f.graphs if r.week.p50_s is not None])
    return Plots(
        waiting=svg.bars("Runs waiting now, per graph", [(r.name, r.waiting) for r in f.graphs if r.waiting]),
        per_hour=svg.columns(
            "Answers per hour over the last 24 hours, all graphs", f.total.per_hour, hour_labels(), ("24 h ago", "now")
        ),
        p50_week=svg.bars(f"Median time to decision over the last week, per graph, in{unit}", timed, unit),
        answers_by_reviewer=svg.bars(
            "Answers over the last week, per reviewer",
            [(r.name, r.week.answers) for r in f.reviewers if r.week.answers],
        ),
    )


@router.get("/stats", response_class=HTMLResponse)
async def stats(request: Request) -> HTMLResponse:
    """The queue's picture for the runs the caller may read."""
    w, scope = web(request), reader(request)
    f = await cache(request).figures(w.base, tuple(sorted(scope.graphs)))
    return render(
        request,
        "stats.html",
        f=f,
        plots=plots(f),
        waited=waited,
        age=age,
        cache_s=int(cache(request).ttl_s),
    )
