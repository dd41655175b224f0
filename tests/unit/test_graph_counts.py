"""The inbox's per-graph counts (`hitl.web.search.counts_by_graph`) over a COUNT it is handed, as the
visibility store would answer it: each graph's count exact, and asked in few COUNTs where few graphs hold
the waiting runs (on SQLite each COUNT costs about the same, empty graph or not). Counted, never timed."""

from __future__ import annotations

import random
import re

import pytest

from hitl.web.search import Filter, counts_by_graph

GRAPHS = [f"graph_{i:02}" for i in range(12)]
ONE = re.compile(r'HitlGraph = "([^"]+)"')
IN = re.compile(r"HitlGraph IN \(([^)]*)\)")


class Store:
    """Waiting runs per graph; `count` answers a query's COUNT as the store would, and records it."""

    def __init__(self, waiting: dict[str, int]) -> None:
        self.waiting = waiting
        self.asked: list[str] = []

    async def count(self, query: str) -> int:
        self.asked.append(query)
        one = ONE.search(query)
        ins = IN.findall(query)
        scoped = re.findall(r'"([^"]+)"', ins[-1]) if ins else list(self.waiting)
        graphs = [one.group(1)] if one else scoped
        return sum(self.waiting.get(g, 0) for g in graphs if g in scoped)


def scope(graphs: list[str] = GRAPHS) -> Filter:
    return Filter(status="interrupted", graphs_in=tuple(graphs))


async def test_the_shown_graph_holding_every_waiting_run_costs_two_counts_for_all_twelve() -> None:
    store = Store({"graph_05": 5000})
    counts = await counts_by_graph(None, GRAPHS, scope(), store.count, first=("graph_05",))  # type: ignore[arg-type]
    assert counts == {"graph_05": 5000}
    assert len(store.asked) == 2, store.asked  # the shown graph's (the page asks it anyway) and all of them


@pytest.mark.parametrize("seed", range(20))
async def test_each_graphs_count_is_exact_and_asked_in_fewer_counts_than_graphs(seed: int) -> None:
    rng = random.Random(seed)
    busy = rng.sample(GRAPHS, rng.randint(0, 4))
    store = Store({g: rng.randint(1, 3000) for g in busy})
    shown = rng.choice([(), (rng.choice(GRAPHS),)])
    counts = await counts_by_graph(None, GRAPHS, scope(), store.count, first=shown)  # type: ignore[arg-type]
    assert counts == {g: n for g, n in sorted(store.waiting.items())}
    assert len(store.asked) <= 1 + len(shown) + 4 * max(len(busy), 1), store.asked


async def test_graphs_read_as_subgraphs_only_are_counted_in_the_whole_but_not_shown() -> None:
    """The caller may read runs of a subgraph the server does not serve: they count in the filter's own
    query, so the served graphs' remainders must leave them out, not hand them to a served graph."""
    store = Store({"graph_01": 7, "sub_only": 40})
    counts = await counts_by_graph(None, GRAPHS, scope([*GRAPHS, "sub_only"]), store.count)  # type: ignore[arg-type]
    assert counts == {"graph_01": 7}


async def test_a_remainder_made_negative_by_runs_pausing_between_two_counts_is_counted_instead() -> None:
    """Ten runs of the first half pause right after the whole was counted: the second half's remainder (the
    whole less the first half) comes out negative, so it is counted instead, never shown below zero."""
    store = Store({"graph_00": 10, "graph_11": 3})
    whole = scope().query()

    async def moving(query: str) -> int:
        n = await store.count(query)
        if query == whole:
            store.waiting["graph_00"] = 20
        return n

    counts = await counts_by_graph(None, GRAPHS, scope(), moving)  # type: ignore[arg-type]
    assert counts == {"graph_00": 20, "graph_11": 3}


async def test_without_a_read_scope_each_graph_is_counted_alone() -> None:
    store = Store({"graph_03": 2})
    counts = await counts_by_graph(None, GRAPHS[:3] + ["graph_03"], Filter(status="interrupted"), store.count)  # type: ignore[arg-type]
    assert counts == {"graph_03": 2}
    assert len(store.asked) == 4
