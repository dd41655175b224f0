"""Graphs of the answer-schema tests (tests/test_schemas.py): a number with bounds, a backtracking
pattern, and schemas no answer could pass. Names are what recorded histories start: never rename one."""

from __future__ import annotations

import math
from typing import Any, TypedDict

from hitl import END, START, StateGraph, interrupt

SCORE_SCHEMA = {"type": "number", "minimum": 0, "maximum": 100}
BACKTRACKING = "^(a+)+$"
"""Python's `re` takes about a second for a 26-character answer that does not match, and doubles each character."""
BAD_SCHEMAS: dict[str, dict[str, Any]] = {
    "maxLength": {"type": "string", "maxLength": "200"},
    "type": {"type": "strnig"},
    "pattern": {"type": "string", "pattern": "^(a)\\1$"},
}
"""By the key each one gets wrong: a string where a number goes, an unknown type, a backreference (not RE2)."""
TAGS_SCHEMA = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
"""What `set[str]` becomes: jsonschema compares every pair of objects sent to it (6,000 took seconds)."""
NESTED_SCHEMA = {
    "$defs": {"n": {"anyOf": [{"type": "array", "items": {"$ref": "#/$defs/n"}}] * 2 + [{"type": "integer"}]}},
    "$ref": "#/$defs/n",
}
"""Valid and small, yet checking a deep list that fails at its bottom tries both equal branches at every
level: time exponential in the answer's depth."""


class SchemaState(TypedDict, total=False):
    score: Any
    code: str
    which: str


def _score(state: SchemaState) -> dict:
    return {"score": interrupt("score from 0 to 100?", schema=SCORE_SCHEMA)}


def _code(state: SchemaState) -> dict:
    return {"code": interrupt("code?", schema={"type": "string", "pattern": BACKTRACKING}, reviewers=["alice"])}


def _bad(state: SchemaState) -> dict:
    if state["which"] == "nan":  # a question showing NaN: not JSON either
        return {"code": interrupt({"score": math.nan})}
    return {"code": interrupt("anything?", schema=BAD_SCHEMAS[state["which"]])}


def _tags(state: SchemaState) -> dict:
    return {"score": interrupt("which tags?", schema=TAGS_SCHEMA)}


def _nested(state: SchemaState) -> dict:
    return {"score": interrupt("a nested list of numbers?", schema=NESTED_SCHEMA)}


def _one_node(name: str, node: Any) -> Any:
    g = StateGraph(SchemaState)
    g.add_node("ask", node)
    g.add_edge(START, "ask")
    g.add_edge("ask", END)
    return g.compile(name=name)


scored = _one_node("scored", _score)
patterned = _one_node("patterned", _code)
bad_schema = _one_node("bad_schema", _bad)

tagged = _one_node("tagged", _tags)
nested = _one_node("nested", _nested)

GRAPHS = [scored, patterned, bad_schema, tagged, nested]
