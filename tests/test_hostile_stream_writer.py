"""Hostile review of a node's stream writer (`get_stream_writer()`): its bound is bytes of JSON, as the
history stores them, whatever the characters written."""

from __future__ import annotations

import math

from hitl.protocol.limits import MAX_CUSTOM_BYTES, MAX_CUSTOM_EVENTS, json_size
from hitl.runtime import Recorder


def test_the_writers_bound_counts_bytes_not_characters() -> None:
    """Four events of 15,000 emoji (4 bytes each in UTF-8): 60,000 characters but 240 kB. At most
    MAX_CUSTOM_BYTES of them are kept; the rest is dropped and counted."""
    writer = Recorder("n", 0)
    for _ in range(4):
        writer("\N{GRINNING FACE}" * 15_000)
    written = writer.written()
    assert written is not None
    kept = json_size(written.events)
    assert kept <= MAX_CUSTOM_BYTES, kept
    assert written.dropped == 3


def test_values_that_are_not_json_are_dropped_and_counted_never_failing_the_node() -> None:
    writer = Recorder("n", 0)
    for bad in (math.nan, math.inf, {"x": math.nan}, object(), {1, 2, object()}):
        writer(bad)
    for i in range(MAX_CUSTOM_EVENTS + 5):
        writer(i)
    written = writer.written()
    assert written is not None
    assert written.events == list(range(MAX_CUSTOM_EVENTS))
    assert written.dropped == 10
