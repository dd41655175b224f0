"""Answer schemas (hitl/_schema.py): patterns matched by RE2, schemas checked against their metaschema."""

from __future__ import annotations

import pytest

from hitl._policy import schema_refused
from hitl._schema import schema_unusable, search

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
