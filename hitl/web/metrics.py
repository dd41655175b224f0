"""`hitl serve`'s Prometheus endpoint (`/metrics`, on with `--metrics` or HITL_METRICS=1): the queue as the
visibility store counts it, and the HTTP requests this process answered.

Imported only when metrics are on: it imports prometheus_client (`hitl[metrics]`).

Cheap by construction: a scrape never lists runs. The queue figures are COUNT queries on hitl's search
attributes, made at most once per `every` seconds whatever the number of scrapers (concurrent scrapes share
one refresh), and a scrape in between is answered from the last one. Per refresh and served graph: one
COUNT of its waiting runs, one of those whose questions someone holds (claims and delegations), one per
node, and the oldest waiting run found as the inbox sorts (hitl/web/search.py: a few COUNTs narrowing
HitlWaitingSince down to a window of at most `WINDOW` runs, then that window listed). The cost does not grow
with the number of waiting runs, only logarithmically for the oldest one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

import hitl
from hitl.graph import CompiledGraph
from hitl.protocol.wire import ASSIGNED
from hitl.web import search

EVERY = 15.0
"""Seconds a refresh of the queue figures serves scrapes for (Prometheus' default scrape interval is 15 s)."""
WINDOW = 20
"""Runs listed at most to find a graph's oldest waiting one (the rest is COUNTs)."""


@dataclass
class Queue:
    """The queue's figures at one refresh."""

    at: float = 0.0
    waiting: dict[str, int] = field(default_factory=dict)
    by_node: dict[tuple[str, str], int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    oldest: dict[str, float] = field(default_factory=dict)
    """Seconds the longest-waiting run of each graph has waited (graphs with a run waiting)."""
    took: float = 0.0
    """Seconds the refresh took: what the figures cost Temporal's visibility store."""


class Metrics(Collector):
    """The app's metrics (`app.state.web.metrics`): request counts, and the queue's figures kept for `every`."""

    def __init__(self, client: hitl.Client, graphs: Sequence[CompiledGraph], every: float = EVERY) -> None:
        self.client, self.graphs, self.every = client, list(graphs), every
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "hitl_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.queue = Queue()
        self.refreshes = 0
        self._refreshing: asyncio.Future[Queue] | None = None
        self.registry.register(self)

    def request(self, method: str, route: str, status: int) -> None:
        self.requests.labels(method, route, str(status)).inc()

    async def exposition(self) -> bytes:
        """The text a scrape gets: the queue refreshed first if its figures are older than `every`."""
        if time.monotonic() - self.queue.at >= self.every:
            if self._refreshing is None or self._refreshing.done():
                self._refreshing = asyncio.ensure_future(self._refresh())
            self.queue = await asyncio.shield(self._refreshing)
        return generate_latest(self.registry)

    async def _refresh(self) -> Queue:
        queue, started = Queue(), time.monotonic()
        await asyncio.gather(*(self._graph(g, queue) for g in self.graphs))
        queue.at = time.monotonic()
        queue.took = queue.at - started
        self.refreshes += 1
        return queue

    async def _graph(self, graph: CompiledGraph, queue: Queue) -> None:
        temporal = self.client.temporal
        waiting = search.Filter(graph=graph.name)
        base = waiting.query()
        nodes = sorted(graph.nodes)
        counts = await asyncio.gather(
            search.count(temporal, base),
            search.count(temporal, f"{base} AND {ASSIGNED.name} IS NOT NULL"),
            *(search.count(temporal, search.Filter(graph=graph.name, node=n).query()) for n in nodes),
        )
        queue.waiting[graph.name], queue.held[graph.name] = counts[0], counts[1]
        queue.by_node.update({(graph.name, n): c for n, c in zip(nodes, counts[2:], strict=True)})
        if counts[0]:
            first = await search.page(temporal, waiting, limit=1, small=WINDOW, slack=WINDOW)
            since = first.items[0].pending.waiting_since if first.items else None
            if since is not None:
                queue.oldest[graph.name] = max(0.0, (datetime.now(timezone.utc) - since).total_seconds())

    def collect(self) -> Iterator[Metric]:
        """The queue figures of the last refresh (prometheus_client calls this while rendering a scrape)."""
        q = self.queue
        by_node = GaugeMetricFamily(
            "hitl_questions_waiting",
            "Runs waiting for a person at this node (a run waiting at two nodes counts at each)",
            labels=["graph", "node"],
        )
        for (graph, node), n in sorted(q.by_node.items()):
            by_node.add_metric([graph, node], n)
        yield by_node
        yield _per_graph("hitl_runs_waiting", "Runs waiting for a person", q.waiting)
        yield _per_graph(
            "hitl_claims_held", "Waiting runs whose questions someone holds (claimed or delegated)", q.held
        )
        yield _per_graph("hitl_oldest_waiting_seconds", "How long the longest-waiting run has waited", q.oldest)
        refreshed = GaugeMetricFamily(
            "hitl_queue_refresh_seconds", "How long the last refresh of these figures took (visibility queries)"
        )
        refreshed.add_metric([], q.took)
        yield refreshed


def _per_graph(name: str, documentation: str, values: dict[str, int] | dict[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["graph"])
    for graph, value in sorted(values.items()):
        family.add_metric([graph], value)
    return family
