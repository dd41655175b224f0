"""The queue's picture (`/stats`, `hitl stats`) over seeded runs on a dev server of this module's own:
the figures per graph and per reviewer, counted only over what the caller may read, cached per scope."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

import hitl
from hitl.stats import reader
from hitl.stats.figures import Figures
from hitl.web import search
from tests.helpers import cli
from tests.stats_seed import KNOWN, Seeded, seed, settled
from tests.web_fixtures import own_temporal

pytestmark = pytest.mark.server
QUEUE = "stats"


@dataclass
class World:
    client: hitl.Client
    url: str
    seeded: Seeded
    figures: Figures


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with own_temporal(tmp_path_factory.mktemp("stats"), QUEUE, KNOWN) as (_, client, url):
        async with client.worker():  # a finished run's decision log is read by replaying it on a worker
            seeded = await seed(client)
            yield World(client, url, seeded, await settled(client))


def cells(html: str, attribute: str, name: str) -> dict[str, str]:
    """The numbers of one row of a /stats table, by column (`data-col`)."""
    row = re.search(rf'<tr[^>]*{attribute}="{re.escape(name)}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, f"no row for {name} in /stats"
    return dict(re.findall(r'data-col="([^"]+)">([^<]*)<', row.group(1)))


async def page(world: World, token: str) -> str:
    async with httpx.AsyncClient(base_url=world.url, headers={"Authorization": f"Bearer {token}"}) as http:
        response = await http.get("/stats")
    assert response.status_code == 200, response.text
    return response.text


async def test_the_figures_per_graph_and_per_reviewer(world: World) -> None:
    f = world.figures
    graphs = {r.name: r for r in f.graphs}
    people = {r.name: r for r in f.reviewers}
    review, ladder = graphs["review"], graphs["ladder"]
    assert (review.waiting, ladder.waiting, graphs["payment_private"].waiting) == (2, 0, 1)
    assert review.oldest_since is not None and review.oldest_since >= world.seeded.started
    assert (review.day.answers, review.week.answers) == (2, 2)
    assert review.day.p50_s is not None and review.day.p95_s is not None and review.day.p50_s <= review.day.p95_s
    assert sum(review.per_hour) == 2 and review.per_hour[-1] == 2
    assert (ladder.week.answers, ladder.week.refusals, ladder.week.escalations, ladder.week.by_default) == (0, 1, 3, 1)
    assert (people["alice"].day.answers, people["bob"].day.answers) == (1, 1)
    assert people["bob"].week.refusals == 1 and people["alice"].week.refusals == 0
    assert people["alice"].holds == 1  # the waiting run she claimed
    # who may decide now (HitlReviewers): alice her claimed run and the private one, anyone the other review run
    assert (people["alice"].waiting, people["*"].waiting, people["role:finance"].waiting) == (2, 1, 1)
    assert (f.total.waiting, f.total.week.answers, f.finished, f.sampled) == (3, 2, 3, 3)


async def test_the_page_shows_them_with_plots_and_counts_only_what_the_caller_may_read(world: World) -> None:
    alice, bob = await page(world, "tok-alice"), await page(world, "tok-bob")
    assert cells(alice, "data-graph", "review") == {
        "waiting": "2",
        "refusals": "0",
        "escalations": "0",
        "by-default": "0",
    }
    assert cells(alice, "data-graph", "ladder")["escalations"] == "3"
    assert cells(alice, "data-graph", "ladder")["by-default"] == "1"
    assert cells(alice, "data-reviewer", "bob")["refusals"] == "1"
    assert cells(alice, "data-graph", "all graphs")["waiting"] == "3"
    assert "payment_private" in alice
    assert "payment_private" not in bob and cells(bob, "data-graph", "all graphs")["waiting"] == "2"
    assert alice.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 4
    assert "<script" not in alice.split("</head>", 1)[1]  # the plots need no script
    assert 'href="/stats" aria-current="page"' in alice


async def test_hitl_stats_prints_the_tables_and_json(world: World) -> None:
    shown = await cli(world.client, "stats", graphs=("tests.graphs",), task_queue=QUEUE)
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert lines[0].split()[:3] == ["GRAPH", "WAITING", "OLDEST"]
    assert next(x for x in lines if x.startswith("ladder")).split()[-3:] == ["1", "3", "1"]
    assert any(x.startswith("bob ") for x in lines) and "(3; all 3)" in lines[-1]
    as_json = await cli(world.client, "stats", "--json", "--sample", "1", graphs=("tests.graphs",), task_queue=QUEUE)
    assert as_json.code == 0, as_json.err
    data = as_json.json()
    assert isinstance(data, dict)
    assert (data["total"]["waiting"], data["finished"], data["sampled"]) == (3, 3, 1)
    assert {g["name"] for g in data["graphs"]} >= {"review", "payment_private"}  # the CLI reads the whole namespace


async def test_one_read_per_scope_serves_every_tab_until_it_is_stale(world: World) -> None:
    """Last in this module: it starts a run the others would count."""
    before = await page(world, "tok-bob")
    await world.client.start("review", {"draft": "after the first view"})
    for _ in range(100):  # until the visibility store shows it: a fresh read would count it
        if await search.count(world.client.temporal, search.Filter(status="interrupted").query()) == 4:
            break
        await asyncio.sleep(0.1)
    assert (await reader.read(world.client)).total.waiting == 4
    after = await page(world, "tok-bob")
    assert cells(after, "data-graph", "review")["waiting"] == cells(before, "data-graph", "review")["waiting"] == "2"
