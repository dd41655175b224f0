"""What an inbox row shows of a question: a title and a few `key: value` fields.

Computed where the question is asked (in the node's activity, so a graph's own summary function runs there,
never in the workflow), carried on the interrupt record, and written into the run's summary memo, so the
inbox lists it with no extra read per row. `interrupt(value, title=..., summary=[keys])` names them;
LangChain's HumanInterrupt and HumanInTheLoopMiddleware shapes get their action name, description and
arguments by default. Any other question has no card: the inbox reads its summary memo as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hitl.protocol.limits import shorten
from hitl.protocol.row_memo import Card
from hitl.types import HitlError

TITLE_CHARS = 100
FIELD_CHARS = 60
MAX_FIELDS = 4
Summary = Sequence[str] | Callable[[Any], Mapping[str, Any]]
"""Keys of the value to show, or a function from the value to the fields to show."""


def card(value: Any, title: str | None, summary: Summary | None, where: str) -> Card | None:
    """The row card of a question (`value` as JSON); None when neither the graph nor its shape gives one."""
    if title is not None and not isinstance(title, str):
        raise HitlError(f"{where}: title must be a string; got {type(title).__name__}")
    if summary is None:
        shaped = _shaped(value)
        if title is None:
            return shaped
        return Card(_line(title, TITLE_CHARS), shaped.fields if shaped else {})
    return Card(_line(title, TITLE_CHARS) if title else None, _fields(value, summary, where))


def _fields(value: Any, summary: Summary, where: str) -> dict[str, str]:
    if callable(summary):
        picked = summary(value)
        if not isinstance(picked, Mapping):
            raise HitlError(f"{where}: the summary function must return a dict of fields to show")
        items = list(picked.items())
    elif isinstance(summary, str | bytes) or not all(isinstance(k, str) for k in summary):
        raise HitlError(f"{where}: summary takes a list of keys of the value, or a function; got {summary!r}")
    elif not isinstance(value, Mapping):
        raise HitlError(f"{where}: summary names keys, but the value is not a dict")
    else:
        items = [(k, value[k]) for k in summary if k in value]
    return {_line(str(k), 30): _line(v, FIELD_CHARS) for k, v in items[:MAX_FIELDS]}


def _shaped(value: Any) -> Card | None:
    """LangChain's review shapes: the action(s), description and arguments."""
    if isinstance(value, Mapping) and isinstance(value.get("action_requests"), list):
        calls = [a for a in value["action_requests"] if isinstance(a, Mapping)]
        if not calls:
            return None
        first = calls[0]
        title = ", ".join(dict.fromkeys(str(a.get("name", "?")) for a in calls))
        return Card(_line(title, TITLE_CHARS), _args(first.get("description"), first.get("args")))
    from hitl.human_interrupt import as_requests  # pydantic: only where a question is asked, not in the workflow

    requests = as_requests(value)
    if requests:
        first_request = requests[0]
        title = ", ".join(dict.fromkeys(r.action_request.action for r in requests))
        return Card(_line(title, TITLE_CHARS), _args(first_request.description, first_request.action_request.args))
    return None


def _args(description: Any, args: Any) -> dict[str, str]:
    out = {"description": _line(description, FIELD_CHARS)} if isinstance(description, str) and description else {}
    if isinstance(args, Mapping):
        out.update((_line(str(k), 30), _line(v, FIELD_CHARS)) for k, v in list(args.items())[: MAX_FIELDS - len(out)])
    return out


def _line(value: Any, limit: int) -> str:
    """One line of at most `limit` characters: whitespace runs become one space."""
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return shorten(" ".join(text.split()), limit)
