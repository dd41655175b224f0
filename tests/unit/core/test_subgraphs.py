"""workflows/core/subgraphs.py: a subgraph's questions as its parent run holds them."""

from __future__ import annotations

from hitl.protocol.wire import (
    TO_PARENT,
    Answered,
    CallOutcome,
    ChannelSpec,
    ChildPaused,
    GraphCall,
    GraphSpec,
    NodeResult,
    NodeSpec,
    Phase,
)
from hitl.types import END
from hitl.workflows.core import subgraphs
from tests.unit.core.builders import NOW, ask, later, run, task


def test_reported_questions_show_under_the_subgraphs_node_keeping_claims_held_here() -> None:
    sub = task("team", ask("q1", node="team/ask", claimed_by="ann", claimed_until=later(60)))
    state = run(sub, phase=Phase.ASKING)
    passed_down = {"q2", "q9"}  # q2 answered here, not yet applied there; q9 applied (left out of the report)
    msg = ChildPaused(
        child_id="c",
        interrupts=[ask("q1", node="ask"), ask("q2", node="ask"), ask("q3", node="ask", reviewers=["bob"])],
    )
    assert subgraphs.reported(state, msg, [sub], passed_down, NOW) == []
    assert [(i.id, i.node, i.claimed_by) for i in sub.interrupts] == [
        ("q1", "team/ask", "ann"),
        ("q3", "team/ask", None),
    ]
    assert passed_down == {"q2"} and state.guard == [["bob"]] and state.phase is Phase.ASKING


def test_answers_the_subgraph_put_back_are_offered_and_recorded_again() -> None:
    sub = task("team")
    sub.answered = [Answered(interrupt=ask("q1", node="team/ask"), identity="ann", update_id="u1")]
    state = run(sub)
    msg = ChildPaused(child_id="c", interrupts=[ask("q1", node="ask")], rolled_back=["node failed"])
    passed_down = {"q1"}
    told = subgraphs.reported(state, msg, [sub], passed_down, NOW)
    assert passed_down == set() and [i.id for i in sub.interrupts] == ["q1"] and sub.answered == []
    assert [u for u, _ in told] == ["u1"] and "subgraph 'team': node failed" in told[0][1]


def test_a_subgraph_that_went_on_by_itself_releases_the_pause() -> None:
    sub = task("team", ask("q1", node="team/ask"))
    sub.answered = [Answered(interrupt=ask("q0"), identity="ann")]
    state = run(sub, phase=Phase.ASKING)
    subgraphs.reported(state, ChildPaused(child_id="c", interrupts=[], going_on=True), [sub], set(), NOW)
    assert sub.interrupts == [] and state.phase is Phase.RESUMED and len(sub.answered) == 1


# ------------------------------------------------------------ Command.PARENT: what a subgraph hands up

PARENT = GraphSpec(
    name="parent",
    nodes=[NodeSpec(name="team"), NodeSpec(name="escalate")],
    edges=[],
    channels={"log": ChannelSpec(reducer="add"), "answer": ChannelSpec()},
)
CHILD = GraphSpec(name="child", nodes=[NodeSpec(name="ask")], edges=[], channels={"answer": ChannelSpec()})


def test_a_subgraph_run_that_ended_gives_its_node_the_shared_keys_of_its_values() -> None:
    result, why = subgraphs.result_of(PARENT, "team", CHILD, {"answer": "ok", "only_mine": 1})
    assert why is None and result == NodeResult(writes={"answer": "ok"})


def test_what_a_subgraph_hands_up_becomes_its_nodes_update_and_goto() -> None:
    final = {TO_PARENT: {"update": {"log": ["child"]}, "goto": ["escalate", END]}}
    result, why = subgraphs.result_of(PARENT, "team", CHILD, final)
    assert why is None and result == NodeResult(writes={"log": ["child"]}, goto=["escalate", END])


def test_a_goto_or_key_the_parent_lacks_is_refused_naming_what_it_has() -> None:
    _, why = subgraphs.result_of(PARENT, "team", CHILD, {TO_PARENT: {"update": {}, "goto": ["nowhere"]}})
    assert why is not None and "goto=['nowhere']" in why and "team, escalate" in why
    _, why = subgraphs.result_of(PARENT, "team", CHILD, {TO_PARENT: {"update": {"secret": 1}, "goto": []}})
    assert why is not None and "update of ['secret']" in why and "['answer', 'log']" in why


def test_a_subgraph_key_named_like_the_marker_is_a_value_not_a_command() -> None:
    child = GraphSpec(name="odd", nodes=[], edges=[], channels={TO_PARENT: ChannelSpec()})
    parent = GraphSpec(name="p", nodes=[], edges=[], channels={TO_PARENT: ChannelSpec()})
    result, why = subgraphs.result_of(parent, "team", child, {TO_PARENT: {"goto": ["x"]}})
    assert why is None and result == NodeResult(writes={TO_PARENT: {"goto": ["x"]}})


def _call(channels: dict[str, ChannelSpec] | None = None) -> GraphCall:
    return GraphCall(graph=GraphSpec(name="rev", nodes=[], edges=[], channels=channels or {}), input={}, index=0)


def test_a_called_graph_s_end_goes_to_the_node_s_next_run_and_settles_what_it_asked() -> None:
    asked = task("caller", ask("q1"))
    asked.answered = [Answered(interrupt=ask("q1"), identity="ada")]
    subgraphs.call_ended(asked, _call(), {"verdict": "ok"}, None)
    subgraphs.call_ended(asked, _call(), None, "it broke")
    assert asked.called == [
        CallOutcome(values={"verdict": "ok"}, graph="rev"),
        CallOutcome(error="it broke", graph="rev"),
    ]
    assert asked.interrupts == [] and asked.answered == []


def test_a_command_parent_from_a_called_graph_is_an_error_its_caller_sees() -> None:
    handed = task("caller")
    subgraphs.call_ended(handed, _call(), {TO_PARENT: {"update": {}, "goto": []}}, None)
    [outcome] = handed.called
    assert outcome.values is None and outcome.error is not None and "add the graph as a node" in outcome.error
    keyed = task("caller")  # a key of its own named like the marker is a value
    subgraphs.call_ended(keyed, _call({TO_PARENT: ChannelSpec()}), {TO_PARENT: 1}, None)
    assert keyed.called == [CallOutcome(values={TO_PARENT: 1}, graph="rev")]
