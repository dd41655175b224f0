"""workflows/topology.py: the superstep rules, on specs of real compiled graphs."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from hitl import END, START, StateGraph
from hitl._protocol import GraphSpec
from workflows import topology


class S(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def _node(state: S) -> dict:
    return {}


def _spec() -> GraphSpec:
    """a -> (b -> b2, c) -> join(b2, c) -> d -> END."""
    b = StateGraph(S)
    for name in ("a", "b", "b2", "c", "d"):
        b.add_node(name, _node)
    b.add_edge(START, "a")
    b.add_edge("a", "b")
    b.add_edge("a", "c")
    b.add_edge("b", "b2")
    b.add_edge(["b2", "c"], "d")
    b.add_edge("d", END)
    return b.compile(name="topology").spec()


def test_entry_nodes_follow_start_edges_and_routed_targets() -> None:
    spec = _spec()
    assert topology.entry_nodes(spec, []) == ["a"]
    assert topology.entry_nodes(spec, ["c"]) == ["a", "c"]


def test_a_step_triggers_static_edges_in_name_order() -> None:
    assert topology.successors(_spec(), ["a"], [], {}) == ["b", "c"]


def test_a_join_waits_for_all_its_sources_across_steps_and_fires_once() -> None:
    spec, barriers = _spec(), {}
    assert topology.successors(spec, ["b", "c"], [], barriers) == ["b2"]  # c arrived, b2 not yet
    key = topology.join_key(["b2", "c"], "d")
    assert barriers == {key: ["c"]}
    assert topology.successors(spec, ["b2"], [], barriers) == ["d"]
    assert barriers == {}, "a fired join forgets its sources"


def test_routed_targets_join_the_step_and_end_is_dropped() -> None:
    assert topology.successors(_spec(), ["d"], [END, "a"], {}) == ["a"]


def test_in_order_sorts_deduplicates_and_keeps_only_nodes() -> None:
    assert topology.in_order(_spec(), ["d", "a", "d", "ghost", END]) == ["a", "d"]


def test_breakpoints_match_names_or_star() -> None:
    assert topology.matches(["b"], ["a", "b"]) == ["b"]
    assert topology.matches(["*"], ["a", "b"]) == ["a", "b"]
    assert topology.matches([], ["a"]) == []


def test_interrupt_ids_are_deterministic_and_unique_per_call() -> None:
    first = topology.interrupt_id("run", 1, "ask", 0)
    assert first == topology.interrupt_id("run", 1, "ask", 0)
    assert len(first) == 16 and int(first, 16) >= 0
    others = {
        topology.interrupt_id(*args) for args in [("run", 1, "ask", 1), ("run", 2, "ask", 0), ("r2", 1, "ask", 0)]
    }
    assert first not in others and len(others) == 3
