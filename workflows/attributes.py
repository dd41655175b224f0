"""Which search attribute updates are worth an upsert: pure, so it is tested without a server."""

from __future__ import annotations

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
