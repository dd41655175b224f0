"""Who may decide what a run waits for, as the inbox filters it (hitl/protocol/policy.py): the entries a run
indexes in HitlReviewers and HitlAssigned, claim- and vote-aware, and the per-run rule the inbox
falls back to where they are not indexed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hitl import Interrupt, Quorum, Vote
from hitl.protocol.policy import assignees, deciders, may_decide

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(minutes=30)


def _q(id: str = "q1", reviewers: list[str] | None = None, held: str | None = None, **kw: object) -> Interrupt:
    return Interrupt(
        id=id,
        value="ok?",
        node="approve",
        reviewers=reviewers,
        claimed_by=held,
        claimed_until=LATER if held else None,
        **kw,  # type: ignore[arg-type]
    )


def test_without_claims_or_votes_the_entries_are_as_before() -> None:
    assert deciders([], "tester") == ["*"], "a breakpoint: anyone"
    assert deciders([_q(reviewers=["bob", "alice"])], "tester") == ["alice", "bob"]
    assert deciders([_q(reviewers=["role:finance"]), _q("q2")], "tester") == ["*", "role:finance"]
    assert assignees([_q(reviewers=["alice"])]) == []


def test_a_claimed_question_counts_for_its_holder_only() -> None:
    assert deciders([_q(reviewers=["alice", "role:finance"], held="alice")], "tester") == ["alice"]
    assert deciders([_q(held="role:ops")], "tester") == ["role:ops"], "an open question delegated to a role"
    two = [_q(reviewers=["alice", "role:finance"], held="alice"), _q("q2", reviewers=["role:finance"])]
    assert deciders(two, "tester") == ["alice", "role:finance"]
    assert assignees(two) == ["alice"]
    assert assignees([_q(held="role:ops"), _q("q2", held="alice")]) == ["alice", "role:ops"]


def test_a_voter_with_nothing_left_to_decide_is_marked_done() -> None:
    voted = _q(reviewers=["alice", "bob", "role:finance"], quorum=Quorum(2), votes=[Vote(identity="alice", value=1)])
    assert deciders([voted], "tester") == ["alice", "bob", "role:finance", "!alice", "!tester"]
    open_to_all = _q(quorum=Quorum(2, requester_may_approve=True), votes=[Vote(identity="alice", value=1)])
    assert deciders([open_to_all], "tester") == ["*", "!alice"], "the starter may answer this one"
    again = _q(quorum=Quorum(2, distinct=False, requester_may_approve=True), votes=[Vote(identity="alice", value=1)])
    assert deciders([again], "tester") == ["*"], "the same person may answer again: not done"


def test_a_voter_who_may_still_answer_another_question_is_not_marked_done() -> None:
    voted = _q(reviewers=["alice", "bob"], quorum=Quorum(2), votes=[Vote(identity="alice", value=1)])
    for other, done in [
        (_q("q2", reviewers=["role:finance"]), False),  # alice may hold finance: unknown here
        (_q("q2"), False),
        (_q("q2", reviewers=["bob", "carol"]), True),
        (_q("q2", reviewers=["alice"], held="carol"), True),
        (_q("q2", reviewers=["alice"], held="alice"), False),
    ]:
        assert ("!alice" in deciders([voted, other], "tester")) is done, other


def test_may_decide_is_reviewers_claims_and_votes() -> None:
    held = _q(reviewers=["alice", "role:finance"], held="alice")
    assert may_decide(held, "alice", [], NOW) and not may_decide(held, "carol", ["finance"], NOW)
    assert may_decide(held, "carol", ["finance"], LATER), "a claim that ran out holds nobody back"
    assert not may_decide(_q(reviewers=["alice"]), "bob", [], NOW)
    voted = _q(quorum=Quorum(2), votes=[Vote(identity="alice", value=1)])
    assert not may_decide(voted, "alice", [], NOW) and may_decide(voted, "bob", [], NOW)
    assert not may_decide(_q(quorum=Quorum(2)), "tester", [], NOW, starter="tester")
