"""Quorum rules (hitl/protocol/policy.py) and the interrupt(quorum=...) policy checks (hitl/_interrupt.py)."""

from __future__ import annotations

from typing import Any

import pytest

# `interrupt` through the package first: importing the submodule first would shadow the function
from hitl import HitlError, Interrupt, Quorum, Vote, interrupt
from hitl._interrupt import GraphInterrupt, node_scope, reset_scope
from hitl.protocol.policy import quorum_met, vote_refused


def _asked(quorum: Quorum, *voters: str) -> Interrupt:
    return Interrupt(
        id="q1", value="ok?", node="review", quorum=quorum, votes=[Vote(identity=v, value="approve") for v in voters]
    )


def test_the_same_person_counts_once() -> None:
    refused = vote_refused(_asked(Quorum(2), "alice"), "alice", starter="carol")
    assert refused == (
        "'alice' already answered interrupt q1, which needs 2 different people (answered so far by alice); "
        "the same person counts once"
    )
    assert vote_refused(_asked(Quorum(2), "alice"), "bob", starter="carol") is None
    assert vote_refused(_asked(Quorum(2, distinct=False), "alice"), "alice", starter="carol") is None


def test_the_starter_may_not_answer_unless_the_policy_allows_it() -> None:
    refused = vote_refused(_asked(Quorum(2)), "carol", starter="carol")
    assert refused is not None and refused.startswith("'carol' started this run and may not answer")
    assert vote_refused(_asked(Quorum(2, requester_may_approve=True)), "carol", starter="carol") is None


def test_a_question_without_a_quorum_has_no_vote_rules() -> None:
    assert vote_refused(Interrupt(id="q", value="?", node="n"), "carol", starter="carol") is None


def test_the_quorum_is_met_by_n_votes_or_a_veto() -> None:
    two = Quorum(2, veto=["reject"])
    assert not quorum_met(two, [Vote(identity="a", value="approve")])
    assert quorum_met(two, [Vote(identity="a", value="approve"), Vote(identity="b", value="approve")])
    assert quorum_met(two, [Vote(identity="a", value="reject")]), "the first rejection wins"
    assert not quorum_met(Quorum(2), [Vote(identity="a", value="reject")]), "without a veto every answer counts alike"


def _ask(resumes: list[Any] | None = None, **kw: Any) -> Any:
    token = node_scope("review", resumes or [])
    try:
        return interrupt("ok?", **kw)
    finally:
        reset_scope(token)


def test_a_number_quorum_takes_the_reviewers_and_a_policy_travels_with_the_question() -> None:
    with pytest.raises(GraphInterrupt) as asked:
        _ask(quorum=2, reviewers=["alice", "bob", "carol"])
    assert asked.value.request.quorum == Quorum(2, of=["alice", "bob", "carol"])
    assert asked.value.request.reviewers == ["alice", "bob", "carol"]
    with pytest.raises(GraphInterrupt) as policy:
        _ask(quorum=Quorum(2, of=["role:finance"], veto=["reject"]))
    assert policy.value.request.reviewers == ["role:finance"]
    assert policy.value.request.quorum == Quorum(2, of=["role:finance"], veto=["reject"])


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"quorum": 0}, "must be a whole number of at least 1; got 0"),
        ({"quorum": True}, "takes a number or a Quorum; got True"),
        ({"quorum": "2"}, "takes a number or a Quorum; got '2'"),
        ({"quorum": 3, "reviewers": ["alice", "bob"]}, "asks 3 different people out of \\['alice', 'bob'\\]"),
        ({"quorum": Quorum(2, of=["a", "b"]), "reviewers": ["c"]}, "names reviewers twice"),
    ],
)
def test_a_quorum_that_cannot_work_is_one_clear_line(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(HitlError, match=message):
        _ask(**kw)


def test_the_node_gets_every_vote_typed_by_the_schema() -> None:
    votes = [
        {"identity": "alice", "value": 3, "at": "2026-11-25T18:00:00+00:00"},
        {"identity": "bob", "value": 4, "at": None},
    ]
    got = _ask([votes], quorum=2, schema=int)
    assert [(v.identity, v.value) for v in got] == [("alice", 3), ("bob", 4)]
    assert got[0].at is not None and got[0].at.year == 2026 and got[1].at is None


def test_a_vote_never_changes_the_state_as_well() -> None:
    refused = vote_refused(_asked(Quorum(2), "alice"), "bob", starter="carol", changes_state=True)
    assert refused is not None and "a vote on quorum question q1 cannot change the state as well" in refused
    assert vote_refused(Interrupt(id="q", value="?", node="n"), "bob", starter="carol", changes_state=True) is None
