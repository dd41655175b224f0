"""Small text rules shared by the CLI, the client and the graph catalog."""

from __future__ import annotations


def split_names(text: str | None, *, on_spaces: bool = False) -> list[str]:
    """Names from a comma-separated list (`--roles`, `--interrupt-before`, `HITL_ROLES`,
    `HITL_GRAPHS`): each stripped, empty ones dropped. With `on_spaces`, whitespace
    separates names too (the environment variables take `a,b`, `a b` or `a, b`)."""
    if not text:
        return []
    parts = text.replace(",", " ").split() if on_spaces else text.split(",")
    return [p.strip() for p in parts if p.strip()]
