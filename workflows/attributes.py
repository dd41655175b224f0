"""Which search attribute updates are worth an upsert: pure, so it is tested without a server."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from temporalio.common import SearchAttributeUpdate

_NEVER_WRITTEN = object()


def changed_updates(
    updates: Sequence[SearchAttributeUpdate[Any]], written: Mapping[str, Any]
) -> list[SearchAttributeUpdate[Any]]:
    """The updates that would change something: those whose attribute was never written (by this
    execution: `written`, by name; None stands for unset) or was written with another value."""
    return [u for u in updates if written.get(u.key.name, _NEVER_WRITTEN) != u.value]


def remember(updates: Sequence[SearchAttributeUpdate[Any]], written: dict[str, Any]) -> None:
    """Note what an upsert wrote, for the next `changed_updates`."""
    written.update({u.key.name: u.value for u in updates})


MAX_VALUE_BYTES = 2048
"""Temporal's default limit on one search attribute value (`limit.searchAttributeValueSize`): an upsert past
it fails the workflow task with BadSearchAttributes, and Temporal terminates the run."""


def fit_keywords(values: list[str], overflow: list[str] | None = None) -> list[str]:
    """`values` as a keyword list within MAX_VALUE_BYTES (measured as the SDK encodes it: compact JSON,
    non-ASCII escaped): all of them when they fit (so whatever a run wrote before is written the same), else
    `overflow` when given, else the longest prefix that fits. Many questions, holders or long names must cost
    a filter some precision, never the run."""
    sizes = [len(json.dumps(v)) for v in values]
    if 2 + sum(sizes) + max(len(values) - 1, 0) <= MAX_VALUE_BYTES:
        return values
    if overflow is not None:
        return overflow
    kept, used = [], 1
    for value, size in zip(values, sizes, strict=True):
        if used + size + 1 > MAX_VALUE_BYTES:  # its comma (or the opening bracket's place) and the closing one
            break
        kept.append(value)
        used += size + 1
    return kept
