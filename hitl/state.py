"""A graph's state schema: its keys, their reducers, and JSON in and out.

State travels through Temporal as JSON. This module is the one place that turns
the user's schema (a `TypedDict` or a pydantic `BaseModel`) into that JSON and
back: it validates input, builds the value a node receives, and checks what a
node returns. It runs in the client and in activities, never in the workflow.
"""

from __future__ import annotations

import operator
import typing
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, get_args, get_origin

import pydantic
import pydantic_core

from hitl.messages import state_messages
from hitl.protocol.reducers import add_messages
from hitl.protocol.wire import ChannelSpec, ReducerKind
from hitl.types import InvalidInputError, InvalidUpdateError

Reducer = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Channel:
    """One state key: its type (without the reducer) and its reducer, if any."""

    name: str
    annotation: Any
    reducer: Reducer | None
    default: Any = pydantic_core.PydanticUndefined

    @cached_property
    def adapter(self) -> pydantic.TypeAdapter[Any]:
        return pydantic.TypeAdapter(self.annotation)

    def spec(self) -> ChannelSpec:
        kind: ReducerKind
        name: str | None
        if self.reducer is None:
            kind, name = "last_value", None
        elif self.reducer is operator.add:
            kind, name = "add", "operator.add"
        elif self.reducer is add_messages:
            kind, name = "add_messages", "add_messages"
        else:
            kind = "custom"
            name = getattr(self.reducer, "__qualname__", repr(self.reducer))
        has_default = self.default is not pydantic_core.PydanticUndefined
        try:
            schema: dict[str, Any] | None = self.adapter.json_schema()
        except Exception:  # a type pydantic cannot describe: no edge validation
            schema = None
        return ChannelSpec(
            reducer=kind,
            reducer_name=name,
            has_default=has_default,
            default=to_json(self.default, what=f"default of '{self.name}'") if has_default else None,
            json_schema=schema,
        )


class StateSchema:
    """The keys of a graph's state, read once from the user's schema class."""

    def __init__(self, schema: type) -> None:
        self.schema = schema
        self.model: type[pydantic.BaseModel] | None = (
            schema if isinstance(schema, type) and issubclass(schema, pydantic.BaseModel) else None
        )
        self.is_model = self.model is not None
        if self.model is None and not _is_typeddict(schema):
            raise InvalidInputError(
                f"StateGraph schema {schema!r} is not supported; use a TypedDict or a pydantic BaseModel"
            )
        self.channels: dict[str, Channel] = {}
        self._specs: dict[str, ChannelSpec] | None = None
        hints = typing.get_type_hints(schema, include_extras=True)
        fields = self.model.model_fields if self.model is not None else None
        for name, hint in hints.items():
            if fields is not None and name not in fields:
                continue
            annotation, reducer = _split_reducer(hint)
            default: Any = pydantic_core.PydanticUndefined
            if fields is not None:
                field = fields[name]
                if not field.is_required():
                    default = field.get_default(call_default_factory=True)
            if default is pydantic_core.PydanticUndefined and reducer is not None:
                default = _empty_value(annotation)
            self.channels[name] = Channel(name, annotation, reducer, default)

    def specs(self) -> dict[str, ChannelSpec]:
        """Each channel's spec, for every new run's GraphSpec: built once (a JSON schema per key is not cheap)."""
        if self._specs is None:
            self._specs = {name: c.spec() for name, c in self.channels.items()}
        return dict(self._specs)

    def validate_input(self, data: Any, *, what: str = "input") -> dict[str, Any]:
        """Check `data` against the schema; return only the given keys, as JSON."""
        if not isinstance(data, dict):
            raise InvalidInputError(
                f"{what} must be a JSON object with keys from {sorted(self.channels)}; got {type(data).__name__}"
            )
        self._check_keys(data, what=what, error=InvalidInputError)
        if self.model is not None and what == "input":
            try:
                model = self.model.model_validate(data)
            except pydantic.ValidationError as e:
                raise InvalidInputError(f"{what} does not fit {self.schema.__name__}: {one_line(e)}") from None
            dumped: dict[str, Any] = model.model_dump(mode="json", include=set(data))
            return self._messages_as_stored(dumped, what=what, error=InvalidInputError)
        out: dict[str, Any] = {}
        for key, value in data.items():
            channel = self.channels[key]
            try:
                parsed = channel.adapter.validate_python(value)
            except pydantic.ValidationError as e:
                raise InvalidInputError(f"{what}: key '{key}': {one_line(e)}") from None
            out[key] = channel.adapter.dump_python(parsed, mode="json")
        return self._messages_as_stored(out, what=what, error=InvalidInputError)

    def _messages_as_stored(self, values: dict[str, Any], *, what: str, error: type[Exception]) -> dict[str, Any]:
        return messages_as_stored(values, message_keys(self.specs()), what=what, error=error)

    def node_input(self, values: dict[str, Any]) -> Any:
        """The value a node is called with: a model instance, or a dict of typed values."""
        if self.model is not None:
            return self.model.model_validate(values)
        return {
            k: (self.channels[k].adapter.validate_python(v) if k in self.channels else v) for k, v in values.items()
        }

    def check_update(self, update: Any, *, node: str) -> dict[str, Any]:
        """Check a node's update and turn it into JSON; one clear error if it does not fit."""
        if self.model is not None and isinstance(update, self.model):
            update = {k: getattr(update, k) for k in update.model_fields_set}
        if not isinstance(update, dict):
            raise InvalidUpdateError(
                f"node '{node}' returned {type(update).__name__}; a node returns a dict of "
                "state updates, a Command, or None"
            )
        self._check_keys(update, what=f"node '{node}' update", error=InvalidUpdateError)
        out = {k: to_json(v, what=f"node '{node}' wrote key '{k}'") for k, v in update.items()}
        for key, value in out.items():
            self._check_type(key, value, node=node)
        return self._messages_as_stored(out, what=f"node '{node}' update", error=InvalidUpdateError)

    def _check_type(self, key: str, value: Any, *, node: str) -> None:
        """A value written as is (no reducer) must fit its key's type: the node that wrote it fails, not the
        next one to read the state (for a node re-run on a person's answer, the answer is then put back)."""
        channel = self.channels[key]
        if channel.reducer is not None:
            return  # what a reducer takes is its own business
        try:
            adapter = channel.adapter
        except Exception:  # a type pydantic cannot describe: no validation, as for edits
            return
        try:
            adapter.validate_python(value)
        except pydantic.ValidationError as e:
            raise InvalidUpdateError(f"node '{node}' wrote key '{key}' that does not fit it: {one_line(e)}") from None

    def apply(self, values: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
        """The state after one writer's update, through the real reducers (activity side)."""
        new = dict(values)
        for key, value in update.items():
            channel = self.channels[key]
            if channel.reducer is None or key not in new:
                new[key] = value
            else:
                current = channel.adapter.validate_python(new[key])
                new[key] = to_json(channel.reducer(current, value), what=f"reducer of '{key}'")
        return new

    def _check_keys(self, data: dict[str, Any], *, what: str, error: type[Exception]) -> None:
        unknown = [k for k in data if k not in self.channels]
        if unknown:
            raise error(f"{what} has unknown key(s) {unknown}; the state keys are {sorted(self.channels)}")


def message_keys(channels: Mapping[str, ChannelSpec]) -> set[str]:
    """The state's `add_messages` keys, as a graph's spec names them (a run's spec, read by the client too)."""
    return {name for name, c in channels.items() if c.reducer == "add_messages"}


def messages_as_stored(
    values: dict[str, Any], keys: Collection[str], *, what: str, error: type[Exception]
) -> dict[str, Any]:
    """`values` with what is written to each of `keys` (the state's `add_messages` keys) in LangChain's
    shape, ids given (hitl/messages.py): what a run's input, a node's update, an edit and a decision's
    update write to a conversation, so its state holds one shape.

    Here, at the edge (client or activity), because a new id is random and the
    workflow's reducer must stay a pure data operation."""
    out = dict(values)
    for key, value in values.items():
        if key in keys:
            try:
                out[key] = state_messages(value)
            except pydantic.ValidationError as e:
                raise error(f"{what}: key '{key}': {one_line(e)}") from None
    return out


def to_json(value: Any, *, what: str) -> Any:
    """`value` as JSON data, or one clear error naming what could not be serialised."""
    try:
        return pydantic_core.to_jsonable_python(value)
    except pydantic_core.PydanticSerializationError:
        raise InvalidUpdateError(
            f"{what}: {type(value).__name__} is not JSON-serialisable; use JSON types, dataclasses or pydantic models"
        ) from None


def one_line(error: pydantic.ValidationError) -> str:
    """A pydantic validation error as one line: `where: what; where: what`."""
    parts = []
    for err in error.errors():
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__annotations__") and hasattr(tp, "__total__")


def _split_reducer(hint: Any) -> tuple[Any, Reducer | None]:
    """`Annotated[T, reducer]` -> (T, reducer); anything else -> (hint, None)."""
    if get_origin(hint) is typing.Annotated:
        base, *extras = get_args(hint)
        reducers = [x for x in extras if callable(x) and not isinstance(x, type)]
        others = [x for x in extras if x not in reducers]
        annotation = typing.Annotated[tuple([base, *others])] if others else base
        return annotation, (reducers[-1] if reducers else None)
    return hint, None


def _empty_value(annotation: Any) -> Any:
    """The starting value of a reduced key, as LangGraph gives it: `list()` for a list."""
    origin = get_origin(annotation) or annotation
    if origin in (list, dict, set, tuple, int, float, str):
        return origin()
    return pydantic_core.PydanticUndefined
