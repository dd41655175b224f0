"""hitl's data converter: the same payloads as Temporal's pydantic converter, type adapters built once."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from temporalio.contrib.pydantic import pydantic_data_converter

from hitl.payloads.converter import SharedPydanticPayloadConverter, data_converter
from hitl.protocol.wire import GraphSpec, NodeResult, ResumeRequest, RunInput


def _values() -> list[object]:
    spec = GraphSpec(name="g", nodes=[], edges=[], channels={})
    return [
        RunInput(graph=spec, input={"topic": "tea"}, identity="ann"),
        NodeResult(writes={"draft": "x"}, goto=["b"]),
        ResumeRequest(identity="bob", has_resume=True, resume="approve", request_id="r1"),
        {"at": datetime(2026, 11, 25, tzinfo=UTC), "n": [1, 2.5, None]},
    ]


def test_payloads_are_those_of_temporals_pydantic_converter() -> None:
    ours, theirs = data_converter().payload_converter, pydantic_data_converter.payload_converter
    for value in _values():
        mine = ours.to_payloads([value])
        assert mine == theirs.to_payloads([value])
        back = ours.from_payloads(mine, [type(value)])[0]
        assert back == theirs.from_payloads(mine, [type(value)])[0]


def test_every_instance_shares_one_type_adapter_cache() -> None:
    """Temporal makes a converter per workflow instance: the adapters must survive that."""
    first, second = SharedPydanticPayloadConverter(), SharedPydanticPayloadConverter()
    payload = first.to_payloads([NodeResult(writes={"a": 1})])
    first.from_payloads(payload, [NodeResult])
    json_converter = next(c for c in second.converters.values() if c.encoding == "json/plain")
    hits = json_converter._type_adapter.cache_info().hits  # type: ignore[attr-defined]
    assert second.from_payloads(payload, [NodeResult])[0] == NodeResult(writes={"a": 1})
    assert json_converter._type_adapter.cache_info().hits == hits + 1  # type: ignore[attr-defined]


def test_data_converter_keeps_the_codec() -> None:
    codec = object()
    assert data_converter(codec).payload_codec is codec  # type: ignore[arg-type]
    assert (
        dataclasses.replace(data_converter(), payload_codec=None).payload_converter_class
        is SharedPydanticPayloadConverter
    )
