"""The queue's rows, read from Temporal at a cost bounded per view (the figures: figures.py).

What one read costs, W runs waiting and F finished in the last week (of which `sample` are read):

- waiting now: ceil(W / 1000) ListWorkflowExecutions pages, one more (empty) when W is a multiple of 1000
  (visibility only: no history, no worker, no memo decoded): 6 at W = 5,000. Per graph and per reviewer
  counts, oldest waiting: from these rows.
- finished: 1 CountWorkflowExecutions (F), 1 ListWorkflowExecutions page of the `sample` runs the store
  lists first (newest closed first on Temporal's stores), then each sampled run's state (`get_state`: a
  QueryWorkflow the server refuses at once as the run is closed, then one a worker answers by replaying
  the run's history), at most SAMPLE_AT_ONCE runs at a time. At F = 50,000 and the default sample:
  1 count + 1 page + 200 queries (100 replays), whatever F.

Visibility has no GROUP BY on custom attributes and no time-to-decision attribute, so the finished runs'
figures (answers, time to decision, refusals, escalations, answers by default) come from their decision
logs, read for the sample only: exact when F <= sample, else those of the newest `sample` runs.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import hitl
from hitl.client.listing import list_runs
from hitl.stats import SAMPLE
from hitl.stats.figures import WEEK, Figures, Log, Waiting, compute
from hitl.web import search

SAMPLE_AT_ONCE = 8
"""State queries in flight at once: a read must not crowd out the workers' real work."""
CLOSED = 'ExecutionStatus IN ("Completed", "Failed", "Canceled", "Terminated", "TimedOut")'
"""Finished for good: a continued-as-new run goes on under the same id, counted when it ends."""


async def read(
    client: hitl.Client, graphs: tuple[str, ...] | None = None, *, sample: int = SAMPLE, now: datetime | None = None
) -> Figures:
    """The figures of the runs of `graphs` (None: every graph; the web passes the caller's read scope)."""
    now = now or datetime.now(timezone.utc)
    waiting_q = search.Filter(status="interrupted", graphs_in=graphs).query()
    finished_q = (
        f"{search.Filter(status=None, graphs_in=graphs).query()} AND {CLOSED} "
        f'AND CloseTime >= "{search.stamp(now - WEEK)}"'
    )
    waiting, finished, logs = await asyncio.gather(
        _waiting(client, waiting_q), search.count(client.temporal, finished_q), _logs(client, finished_q, sample)
    )
    return compute(waiting, logs, now, finished)


async def _waiting(client: hitl.Client, query: str) -> list[Waiting]:
    return [
        Waiting(r.pending.graph, r.pending.waiting_since, r.pending.reviewers, r.pending.assigned)
        async for r in list_runs(client.temporal, query, summaries=False)
    ]


async def _logs(client: hitl.Client, query: str, sample: int) -> list[Log]:
    if sample <= 0:
        return []
    ids = [r.pending.run_id async for r in list_runs(client.temporal, query, sample, summaries=False)]
    gate = asyncio.Semaphore(SAMPLE_AT_ONCE)

    async def one(run_id: str) -> Log | None:
        async with gate:
            s = await search.readable_state(client, run_id)
        return None if s is None else Log(s.graph, s.created_at, s.decisions, s.refused)

    return [log for log in await asyncio.gather(*(one(i) for i in ids)) if log is not None]
