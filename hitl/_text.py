"""Small text rules shared by the CLI, the client and the graph catalog."""

from __future__ import annotations

import re

from hitl.types import InvalidInputError

SEARCHABLE = re.compile(r"^[A-Za-z0-9_.:@+\-/*]{1,200}$")
"""What a value inside a visibility query may hold: nothing that could end its quotes early."""


def split_names(text: str | None, *, on_spaces: bool = False) -> list[str]:
    """Names from a comma-separated list (`--roles`, `--interrupt-before`, `HITL_ROLES`,
    `HITL_GRAPHS`): each stripped, empty ones dropped. With `on_spaces`, whitespace
    separates names too (the environment variables take `a,b`, `a b` or `a, b`)."""
    if not text:
        return []
    parts = text.replace(",", " ").split() if on_spaces else text.split(",")
    return [p.strip() for p in parts if p.strip()]


def searchable(value: str, what: str) -> str:
    """A value safe inside a visibility query string (no quote can end it early)."""
    if not SEARCHABLE.match(value):
        raise InvalidInputError(f"{what} {value!r} has characters hitl cannot search on; use letters, digits and _.:-/")
    return value
