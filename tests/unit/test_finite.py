"""Finite numbers only (hitl/protocol/finite.py): NaN and infinities are refused in one line and never exported."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

import pytest

from hitl.cli import _json, parse_json
from hitl.protocol import finite
from hitl.protocol.audit import AuditTrail, read_lines, seal, verify
from hitl.protocol.finite import MAX_DIGITS, non_finite
from hitl.types import Decision, InvalidInputError

NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"]


def strict(text: str) -> Any:
    """A strict JSON parser: NaN and Infinity are not JSON."""

    def refuse(token: str) -> Any:
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("token", NON_FINITE)
def test_loads_refuses_each_non_finite_number_naming_it(token: str) -> None:
    with pytest.raises(ValueError) as e:
        finite.loads(f'{{"a": [1, {token}]}}', "--value")
    line = str(e.value)
    assert "\n" not in line and line.startswith("--value") and "finite numbers only" in line
    assert ("NaN" if token == "NaN" else "Infinity") in line


def test_non_finite_names_where_the_number_is() -> None:
    assert finite.non_finite({"a": [1, {"b": math.inf}]}, "the answer") == (
        f"the answer at a/1/b is Infinity (or a number too large, such as 1e999); {finite.ACCEPTED}"
    )
    assert finite.non_finite(math.nan, "the answer") == f"the answer is NaN; {finite.ACCEPTED}"
    assert finite.non_finite({"a": [1, 2.5, "NaN", None]}, "the answer") is None


@pytest.mark.parametrize("token", NON_FINITE)
def test_the_cli_refuses_non_finite_json_arguments(token: str) -> None:
    with pytest.raises(InvalidInputError, match=r"^--value at 0 is (NaN|-?Infinity)") as e:
        parse_json(f"[{token}]", "--value")
    assert "finite numbers only" in str(e.value)


def test_cli_output_is_strict_json() -> None:
    assert strict(_json({"score": math.nan, "top": [math.inf, -math.inf, 1.5]})) == {
        "score": "NaN",
        "top": ["Infinity", "-Infinity", 1.5],
    }


def test_an_audit_export_holding_a_number_recorded_before_the_check_is_strict_json_and_verifies() -> None:
    at = datetime(2026, 12, 5, tzinfo=timezone.utc)
    first = seal(Decision(kind="resume", identity="ann", at=at, step=1, value=math.nan, interrupt_id="q1"), 0, None)
    second = seal(
        Decision(kind="update", identity="bo", at=at, step=2, value={"top": math.inf}, interrupt_id="q2"), 1, first.hash
    )
    trail = AuditTrail(run_id="r", records=[first, second], head=second.hash)
    lines = trail.lines()
    assert [strict(line)["value"] for line in lines] == ["NaN", {"top": "Infinity"}]
    exported = read_lines("\n".join(lines), "the export")
    assert verify(exported, second.hash).broken is None


def test_an_integer_too_long_to_write_as_json_is_refused_naming_where() -> None:
    """Python writes no integer over MAX_DIGITS digits as text: it is refused where it enters, in one line."""
    edge = 10**MAX_DIGITS - 1  # MAX_DIGITS nines: the longest integer Python writes
    assert non_finite({"x": [edge, -edge]}, "the answer") is None
    line = non_finite({"x": [1, -(10**MAX_DIGITS)]}, "the answer")
    assert line == (
        f"the answer at x/1 is an integer of more than {MAX_DIGITS:,} digits, which cannot be written as JSON "
        "here; send it as a string"
    )
    assert non_finite(True, "the answer") is None


def test_loads_costs_a_parse_and_walks_the_value_only_to_name_a_refused_number(monkeypatch: pytest.MonkeyPatch) -> None:
    """`hitl serve` checks every JSON body before it knows who asks: a 2 MB body of small items must cost one
    parse, not a Python step (and a path string) per item, as it did (1.3 s for 660,000 empty lists)."""
    body = json.dumps([[]] * 10_000 + [{"x": 1.5, "y": 10**20}])

    def no_walk(value: Any, what: str) -> str | None:
        raise AssertionError("a value holding no non-finite number was walked")

    monkeypatch.setattr(finite, "non_finite", no_walk)
    assert finite.loads(body, "the request body")[-1] == {"x": 1.5, "y": 10**20}
    monkeypatch.undo()
    with pytest.raises(ValueError, match=r"^the request body at 10000/y is Infinity \(or a number too large"):
        finite.loads(body.replace(str(10**20), "1e999"), "the request body")
