"""A node's runtime, as LangGraph 1.x gives it: the run's context and the node's stream writer.

    from hitl import Runtime, get_stream_writer      # langgraph.runtime / langgraph.config

A run's context (`client.start(graph, input, context=Ctx(...))`) is checked against the graph's
`context_schema` where the run starts and travels as JSON in the run's input; each node activity rebuilds
it as that schema (`runtime.context`). The workflow only carries it.

What a node writes with its stream writer is kept in the node's result (so it lands in the run's history,
durable and bounded: `hitl.protocol.limits.MAX_CUSTOM_EVENTS` events and `MAX_CUSTOM_BYTES` of JSON per
node run; past that, events are dropped and counted, never failing the node). A stream in "custom" mode
reads them from there (hitl/client/stream.py).
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import pydantic

from hitl.protocol.limits import MAX_CONTEXT_BYTES, MAX_CUSTOM_BYTES, MAX_CUSTOM_EVENTS, too_large
from hitl.protocol.wire import CustomWrites
from hitl.state import _is_typeddict, one_line, to_json
from hitl.types import HitlError, InvalidInputError, Runtime, _no_writer

log = logging.getLogger(__name__)

_runtime: contextvars.ContextVar[Runtime[Any] | None] = contextvars.ContextVar("hitl_runtime", default=None)


class Recorder:
    """A node run's stream writer: keeps what it is given as JSON, up to the bound; counts the rest."""

    def __init__(self, node: str, step: int) -> None:
        self.node, self.step = node, step
        self.events: list[Any] = []
        self.bytes = 0
        self.dropped = 0

    def __call__(self, chunk: Any) -> None:
        try:
            value = to_json(chunk, what=f"node '{self.node}' stream writer")
            size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode())  # bytes, as stored
        except (HitlError, ValueError, TypeError) as e:
            self._drop(f"not JSON ({e})")
            return
        if len(self.events) >= MAX_CUSTOM_EVENTS or self.bytes + size > MAX_CUSTOM_BYTES:
            self._drop(f"past {MAX_CUSTOM_EVENTS} events or {MAX_CUSTOM_BYTES} bytes per node run")
            return
        self.events.append(value)
        self.bytes += size

    def _drop(self, why: str) -> None:
        if not self.dropped:
            log.warning("node '%s' (step %s): stream writer event dropped: %s", self.node, self.step, why)
        self.dropped += 1

    def written(self) -> CustomWrites | None:
        """What goes into the node's result: None when the writer was never used."""
        if not self.events and not self.dropped:
            return None
        return CustomWrites(node=self.node, step=self.step, events=self.events, dropped=self.dropped)


def get_stream_writer() -> Callable[[Any], None]:
    """The running node's stream writer (LangGraph's `langgraph.config.get_stream_writer`): each value
    written becomes a `stream_mode="custom"` chunk. Outside a node, a writer that drops what it is given."""
    runtime = _runtime.get()
    return runtime.stream_writer if runtime is not None else _no_writer


def get_runtime() -> Runtime[Any]:
    """The running node's `Runtime` (LangGraph's `langgraph.runtime.get_runtime`)."""
    runtime = _runtime.get()
    if runtime is None:
        raise HitlError("get_runtime() is called from outside a node; it works inside a node function only")
    return runtime


def enter(runtime: Runtime[Any]) -> contextvars.Token[Runtime[Any] | None]:
    """Enter one node run's runtime (the node activity calls this; asyncio.to_thread carries it)."""
    return _runtime.set(runtime)


def leave(token: contextvars.Token[Runtime[Any] | None]) -> None:
    _runtime.reset(token)


@lru_cache(maxsize=64)
def _adapter(schema: type) -> pydantic.TypeAdapter[Any]:
    """How a context is checked and rebuilt. A TypedDict context is a dict, checked only as a dict (LangGraph
    checks it not at all; pydantic takes `typing.TypedDict` only from Python 3.12)."""
    return pydantic.TypeAdapter(dict[str, Any] if _is_typeddict(schema) else schema)


def _name(schema: type) -> str:
    return getattr(schema, "__name__", repr(schema))


def context_json(schema: type | None, context: Any, graph: str) -> Any:
    """The context a run starts with, checked and as JSON (what `RunInput.context` carries), or one line
    saying what is wrong: it must fit the graph's `context_schema` (an instance, or a dict of its fields),
    travel as JSON, and stay under MAX_CONTEXT_BYTES."""
    if context is None:
        return None
    if schema is not None:
        try:
            context = _adapter(schema).validate_python(context)
        except pydantic.ValidationError as e:
            raise InvalidInputError(
                f"context does not fit graph '{graph}''s context_schema {_name(schema)}: {one_line(e)}; "
                f"give a {_name(schema)} or a dict of its fields"
            ) from None
    try:
        value = to_json(context, what="context")
        json.dumps(value, allow_nan=False)
    except (HitlError, ValueError) as e:
        raise InvalidInputError(f"{e}; a run's context travels as JSON to every node") from None
    refused = too_large(value, MAX_CONTEXT_BYTES, "context")
    if refused:
        raise InvalidInputError(refused)
    return value


def context_value(schema: type | None, value: Any) -> Any:
    """The context as the node sees it: the JSON rebuilt as the graph's `context_schema` (LangGraph coerces
    a dict to a dataclass or pydantic context the same way); as JSON without a schema; None stays None."""
    if value is None or schema is None:
        return value
    try:
        return _adapter(schema).validate_python(value)
    except pydantic.ValidationError as e:
        raise HitlError(
            f"the run's context no longer fits the context_schema {_name(schema)} this worker's graph has: "
            f"{one_line(e)}; serve the graph the run was started with"
        ) from None
