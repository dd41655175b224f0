"""Claim rules (hitl/protocol/policy.py): who may claim, release and delegate a question, and who may
answer while it is held."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from hitl import Interrupt, Quorum
from hitl.protocol.policy import claim_blocks, claim_refused, holds, live_claim

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(minutes=30)


def _q(claimed_by: str | None = None, until: datetime | None = LATER, **kw: object) -> Interrupt:
    return Interrupt(
        id="q1",
        value="ok?",
        node="approve",
        reviewers=["alice", "role:finance"],
        claimed_by=claimed_by,
        claimed_until=until if claimed_by else None,
        **kw,  # type: ignore[arg-type]
    )


def test_a_holder_is_the_identity_or_anyone_in_the_delegated_role() -> None:
    assert holds("alice", "alice", [])
    assert holds("role:finance", "carol", ["finance"])
    assert not holds("role:finance", "alice", [])
    assert not holds(None, "alice", [])


def test_a_live_claim_blocks_everyone_else_and_an_expired_one_nobody() -> None:
    held = _q("alice")
    assert live_claim(held, NOW) and not live_claim(held, LATER)
    blocked = claim_blocks(held, "carol", ["finance"], NOW)
    assert blocked == (
        "interrupt q1 is claimed by alice until 2026-11-25 18:30:00 UTC; only they may answer it until then "
        "(the holder can release or delegate it)"
    )
    assert claim_blocks(held, "alice", [], NOW) is None
    assert claim_blocks(held, "carol", ["finance"], LATER) is None, "the claim ran out exactly at its end"


@pytest.mark.parametrize(
    ("question", "action", "who", "roles", "to", "ttl", "message"),
    [
        (_q(), "claim", "mallory", [], None, 60, "'mallory' may not claim interrupt q1; its reviewers are"),
        (
            _q("alice"),
            "claim",
            "carol",
            ["finance"],
            None,
            60,
            "'carol' may not claim interrupt q1: it is claimed by alice",
        ),
        (_q(), "claim", "alice", [], None, 0, "a claim holds between 1 second and 30 days; got 0 seconds"),
        (_q(), "claim", "alice", [], None, 31 * 86400, "between 1 second and 30 days"),
        (_q(), "release", "alice", [], None, 60, "interrupt q1 is not claimed; nothing to release"),
        (_q("alice"), "release", "carol", ["finance"], None, 60, "'carol' may not release interrupt q1: it is claimed"),
        (_q("alice"), "delegate", "alice", [], "bob", 60, "cannot be delegated to 'bob': its reviewers are"),
        (_q("alice"), "delegate", "alice", [], " ", 60, "delegate needs someone to hand the question to"),
        (
            Interrupt(id="q", value="?", node="n"),
            "delegate",
            "a",
            [],
            "x" * 201,
            60,
            "201 characters long; .* at most 200",
        ),
        (_q("alice"), "delegate", "carol", ["finance"], "alice", 60, "'carol' may not delegate interrupt q1"),
        (Interrupt(id="q", value="?", node="n"), "delegate", "a", [], "role:", 60, "'role:', which is no identity"),
        (Interrupt(id="q", value="?", node="n"), "delegate", "a", [], " bob", 60, "' bob', which is no identity"),
        (Interrupt(id="q", value="?", node="n"), "delegate", "a", [], "bob\nroot", 60, "'bob\\\\nroot', which is"),
        (_q(quorum=Quorum(2)), "claim", "alice", [], None, 60, "needs 2 people \\(a quorum\\), so nobody can claim it"),
        (_q(), "steal", "alice", [], None, 60, "unknown claim action 'steal'; use claim, release or delegate"),
    ],
)
def test_refused_claims_say_why(
    question: Interrupt, action: str, who: str, roles: list[str], to: str | None, ttl: float, message: str
) -> None:
    refused = claim_refused(question, action, who, roles, to, ttl, NOW)
    assert refused is not None
    assert re.search(message, refused), refused


def test_allowed_claims() -> None:
    assert claim_refused(_q(), "claim", "carol", ["finance"], None, 60, NOW) is None
    assert claim_refused(_q("alice"), "claim", "alice", [], None, 60, NOW) is None, "the holder extends it"
    assert claim_refused(_q("alice"), "claim", "carol", ["finance"], None, 60, LATER) is None, "it ran out"
    assert claim_refused(_q("alice"), "release", "alice", [], None, 60, NOW) is None
    assert claim_refused(_q("alice"), "delegate", "alice", [], "role:finance", 60, NOW) is None
    assert claim_refused(_q(), "delegate", "carol", ["finance"], "alice", 60, NOW) is None, "unheld: any reviewer"
    open_question = Interrupt(id="q2", value="?", node="n")
    assert claim_refused(open_question, "delegate", "anyone", [], "bob", 60, NOW) is None
