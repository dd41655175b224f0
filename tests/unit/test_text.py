"""hitl/_text.py: comma lists from options and environment variables."""

from __future__ import annotations

from hitl._text import split_names


def test_comma_lists_are_stripped_and_empties_dropped() -> None:
    assert split_names("a, b,,c ") == ["a", "b", "c"]
    assert split_names("") == [] and split_names(None) == []
    assert split_names("first name,b") == ["first name", "b"]  # a node name may hold a space


def test_environment_lists_take_spaces_too() -> None:
    assert split_names("tests.graphs examples,x", on_spaces=True) == ["tests.graphs", "examples", "x"]
