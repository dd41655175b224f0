"""hitl/protocol/topology.py: the superstep rules, on specs of real compiled graphs."""

from __future__ import annotations

import hashlib
import operator
from typing import Annotated, TypedDict

from hitl import END, START, StateGraph
from hitl.protocol import topology
from hitl.protocol.wire import GraphSpec, SendPacket


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


def test_a_called_graph_s_run_id_names_its_caller_s_task_step_and_call_and_carries_the_mark() -> None:
    assert topology.call_run_id("p", "each#1", 3, 2, "abc") == "p.each#1.3.call2~abc"
    nested = topology.call_run_id("p.n.0.call0~abc", "m", 0, 0, "def")  # a called run's own call
    assert nested == "p.n.0.call0~abc.m.0.call0~def" and nested.startswith("p.n.0.call0~abc.")


# ------------------------------------------------------------------ Send


def _sends(*nodes: str) -> list[SendPacket]:
    return [SendPacket(node=n, arg={"i": i}) for i, n in enumerate(nodes)]


def test_routes_split_into_node_names_and_sends_keeping_the_sends_order() -> None:
    x, y = _sends("m", "m")
    assert topology.split_routes(["a", x, "b", y]) == (["a", "b"], [x, y])
    assert topology.split_routes([]) == ([], [])


def test_a_step_applies_node_writes_first_then_each_send_in_order() -> None:
    assert topology.step_keys(["a", "m"], _sends("m", "z", "m")) == ["a", "m", "m#0", "z#1", "m#2"]
    assert topology.step_keys(["a", "b"], []) == ["a", "b"], "a step without Sends keeps its node names as keys"


def test_next_shows_each_pending_send_first_then_the_nodes_and_leaves_out_finished_tasks() -> None:
    sends = _sends("m", "m", "z")
    assert topology.step_names(["a"], sends) == ["m", "m", "z", "a"]
    assert topology.step_names(["a"], sends, ["m#1", "a"]) == ["m", "z"]
    assert topology.step_names(["a", "b"], [], ["a"]) == ["b"]
    assert topology.pulled(topology.step_names(["a"], sends), sends) == ["a"], "a fork gets the nodes back"


def test_parallel_sends_to_one_node_ask_with_ids_of_their_own() -> None:
    ids = {topology.interrupt_id("run", 1, "m", 0, push) for push in (None, 0, 1)}
    assert len(ids) == 3
    old = hashlib.sha256(b"run|1|m|0").hexdigest()[:16]
    assert topology.interrupt_id("run", 1, "m", 0) == old, "a node's question keeps the id runs in flight know"
