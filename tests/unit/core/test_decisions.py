"""workflows/core/claims.py, lifecycle.py and steps.py: claims, cancels, withdrawals, the step's tasks."""

from __future__ import annotations

import dataclasses
import operator
from typing import Annotated, TypedDict

from hitl import END, START, StateGraph
from hitl.protocol.wire import (
    Answered,
    CancelRequest,
    ClaimRequest,
    ForkFrom,
    InterruptRequest,
    NodeResult,
    PendingTask,
    Phase,
    ResumeRequest,
    SendPacket,
    ToParent,
)
from hitl.types import EscalationStep
from hitl.workflows.core import claims, lifecycle, steps
from hitl.workflows.core.effects import Reindex
from tests.unit.core.builders import NOW, ask, later, run, task


def test_a_claim_holds_the_question_until_its_time_runs_out() -> None:
    state = run(task("n", ask("q1"), ask("q2")))
    req = ClaimRequest(identity="ann", action="claim", interrupt_id="q1", ttl_s=60, request_id="c1")
    assert claims.claim(state, req, state.tasks[0].interrupts[0], NOW) == [Reindex()]
    held = state.tasks[0].interrupts[0]
    assert (held.claimed_by, held.claimed_until) == ("ann", later(60)) and "c1" in state.requests
    assert (state.decisions[-1].kind, state.decisions[-1].interrupt_id) == ("claim", "q1")


def test_a_delegate_hands_it_on_and_a_release_gives_it_back() -> None:
    state = run(task("n", ask("q1", claimed_by="ann", claimed_until=later(9))))
    claims.claim(
        state, ClaimRequest(identity="ann", action="delegate", to="role:ops"), state.tasks[0].interrupts[0], NOW
    )
    assert state.tasks[0].interrupts[0].claimed_by == "role:ops" and state.decisions[-1].value == "role:ops"
    claims.claim(state, ClaimRequest(identity="bob", action="release"), state.tasks[0].interrupts[0], NOW)
    assert (state.tasks[0].interrupts[0].claimed_by, state.tasks[0].interrupts[0].claimed_until) == (None, None)


def test_a_cancel_retires_every_question_and_says_who_and_why() -> None:
    state = run(task("n", ask("q1")))
    assert (
        lifecycle.cancel(state, CancelRequest(identity="ann", reason="wrong input"), NOW)
        == "cancelled by ann: wrong input"
    )
    assert state.retired["q1"].startswith("cancelled with the run by ann")
    assert lifecycle.cancel(run(), CancelRequest(identity="bob"), NOW) == "cancelled by bob"


def test_withdrawing_drops_the_runs_own_questions_only() -> None:
    own, sub = task("n", ask("q1")), task("sub", ask("q2"))
    state = run(own, sub, task("done"))
    lifecycle.withdraw(state, {id(sub)}, "edited")
    assert own.interrupts == [] and [i.id for i in sub.interrupts] == ["q2"] and state.retired == {"q1": "edited"}


class S(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def _node(state: S) -> dict:
    return {}


def test_the_step_keeps_its_tasks_and_drops_those_no_longer_in_it() -> None:
    kept, gone = PendingTask(node="a"), PendingTask(node="z")
    state = run(kept, gone, next=["a", "b"], sends=[SendPacket(node="s", arg={})])
    assert steps.lay_out(state) == [gone]
    assert state.tasks[0] is kept and [steps.key(t) for t in state.tasks] == ["a", "b", steps.key(state.tasks[2])]
    assert state.tasks[2].push == 0 and steps.lay_out(state) == []


def test_a_step_that_ran_schedules_what_it_leads_to() -> None:
    graph = StateGraph(S)
    for name in ("a", "b", "c"):
        graph.add_node(name, _node)
    graph.add_edge(START, "a")
    graph.add_edge("a", "b")
    graph.add_edge("b", END)
    spec = graph.compile(name="steps").spec()
    a, c = PendingTask(node="a"), PendingTask(node="c")
    a.result = NodeResult(writes={"log": ["a"]}, goto=["c"], sends=[SendPacket(node="b", arg={"i": 1})])
    c.result = NodeResult()
    state = run(a, c, next=["a", "c"], step=3)
    writes = steps.writes_of(state.tasks)
    assert writes == {"a": {"log": ["a"]}}
    assert steps.advance(state, spec, writes, NOW) == (["a", "c"], [])
    assert (state.next, state.sends, state.step, state.tasks) == (
        ["b", "c"],
        [SendPacket(node="b", arg={"i": 1})],
        4,
        [],
    )


def test_a_node_that_asks_leaves_its_task_waiting_on_the_question() -> None:
    asking = PendingTask(node="n", rerun_local=False)
    asking.answered = [Answered(interrupt=ask("q0"), identity="ann")]
    state = run(asking, step=2)
    ladder = [EscalationStep(action="remind", after_s=30)]
    asked = InterruptRequest(index=1, value="ok?", reviewers=["bob"], timeout_s=60, escalation=ladder, rerun_local=True)
    interrupt = steps.ask(state, asking, asked, "q1", NOW)
    assert (interrupt.step, interrupt.index, interrupt.deadline, interrupt.escalation[0].due) == (
        2,
        1,
        later(60),
        later(30),
    )
    assert asking.interrupts == [interrupt] and asking.rerun_local and asking.answered == []
    assert asking.defaults["q1"] is asked and state.guard == [["bob"]]
    assert steps.ask(state, asking, InterruptRequest(index=0, value="again"), "q2", NOW).deadline is None


def test_a_fork_starts_from_the_source_checkpoint_under_its_guard_and_says_so() -> None:
    state = run(guard=[["ann"]])
    source = ForkFrom(
        run_id="src",
        step=4,
        values={"x": 1},
        next=["b", "a"],  # as a checkpoint names its step: the Sends' nodes first
        guard=[["ann"], ["role:ops"]],
        sends=[SendPacket(node="b", arg={"i": 0})],
    )
    lifecycle.fork(state, source, "bob", {"x": 2}, NOW)
    assert (state.values, state.step, state.next, state.sends) == ({"x": 1}, 4, ["a"], source.sends)
    assert state.values is not source.values and state.guard == [["ann"], ["role:ops"]]  # not doubled
    fork = state.decisions[-1]
    assert (fork.kind, fork.identity, fork.node, fork.value, fork.step) == ("fork", "bob", "src@4", {"x": 2}, 4)
    lifecycle.fork(run(), dataclasses.replace(source, sends=[]), "bob", {}, NOW)  # nothing written: no value


def test_the_end_refuses_the_decisions_held_for_a_pause_that_never_came_but_not_resends() -> None:
    state = run(phase=Phase.ASKING, requests={"r1": "digest"})
    state.held = [
        ResumeRequest(identity="ann", request_id="r1"),  # applied already: a resend, no refusal
        ResumeRequest(identity="bob", request_id="r2"),
        ResumeRequest(identity="cy"),
    ]
    was, refused = lifecycle.finish(state, Phase.CANCELLED)
    assert (was, state.phase, state.held) == (Phase.ASKING, Phase.CANCELLED, [])
    assert [(r.identity, reason) for r, reason in refused] == [
        (who, "the run was cancelled before it paused again; nothing was applied") for who in ("bob", "cy")
    ]


def test_a_next_turn_carries_the_threads_checkpoints_and_continues_its_decision_chain() -> None:
    from hitl.types import Checkpoint, Decision

    def said(seq: int | None) -> Decision:
        return Decision(kind="resume", identity="alice", at=NOW, step=1, seq=seq)

    first = Checkpoint(step=0, values={"topic": "tea"}, next=["n"], source="input", created_at=NOW)
    answered = Checkpoint(
        step=1, values=None, next=[], source="loop", created_at=NOW, decisions=[said(3)], audit=[said(None), said(5)]
    )
    state = run()
    sizes = lifecycle.carry(state, [first, answered])
    assert state.checkpoints == [first, answered]
    assert state.audit_seq == 6  # the next record follows the highest carried
    assert sizes[0] > 0 and sizes[1] == 0  # a checkpoint without its values costs nothing on the pages
    fresh = run()
    assert lifecycle.carry(fresh, []) == [] and fresh.audit_seq == 0


def test_what_a_steps_nodes_hand_their_parent_is_merged_in_task_order() -> None:
    first, second, plain = task("a"), task("b"), task("c")
    first.result = NodeResult(to_parent=ToParent(update={"x": 1}, goto=["p1"]))
    second.result = NodeResult(to_parent=ToParent(update={"y": 2}, goto=["p2", "p1"]))
    plain.result = NodeResult(writes={"z": 3})
    assert steps.handed_up(run(plain)) == (None, None)
    assert steps.handed_up(run(first, plain, second)) == (ToParent(update={"x": 1, "y": 2}, goto=["p1", "p2"]), None)


def test_two_nodes_handing_their_parent_one_key_cannot_both_be_applied() -> None:
    first, second = task("a"), task("b")
    first.result = NodeResult(to_parent=ToParent(update={"x": 1}))
    second.result = NodeResult(to_parent=ToParent(update={"x": 2}))
    up, why = steps.handed_up(run(first, second, step=4))
    assert up is None and why == "two nodes of step 4 hand their parent an update of ['x']; one may"
