"""workflows/core/answers.py: answers and votes, and answers put back."""

from __future__ import annotations

from typing import Any

from hitl.protocol.patches import ANSWER_ROLLBACK
from hitl.protocol.wire import Answered, NodeResult, ResumeRequest
from hitl.types import Quorum, Vote
from hitl.workflows.core import answers
from tests.unit.core.builders import NOW, ask, later, run, task

ANN = ResumeRequest(identity="ann", request_id="r1")


def _patched(asked: list[str], has: bool = True) -> Any:
    def patched(patch_id: str) -> bool:
        asked.append(patch_id)
        return has

    return patched


def test_an_answer_closes_its_question_and_goes_to_the_node() -> None:
    state = run(task("n", ask("q1"), ask("q2")))
    asked: list[str] = []
    given = answers.give(state, ANN, ("q1", "yes"), NOW, subgraphs=set(), patched=_patched(asked), update_id="u1")
    assert given.closed and given.task is state.tasks[0]
    assert [i.id for i in state.tasks[0].interrupts] == ["q2"] and state.tasks[0].resumes == ["yes"]
    assert state.retired["q1"] == "answered by ann at 2026-01-02 03:04:05 UTC"
    assert state.tasks[0].answered[0].update_id == "u1" and asked == [ANSWER_ROLLBACK]
    assert (state.decisions[-1].kind, state.decisions[-1].question) == ("resume", "question q1")


def test_a_vote_stays_open_until_its_quorum_and_asks_no_patch_meanwhile() -> None:
    state = run(task("n", ask("q1", quorum=Quorum(n=2))))
    asked: list[str] = []
    kw: dict[str, Any] = {"subgraphs": set(), "patched": _patched(asked), "update_id": None}
    first = answers.give(state, ANN, ("q1", "yes"), NOW, recorded_at=later(1), **kw)
    assert not first.closed and asked == [] and state.tasks[0].resumes == []
    assert state.tasks[0].interrupts[0].votes == [Vote(identity="ann", value="yes", at=NOW)]
    assert state.decisions[-1].at == later(1)  # dated when written
    second = answers.give(state, ResumeRequest(identity="bob"), ("q1", "no"), NOW, **kw)
    assert second.closed and state.retired["q1"].startswith("answered by ann, bob")
    assert [v["value"] for v in state.tasks[0].resumes[0]] == ["yes", "no"]


def test_a_subgraphs_answer_is_left_to_pass_down_and_old_runs_keep_nothing_to_put_back() -> None:
    state = run(task("sub", ask("q1")))
    given = answers.give(
        state, ANN, ("q1", 1), NOW, subgraphs={id(state.tasks[0])}, patched=_patched([], has=False), update_id=None
    )
    assert given.closed and state.tasks[0].resumes == [] and state.tasks[0].answered == []


def test_only_votes_is_a_decision_that_leaves_every_quorum_it_touches_open() -> None:
    pending = [ask("q1", quorum=Quorum(n=2, veto=["reject"])), ask("q2")]
    assert answers.only_votes(ANN, {"q1": "yes"}, pending)
    assert not answers.only_votes(ANN, {"q1": "reject"}, pending)  # a veto closes it
    assert not answers.only_votes(ANN, {"q2": "yes"}, pending)
    assert not answers.only_votes(ANN, {}, pending)
    assert not answers.only_votes(ResumeRequest(identity="ann", update={"x": 1}), {"q1": "yes"}, pending)


def test_a_change_of_state_withdraws_the_votes_on_the_old_one() -> None:
    votes = [Vote(identity="bob", value="yes", at=NOW)]
    own = task("n", ask("q1", quorum=Quorum(n=2), votes=votes), ask("q2"))
    sub = task("sub", ask("q3", quorum=Quorum(n=2), votes=votes))
    state = run(own, sub)
    answers.give(
        state,
        ResumeRequest(identity="bob", request_id="rb"),
        ("q2", "ok"),
        NOW,
        subgraphs=set(),
        patched=_patched([]),
        update_id=None,
    )
    state.decisions[-1] = state.decisions[-1].__class__(**{**state.decisions[-1].__dict__, "interrupt_id": "q1"})
    answers.void_votes(state, "ann", NOW, {id(sub)}, later(5))
    assert own.interrupts[0].votes == [] and sub.interrupts[0].votes == votes
    assert state.refused[-1].request_id == "rb" and "was withdrawn" in state.refused[-1].reason
    assert "ann changed the state at 2026-01-02 03:04:05 UTC" in state.refused[-1].reason
    assert state.refused[-1].at == later(5)


def test_a_failed_rerun_puts_its_answers_back_votes_and_all() -> None:
    voted = ask("q1", quorum=Quorum(n=2), votes=[Vote(identity="bob", value="yes"), Vote(identity="ann", value="yes")])
    plain = ask("q2")
    answered = task("n")
    answered.result = NodeResult(writes={"x": 1})
    answered.resumes = ["earlier", [{"v": 1}], "ok"]
    answered.answered = [
        Answered(interrupt=voted, identity="ann", request_id="r1", update_id="u1"),
        Answered(interrupt=plain, identity="cy", request_id=None, update_id=None),
    ]
    state = run(answered, retired={"q1": "answered", "q2": "answered", "q9": "other"})
    told = answers.roll_back(state, answered, "node failed:\n  boom", NOW)
    assert answered.result is None and answered.resumes == ["earlier"] and answered.answered == []
    assert [(i.id, i.votes) for i in answered.interrupts] == [("q1", []), ("q2", [])]
    assert state.retired == {"q9": "other"}
    assert [u for u, _ in told] == ["u1"] and "was rolled back" in told[0][1] and "node failed: boom" in told[0][1]
    reasons = [r.reason for r in state.refused]
    assert len(reasons) == 3 and "put back with the answer by ann" in reasons[1]  # bob's earlier vote too
    assert all(r.rolled_back for r in state.refused)
