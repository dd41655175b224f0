"""workflows/core/timers.py: deadlines, claims running out, escalation ladders."""

from __future__ import annotations

from hitl.protocol.wire import DEADLINE_EXPIRED, Phase
from hitl.types import EscalationStep, Quorum, Vote
from hitl.workflows.core import timers
from hitl.workflows.core.effects import Notify, Publish, TellParent
from tests.unit.core.builders import NOW, ask, later, run, task


def test_the_pause_wakes_for_its_first_deadline_claim_or_escalation_step() -> None:
    ladder = [
        EscalationStep(action="remind", after_s=1, due=later(30)),
        EscalationStep(action="remind", after_s=2, due=later(5)),
    ]
    own = task("n", ask("q1", deadline=later(60)), ask("q2", escalation=ladder))
    sub = task("sub", ask("q3", deadline=later(1), claimed_until=later(40)))
    state = run(own, sub)
    assert timers.next_due(state, {id(sub)}) == timers.Due(deadline=later(60), at=later(30))
    state.tasks[0].interrupts[1] = ask("q2", escalation=ladder, escalated=1)
    assert timers.next_due(state, {id(sub)}).at == later(5)
    assert timers.next_due(run(task("n", ask("q"))), set()) == timers.Due(deadline=None, at=None)


def test_overdue_questions_are_answered_by_their_default_or_told_time_ran_out() -> None:
    quorum = ask("q3", deadline=later(-1), quorum=Quorum(n=3), votes=[Vote(identity="bob", value="yes")])
    own = task(
        "n",
        ask("q1", deadline=later(-1)),
        ask("q2", deadline=later(-1)),
        quorum,
        ask("q4", deadline=later(10)),
        q2={"has_default": True, "default": "no"},
        q3={"has_default": True, "default": "yes"},
    )
    sub = task("sub", ask("q5", deadline=later(-1)))
    state = run(own, sub, phase=Phase.ASKING)
    timers.expire_deadlines(state, {id(sub)}, NOW)
    assert own.resumes[:2] == [DEADLINE_EXPIRED, "no"]
    assert [v["identity"] for v in own.resumes[2]] == ["bob", "deadline"]
    assert [i.id for i in own.interrupts] == ["q4"] and [i.id for i in sub.interrupts] == ["q5"]
    assert state.phase is Phase.RESUMED and state.retired["q1"].startswith("answered by its deadline")
    assert [d.value for d in state.decisions] == [None, "no", "yes"]


def test_claims_that_ran_out_are_released_by_expiry() -> None:
    state = run(
        task(
            "n",
            ask("q1", claimed_by="ann", claimed_until=later(-1)),
            ask("q2", claimed_by="bob", claimed_until=later(9)),
            ask("q3"),
        )
    )
    assert timers.expire_claims(state, NOW)
    assert [i.claimed_by for i in state.tasks[0].interrupts] == [None, "bob", None]
    assert (state.decisions[-1].kind, state.decisions[-1].identity, state.decisions[-1].value) == (
        "release",
        "expiry",
        "ann",
    )
    assert not timers.expire_claims(state, NOW)


def test_escalation_takes_every_due_step_in_order() -> None:
    ladder = [
        EscalationStep(action="remind", after_s=1, due=later(-3)),
        EscalationStep(action="widen", after_s=2, reviewers=["boss", "ann"], due=later(-2)),
        EscalationStep(action="answer", after_s=3, value="approve", due=later(-1)),
        EscalationStep(action="remind", after_s=4, due=later(-1)),
    ]
    own = task(
        "n",
        ask("q1", reviewers=["ann"], escalation=ladder),
        ask("q2", escalation=[EscalationStep(action="remind", after_s=9, due=later(9))]),
    )
    sub = task("sub", ask("q3", escalation=ladder))
    state = run(own, sub, phase=Phase.ASKING)
    taken, effects = timers.escalate(state, {id(sub)}, NOW, notify=True, parent=True)
    assert taken and effects == [Notify(), Publish()]  # answered: no longer asking, the parent is not told
    assert own.resumes == ["approve"] and [i.id for i in own.interrupts] == ["q2"]
    assert [d.kind for d in state.decisions] == ["escalate", "escalate", "deadline"]
    assert state.decisions[1].value == {"step": 1, "action": "widen", "reviewers": ["boss", "ann"]}
    assert state.phase is Phase.RESUMED and sub.interrupts[0].escalated == 0


def test_a_ladder_climbed_to_its_end_leaves_the_question_waiting() -> None:
    state = run(task("n", ask("q1", escalation=[EscalationStep(action="remind", after_s=1, due=later(-1))])))
    assert timers.escalate(state, set(), NOW, notify=True, parent=False) == (True, [Notify(), Publish()])
    assert state.tasks[0].interrupts[0].escalated == 1
    assert timers.escalate(state, set(), NOW, notify=True, parent=False) == (False, [])


def test_a_widened_question_keeps_waiting_and_a_parent_is_told() -> None:
    ladder = [
        EscalationStep(action="widen", after_s=1, reviewers=["boss"], due=later(-1)),
        EscalationStep(action="remind", after_s=2),
    ]
    state = run(task("n", ask("q1", reviewers=["ann"], escalation=ladder)), phase=Phase.ASKING)
    taken, effects = timers.escalate(state, set(), NOW, notify=False, parent=True)
    assert taken and effects == [Publish(), TellParent()]
    assert state.tasks[0].interrupts[0].reviewers == ["ann", "boss"] and state.tasks[0].interrupts[0].escalated == 1
    assert timers.escalate(state, set(), NOW, notify=True, parent=True) == (False, [])  # the next step has no due time
