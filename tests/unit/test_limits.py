"""hitl/protocol/limits.py: sizes as Temporal stores them, refusals in one line, clipping for records."""

from __future__ import annotations

import json

from hitl.protocol.limits import (
    CLIP_BYTES,
    MAX_JSON_DEPTH,
    clip,
    json_depth,
    json_size,
    over_limit,
    shorten,
    text_depth,
    too_deep,
    too_large,
)


def test_sizes_are_utf8_json_without_escapes() -> None:
    assert json_size({"a": [1, 2]}) == len('{"a":[1,2]}')
    assert json_size("é") == len('"é"'.encode())  # 4 bytes, not the 8 of "\u00e9"


def test_too_large_says_what_and_what_to_do() -> None:
    assert too_large("x" * 10, 100, "the answer") is None
    line = too_large("x" * 2_100_000, 1_000_000, "the input")
    assert line == (
        "the input is 2.1 MB; hitl takes at most 1.0 MB there: "
        "keep large data outside the run (a file or a bucket) and store a reference to it"
    )
    assert over_limit(300_000, 256_000, "the decision").startswith(
        "the decision is 300.0 kB; hitl takes at most 256.0 kB"
    )


def test_records_keep_small_values_and_stub_large_ones() -> None:
    assert clip({"a": 1}) == {"a": 1}
    stub = clip("x" * (CLIP_BYTES + 1))
    assert stub["__clipped__"] == CLIP_BYTES + 3 and len(stub["preview"]) == 200


def test_shorten_is_the_one_text_clipping_rule() -> None:
    assert shorten("short", 10) == "short"
    assert shorten("abcdefghijk", 10) == "abcdefghi…"
    assert len(shorten("x" * 500)) == 120
    assert shorten({"q": "ok?"}) == '{"q": "ok?"}'  # not a string: shown as JSON


def test_depth_is_counted_alike_on_text_and_on_values() -> None:
    docs = [
        "1",
        "{}",
        "[[1]]",
        " [ [ 1.5e3 , true , null , -2 ] ] ",
        '{"a": [{"b": "[[[{{"}]}',  # brackets inside strings do not count
        '["\\"[", "\\\\", [["\\\\\\"]"]]]',  # escaped quotes and backslashes
        json.dumps({"é": [[{"y": [1, {"z": "]]]"}]}]]}, ensure_ascii=False),
        json.dumps({"x": "\ud800"}),  # a lone surrogate, escaped
    ]
    for doc in docs:
        assert text_depth(doc) == text_depth(doc.encode()) == json_depth(json.loads(doc)), doc
    # Unterminated strings: counted in one pass (a string pattern retried from every later quote would take
    # hours here), what follows the open quote not counted; the parser then says the text is malformed.
    assert text_depth('["' + '\\"' * 300_000) == 1 and text_depth('[[["') == 3


def test_too_deep_refuses_one_past_the_limit_in_one_line() -> None:
    at, past = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    assert too_deep(at, "the answer", text=True) is None and too_deep(json.loads(at), "the answer") is None
    line = too_deep(past, "the answer", text=True)
    assert line == too_deep(json.loads(past), "the answer") and line is not None
    assert line.startswith(f"the answer nests deeper than {MAX_JSON_DEPTH} levels") and "\n" not in line
    deep: list[object] = []
    for _ in range(100_000):  # far deeper than Python's recursion: counted without it
        deep = [deep]
    assert json_depth(deep) == 100_001 and too_deep(deep, "x") is not None
