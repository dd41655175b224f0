"""The escalation ladder of interrupt(escalate=...) (hitl/_interrupt.py): checked where it is written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import pytest

# `interrupt` through the package first: importing the submodule first would shadow the function
from hitl import AnswerWith, HitlError, Quorum, Remind, Widen, interrupt
from hitl._interrupt import GraphInterrupt, node_scope, reset_scope

H = timedelta(hours=1)


def _ask(**kw: Any) -> Any:
    token = node_scope("review", [])
    try:
        return interrupt("ok?", **kw)
    finally:
        reset_scope(token)


def test_a_ladder_travels_with_the_question_in_seconds() -> None:
    with pytest.raises(GraphInterrupt) as asked:
        _ask(reviewers=["alice"], escalate=[Remind(H), Widen(4 * H, ["role:managers"]), AnswerWith(24 * H, "reject")])
    steps = [(s.action, s.after_s, s.reviewers, s.value) for s in asked.value.request.escalation]
    assert steps == [
        ("remind", 3600, None, None),
        ("widen", 14400, ["role:managers"], None),
        ("answer", 86400, None, "reject"),
    ]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"escalate": [Remind(2 * H), Remind(H)]}, "step 1 .* earlier than the step before it"),
        ({"escalate": [AnswerWith(H, "x"), Remind(2 * H)]}, "step 1 .* follows AnswerWith"),
        ({"escalate": [Widen(H, ["bob"])]}, "widens a question anyone may answer already"),
        ({"quorum": 2, "escalate": [Widen(H, ["bob"])]}, "widens a question anyone may answer already"),
        ({"reviewers": ["alice"], "escalate": [Widen(H, [])]}, "needs reviewers: identities or role:NAME"),
        ({"escalate": [Remind(timedelta(0))]}, "needs `after` as a positive timedelta"),
        ({"escalate": [Remind(3600)]}, "needs `after` as a positive timedelta; got 3600"),  # type: ignore[arg-type]
        ({"escalate": ["remind"]}, "step 0 .* is 'remind'; use Remind"),
    ],
)
def test_a_ladder_that_cannot_work_is_one_clear_line(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(HitlError, match=message):
        _ask(**kw)


def test_a_ladder_may_widen_the_reviewers_a_quorum_names() -> None:
    with pytest.raises(GraphInterrupt) as asked:
        _ask(quorum=Quorum(2, of=["alice", "bob"]), escalate=[Widen(H, ["carol"])])
    assert asked.value.request.reviewers == ["alice", "bob"]
    assert [s.reviewers for s in asked.value.request.escalation] == [["carol"]]


def test_an_answer_with_value_the_schema_refuses_is_one_clear_line_when_asked() -> None:
    """Time's answer is an answer: one the question would refuse failed the node when the ladder ran out."""
    with pytest.raises(HitlError, match="the AnswerWith value of escalation step 1 does not fit its schema: 'maybe'"):
        _ask(schema=Literal["approve", "reject"], escalate=[Remind(H), AnswerWith(2 * H, "maybe")])
    with pytest.raises(GraphInterrupt):
        _ask(schema=Literal["approve", "reject"], escalate=[AnswerWith(H, "reject")])
    with pytest.raises(HitlError, match="AnswerWith value of escalation step 0 does not fit its schema"):
        _ask(quorum=2, schema={"type": "integer"}, escalate=[AnswerWith(H, "x")])  # each vote takes the schema


def test_a_timeout_default_the_schema_refuses_is_one_clear_line_when_asked() -> None:
    """The default is time's answer too: one the question would refuse failed the node when the deadline passed."""
    with pytest.raises(HitlError, match="the timeout default does not fit its schema: 'maybe'"):
        _ask(schema=Literal["approve", "reject"], timeout=H, default="maybe")
    with pytest.raises(GraphInterrupt):
        _ask(schema=Literal["approve", "reject"], timeout=H, default="reject")
    with pytest.raises(GraphInterrupt):
        _ask(schema=Literal["approve", "reject"], timeout=H)  # no default: DeadlineExceeded when it passes
