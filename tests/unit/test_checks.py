"""workflows/checks.py: is a decision acceptable now? Each refusal is one line."""

from __future__ import annotations

import dataclasses
import operator
from datetime import datetime, timezone
from typing import Annotated, Any, TypedDict

import pytest
from temporalio.exceptions import ApplicationError

from hitl import START, StateGraph
from hitl.protocol.limits import MAX_STATE_BYTES
from hitl.protocol.wire import (
    CancelRequest,
    PendingTask,
    Phase,
    ResumeRequest,
    RunState,
    SendPacket,
    UpdateStateRequest,
    request_digest,
)
from hitl.types import Interrupt
from hitl.workflows import checks

AT = datetime(2026, 1, 2, tzinfo=timezone.utc)


class S(TypedDict, total=False):
    draft: str
    log: Annotated[list[str], operator.add]


def _node(state: S) -> dict:
    return {}


def _view(**changes: Any) -> checks.RunView:
    b = StateGraph(S)
    b.add_node("write", _node)
    b.add_node("publish", _node)
    b.add_edge(START, "write")
    b.add_edge("write", "publish")
    view = checks.RunView(
        spec=b.compile(name="checks").spec(),
        status="interrupted",
        pause="interrupt",
        next=["write"],
        pending=[Interrupt(id="i1", value="ok?", node="write", schema={"enum": ["approve", "reject"]})],
        guard=[],
        retired={},
        requests={},
        values={"draft": "d"},
    )
    return dataclasses.replace(view, **changes)


def _refused(check: Any, *args: Any) -> str:
    with pytest.raises(ApplicationError) as caught:
        check(*args)
    assert caught.value.type == "DecisionRejected" and caught.value.non_retryable
    assert "\n" not in caught.value.message
    return caught.value.message


def test_a_fitting_answer_passes() -> None:
    checks.check_resume(_view(), ResumeRequest(identity="a", has_resume=True, resume="approve"))


def test_answers_are_read_from_a_value_or_a_map() -> None:
    pending = _view().pending
    assert checks.answers(ResumeRequest(identity="a", has_resume=True, resume="x"), pending) == {"i1": "x"}
    assert checks.answers(ResumeRequest(identity="a", resume_map={"i1": "y"}), pending) == {"i1": "y"}
    assert checks.answers(ResumeRequest(identity="a"), pending) == {}


@pytest.mark.parametrize(
    ("view", "req", "says"),
    [
        pytest.param({"status": "completed"}, {"resume": "approve"}, "run is completed", id="ended"),
        pytest.param({}, {"resume": "maybe"}, "does not fit its schema", id="schema"),
        pytest.param({}, {"goto": ["nowhere"]}, "goto names unknown node(s) ['nowhere']", id="goto-unknown"),
        pytest.param(
            {},
            {"goto": ["publish"], "resume": "perhaps"},
            "does not fit its schema",
            id="goto-and-value-outside-schema",
        ),
        pytest.param({}, {"update": {"zz": 1}}, "unknown key(s) ['zz']", id="update-unknown-key"),
        pytest.param({"pending": []}, {"resume": "x"}, "takes no resume value", id="breakpoint-value"),
        pytest.param({}, {}, "are waiting for an answer", id="no-answer"),
    ],
)
def test_resume_refusals(view: dict[str, Any], req: dict[str, Any], says: str) -> None:
    has_resume = "resume" in req
    message = _refused(checks.check_resume, _view(**view), ResumeRequest(identity="a", has_resume=has_resume, **req))
    assert says in message, message


def test_several_pending_questions_need_a_map_and_known_ids() -> None:
    two = [Interrupt(id="i1", value="?", node="a"), Interrupt(id="i2", value="?", node="b")]
    view = _view(pending=two, retired={"i0": "answered by bob at noon"})
    assert "answer with a map" in _refused(checks.check_resume, view, ResumeRequest(identity="a", has_resume=True))
    assert "resume map is empty" in _refused(checks.check_resume, view, ResumeRequest(identity="a", resume_map={}))
    late = _refused(checks.check_resume, view, ResumeRequest(identity="a", resume_map={"i0": 1, "zz": 2}))
    assert "interrupt i0 was answered by bob at noon" in late and "unknown interrupt id(s) ['zz']" in late


def test_reviewers_limit_answers_and_guard_overrides() -> None:
    limited = [Interrupt(id="i1", value="?", node="write", reviewers=["alice", "role:finance"])]
    view = _view(pending=limited, guard=[["alice", "role:finance"]])
    mallory = ResumeRequest(identity="mallory", has_resume=True, resume="x")
    assert "'mallory' may not answer interrupt i1" in _refused(checks.check_resume, view, mallory)
    checks.check_resume(view, ResumeRequest(identity="bob", roles=["finance"], has_resume=True, resume="x"))
    edit = UpdateStateRequest(identity="mallory", values={"draft": "x"})
    assert "'mallory' may not edit its state" in _refused(checks.check_edit, view, edit)
    assert "may not cancel it" in _refused(checks.check_cancel, view, CancelRequest(identity="mallory"))
    checks.check_cancel(view, CancelRequest(identity="alice"))


def test_edits_need_values_or_as_node_and_must_fit_the_state() -> None:
    view = _view()
    assert "values is empty" in _refused(checks.check_edit, view, UpdateStateRequest(identity="a", values={}))
    ghost = UpdateStateRequest(identity="a", values={}, as_node="ghost")
    assert "as_node 'ghost' is not a node" in _refused(checks.check_edit, view, ghost)
    checks.check_edit(view, UpdateStateRequest(identity="a", values={}, as_node="write"))
    full = _view(values={"draft": "d", "log": ["x" * (MAX_STATE_BYTES - 100_000)]})
    too_big = UpdateStateRequest(identity="a", values={"log": ["y" * 200_000]})  # a decision that fits
    assert "the state after the edit is" in _refused(checks.check_edit, full, too_big)


def test_a_request_id_means_one_decision() -> None:
    req = ResumeRequest(identity="a", has_resume=True, resume="approve", request_id="r1")
    assert not checks.already_applied(_view(), req)
    seen = _view(requests={"r1": f"{request_digest(req)} a at noon"})
    assert checks.already_applied(seen, req)
    other = dataclasses.replace(req, resume="reject")
    assert "already used for a different decision (a at noon)" in _refused(checks.already_applied, seen, other)


def test_an_answer_pinned_to_a_question_answered_meanwhile_is_refused_as_such() -> None:
    """`Command(resume={id: value})` for a question someone else answered is not an answer to the next one."""
    view = _view(retired={"i0": "answered by bob at noon"})
    req = ResumeRequest(identity="a", has_resume=True, resume={"i0": "approve"})
    assert checks.answer_map(req, view.pending, view.retired) == {"i0": "approve"}
    assert "interrupt i0 was answered by bob at noon" in _refused(checks.check_resume, view, req)
    plain = ResumeRequest(identity="a", has_resume=True, resume={"someone": "approve"})
    assert checks.answer_map(plain, view.pending, view.retired) is None  # a dict answer stays an answer


def test_an_identity_named_like_a_role_is_refused_up_front_and_judged_as_recorded_on_replay() -> None:
    """The validators' check refuses `role:finance` as an identity; the handlers' (which replay) judge it
    through `as_recorded`, exactly as before the rule changed, so a history that took such a decision replays."""
    limited = [Interrupt(id="i1", value="?", node="write", reviewers=["alice", "role:finance"])]
    view = _view(pending=limited, guard=[["alice", "role:finance"]])
    named = ResumeRequest(identity="role:finance", has_resume=True, resume="x")
    assert "'role:finance' may not answer interrupt i1" in _refused(checks.check_resume, view, named)
    edit = UpdateStateRequest(identity="role:finance", values={"draft": "x"})
    assert "'role:finance' may not edit its state" in _refused(checks.check_edit, view, edit)
    checks.check_resume(view, checks.as_recorded(named))
    checks.check_edit(view, checks.as_recorded(edit))
    assert checks.as_recorded(named).roles == ["finance"] and checks.as_recorded(named).identity == "role:finance"
    plain = ResumeRequest(identity="bob", roles=["ops"], has_resume=True, resume="x")
    assert checks.as_recorded(plain) is plain


def test_the_checks_see_the_run_as_it_is_and_a_cancel_applied_as_cancelled() -> None:
    spec = _view().spec
    asked = PendingTask(node="write", interrupts=[Interrupt(id="i1", value="ok?", node="write")])
    run = RunState(
        created_at=AT,
        phase=Phase.BEFORE,
        next=["write"],
        sends=[SendPacket(node="publish")],
        tasks=[asked],
        guard=[["ann"]],
        values={"draft": "x"},
    )
    view = checks.view_of(spec, run, cancelled=False, starter="bob", now=AT)
    assert (view.status, view.pause, view.next, view.starter, view.now) == (
        "interrupted",
        "before",
        ["publish", "write"],
        "bob",
        AT,
    )
    assert [i.id for i in view.pending] == ["i1"] and view.guard is run.guard and view.values is run.values
    running = dataclasses.replace(run, phase=Phase.RUNNING)
    assert checks.view_of(spec, running, cancelled=False, starter="bob", now=AT).pause is None
    assert checks.view_of(spec, running, cancelled=True, starter="bob", now=AT).status == "cancelled"


def test_a_longer_history_under_the_same_clock_is_a_copy_a_query_ran_ahead() -> None:
    t1, t2 = datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 1, 0, 0, 1, tzinfo=timezone.utc)
    assert checks.ran_ahead((3, t1), (8, t1))  # a node's result taken with its last task's clock
    assert not checks.ran_ahead((3, t1), (8, t2))  # a workflow task, run or replayed: a clock of its own
    assert not checks.ran_ahead((8, t1), (8, t1))  # a local activity's result, or a query, in the same task
    assert not checks.ran_ahead((8, t2), (8, t1))
