"""Runs seeded for the queue's picture (test_web_stats, test_web_browser_stats), on a dev server of the
test's own so that the figures are exactly these runs': two `review` runs answered (one by alice, one by
bob), two waiting (alice holding one), a `ladder` run bob sent a refused answer to and whose escalation
answered by default (a reminder, a widening, then the answer: three steps), and a `payment_private` run
waiting that only alice may read."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone

import hitl
from hitl.stats import reader
from hitl.stats.figures import Figures
from tests import graphs, trust_graphs
from tests.helpers import wait_for

KNOWN = [*graphs.GRAPHS, *trust_graphs.GRAPHS]


@dataclass
class Seeded:
    answered: list[str]
    waiting: list[str]
    private: str
    started: datetime


def as_(client: hitl.Client, who: str) -> hitl.Client:
    return hitl.Client(client.temporal, task_queue=client.task_queue, identity=who, graphs=KNOWN)


async def seed(client: hitl.Client) -> Seeded:
    started = datetime.now(timezone.utc)
    answered = []
    for who in ("alice", "bob"):
        run = await client.start("review", {"draft": f"by {who}"})
        await wait_for(run, "interrupted")
        await as_(client, who).get_run(run.run_id).resume("approve")
        answered.append(run.run_id)
    waiting = []
    for n in range(2):
        run = await client.start("review", {"draft": f"waiting {n}"})
        await wait_for(run, "interrupted")
        waiting.append(run.run_id)
    await as_(client, "alice").get_run(waiting[0]).claim()
    ladder = await client.start("ladder", {})
    await wait_for(ladder, "interrupted")
    await ladder.send_resume("approve", identity="bob")  # not among its reviewers: refused, and recorded
    private = await client.start("payment_private", {"draft": "secret"})
    await wait_for(private, "interrupted")
    for _ in range(300):  # the ladder answers by default 3 s after it asked
        if (await ladder.get_state()).status == "completed":
            break
        await asyncio.sleep(0.1)
    assert (await ladder.get_state()).status == "completed"
    return Seeded(answered, waiting, private.run_id, started)


async def settled(client: hitl.Client) -> Figures:
    """The figures once the visibility store shows every seeded run where it now is (it lags a little)."""
    for _ in range(200):
        f = reader.read(client)
        got = await f
        if got.total.waiting == 3 and got.finished == 3 and got.sampled == 3:
            return got
        await asyncio.sleep(0.1)
    raise AssertionError(f"the visibility store never showed the seeded runs: {got}")
