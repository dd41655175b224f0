"""What an edit changes: a path-by-path diff of two JSON values.

Shown before an edit is submitted (tool-call arguments, state edits) and again
in the run's timeline, where it is recomputed from what the decision kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass
class Change:
    path: str
    kind: Literal["added", "removed", "changed"]
    before: Any = None
    after: Any = None


def changes(before: Any, after: Any, path: str = "") -> list[Change]:
    """Differences from `before` to `after`, recursing into objects (lists compare whole)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[Change] = []
        for key in list(before) + [k for k in after if k not in before]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in after:
                out.append(Change(sub, "removed", before[key]))
            elif key not in before:
                out.append(Change(sub, "added", None, after[key]))
            else:
                out += changes(before[key], after[key], sub)
        return out
    if before == after and type(before) is type(after):
        return []
    return [Change(path or "(value)", "changed", before, after)]


def changed_keys(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The top-level keys of `after` that differ from `before`: what a state edit must write.

    Writing only these keeps reducers from applying unchanged values again
    (an `add` reducer would append a whole list a second time)."""
    return {k: v for k, v in after.items() if k not in before or before[k] != v or type(before[k]) is not type(v)}
