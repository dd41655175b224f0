"""hitl/protocol/policy.py: who may do what, and whether values fit (the one home of each rule)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TypedDict

from hitl import START, StateGraph
from hitl.protocol.policy import (
    claim_blocks,
    holds,
    identity_refused,
    may_read,
    may_review,
    override_refused,
    schema_refused,
    values_refused,
)
from hitl.types import Interrupt


def test_a_reviewer_is_an_identity_or_a_role() -> None:
    reviewers = ["alice", "role:finance"]
    assert may_review(reviewers, "alice", [])
    assert may_review(reviewers, "bob", ["ops", "finance"])
    assert not may_review(reviewers, "bob", ["ops"])
    assert not may_review(reviewers, "finance", [])  # a role is not an identity


def test_an_identity_named_like_a_role_holds_no_role_and_is_refused_at_the_edges() -> None:
    """An identity `role:finance` is no member of finance: it matches no entry as an identity, on reviewer,
    readers and guard lists and as a claim's holder; and `identity_refused` is what every edge refuses it by."""
    reviewers = ["alice", "role:finance"]
    assert not may_review(reviewers, "role:finance", [])
    assert may_review(reviewers, "role:finance", ["finance"])  # as a role it still counts, like any name's
    assert not may_read([["role:x"]], "role:x", [])
    assert override_refused([reviewers], "role:finance", [], "edit it") is not None
    assert not holds("role:finance", "role:finance", [])  # a question delegated to the role is not theirs by name
    assert holds("role:finance", "carol", ["finance"]) and holds("alice", "alice", [])
    now = datetime.now(timezone.utc)
    asked = Interrupt(
        value="ok?",
        id="q1",
        node="n",
        reviewers=reviewers,
        claimed_by="role:finance",
        claimed_until=now + timedelta(hours=1),
    )
    assert claim_blocks(asked, "role:finance", [], now) is not None
    assert identity_refused("alice") is None and identity_refused("roles:x") is None
    assert identity_refused("role:finance", "HITL_IDENTITY") == (
        "HITL_IDENTITY 'role:finance' starts with 'role:', which names a role on reviewer lists, not a person; "
        "use a plain name (roles are given separately: roles=, --roles, HITL_ROLES)"
    )


def test_an_override_needs_someone_allowed_by_every_guard() -> None:
    guard = [["alice", "role:finance"], ["alice", "carol"]]
    assert override_refused(guard, "alice", [], "edit it") is None
    refused = override_refused(guard, "bob", ["finance"], "edit it")
    assert refused is not None and refused.startswith("'bob' may not edit it:") and "['alice', 'carol']" in refused
    assert override_refused([], "anyone", [], "edit it") is None


class S(TypedDict, total=False):
    n: int
    name: str


def test_values_must_name_state_keys_and_fit_their_schema() -> None:
    b = StateGraph(S)
    b.add_node("x", lambda s: {})
    b.add_edge(START, "x")
    spec = b.compile(name="policy").spec()
    assert values_refused(spec, {"n": 1, "name": "a"}, "values") is None
    assert (
        values_refused(spec, {"zz": 1}, "values")
        == "values has unknown key(s) ['zz']; the state keys are ['n', 'name']"
    )
    wrong = values_refused(spec, {"n": "one"}, "values")
    assert wrong is not None and wrong.startswith("values key 'n' does not fit its schema:")


def test_schema_refusals_name_where_in_the_value() -> None:
    schema = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "integer"}}}}
    assert schema_refused({"items": [1, 2]}, schema, "the answer") is None
    assert schema_refused({"items": [1, "x"]}, schema, "the answer") == (
        "the answer at items/1 does not fit its schema: 'x' is not of type 'integer'"
    )
    assert (
        schema_refused(3, {"enum": ["a"]}, "the answer") == "the answer does not fit its schema: 3 is not one of ['a']"
    )
