"""The inbox's live feed: one poller per web process, fanned out to every open inbox page.

Each open inbox page holds an EventSource on `/ui/inbox/stream`. Polling the visibility store once per
page would make the server's cost grow with the tabs open (50 reviewers' tabs: 100 COUNT queries a
second). Here every feed joins the one poller of its web process, grouped by what its viewer may read
(`hitl.web.scope.Reader.graphs`): each tick counts once per group, whatever the number of pages in it,
and tells each page of that group when its count changed. A viewer's counts are made with their own
read scope in the query, so a page never hears of runs its viewer may not read (not even that they
changed). Runs its viewer may not read are never counted for them, exactly as with a feed of its own.

One COUNT per group and tick, taking turns: the runs waiting (a change tells of a pause or an answer), then
those that started waiting since the last such count, up to a second ago (visibility takes that long at
most to show a pause): one answered and another paused between two ticks leave the waiting count as it was,
and this catches it. Pages hear of a change at the next waiting count, with its number: within two poll
intervals, three for such a swap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import temporalio.service

import hitl
from hitl._temporal_errors import read_with_retries
from hitl.protocol.wire import WAITING_SINCE
from hitl.types import HitlError
from hitl.web import search

log = logging.getLogger("hitl.web")


Seen = tuple[int, int]
"""What a page hears: the runs waiting now, and how many changes its group has told of (the event's id)."""


def waiting_query(graphs: frozenset[str]) -> str:
    """The runs waiting that a viewer who may read `graphs` sees: what the feed counts, and what an inbox page
    counts as it renders (the `seen` its stream starts from)."""
    return search.Filter(status="interrupted", graphs_in=tuple(sorted(graphs))).query()


class _Box:
    """One page's mailbox: only the latest change matters (a page refreshes once for many)."""

    def __init__(self, seen: int | None) -> None:
        self.seen = seen
        """The waiting count this page last showed: what it rendered, then each count it was told (None: the
        page did not say, and the group's first count stands for it)."""
        self.latest: Seen | Exception | None = None
        self.ready = asyncio.Event()

    def put(self, item: Seen | Exception) -> None:
        self.latest = item
        self.ready.set()

    async def take(self) -> Seen | Exception:
        await self.ready.wait()
        self.ready.clear()
        item, self.latest = self.latest, None
        assert item is not None
        return item


@dataclass
class _Group:
    """The pages of viewers who may read the same graphs: one count serves them all."""

    graphs: frozenset[str]
    boxes: set[_Box] = field(default_factory=set)
    since: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    """Pauses from here on are not counted yet (those before it were, or were on the pages when they rendered)."""
    waiting: int | None = None
    """The last waiting count (None before the first)."""
    changed: bool = False
    """A pause was counted since the last waiting count: the next one tells the pages, whatever it says."""
    told: int = 0
    turn: int = 0

    def waiting_query(self) -> str:
        return waiting_query(self.graphs)

    def paused_query(self, until: datetime) -> str:
        at, to = search.stamp(self.since), search.stamp(until)
        return f'{self.waiting_query()} AND {WAITING_SINCE.name} >= "{at}" AND {WAITING_SINCE.name} < "{to}"'


class InboxFeed:
    """The web process's one inbox poller (`Web.inbox_feed`); it runs only while some page listens."""

    LAG = timedelta(seconds=1)
    """How long a pause may take to show in visibility (Elasticsearch refreshes every second)."""

    def __init__(self, client: hitl.Client, every: float, fresh_for: float) -> None:
        self.client, self.every, self.fresh_for = client, every, fresh_for
        self.groups: dict[frozenset[str], _Group] = {}
        self.ticks = 0
        """Ticks done so far (tests and the bench read it to count queries per tick)."""
        self._task: asyncio.Task[None] | None = None
        self._counted: dict[str, tuple[float, asyncio.Future[int]]] = {}

    async def count(self, query: str) -> int:
        """A COUNT the inbox shows beside its page (per graph, in all), made at most once per `fresh_for`
        (the app's poll interval) for every page rendered meanwhile: a live change refreshes every open page at once, and each
        would otherwise ask the same counts again. As fresh as the feed that triggered the refresh."""
        now = time.monotonic()
        for q in [q for q, (at, _) in self._counted.items() if now - at >= self.fresh_for]:
            del self._counted[q]
        if query not in self._counted:
            self._counted[query] = (now, asyncio.ensure_future(search.count(self.client.temporal, query)))
        found = self._counted[query][1]
        try:
            return await asyncio.shield(found)
        except Exception:
            if self._counted.get(query, (0.0, None))[1] is found:
                del self._counted[query]  # a failed count is asked again, not kept for the interval
            raise

    def forget_counts(self) -> None:
        """Drop the counts kept (the bench measures a page's counts made anew)."""
        self._counted.clear()

    @property
    def listening(self) -> int:
        """Pages listening now."""
        return sum(len(g.boxes) for g in self.groups.values())

    async def listen(self, graphs: frozenset[str], seen: int | None = None) -> AsyncIterator[Seen]:
        """Changes of the waiting runs of `graphs` (the viewer's read scope), until the page goes away. `seen`
        is the count the page rendered (`waiting_query`): a run answered or paused after the page rendered and
        before this feed's first count is told too. Ends with the poller's `HitlError` when Temporal stays
        unreachable."""
        box = _Box(seen)
        group = self.groups.get(graphs) or self.groups.setdefault(graphs, _Group(graphs))
        group.boxes.add(box)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll(), name="hitl inbox feed")
        try:
            while True:
                item = await box.take()
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            group.boxes.discard(box)
            if not group.boxes and self.groups.get(graphs) is group:
                del self.groups[graphs]

    async def close(self) -> None:
        """Stop polling (the app's shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _poll(self) -> None:
        while self.groups:
            await self.tick()
            await asyncio.sleep(self.every)

    async def tick(self) -> None:
        """One poll: one COUNT per group (tests drive it by hand to place changes between two polls)."""
        await asyncio.gather(*(self._count(g) for g in list(self.groups.values())))
        self.ticks += 1

    async def _count(self, group: _Group) -> None:
        counting_waiting = group.turn % 2 == 0 or group.waiting is None
        until = datetime.now(timezone.utc) - self.LAG
        query = group.waiting_query() if counting_waiting else group.paused_query(until)
        try:
            found = await read_with_retries(lambda: search.count(self.client.temporal, query))
        except temporalio.service.RPCError as e:
            gone = HitlError(
                f"cannot reach Temporal ({e.message}); the inbox no longer updates live: reload the page once it is back"
            )
            for box in group.boxes:
                box.put(gone)
            if self.groups.get(group.graphs) is group:
                del self.groups[group.graphs]
            return
        group.turn += 1
        if not counting_waiting:
            group.since = max(group.since, until)
            group.changed = group.changed or found > 0
            return
        told = [
            b for b in group.boxes if _differs(b.seen if b.seen is not None else group.waiting, found, group.changed)
        ]
        if told:
            group.told += 1
            for box in told:
                box.put((found, group.told))
            # What the pages render now shows every pause visibility held a moment ago.
            group.since = max(group.since, datetime.now(timezone.utc) - self.LAG)
        for box in group.boxes:
            box.seen = found
        group.waiting, group.changed = found, False


def _differs(shown: int | None, found: int, paused: bool) -> bool:
    """Should a page that shows `shown` runs waiting hear of a count of `found`? Not before it showed any."""
    return shown is not None and (found != shown or paused)
