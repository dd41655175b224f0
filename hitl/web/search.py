"""Finding runs through Temporal's visibility store, for the inbox and /threads/search.

Everything is filtered server-side with the search attributes hitl keeps on
each run (HitlStatus, HitlGraph, HitlPendingNodes, HitlWaitingSince), so 5,000
waiting runs cost a page, not a scan. Temporal's SQL visibility stores (the dev
server, PostgreSQL, MySQL) have no ORDER BY and no offset; a sorted page is found
by narrowing the sort key's time range with COUNT queries (cheap, indexed) down
to a window holding little more than the page, which is then listed and sorted
here. That works on every visibility store, Elasticsearch included.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Literal

import temporalio.client

import hitl
from hitl._text import searchable
from hitl.client.listing import PendingRun, graph_in, list_runs
from hitl.protocol.policy import DONE
from hitl.protocol.wire import (
    ANYONE,
    ASSIGNED,
    GRAPH,
    PENDING_NODES,
    REVIEWERS,
    STATUS,
    THREAD_WORKFLOW,
    WAITING_SINCE,
    WORKFLOW_NAME,
)
from hitl.types import InvalidInputError, StateSnapshot

log = logging.getLogger("hitl.web")
SortKey = Literal["waiting", "created"]
ATTRIBUTE = {"waiting": WAITING_SINCE.name, "created": "StartTime"}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
SMALL = 1000
"""Up to this many matches, one listing sorted here beats bisecting."""

LG_STATUS_QUERY = {
    "interrupted": f'{STATUS.name} = "interrupted" AND ExecutionStatus = "Running"',
    "busy": f'ExecutionStatus = "Running" AND {STATUS.name} != "interrupted"',
    "idle": 'ExecutionStatus = "Completed"',
    "error": 'ExecutionStatus IN ("Failed", "Canceled", "Terminated", "TimedOut")',
}
EXECUTION_STATUS = {
    "RUNNING": None,
    "COMPLETED": "idle",
    "FAILED": "error",
    "CANCELED": "error",
    "TERMINATED": "error",
    "TIMED_OUT": "error",
    "CONTINUED_AS_NEW": "busy",
}


@dataclass
class Filter:
    """Which runs: a LangGraph status, graph, waiting node, ids, minimum age."""

    status: str | None = "interrupted"
    graph: str | None = None
    node: str | None = None
    ids: list[str] = field(default_factory=list)
    older_than: timedelta | None = None
    may_decide: tuple[str, ...] = ()
    """Reviewer entries of the caller (identity first, then role:NAME): only runs with a question they may
    answer now (not held by someone else, not one they already voted on: `hitl.protocol.policy.deciders`)."""
    assigned_to: tuple[str, ...] = ()
    """Entries of the caller as above: only runs with a question claimed by or delegated to them."""
    graphs_in: tuple[str, ...] | None = None
    """Only runs of these graphs: the ones the caller may read (hitl/web/scope.py); None: any graph."""
    records: bool = False
    """Also threads with no run yet (their records, hitl/web/threads.py), where the status allows (idle)."""

    def query(self) -> str:
        runs = f'WorkflowType = "{WORKFLOW_NAME}"' + (f" AND {LG_STATUS_QUERY[self.status]}" if self.status else "")
        with_records = self.records and self.status in (None, "idle")
        record = f'WorkflowType = "{THREAD_WORKFLOW}" AND ExecutionStatus = "Running"'
        parts = [f"(({runs}) OR ({record}))" if with_records else runs]
        if self.graph:
            parts.append(f'{GRAPH.name} = "{quoted(self.graph, "graph")}"')
        if self.graphs_in is not None:
            scoped = graph_in(self.graphs_in)
            # a record naming no graph yet is anyone's who signs in (hitl/web/threads.py)
            parts.append(f"({scoped} OR ({record} AND {GRAPH.name} IS NULL))" if with_records else scoped)
        if self.node:
            parts.append(f'{PENDING_NODES.name} = "{quoted(self.node, "node")}"')
        if self.ids:
            parts.append("WorkflowId IN (" + ", ".join(f'"{quoted(i, "thread id")}"' for i in self.ids) + ")")
        if self.may_decide:
            parts.append(f"{REVIEWERS.name} IN {listed((ANYONE, *self.may_decide))}")
            # DONE is outside what `quoted` lets a caller's entry hold: no entry of theirs matches one
            parts.append(f'{REVIEWERS.name} != "{DONE}{quoted(self.may_decide[0], "reviewer")}"')
        if self.assigned_to:
            parts.append(f"{ASSIGNED.name} IN {listed(self.assigned_to)}")
        if self.older_than:
            parts.append(f'{WAITING_SINCE.name} < "{stamp(datetime.now(timezone.utc) - self.older_than)}"')
        return " AND ".join(parts)


@dataclass
class Listed:
    """One run as the visibility store shows it."""

    pending: PendingRun
    status: str
    created_at: datetime | None
    record: bool = False
    """A thread's record before its first run (hitl/web/threads.py): nothing to query."""
    thread: object = None
    """Its thread memo as stored (hitl/client/threads.py)."""

    def key(self, sort: SortKey) -> tuple[datetime, str]:
        at = self.pending.waiting_since if sort == "waiting" else self.created_at
        return (at or datetime.min.replace(tzinfo=timezone.utc), self.pending.run_id)


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: its last row's sort time and id. The next page's query starts after it, so a
    further page never lists an earlier page's runs again (and costs what the first page costs); the
    inbox's next-page link carries it as `after`."""

    at: datetime
    run_id: str

    def token(self) -> str:
        raw = json.dumps([self.at.isoformat(), self.run_id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str) -> Cursor:
        """A token from a next-page link (it comes back from the browser: checked, one line if bad)."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            at, run_id = json.loads(raw)
            when = datetime.fromisoformat(at)
            if not isinstance(run_id, str) or when.tzinfo is None:
                raise ValueError(run_id)
            # No run waits outside the window's span; a forged time near year 1 or 9999 would overflow
            # (a server error) once converted to UTC or moved by a microsecond.
            if not _Window.FLOOR <= when.astimezone(timezone.utc) < _Window.FUTURE:
                raise ValueError(at)
            return cls(when, quoted(run_id, "thread id"))
        except (ValueError, TypeError, OverflowError, InvalidInputError):
            raise InvalidInputError(
                "the page link's 'after' is not one this inbox made (it names where the last page ended); "
                "open the inbox's first page and page on from there"
            ) from None

    def after(self, attr: str, descending: bool) -> str:
        """The visibility clause for rows after this one in the page order."""
        op = "<" if descending else ">"
        at = stamp(self.at)
        return f'({attr} {op} "{at}" OR ({attr} = "{at}" AND WorkflowId {op} "{self.run_id}"))'


@dataclass
class Page:
    items: list[Listed]
    total: int
    next: Cursor | None = None
    """Where the next page starts, when there is one (paging on with `after=`)."""


quoted = searchable
"""A value safe inside a visibility query string (hitl/_text.py, shared with batch answers)."""


def listed(entries: tuple[str, ...]) -> str:
    return "(" + ", ".join(f'"{quoted(e, "reviewer")}"' for e in entries) + ")"


def stamp(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def count(temporal: temporalio.client.Client, query: str) -> int:
    return (await temporal.count_workflows(query)).count


async def listing(temporal: temporalio.client.Client, query: str, limit: int | None = None) -> list[Listed]:
    out = []
    async for row in list_runs(temporal, query, limit):
        status = EXECUTION_STATUS.get(row.execution_status) or (
            "interrupted" if row.hitl_status == "interrupted" else "busy"
        )
        if row.workflow_type == THREAD_WORKFLOW:
            status = "idle"  # a thread no run has used yet
        out.append(Listed(row.pending, status, row.created_at, row.workflow_type == THREAD_WORKFLOW, row.thread))
    return newest_each(out)


def newest_each(rows: list[Listed]) -> list[Listed]:
    """One row per thread: its newest execution. A thread's finished turn is deleted when its next turn starts
    (hitl/client/turns.py), but Temporal deletes a closed execution some seconds later; until then both are listed."""
    newest: dict[str, Listed] = {}
    for row in rows:
        seen = newest.get(row.pending.run_id)
        if seen is None or (row.created_at or EPOCH) > (seen.created_at or EPOCH):
            newest[row.pending.run_id] = row
    return [r for r in rows if newest[r.pending.run_id] is r]


async def readable_state(client: hitl.Client, run_id: str) -> StateSnapshot | None:
    """A listed run's state, or None when it cannot be read now (gone, worker down, encrypted for
    another key): one unreadable run must not take a whole listing down."""
    try:
        return await client.get_run(run_id).get_state()
    except Exception as e:  # noqa: BLE001 - any failure of one run only drops its details
        log.info("state of run %s not readable for a listing: %s", run_id, e)
        return None


async def page(
    temporal: temporalio.client.Client,
    f: Filter,
    *,
    offset: int = 0,
    limit: int = 50,
    sort: SortKey = "waiting",
    descending: bool = False,
    small: int = SMALL,
    slack: int = 100,
    after: Cursor | None = None,
) -> Page:
    """Runs `offset .. offset+limit` of the filter, sorted by waiting-since (or start time); with `after`,
    the `limit` runs after that cursor (`offset` then counts from it), found by a query that starts
    there, so no earlier page's runs are listed again.

    Up to `small` matches (after the cursor) are listed whole; beyond, time is bisected until a
    window holds at most `slack` rows beyond the page on either side. The page says where the
    next one starts (`Page.next`)."""
    base = f.query()
    if after is None:
        total = await count(temporal, base)
        found = await _slice(temporal, base, total, offset, limit, sort, descending, small, slack)
        rest = total
    else:
        rest_query = f"{base} AND {after.after(ATTRIBUTE[sort], descending)}"
        total, rest = await asyncio.gather(count(temporal, base), count(temporal, rest_query))
        # One more than the page: where the store keeps times finer than the cursor's, its own row comes
        # through the query (at the same time, not after it) and is dropped here, never shown twice.
        got = await _slice(temporal, rest_query, rest, offset, limit + 1, sort, descending, small, slack, after.at)
        mark = (after.at, after.run_id)
        kept = [x for x in got if (x.key(sort) < mark if descending else x.key(sort) > mark)]
        found, rest = kept[:limit], rest - (len(got) - len(kept))
    more = len(found) == limit and rest > offset + limit
    return Page(found, total, Cursor(*found[-1].key(sort)) if more else None)


async def _slice(
    temporal: temporalio.client.Client,
    base: str,
    total: int,
    offset: int,
    limit: int,
    sort: SortKey,
    descending: bool,
    small: int,
    slack: int,
    edge: datetime | None = None,
) -> list[Listed]:
    """Rows `offset .. offset+limit` of `base`'s `total` matches, in the page order. `edge`: no match lies
    before it (ascending) or after it (descending), a cursor's time: the window is sought from there."""
    if offset >= total or limit <= 0:
        return []
    if total <= small:
        items = sorted(await listing(temporal, base), key=lambda x: x.key(sort), reverse=descending)
        return items[offset : offset + limit]
    # Ascending positions of the wanted slice.
    first = total - offset - limit if descending else offset
    first, last = max(first, 0), min((total - offset if descending else offset + limit), total)
    window = _Window(temporal, base, ATTRIBUTE[sort], slack, edge, descending)
    (lo, below), hi = await asyncio.gather(window.start_at(first, total), window.end_at(last, total))
    query = f'{base} AND {ATTRIBUTE[sort]} >= "{stamp(lo)}"' + (f' AND {ATTRIBUTE[sort]} < "{stamp(hi)}"' if hi else "")
    items = sorted(await listing(temporal, query), key=lambda x: x.key(sort))
    chosen = items[first - below : last - below]
    return chosen[::-1] if descending else chosen


class _Window:
    """Brackets ascending positions of a query in time with COUNT(attr < t).

    Walks back from now in doubling steps (an inbox is mostly recent), then
    bisects, stopping as soon as the window is within `slack` rows of the page.
    With an `edge` (where the previous page ended), it walks from there instead:
    forward for an ascending page, back for a descending one; position 0 is the
    start of time, asked of nobody.
    """

    FLOOR = datetime(2000, 1, 1, tzinfo=timezone.utc)
    FUTURE = datetime(2100, 1, 1, tzinfo=timezone.utc)

    def __init__(
        self,
        temporal: temporalio.client.Client,
        base: str,
        attr: str,
        slack: int,
        edge: datetime | None = None,
        descending: bool = False,
    ) -> None:
        self.temporal, self.base, self.attr, self.slack = temporal, base, attr, slack
        self.seen: dict[datetime, int] = {}
        self.after = edge if edge is not None and not descending else None
        """No match lies before this time: the end of an ascending window is sought forward from it."""
        self.top = edge + timedelta(microseconds=1) if edge is not None and descending else None
        """No match lies at or after this time: a descending window is sought back from it."""

    async def below(self, t: datetime) -> int:
        if t not in self.seen:
            self.seen[t] = await count(self.temporal, f'{self.base} AND {self.attr} < "{stamp(t)}"')
        return self.seen[t]

    async def bracket(self, low: Callable[[int], bool], total: int) -> tuple[datetime, datetime]:
        """(lo, hi) with low(count(< lo)) true and false at hi, found by doubling back from now."""
        hi = self.top or datetime.now(timezone.utc) + timedelta(minutes=1)
        if await self.below(hi) < total:  # clocks disagree: some times lie ahead of ours
            hi = self.FUTURE
        span = timedelta(seconds=1)
        while True:
            t = max(hi - span, self.FLOOR)
            if t == self.FLOOR or low(await self.below(t)):
                return t, hi
            hi, span = t, span * 2

    async def forward(self, position: int) -> tuple[datetime, datetime]:
        """(lo, hi) with count(< lo) < position <= count(< hi), found by doubling forward from `after`."""
        assert self.after is not None
        lo, span = self.after, timedelta(seconds=1)
        while True:
            hi = min(lo + span, self.FUTURE)
            if hi == self.FUTURE or await self.below(hi) >= position:
                return lo, hi
            lo, span = hi, span * 2

    async def start_at(self, position: int, total: int) -> tuple[datetime, int]:
        """A time t with position - slack <= count(< t) <= position; and that count."""
        if position <= 0:
            return self.FLOOR, 0
        lo, hi = await self.bracket(lambda n: n <= position, total)
        while hi - lo > timedelta(microseconds=1) and await self.below(lo) < position - self.slack:
            mid = lo + (hi - lo) / 2
            if await self.below(mid) > position:
                hi = mid
            else:
                lo = mid
        return lo, await self.below(lo)

    async def end_at(self, position: int, total: int) -> datetime | None:
        """A time t with position <= count(< t) <= position + slack (None: to the end)."""
        if position + self.slack >= total:
            return None
        lo, hi = await (self.forward(position) if self.after else self.bracket(lambda n: n < position, total))
        while hi - lo > timedelta(microseconds=1) and await self.below(hi) > position + self.slack:
            mid = lo + (hi - lo) / 2
            if await self.below(mid) < position:
                lo = mid
            else:
                hi = mid
        return hi


async def counts_by_graph(
    temporal: temporalio.client.Client,
    graphs: list[str],
    f: Filter,
    counter: Callable[[str], Awaitable[int]] | None = None,
) -> dict[str, int]:
    """How many runs of each graph match (visibility has no GROUP BY on custom attributes); `counter`
    counts a query (default: a COUNT each time)."""
    filters = [dataclasses.replace(f, graph=g) for g in graphs]
    counts = await asyncio.gather(*((counter or partial(count, temporal))(x.query()) for x in filters))
    return {g: n for g, n in zip(graphs, counts, strict=True) if n}
