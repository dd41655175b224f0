"""hitl/web/scope.py `rules`: every reader list a graph's runs must meet in `hitl serve`."""

from __future__ import annotations

from typing import TypedDict

from hitl import START, StateGraph
from hitl.graph import CompiledGraph
from hitl.protocol.policy import may_read
from hitl.web.readers import rules


class S(TypedDict, total=False):
    x: str


def _graph(name: str, inner: CompiledGraph | None = None, **options: object) -> CompiledGraph:
    b = StateGraph(S)
    b.add_node("work", inner if inner is not None else (lambda s: {"x": "y"}))
    b.add_edge(START, "work")
    return b.compile(name=name, **options)  # type: ignore[arg-type]


def test_a_run_is_read_by_whoever_its_graph_every_graph_around_it_and_every_graph_within_it_allows() -> None:
    """A run shows (and takes answers to) its subgraphs' questions at any depth, so their readers apply to
    it; a subgraph's run is part of every run around it, so theirs apply to it."""
    leaf = _graph("rr_leaf", readers=["alice"])
    middle = _graph("rr_middle", leaf)
    top = _graph("rr_top", middle, readers=["alice", "bob"])
    public = _graph("rr_public", _graph("rr_open_child"))
    private = _graph("rr_private", _graph("rr_open_inner"), readers=["role:finance"])
    found = rules([top, public, private])
    assert found == {
        "rr_top": [["alice", "bob"], ["alice"]],
        "rr_middle": [["alice", "bob"], ["alice"]],
        "rr_leaf": [["alice", "bob"], ["alice"]],
        "rr_public": [],
        "rr_open_child": [],
        "rr_private": [["role:finance"]],
        "rr_open_inner": [["role:finance"]],
    }
    for graph in ("rr_top", "rr_middle", "rr_leaf"):
        assert may_read(found[graph], "alice", []) and not may_read(found[graph], "bob", [])
    assert may_read(found["rr_open_inner"], "carol", ["finance"]) and not may_read(found["rr_open_inner"], "bob", [])


def test_a_subgraph_served_in_two_places_meets_the_lists_of_both() -> None:
    shared = _graph("rr_shared")
    found = rules([_graph("rr_a", shared, readers=["alice"]), _graph("rr_b", shared, readers=["bob"]), shared])
    assert found["rr_shared"] == [["alice"], ["bob"]] and found["rr_a"] == [["alice"]]
