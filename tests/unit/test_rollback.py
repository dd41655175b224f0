"""Putting a person's change of state back (workflows/rollback.py): pure rules, no server."""

from __future__ import annotations

from workflows import rollback


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
