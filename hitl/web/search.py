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
from hitl._text import SEARCHABLE, searchable
from hitl.client.listing import RUNNING, PendingRun, graph_in, list_runs
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
    "interrupted": f'{STATUS.name} = "interrupted" AND {RUNNING}',
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
    slack: int = 40,
    after: Cursor | None = None,
    counter: Callable[[str], Awaitable[int]] | None = None,
) -> Page:
    """Runs `offset .. offset+limit` of the filter, sorted by waiting-since (or start time); with `after`,
    the `limit` runs after that cursor (`offset` then counts from it), found by a query that starts
    there, so no earlier page's runs are listed again.

    Up to `small` matches (after the cursor) are listed whole; beyond, the time window holding the page
    is sought with COUNTs (`_Window`) until it holds at most `slack` rows beyond the page on either side
    (each such row costs the listing about what a COUNT does). The page says where the next one starts
    (`Page.next`). `counter` counts all the filter's matches (the inbox's shares the counts it shows
    beside the page); the counts placing the page are made here, fresh."""
    base = f.query()
    if after is None:
        total = await (counter or partial(count, temporal))(base)
        found = await _slice(temporal, base, total, offset, limit, sort, descending, small, slack)
        rest = total
    else:
        attr = ATTRIBUTE[sort]
        # A plain range from the cursor's time: the query exactly after the cursor needs an OR (a later time,
        # or the same time and a later id), which keeps SQLite from its index (every count of it a scan). Its
        # first `ties` rows, at that very time up to the cursor's own row, were on the previous page.
        at, way = stamp(after.at), "<=" if not descending else ">="
        near = f'{base} AND {attr} {">=" if not descending else "<="} "{at}"'
        tied = f'{base} AND {attr} = "{at}" AND WorkflowId {way} "{after.run_id}"'
        total, reach, ties = await asyncio.gather(
            (counter or partial(count, temporal))(base), count(temporal, near), count(temporal, tied)
        )
        rest = reach - ties
        # One more than the page: where the store keeps times finer than the cursor's, its own row comes
        # through (at the same time, not after it) and is dropped here, never shown twice.
        got = await _slice(temporal, near, reach, offset + ties, limit + 1, sort, descending, small, slack, after.at)
        mark = (after.at, after.run_id)
        found = [x for x in got if (x.key(sort) < mark if descending else x.key(sort) > mark)][:limit]
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
    attr = ATTRIBUTE[sort]
    key = f"{attr}|{base}"
    window = _Window(
        lambda t: count(temporal, f'{base} AND {attr} < "{stamp(t)}"'), total, slack, edge, descending, HINTS.of(key)
    )
    # One after the other: the end's search starts from what the start's counted (on SQLite, counts sent
    # together are served one at a time anyway).
    lo, below = await window.start_at(first)
    hi = await window.end_at(last)
    HINTS.learn(key, window.fresh)
    query = f'{base} AND {attr} >= "{stamp(lo)}"' + (f' AND {attr} < "{stamp(hi)}"' if hi else "")
    items = sorted(await listing(temporal, query), key=lambda x: x.key(sort))
    chosen = items[first - below : last - below]
    return chosen[::-1] if descending else chosen


Below = Callable[[datetime], Awaitable[int]]
"""COUNT of a query's matches whose sort time lies before a time."""


class _Hints:
    """Where earlier searches of the same query found what (time, count below it), per web process: a later
    page (another reviewer's, the same page refreshed by the live feed) probes there first. A hint only
    says where to ask: every count a page relies on is made fresh."""

    KEEP, QUERIES = 48, 256

    def __init__(self) -> None:
        self.points: dict[str, dict[datetime, int]] = {}

    def of(self, key: str) -> dict[datetime, int]:
        return self.points.get(key, {})

    def learn(self, key: str, seen: dict[datetime, int]) -> None:
        kept = self.points.pop(key, {}) | seen
        self.points[key] = dict(sorted(kept.items())[-self.KEEP :]) if len(kept) > self.KEEP else kept
        while len(self.points) > self.QUERIES:
            del self.points[next(iter(self.points))]


HINTS = _Hints()


class _Window:
    """Brackets ascending positions of a query in time with COUNT(attr < t).

    Each count costs the store a scan of the rows below t, and on SQLite they run one at a time, so the
    search asks few: first where an earlier page of the same query found its bounds (`_Hints`), else
    from now back (from a cursor: forward, or back for a descending page) in steps growing eightfold, or
    to where the counts so far extend on a line, then
    by interpolating the counts between the bracket's ends (bisecting where that did not narrow it),
    stopping as soon as a time is within `slack` rows of the position sought. Position 0 is the start of
    time, asked of nobody.
    """

    FLOOR = datetime(2000, 1, 1, tzinfo=timezone.utc)
    FUTURE = datetime(2100, 1, 1, tzinfo=timezone.utc)
    GROWTH = 8
    RESOLUTION = timedelta(milliseconds=1)
    """Runs paused within this of each other are not split: the window takes them all (runs tied at one
    time could not be split anyway)."""

    def __init__(
        self,
        below: Below,
        total: int,
        slack: int,
        edge: datetime | None = None,
        descending: bool = False,
        hints: dict[datetime, int] | None = None,
    ) -> None:
        self._below, self.total, self.slack = below, total, slack
        self.hints = dict(hints or {})
        self.seen: dict[datetime, int] = {self.FLOOR: 0, self.FUTURE: total}
        """Counts asked this time (and the two ends, known without asking)."""
        self.fresh: dict[datetime, int] = {}
        """The counts asked (what the next search of the query learns from)."""
        self.anchor = datetime.now(timezone.utc)
        """Where the walk starts: now (an inbox is mostly recent), or the cursor's time."""
        if edge is not None and not descending:
            self.seen[edge] = 0  # no match lies before the cursor (ascending)
            self.anchor = edge
        elif edge is not None:
            self.seen[edge + timedelta(microseconds=1)] = total  # none at or after it (descending)
            self.anchor = edge + timedelta(microseconds=1)

    async def below(self, t: datetime) -> int:
        if t not in self.seen:
            self.seen[t] = self.fresh[t] = await self._below(t)
        return self.seen[t]

    def bracket(self, a: int, b: int) -> tuple[datetime, datetime]:
        """The tightest bracket known: the latest time counted below `a`, the earliest counted above `b`."""
        lo = max(t for t, n in self.seen.items() if n < a)
        hi = min(t for t, n in self.seen.items() if n > b)
        return lo, hi

    async def find(self, a: int, b: int) -> tuple[datetime, datetime, int | None]:
        """A time t with a <= count(< t) <= b: (lo, hi, count) with lo == hi == t when found, else the
        narrowest bracket (count(< lo) < a, count(< hi) > b), times `RESOLUTION` apart (runs crowd there)."""
        for t, n in sorted(self.seen.items()):
            if a <= n <= b:
                return t, t, n
        target = (a + b) / 2
        for t, _ in sorted(self.hints.items(), key=lambda x: abs(x[1] - target))[:2]:
            lo, hi = self.bracket(a, b)
            if lo < t < hi and a <= await self.below(t) <= b:
                return t, t, self.seen[t]
        bisect, last_low = False, None
        while True:
            lo, hi = self.bracket(a, b)
            if hi - lo <= self.RESOLUTION:
                return lo, hi, None
            if lo == self.FLOOR:
                t = self._walk(hi, -1, target)  # nothing counted below: walk back from the data
            elif hi == self.FUTURE:
                t = self._walk(lo, 1, target)
            else:
                guess = None if bisect else self._secant(lo, hi, target)
                t = guess if guess is not None and lo < guess < hi else lo + (hi - lo) / 2
            t = min(max(t, lo + timedelta(microseconds=1)), hi - timedelta(microseconds=1))
            n = await self.below(t)
            if a <= n <= b:
                return t, t, n
            # A guess that moved the same end of the bracket again (rows crowd at one end): bisect next.
            bisect = not bisect and last_low == (n < a)
            last_low = n < a

    def _secant(self, lo: datetime, hi: datetime, target: float) -> datetime:
        """Where the count reaches `target`, read off the line through the two counted times nearest it. Where
        nothing lies below lo (the oldest runs are between lo and hi), that is hi and the next time counted
        above it, extended back: interpolating from an empty stretch would keep landing in it."""
        known = sorted(self.seen.items())
        p, q = (lo, self.seen[lo]), (hi, self.seen[hi])
        if p[1] == 0:
            p, q = q, next(((t, n) for t, n in known if t > hi and n > q[1] and t != self.FUTURE), q)
        elif q[1] == self.total:
            p, q = next(((t, n) for t, n in reversed(known) if t < lo and n < p[1] and t != self.FLOOR), p), p
        if p[1] == q[1]:
            return lo + (hi - lo) / 2
        return p[0] + (q[0] - p[0]) * ((target - p[1]) / (q[1] - p[1]))

    def _walk(self, near: datetime, way: int, target: float) -> datetime:
        """The next time to count going away from the data (`way` -1: back, 1: forward) from `near`, the
        counted time nearest the position sought: `GROWTH` times as far from the anchor as `near` is, or
        further where the counts so far, extended on a line, say the position lies further."""
        gone = max((near - self.anchor) * way, timedelta(0))
        t = self.anchor + max(gone * self.GROWTH, timedelta(seconds=1)) * way
        line = self._line(near, target)
        if line is not None and (line - t) * way > timedelta(0):
            t = line
        return min(max(t, self.FLOOR + timedelta(microseconds=1)), self.FUTURE - timedelta(microseconds=1))

    def _line(self, near: datetime, target: float) -> datetime | None:
        """Where the line through `near` and the next counted time on the data's side reaches `target`."""
        n = self.seen[near]
        inner = [(t, c) for t, c in self.seen.items() if t not in (self.FLOOR, self.FUTURE) and t != near and c != n]
        if not inner:
            return None
        t2, n2 = min(inner, key=lambda x: abs(x[0] - near))
        try:
            return near + (t2 - near) * ((target - n) / (n2 - n))
        except OverflowError:
            return None

    async def start_at(self, position: int) -> tuple[datetime, int]:
        """A time t with position - slack <= count(< t) <= position; and that count."""
        if position <= 0:
            return self.FLOOR, 0
        lo, _, n = await self.find(max(position - self.slack, 0), position)
        return lo, n if n is not None else await self.below(lo)

    async def end_at(self, position: int) -> datetime | None:
        """A time t with position <= count(< t) <= position + slack (None: to the end)."""
        if position + self.slack >= self.total:
            return None
        _, hi, _ = await self.find(position, position + self.slack)
        return hi


async def counts_by_graph(
    temporal: temporalio.client.Client,
    graphs: list[str],
    f: Filter,
    counter: Callable[[str], Awaitable[int]] | None = None,
    *,
    first: tuple[str, ...] = (),
) -> dict[str, int]:
    """How many runs of each of `graphs` match `f` (visibility has no GROUP BY on custom attributes); `counter`
    counts a query (default: a COUNT each time).

    Not one COUNT per graph: on SQLite each costs about the same (15-20 ms on a loaded 2-core machine, empty
    graph or not) and they are served one at a time, so an inbox serving 12 graphs paid 12 for its sidebar.
    The runs of all `f.graphs_in` are counted (`f`'s own query: the inbox counts it anyway), then split in
    halves: the first half counted, the second's its group's count less the first's, and a group counting 0
    is not split further. `first`: graphs counted alone up front (the inbox's shown graph, whose count the
    page asks anyway), taken out of the split. Mostly one or two graphs hold the waiting runs, so a page
    asks a few counts instead of one per graph. The counts are made at slightly different times, as the
    separate ones were: where runs moved between two of them so that a remainder comes out negative, its
    group is counted instead."""
    ask = counter or partial(count, temporal)
    names = [g for g in f.graphs_in or () if SEARCHABLE.match(g)]
    split = [g for g in names if g not in first] if f.graphs_in is not None else []
    alone = [g for g in graphs if g not in split] + [g for g in first if g in names and g not in graphs]

    def query(group: list[str]) -> str:
        if len(group) == 1:  # as the inbox's page asks a graph's count: asked once for both
            return dataclasses.replace(f, graph=group[0]).query()
        return dataclasses.replace(f, graphs_in=tuple(group)).query()

    async def halves(group: list[str], n: int) -> dict[str, int]:
        if n == 0 or not set(group) & set(graphs):
            return {}
        if len(group) == 1:
            return {group[0]: n}
        a, b = group[: len(group) // 2], group[len(group) // 2 :]
        in_a = await ask(query(a))
        in_b = n - in_a
        if in_b < 0:
            in_b = await ask(query(b))
        parts = await asyncio.gather(halves(a, in_a), halves(b, in_b))
        return parts[0] | parts[1]

    counted = asyncio.gather(*(ask(query([g])) for g in alone))

    async def rest() -> dict[str, int]:
        if not split:
            return {}
        total, known = await asyncio.gather(ask(f.query()), counted)
        n = total - sum(c for g, c in zip(alone, known, strict=True) if g in names)
        return await halves(split, n if n >= 0 else await ask(query(split)))

    known, found = await asyncio.gather(counted, rest())
    every = dict(zip(alone, known, strict=True)) | found
    return {g: every[g] for g in graphs if every.get(g)}
