"""What an edit changes: a path-by-path diff of two JSON values, bounded in what it shows.

Shown before an edit is submitted (tool-call arguments, state edits) and again
in the run's timeline, where it is recomputed from what the decision kept.

What a diff shows is bounded whatever its input (a nested object with long keys
would otherwise repeat its whole key chain for every leaf): at most
`SHOW_CHANGES` changes are listed and the rest counted ("and N more"), each path
and value is clipped, and a diff stops listing once it has shown `SHOW_CHARS`
characters. Path strings are built only for the changes listed, so finding the
rest costs one walk of the input and no more memory than it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from hitl.protocol.finite import finite_json

SHOW_CHANGES = 200
"""Changes one diff lists; further ones are counted ("and N more")."""

SHOW_PATH_CHARS = 200
"""A path longer than this is shown as its start and its end around "…"."""

SHOW_VALUE_CHARS = 500
"""A value's JSON longer than this is clipped, ending in "…"."""

SHOW_CHARS = 40_000
"""Characters of paths and values one diff shows in all (a diff listed with others shares it); the rest are
counted. With the limits above, a diff renders to a few hundred kB at most, whatever its input."""

CLIP = "…"


@dataclass
class Change:
    path: str
    kind: Literal["added", "removed", "changed"]
    before: str = ""
    """The value before, as JSON clipped to `SHOW_VALUE_CHARS` ("" when added)."""
    after: str = ""
    """The value after, as JSON clipped to `SHOW_VALUE_CHARS` ("" when removed)."""


@dataclass
class Budget:
    """What is left to show: diffs shown together (the tool calls of one preview) share one."""

    changes: int = SHOW_CHANGES
    chars: int = SHOW_CHARS


@dataclass
class Diff:
    """The changes listed and how many more were found."""

    shown: list[Change] = field(default_factory=list)
    more: int = 0
    budget: Budget = field(default_factory=Budget)

    def __bool__(self) -> bool:
        return bool(self.shown) or self.more > 0

    def compare(self, before: Any, after: Any, prefix: str = "") -> Diff:
        """Adds the differences from `before` to `after` (paths start with `prefix`); returns self."""
        self._walk(before, after, [prefix] if prefix else [])
        return self

    def _walk(self, before: Any, after: Any, keys: list[str]) -> None:
        """Recurses into objects (lists compare whole); `keys` is the path so far, extended in place."""
        if isinstance(before, dict) and isinstance(after, dict):
            for key in before:
                keys.append(str(key))
                if key not in after:
                    self._add(keys, "removed", before[key], None)
                else:
                    self._walk(before[key], after[key], keys)
                keys.pop()
            for key in after:
                if key not in before:
                    keys.append(str(key))
                    self._add(keys, "added", None, after[key])
                    keys.pop()
            return
        if before == after and type(before) is type(after):
            return
        self._add(keys, "changed", before, after)

    def _add(self, keys: list[str], kind: Literal["added", "removed", "changed"], before: Any, after: Any) -> None:
        if self.budget.changes <= 0 or self.budget.chars <= 0:
            self.more += 1
            return
        change = Change(
            clipped_path(keys),
            kind,
            "" if kind == "added" else clipped_json(before),
            "" if kind == "removed" else clipped_json(after),
        )
        self.shown.append(change)
        self.budget.changes -= 1
        self.budget.chars -= len(change.path) + len(change.before) + len(change.after)


def changes(before: Any, after: Any, prefix: str = "", budget: Budget | None = None) -> Diff:
    """Differences from `before` to `after`, recursing into objects (lists compare whole), bounded as above."""
    return Diff(budget=budget or Budget()).compare(before, after, prefix)


def clipped_path(keys: list[str]) -> str:
    """The keys joined by dots, or its start and end around "…" past `SHOW_PATH_CHARS` (built from the keys
    it shows only: a long path is never joined whole)."""
    if not keys:
        return "(value)"
    if sum(len(k) for k in keys) + len(keys) - 1 <= SHOW_PATH_CHARS:
        return ".".join(keys)
    half = SHOW_PATH_CHARS // 2
    return _ends(keys, half, head=True) + CLIP + _ends(keys[::-1], half, head=False)


def _ends(keys: list[str], size: int, head: bool) -> str:
    """The first `size` characters of the dotted path (`head`), or, given the keys reversed, its last ones;
    each key is cut to `size` before joining, so this costs O(size) per key looked at."""
    taken: list[str] = []
    length = 0
    for key in keys:
        taken.append(key[:size] if head else key[-size:])
        length += len(taken[-1]) + 1
        if length > size:
            break
    return ".".join(taken)[:size] if head else ".".join(reversed(taken))[-size:]


def clipped_json(value: Any) -> str:
    """`value` as strict JSON (as `tojson` writes it), clipped to `SHOW_VALUE_CHARS`; encoding stops there."""
    out: list[str] = []
    size = 0
    encoder = json.JSONEncoder(allow_nan=False, sort_keys=True, default=str)
    for chunk in encoder.iterencode(finite_json(value)):
        out.append(chunk)
        size += len(chunk)
        if size > SHOW_VALUE_CHARS:
            return "".join(out)[:SHOW_VALUE_CHARS] + CLIP
    return "".join(out)


def changed_keys(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The top-level keys of `after` that differ from `before`: what a state edit must write.

    Writing only these keeps reducers from applying unchanged values again
    (an `add` reducer would append a whole list a second time)."""
    return {k: v for k, v in after.items() if k not in before or before[k] != v or type(before[k]) is not type(v)}
