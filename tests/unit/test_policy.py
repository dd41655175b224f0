"""hitl/_policy.py: who may do what, and whether values fit (the one home of each rule)."""

from __future__ import annotations

from typing import TypedDict

from hitl import START, StateGraph
from hitl._policy import may_review, override_refused, schema_refused, values_refused


def test_a_reviewer_is_an_identity_or_a_role() -> None:
    reviewers = ["alice", "role:finance"]
    assert may_review(reviewers, "alice", [])
    assert may_review(reviewers, "bob", ["ops", "finance"])
    assert not may_review(reviewers, "bob", ["ops"])
    assert not may_review(reviewers, "finance", [])  # a role is not an identity


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
