"""Answer schemas (hitl/protocol/schema.py): patterns matched by RE2, schemas checked against their metaschema."""

from __future__ import annotations

import itertools

import pytest
from jsonschema import _utils as jsonschema_utils

from hitl.protocol.policy import schema_refused
from hitl.protocol.schema import SCHEMA_STEPS, first_repeat, schema_unusable, search

EVIL = "a" * 40 + "!"
"""Python's `re` would take days on `^(a+)+$` for this (it doubles per character; 26 took about a second)."""


def test_a_backtracking_pattern_is_matched_in_linear_time() -> None:
    schema = {"type": "string", "pattern": "^(a+)+$"}
    assert schema_refused(EVIL, schema, "the answer") == (
        f"the answer does not fit its schema: {EVIL!r} does not match '^(a+)+$'"
    )
    assert schema_refused("aaaa", schema, "the answer") is None


def test_pattern_properties_and_additional_properties_match_keys_with_re2() -> None:
    schema = {
        "type": "object",
        "patternProperties": {"^(a+)+$": {"type": "integer"}},
        "additionalProperties": False,
    }
    assert schema_refused({"aaa": 1}, schema, "the answer") is None
    assert "'x' is not of type 'integer'" in (schema_refused({"aaa": "x"}, schema, "the answer") or "")
    refused = schema_refused({EVIL: 1}, schema, "the answer")
    assert refused is not None and "Additional properties are not allowed" in refused


def test_patterns_are_not_anchored_and_use_ecma_like_classes() -> None:
    assert search("b+", "abba") and not search("^b", "abba")
    assert search(r"^\p{L}+$", "café")  # RE2 takes Unicode classes, which Python's re does not
    assert not search(r"^\w+$", "café")  # \w is ASCII, as in ECMA-262 (JSON Schema's regex dialect)


@pytest.mark.parametrize(
    ("schema", "key", "says"),
    [
        ({"type": "string", "maxLength": "200"}, "maxLength", "'200' is not of type 'integer'"),
        ({"type": "strnig"}, "type", "'strnig' is not valid under any of the given schemas"),
        ({"type": "string", "pattern": "^(a)\\1$"}, "pattern", "not an RE2 regular expression"),
        ({"properties": {"a": {"pattern": "(?=x)"}}}, "properties/a/pattern", "invalid perl operator"),
        ({"patternProperties": {"(?<!x)y": {}}}, "patternProperties", "'(?<!x)y' is not an RE2 regular expression"),
    ],
)
def test_an_unusable_schema_is_named_by_its_key_in_one_line(schema: dict, key: str, says: str) -> None:
    line = schema_unusable(schema, "the answer schema of interrupt() in node 'ask'")
    assert line is not None and "\n" not in line
    assert line.startswith(f"the answer schema of interrupt() in node 'ask' is not a valid JSON Schema: at {key}, ")
    assert says in line


def test_usable_schemas_pass() -> None:
    for schema in (True, {}, {"type": "number", "minimum": 0}, {"type": "string", "pattern": r"^\d{3}-[A-Z]+$"}):
        assert schema_unusable(schema, "s") is None


@pytest.mark.parametrize(
    "schema", [{"type": "string", "maxLength": "200"}, {"type": "strnig"}, {"type": "string", "pattern": "(["}]
)
def test_an_answer_to_a_question_with_an_unusable_schema_is_refused_in_one_line(schema: dict) -> None:
    """A question asked before schemas were checked when asking: refused with the reason, not a Python error."""
    line = schema_refused("x", schema, "the answer to interrupt q1")
    assert line is not None and line.startswith("the answer to interrupt q1 cannot be checked: its schema is not")
    assert "move the run on with goto or an edit of its state" in line and "\n" not in line


def test_a_lookaround_pattern_recorded_before_the_check_still_matches_as_it_did() -> None:
    """So an answer such a question took replays as it ran."""
    schema = {"type": "string", "pattern": "^(?!no)"}
    assert schema_refused("yes", schema, "a") is None and schema_refused("nope", schema, "a") is not None


def test_a_root_ref_under_a_declared_2020_12_dialect_still_matches_with_re2() -> None:
    """jsonschema checks a subschema carrying `$schema` with its stock validator (Python's `re`)."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"code": {"type": "string", "pattern": "^(a+)+$"}, "child": {"$ref": "#"}},
    }
    refused = schema_refused({"child": {"code": EVIL}}, schema, "the answer")
    assert refused == f"the answer at child/code does not fit its schema: {EVIL!r} does not match '^(a+)+$'"
    assert schema_unusable(schema, "s") is None


@pytest.mark.parametrize(
    ("schema", "says"),
    [
        (
            {"properties": {"x": {"$schema": "http://json-schema.org/draft-07/schema#", "pattern": "^(a+)+$"}}},
            "at properties/x/$schema, a subschema declares its own $schema",
        ),
        ({"$schema": "http://json-schema.org/draft-07/schema#"}, "hitl checks answers with draft 2020-12"),
        (
            {"allOf": [{"patternProperties": {"^(a+)+$": {}}}], "unevaluatedProperties": False},
            "use additionalProperties instead of unevaluatedProperties",
        ),
    ],
)
def test_keywords_that_would_bring_back_the_backtracking_engine_are_refused_when_asked(schema: dict, says: str) -> None:
    line = schema_unusable(schema, "the answer schema")
    assert line is not None and line.startswith("the answer schema cannot be checked in linear time: ")
    assert says in line


UNIQUENESS_CASES = [
    [1, 1.0],
    [1, True],
    [0, False],
    [True, 1.0, "1"],
    [None, 0, "", [], {}],
    [{"a": 1, "b": [1, 2]}, {"b": [1, 2.0], "a": 1.0}],
    [{"a": 1}, {"a": True}],
    [[1, [2, {"x": None}]], [1, [2, {"x": None}]]],
    [[1, 2], [2, 1]],
    [{"a": {"b": "c"}}, {"a": {"b": "d"}}],
    [1e300, int(1e300)],
    [0.5, 0.25 * 2, "0.5"],
    [-0.0, 0],
    [[True], [1]],
    [{}, []],
]


@pytest.mark.parametrize("items", UNIQUENESS_CASES)
def test_unique_items_agrees_with_jsonschema_on_every_pair(items: list) -> None:
    """The linear check decides exactly as jsonschema's own (pairwise) one, on each case and on every
    ordering of its first three items."""
    for order in itertools.permutations(items[:3]):
        candidate = list(order) + items[3:]
        assert (first_repeat(candidate) is None) == jsonschema_utils.uniq(candidate), candidate


def test_unique_items_names_the_first_two_equal_items() -> None:
    refused = schema_refused([{"t": 1}, {"t": 2}, {"t": 1.0}], {"uniqueItems": True}, "the answer")
    assert refused == "the answer does not fit its schema: has non-unique elements (items 0 and 2 are equal)"
    assert schema_refused([{"t": i} for i in range(20_000)], {"uniqueItems": True}, "the answer") is None


def _deep(depth: int, leaf: object) -> object:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


TWO_WAYS = {
    "$defs": {"n": {"anyOf": [{"type": "array", "items": {"$ref": "#/$defs/n"}}] * 2 + [{"type": "integer"}]}},
    "$ref": "#/$defs/n",
}


def test_a_check_past_its_step_budget_is_refused_in_one_line_and_unbounded_only_when_asked() -> None:
    """Two equal branches at every level: a deep list failing at its bottom costs 2^depth without a budget."""
    refused = schema_refused(_deep(60, "x"), TWO_WAYS, "the answer")
    assert refused == (
        f"the answer takes more than {SCHEMA_STEPS:,} steps to check against its schema (a large answer, or a "
        "schema whose branches check the same value over and over); send a smaller answer"
    )
    assert schema_refused(_deep(5, 7), TWO_WAYS, "the answer") is None
    # Unbounded (what the workflow's replayed checks do), a shallow one still gives the usual reason.
    shallow = schema_refused(_deep(4, "x"), TWO_WAYS, "the answer", None)
    assert shallow is not None and "does not fit its schema" in shallow


def test_a_plain_schema_takes_a_large_answer_within_the_budget() -> None:
    schema = {"type": "array", "items": {"type": "object", "properties": {"a": {"type": "string"}}}}
    assert schema_refused([{"a": "x"} for _ in range(5_000)], schema, "the answer") is None


def test_a_reason_repeating_a_large_value_is_charged_by_its_length() -> None:
    """3,000 branches that each fail on a 100 kB value would write 300 MB of reasons: the budget stops it."""
    branches = {"anyOf": [{"type": "integer", "minimum": i} for i in range(3000)]}
    refused = schema_refused(["s" * 10] * 9000, branches, "the answer")
    assert refused is not None and "steps to check" in refused
