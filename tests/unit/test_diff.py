"""hitl/web/diff.py: what a diff shows is bounded whatever its input."""

from __future__ import annotations

from typing import Any

from hitl.web import diff


def nested(keys: list[str], leaves: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = leaves
    for key in reversed(keys):
        out = {key: out}
    return out


def test_a_small_diff_lists_every_change_whole() -> None:
    found = diff.changes({"a": {"b": 1, "c": 2}, "x": [1]}, {"a": {"b": 2}, "x": [1], "d": "<new>"})
    assert [(c.path, c.kind, c.before, c.after) for c in found.shown] == [
        ("a.b", "changed", "1", "2"),
        ("a.c", "removed", "2", ""),
        ("d", "added", "", '"<new>"'),
    ]
    assert found.more == 0 and found and not diff.changes({"a": 1}, {"a": 1})
    assert diff.changes(1, 2).shown[0].path == "(value)"


def test_long_key_chains_many_leaves_and_large_values_are_clipped_and_counted() -> None:
    """The reported amplification: 80 keys of 7,000 characters over 700 leaves, each path joined whole."""
    keys = [f"{n}" + "k" * 7000 for n in range(80)]
    found = diff.changes(nested(keys, {f"l{n}": 0 for n in range(700)}), nested(keys, {f"l{n}": 1 for n in range(700)}))
    assert 100 < len(found.shown) <= diff.SHOW_CHANGES and len(found.shown) + found.more == 700
    first = found.shown[0].path
    assert len(first) <= diff.SHOW_PATH_CHARS + 1 and first.startswith("0kkk") and first.endswith(".l0")
    big = diff.changes({"v": "x" * 100_000}, {"v": list(range(100_000))}).shown[0]
    assert len(big.before) == len(big.after) == diff.SHOW_VALUE_CHARS + 1 and big.after.endswith("…")


def test_diffs_shown_together_share_one_budget_of_characters() -> None:
    budget = diff.Budget()
    wide = {f"k{n}": "v" * 1000 for n in range(100)}
    first = diff.changes({}, wide, budget=budget)
    second = diff.changes({}, wide, budget=budget)
    shown = sum(len(c.path) + len(c.after) for c in first.shown + second.shown)
    assert shown <= diff.SHOW_CHARS + diff.SHOW_PATH_CHARS + 2 * diff.SHOW_VALUE_CHARS + 2
    assert len(first.shown) + len(second.shown) + first.more + second.more == 200 and second.more > 0


def test_a_diff_of_several_tool_calls_prefixes_each_path() -> None:
    found = diff.Diff().compare({"a": 1}, {"a": 2}, "call 1").compare({"b": 1}, {}, "call 2")
    assert [c.path for c in found.shown] == ["call 1.a", "call 2.b"]
