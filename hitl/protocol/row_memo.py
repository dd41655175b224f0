"""A question's inbox row as the run's summary memo holds it: pure, so the workflow writes it.

The row itself (title and fields) is computed where the question is asked (hitl/row_card.py); the
workflow only stores it on the interrupt and writes this form of it into the memo the inbox lists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MARK = "hitl_row"
"""The key of a carded question's part of the summary memo (a JSON object), so readers tell it apart."""


@dataclass(frozen=True)
class Card:
    title: str | None
    fields: dict[str, str]


def memo_part(c: Card) -> str:
    """A carded question in the summary memo: one JSON object, with no "; " inside (the memo's separator)."""
    text = json.dumps({MARK: {"title": c.title, "fields": c.fields}}, ensure_ascii=False, separators=(",", ":"))
    return text.replace(";", "\\u003b")


def from_memo(part: str) -> Card | None:
    """The card a memo part holds, if it is one."""
    if not part.startswith('{"' + MARK):
        return None
    try:
        data = json.loads(part)[MARK]
        fields = {str(k): str(v) for k, v in (data.get("fields") or {}).items()}
        title = data.get("title")
        return Card(title if isinstance(title, str) else None, fields)
    except (ValueError, AttributeError, KeyError, TypeError):
        return None


def words(memo: str) -> str:
    """A summary memo for a line of text (`hitl inbox`): each carded question as `title · key: value`."""
    return "; ".join(plain(part) for part in memo.split("; "))


def plain(part: str) -> str:
    c = from_memo(part)
    if c is None:
        return part
    return " · ".join([*([c.title] if c.title else []), *(f"{k}: {v}" for k, v in c.fields.items())])
