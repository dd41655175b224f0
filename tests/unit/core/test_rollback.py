"""Putting a person's change of state back (workflows/core/rollback.py): pure rules, no server."""

from __future__ import annotations

from hitl.protocol.wire import Answered, NodeResult
from hitl.workflows.core import rollback
from tests.unit.core.builders import NOW, ask, run, task


def test_putting_a_change_back_restores_the_keys_it_wrote_and_drops_those_it_added() -> None:
    before = {"draft": "short", "log": ["a"], "kept": 1}
    undo = rollback.undo_of(
        "edit",
        before,
        {"draft": "x" * 10, "log": ["b"], "note": "new"},
        identity="alice",
        request_id=None,
        update_id=None,
        tasks=["review"],
    )
    assert undo.before == {"draft": "short", "log": ["a"]} and undo.absent == ["note"]
    after = {"draft": "x" * 10, "log": ["a", "b"], "kept": 1, "note": "new"}
    assert rollback.put_back(after, undo) == before


def test_the_reason_is_one_line_naming_who_what_and_why() -> None:
    undo = rollback.undo_of(
        "update", {"draft": "s"}, {"draft": "y"}, identity="bob", request_id="r1", update_id="u1", tasks=["review"]
    )
    reason = rollback.rollback_reason(undo, "node 'review' failed\nat step 2: too large")
    assert reason == (
        "update sent with the answer by bob of draft was rolled back (the state is as before it), the answer's "
        "question is pending again: node 'review' failed at step 2: too large"
    )
    assert len(rollback.rollback_reason(undo, "e" * 2000)) == 600


def test_an_edit_put_back_asks_its_withdrawn_questions_again() -> None:
    asked = ask("q1", node="review")
    review, other = task("review"), task("other")
    review.result = NodeResult(writes={"draft": "z"})
    state = run(review, other, values={"draft": "edited", "note": "new"}, retired={"q1": "withdrawn"})
    undo = rollback.undo_of(
        "edit",
        {"draft": "old"},
        {"draft": "edited", "note": "new"},
        identity="ann",
        request_id="r1",
        update_id="u1",
        tasks=["review"],
        asked={"review": [asked]},
    )
    done = rollback.put_back_change(state, undo, "node 'review' failed", NOW)
    assert state.values == {"draft": "old"} and review.result is None and review.interrupts == [asked]
    assert state.retired == {} and done.told == [] and done.answers_put_back == 0
    assert done.reason.startswith("edit by ann of draft, note was rolled back")
    last = state.decisions[-1]
    assert (last.kind, last.interrupt_id, last.node, last.request_id) == ("rollback", "q1", "review", "r1")
    assert state.refused[-1].rolled_back and state.refused[-1].reason == done.reason


def test_an_update_put_back_puts_back_the_answers_sent_with_it() -> None:
    answered, waiting = task("review"), task("other", ask("q9", node="other"))
    answered.resumes = ["yes"]
    answered.answered = [Answered(interrupt=ask("q1", node="review"), identity="ann", update_id="u1")]
    state = run(answered, waiting, values={"draft": "y"})
    undo = rollback.undo_of(
        "update", {}, {"draft": "y"}, identity="ann", request_id=None, update_id="u1", tasks=["review", "other"]
    )
    done = rollback.put_back_change(state, undo, "boom", NOW)
    assert state.values == {} and [i.id for i in answered.interrupts] == ["q1"] and answered.resumes == []
    assert done.answers_put_back == 1 and [u for u, _ in done.told] == ["u1"]
    assert state.decisions[-1].interrupt_id == "q1"  # the first question asked again names the record


def test_a_change_whose_nodes_ask_nothing_names_no_question() -> None:
    state = run(task("review"))
    undo = rollback.undo_of("edit", {}, {}, identity="ann", request_id=None, update_id=None, tasks=["review"])
    rollback.put_back_change(state, undo, "boom", NOW)
    assert state.decisions[-1].interrupt_id is None and state.decisions[-1].value == {"edit": {}, "error": "boom"}
