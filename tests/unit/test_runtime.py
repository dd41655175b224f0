"""The node's runtime, without a server: the context checked and rebuilt, the stream writer's bound, and which
parameters a node function gets filled in (hitl/runtime.py, hitl/graph.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypedDict

import pydantic
import pytest

from hitl import graph as graph_module
from hitl import runtime
from hitl.protocol.limits import MAX_CUSTOM_BYTES, MAX_CUSTOM_EVENTS
from hitl.types import HitlError, InvalidInputError, Runtime


@dataclass
class Ctx:
    user: str
    limit: int = 3


class TypedCtx(TypedDict):
    user: str


class ModelCtx(pydantic.BaseModel):
    user: str


@pytest.mark.parametrize(
    "schema, given, carried, seen",
    [
        (Ctx, Ctx(user="ada"), {"user": "ada", "limit": 3}, Ctx(user="ada")),
        (Ctx, {"user": "ada", "limit": 5}, {"user": "ada", "limit": 5}, Ctx(user="ada", limit=5)),
        (TypedCtx, {"user": "ada"}, {"user": "ada"}, {"user": "ada"}),  # a dict, as LangGraph passes it
        (ModelCtx, ModelCtx(user="ada"), {"user": "ada"}, ModelCtx(user="ada")),
        (None, {"any": ["json"]}, {"any": ["json"]}, {"any": ["json"]}),
        (Ctx, None, None, None),
    ],
)
def test_a_context_travels_as_json_and_arrives_as_its_schema(schema: Any, given: Any, carried: Any, seen: Any) -> None:
    assert runtime.context_json(schema, given, "g") == carried
    assert runtime.context_value(schema, carried) == seen


@pytest.mark.parametrize(
    "schema, given, message",
    [
        (Ctx, {"limit": 1}, "context does not fit graph 'g''s context_schema Ctx: user: Field required; give a Ctx"),
        (None, {"x": math.nan}, "a run's context travels as JSON to every node"),
        (None, {"x": object()}, "context: dict is not JSON-serialisable"),
    ],
)
def test_a_context_that_cannot_travel_is_one_line(schema: Any, given: Any, message: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        runtime.context_json(schema, given, "g")
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_a_context_the_worker_graph_no_longer_fits_fails_the_node_in_one_line() -> None:
    with pytest.raises(HitlError, match="no longer fits the context_schema Ctx this worker's graph has: user"):
        runtime.context_value(Ctx, {"who": "ada"})


def test_the_writer_keeps_events_up_to_its_bound_and_counts_the_rest() -> None:
    writer = runtime.Recorder("n", 2)
    for i in range(MAX_CUSTOM_EVENTS + 7):
        writer({"i": i})
    writer(object())  # not JSON: dropped too, never raised
    written = writer.written()
    assert written is not None and written.node == "n" and written.step == 2
    assert [e["i"] for e in written.events] == list(range(MAX_CUSTOM_EVENTS))
    assert written.dropped == 8
    assert written.chunks()[-1] == {"__hitl__": "custom_dropped", "node": "n", "dropped": 8}
    assert len(written.chunks()) == MAX_CUSTOM_EVENTS + 1


def test_the_writer_bounds_bytes_too() -> None:
    writer = runtime.Recorder("n", 0)
    big = "x" * (MAX_CUSTOM_BYTES // 3)
    for _ in range(4):
        writer(big)
    writer("small")  # fits again: kept, in order, after what was dropped
    written = writer.written()
    assert written is not None and written.events == [big, big, "small"] and written.dropped == 2


def test_an_unused_writer_adds_nothing_to_the_result() -> None:
    assert runtime.Recorder("n", 0).written() is None


def test_outside_a_node_the_writer_drops_and_get_runtime_says_where_it_works() -> None:
    runtime.get_stream_writer()("nowhere")
    with pytest.raises(HitlError, match="inside a node function only"):
        runtime.get_runtime()
    scope: Runtime[Ctx] = Runtime(context=Ctx(user="ada"))
    token = runtime.enter(scope)
    try:
        assert runtime.get_runtime() is scope
    finally:
        runtime.leave(token)


def _state_config(state: Any, config: Any) -> None: ...
def _state_runtime(state: Any, runtime: Runtime[Ctx]) -> None: ...
def _state_writer(state: Any, writer: Any) -> None: ...
def _all(state: Any, config: Any, *, runtime: Any, writer: Any) -> None: ...
def _state_other(state: Any, extra: Any) -> None: ...


@pytest.mark.parametrize(
    "fn, config, injected",
    [
        (_state_config, True, ()),
        (_state_runtime, False, ("runtime",)),
        (_state_writer, False, ("writer",)),
        (_all, True, ("runtime", "writer")),
        (_state_other, True, ()),  # hitl's older rule: a second positional parameter gets the config
    ],
)
def test_a_node_gets_runtime_and_writer_by_name_as_langgraph_fills_them(
    fn: Any, config: bool, injected: tuple[str, ...]
) -> None:
    assert graph_module._wants_config(fn) is config
    assert graph_module._injected(fn) == injected
