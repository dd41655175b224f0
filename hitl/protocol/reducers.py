"""Combining one step's writes into the state, for the reducers hitl knows.

Runs inside the workflow, so only reducers that are plain data operations live
here (last value wins, `operator.add`). Keys whose reducer is user code are
left for the reduce activity: user code never runs in the workflow.
"""

from __future__ import annotations

from typing import Any

from hitl.protocol.wire import ChannelSpec


class WriteConflict(ValueError):
    """Two writes in one step to a key that keeps only its last value."""


def initial_values(channels: dict[str, ChannelSpec]) -> dict[str, Any]:
    """A run's state before its input: each key's declared default, if any."""
    return {k: c.default for k, c in channels.items() if c.has_default}


def apply_builtin_writes(
    channels: dict[str, ChannelSpec],
    values: dict[str, Any],
    writes: list[dict[str, Any]],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Apply `writes` (one dict per writer, in writer order) to a copy of `values`.

    Returns the new values and the writes still owed to custom reducers, in order.
    """
    new = dict(values)
    custom: list[dict[str, Any]] = []
    last_value_writers: dict[str, int] = {}
    for write in writes:
        owed: dict[str, Any] = {}
        for key, value in write.items():
            channel = channels[key]
            if channel.reducer == "last_value":
                last_value_writers[key] = last_value_writers.get(key, 0) + 1
                if last_value_writers[key] > 1:
                    raise WriteConflict(
                        f"At key '{key}': can receive only one value per step; "
                        "declare a reducer with Annotated[type, reducer] to combine "
                        "parallel writes"
                    )
                new[key] = value
            elif channel.reducer == "add":
                new[key] = value if key not in new else _add(key, new[key], value)
            elif channel.reducer == "add_messages":
                new[key] = add_messages(new.get(key) or [], value)
            else:
                owed[key] = value
        if owed:
            custom.append(owed)
    return new, custom


def add_messages(left: Any, right: Any) -> list[Any]:
    """Append messages; one whose `id` matches an earlier message replaces it.

    LangGraph's `add_messages`, minus id generation (ids come from whoever made
    the message), so it stays a pure data operation the workflow can run.
    """
    merged: list[Any] = list(left) if isinstance(left, list) else [left]
    right = right if isinstance(right, list) else [right]
    index = {_message_id(m): i for i, m in enumerate(merged) if _message_id(m) is not None}
    for message in right:
        mid = _message_id(message)
        if mid is not None and mid in index:
            merged[index[mid]] = message
        else:
            if mid is not None:
                index[mid] = len(merged)
            merged.append(message)
    return merged


def _message_id(message: Any) -> Any:
    if isinstance(message, dict):
        return message.get("id")
    return getattr(message, "id", None)


def _add(key: str, left: Any, right: Any) -> Any:
    if isinstance(left, list) and isinstance(right, list):
        return left + right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left + right
    if isinstance(left, str) and isinstance(right, str):
        return left + right
    raise WriteConflict(
        f"At key '{key}': operator.add cannot combine {type(left).__name__} "
        f"with {type(right).__name__}; write a value of the key's type"
    )
