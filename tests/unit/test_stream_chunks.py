"""LangGraph's chunk shapes made from hitl's run events (hitl/client/stream.py), without a server."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hitl.client.stream import RunEvent, check_modes, chunks
from hitl.types import Decision, Interrupt, InvalidInputError

ASKED = Interrupt(id="abc", value={"q": "ok?"}, node="review")
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def event(kind: str, **fields: object) -> RunEvent:
    return RunEvent(kind=kind, run_id="r", status="running", step=1, **fields)  # type: ignore[arg-type]


def test_each_event_gives_langgraphs_chunks_in_its_order() -> None:
    both = check_modes(["updates", "values"])
    assert list(chunks(event("node", node="a", update={"x": 1}), both)) == [("updates", {"a": {"x": 1}})]
    assert list(chunks(event("node", node="noop"), both)) == [("updates", {"noop": None})]
    assert list(chunks(event("values", source="loop", values={"x": 1}, update={"a": {"x": 1}}), both)) == [
        ("values", {"x": 1})
    ]
    asked = event("paused", values={"x": 1}, interrupts=[ASKED])
    assert list(chunks(asked, both)) == [
        ("updates", {"__interrupt__": (ASKED,)}),
        ("values", {"x": 1, "__interrupt__": (ASKED,)}),
    ]
    assert list(chunks(event("paused", values={"x": 1}, breakpoint="before"), both)) == [
        ("updates", {"__interrupt__": ()})
    ]


def test_steps_that_wrote_nothing_edits_decisions_and_ends_make_no_chunk() -> None:
    both = check_modes(["updates", "values"])
    quiet = [
        event("values", source="loop", values={"x": 1}, update={}),
        event("values", source="input", values={"x": 1}, update={"__input__": {}}),
        event("values", source="update", values={"x": 2}, update={"__human__": {"x": 2}}),
        event("decision", decision=Decision(kind="resume", identity="ann", at=NOW, step=1)),
        event("completed", values={"x": 2}),
    ]
    assert [c for e in quiet for c in chunks(e, both)] == []
    assert list(chunks(event("values", values={"x": 1}), both)) == [("values", {"x": 1})], "the picture now"


@pytest.mark.parametrize("bad", ["messages", ["values", "debug"], []])
def test_a_mode_hitl_does_not_stream_is_refused_in_one_line(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="stream_mode") as e:
        check_modes(bad)  # type: ignore[arg-type]
    assert "\n" not in str(e.value)


def test_an_event_as_json_and_as_a_line() -> None:
    asked = event("paused", values={"x": 1}, interrupts=[ASKED], at=NOW)
    assert asked.to_json()["interrupts"][0] == {
        "id": "abc", "value": {"q": "ok?"}, "node": "review", "step": 0, "index": 0, "schema": None,
        "reviewers": None, "deadline": None, "quorum": None, "votes": [], "claimed_by": None,
        "claimed_until": None, "escalation": [], "escalated": 0, "title": None, "summary": None,
    }  # fmt: skip
    assert asked.to_json()["at"] == "2026-01-01T00:00:00+00:00"
    assert asked.describe() == 'step   1  paused    waiting for [abc] review: {"q": "ok?"}'
    answered = event(
        "decision", decision=Decision(kind="resume", identity="ann", at=NOW, step=1, value="yes", interrupt_id="abc")
    )
    assert answered.describe() == 'step   1  decision  ann answered [abc] with "yes"'
