"""Hostile review of a run's runtime context over HTTP (`POST /threads/{id}/runs` with `context`): what is
wrong is said in one line naming it, and nothing starts."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.web_fixtures import Served


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"user": "ada"}
    for _ in range(depth):
        value = {"user": "ada", "more": value}
    return value


BAD: dict[str, tuple[str, str]] = {
    "nan": ('{"user": NaN}', "NaN"),
    "infinity": ('{"user": "ada", "x": Infinity}', "Infinity"),
    "huge number": ('{"user": "ada", "x": 1e999}', "1e999"),
    "deep": (json.dumps(nested(150)), "deep"),
    "too large": (json.dumps({"user": "x" * 70_000}), "64.0 kB"),
    "wrong type": ('{"user": 5}', "context"),
    "not an object": ('"ada"', "context"),
    "missing field": ("{}", "user"),
}


@pytest.mark.parametrize("case", sorted(BAD))
async def test_a_bad_context_is_refused_in_one_line_and_starts_nothing(served: Served, case: str) -> None:
    context, named = BAD[case]
    thread = f"hostile-ctx-{uuid.uuid4().hex[:8]}"
    body = f'{{"assistant_id": "stream_progress", "input": {{}}, "context": {context}}}'
    async with served.http() as http:
        answer = await http.post(f"/threads/{thread}/runs", content=body, headers={"Content-Type": "application/json"})
        assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
        detail = answer.json()["detail"]
        assert isinstance(detail, str) and "\n" not in detail, detail
        assert named.lower() in detail.lower(), detail
        assert (await http.get(f"/threads/{thread}")).status_code == 404
