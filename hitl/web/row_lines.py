"""An inbox row's words, read from the run's summary memo: a title and a few `key: value` fields.

A question asked with a card (hitl/row_card.py: `interrupt(title=, summary=)` or a LangChain review shape)
carries them; any other question's memo is its value's short JSON rendering (possibly cut mid-JSON), read
leniently: its `question` (or first string) is the title, the next string fields are shown, cut short.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from hitl.protocol.limits import shorten
from hitl.protocol.row_memo import from_memo
from hitl.row_card import FIELD_CHARS, MAX_FIELDS

PAIR = re.compile(r'"((?:[^"\\]|\\.){1,40})":\s*"((?:[^"\\]|\\.)*)(?:"|$)')
"""A `"key": "string"` pair of a JSON object (the last string may be cut: the memo ends there with "…")."""
TITLE_KEYS = ("question", "title", "action", "name")


@dataclass
class Line:
    title: str
    fields: dict[str, str] = field(default_factory=dict)


def lines(memo: str, plain: Callable[[str], str]) -> list[Line]:
    """One line per question of a run's memo; `plain` words a part that shows no fields (a string question,
    a breakpoint, a tool review asked before reviews carried a card)."""
    out = []
    for part in memo.split("; "):
        carded = from_memo(part)
        if carded is not None:
            out.append(Line(carded.title or "", carded.fields))
        elif part.startswith("{") and '"action_requests"' not in part and (pairs := _pairs(part)):
            out.append(_titled(pairs))
        else:
            out.append(Line(plain(part)))
    return out


def _pairs(part: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, text in PAIR.findall(part):
        found.setdefault(_unquote(key), _unquote(text))
    return found


def _titled(pairs: dict[str, str]) -> Line:
    key = next((k for k in TITLE_KEYS if k in pairs), next(iter(pairs)))
    rest = {k: shorten(" ".join(v.split()), FIELD_CHARS) for k, v in pairs.items() if k != key and v.strip()}
    return Line(pairs[key], dict(list(rest.items())[: MAX_FIELDS - 1]))


def _unquote(text: str) -> str:
    try:
        return str(json.loads(f'"{text}"'))
    except json.JSONDecodeError:
        return text
