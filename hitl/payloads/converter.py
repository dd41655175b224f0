"""The data converter of hitl's clients and workers: Temporal's pydantic converter, built once per process.

Temporal's SDK builds a fresh payload converter for every workflow instance (and
for every activation's codec pass), and `temporalio.contrib.pydantic`'s converter
keeps its pydantic `TypeAdapter`s in a per-instance cache. So each new run, and
each run replayed after leaving the worker's cache, built the adapters for
`RunInput`, `NodeResult` and `ResumeRequest` from scratch: about 20 ms of CPU a
run, more than the whole hand-written floor's workflow side. This converter
shares one JSON converter, and so one adapter cache, across the process.
Payloads are byte for byte those of `pydantic_data_converter`.
"""

from __future__ import annotations

import dataclasses

import temporalio.client
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, PydanticPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
    JSONPlainPayloadConverter,
    PayloadCodec,
)

_SHARED_JSON = PydanticJSONPlainPayloadConverter()
"""The process's one pydantic JSON converter: its TypeAdapter cache (LRU, thread-safe) outlives runs."""
_CONVERTERS: tuple[EncodingPayloadConverter, ...] = tuple(
    _SHARED_JSON if isinstance(c, JSONPlainPayloadConverter) else c
    for c in DefaultPayloadConverter.default_encoding_payload_converters
)


class SharedPydanticPayloadConverter(CompositePayloadConverter):
    """`PydanticPayloadConverter` with the process-wide JSON converter (nullary, as Temporal requires;
    built for every activation, so it does no more than Temporal's default converter does)."""

    def __init__(self) -> None:
        super().__init__(*_CONVERTERS)


def data_converter(codec: PayloadCodec | None = None) -> DataConverter:
    """hitl's data converter: pydantic JSON with shared type adapters, and `codec` over the payloads."""
    return DataConverter(payload_converter_class=SharedPydanticPayloadConverter, payload_codec=codec)


def with_shared_adapters(client: temporalio.client.Client) -> temporalio.client.Client:
    """`client`, or the same connection with `SharedPydanticPayloadConverter` when it uses Temporal's plain
    pydantic converter (a client made with `pydantic_data_converter`): the same payloads, built cheaper."""
    converter = client.data_converter
    if converter.payload_converter_class is not PydanticPayloadConverter:
        return client
    config = client.config()
    config["data_converter"] = dataclasses.replace(converter, payload_converter_class=SharedPydanticPayloadConverter)
    return temporalio.client.Client(**config)
