"""The decision chain's rules (hitl/protocol/audit.py): sealing, verifying, JSON Patch of edits."""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timezone
from typing import Any

import jsonpatch  # an independent RFC 6902 implementation, to check our patches apply as the RFC says
import pytest

from hitl.protocol.audit import AuditTrail, diff, differs, read_lines, record, record_hash, seal, verify
from hitl.types import Decision

AT = datetime(2026, 11, 25, 18, 0, 0, 123456, tzinfo=timezone.utc)


def _chain(n: int, anchor: str | None = None) -> list[Decision]:
    out: list[Decision] = []
    head = anchor
    for i in range(n):
        d = seal(
            Decision(kind="resume", identity=f"person{i}", at=AT, step=i, value={"answer": i}, interrupt_id=f"id{i}"),
            i,
            head,
        )
        head = d.hash
        out.append(d)
    return out


def _records(chain: list[Decision]) -> list[dict[str, Any]]:
    return [record(d) for d in chain]


def test_a_sealed_record_hashes_its_canonical_json_including_the_previous_hash() -> None:
    [first, second] = _chain(2)
    assert first.prev_hash is None and second.prev_hash == first.hash
    assert first.hash is not None and len(first.hash) == 64
    assert record_hash(record(second)) == second.hash
    # Key order and spacing do not matter: the hash is over the canonical form.
    shuffled = json.loads(json.dumps(dict(reversed(list(record(second).items())))))
    assert record_hash(shuffled) == second.hash


def test_a_record_hashes_as_the_deep_copied_record_did() -> None:
    """`record` copies shallowly (for speed): nested answers, questions and patches hash as before."""
    import dataclasses

    d = Decision(
        kind="update_state",
        identity="ann",
        at=AT,
        step=3,
        value={"draft": ["a", {"b": None}]},
        question={"draft": "x"},
        patch=[{"op": "replace", "path": "/draft", "value": "y"}],
        seq=4,
        prev_hash="0" * 64,
    )
    deep = {**dataclasses.asdict(d), "at": AT.isoformat()}
    assert record(d) == deep
    assert seal(d, 4, "0" * 64).hash == record_hash(deep)


def test_a_field_added_later_with_no_value_keeps_old_hashes() -> None:
    [d] = _chain(1)
    assert record_hash({**record(d), "claimed_by": None}) == d.hash


def test_an_intact_chain_verifies_with_its_head() -> None:
    chain = _chain(4)
    verdict = verify(_records(chain), head=chain[-1].hash)
    assert (verdict.broken, verdict.records, verdict.head, verdict.anchor) == (None, 4, chain[-1].hash, None)


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (
            lambda rs: rs[2].update(value={"answer": 99}),
            r"record seq 2 \(resume by person2 at .*\): its hash does not match",
        ),
        (lambda rs: rs[2].update(identity="mallory"), "record seq 2 .*its hash does not match"),
        (lambda rs: rs.pop(1), "record seq 2 .*prev_hash does not match the hash of seq 0"),
        (lambda rs: rs.reverse(), "record seq 2 .*prev_hash does not match the hash of seq 3"),
    ],
    ids=["value changed", "identity changed", "record dropped", "reordered"],
)
def test_a_tampered_chain_names_the_first_broken_record(tamper: Any, expected: str) -> None:
    records = _records(_chain(4))
    tamper(records)
    verdict = verify(records)
    assert verdict.broken is not None
    assert re.match(expected, verdict.broken), verdict.broken


def test_a_record_resealed_after_a_change_still_breaks_the_next_link() -> None:
    records = _records(_chain(3))
    records[1]["value"] = {"answer": "forged"}
    records[1]["hash"] = record_hash(records[1])
    verdict = verify(records)
    assert verdict.broken is not None and verdict.broken.startswith("record seq 2")


def test_a_gap_in_seq_is_a_break_even_with_matching_links() -> None:
    a = seal(Decision(kind="resume", identity="a", at=AT, step=0), 0, None)
    b = seal(Decision(kind="resume", identity="b", at=AT, step=1), 5, a.hash)
    verdict = verify(_records([a, b]))
    assert verdict.broken is not None and "follows seq 0 (records missing between)" in verdict.broken


def test_records_missing_at_the_end_show_against_the_head() -> None:
    chain = _chain(3)
    verdict = verify(_records(chain[:2]), head=chain[-1].hash)
    assert verdict.broken is not None and "ends at seq 1 but the run's head is" in verdict.broken


def test_a_chain_continuing_another_one_names_its_anchor() -> None:
    chain = _chain(2, anchor="f" * 64)
    verdict = verify(_records(chain), head=chain[-1].hash)
    assert verdict.broken is None and verdict.anchor == "f" * 64


def test_an_export_reads_back_and_verifies() -> None:
    chain = _chain(3)
    trail = AuditTrail("run-1", chain, chain[-1].hash)
    text = "\n".join(trail.lines()) + "\n\n"
    assert verify(read_lines(text, "f.jsonl"), head=trail.head).broken is None
    assert trail.verify().broken is None


def test_an_export_compared_with_the_run_names_what_it_leaves_out_or_adds() -> None:
    chain = _chain(4)
    assert differs(_records(chain), chain) is None
    tail = differs(_records(chain[:3]), chain)
    assert tail is not None and tail.startswith("the run's record seq 3 (resume by person3 at 2026-11-25T18:00:00")
    assert tail.endswith("is not in the export (1 of the run's records missing from it)")
    head = differs(_records(chain[2:]), chain)
    assert head is not None and "record seq 0 (resume by person0" in head and "(2 of the run's" in head
    forged = _chain(5)[4]  # a fifth record, properly linked in a chain of its own
    added = differs(_records([*chain, forged]), chain)
    assert added == "record seq 4 is not in the run's chain (the run holds seq 0 to 3)"
    assert differs(_records(chain), chain[2:]) is None, "records older than the run keeps are taken as they are"


@pytest.mark.parametrize(
    ("text", "message"),
    [("{not json", "f.jsonl line 1 is not JSON"), ('{"a": 1}', "f.jsonl line 1 is not a decision record")],
)
def test_an_export_that_is_not_records_is_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_lines(text, "f.jsonl")


PAIRS: list[tuple[Any, Any]] = [
    ({"draft": "a"}, {"draft": "b"}),
    ({"draft": "a"}, {"draft": "a", "title": "t"}),
    ({"draft": "a", "old": 1}, {"draft": "a"}),
    ({"a": {"b": [1, 2, {"c": 3}]}}, {"a": {"b": [1, 5, {"c": 4, "d": None}]}}),
    ({"a": [1, 2]}, {"a": [1, 2, 3]}),
    ({"a/b": 1, "m~n": 2}, {"a/b": 2, "m~n": 3}),
    ({"x": 1}, {"x": 1.0}),
    ({"x": True}, {"x": 1}),
    ({"x": None}, {"x": {"deep": "value"}}),
    ({}, {}),
    ([1], {"now": "an object"}),
]


@pytest.mark.parametrize(("before", "after"), PAIRS)
def test_diff_is_a_json_patch_that_turns_before_into_after(before: Any, after: Any) -> None:
    patch = diff(before, after)
    result = jsonpatch.apply_patch(copy.deepcopy(before), patch)
    assert result == after and json.dumps(result) == json.dumps(after)


def test_diff_names_only_what_changed() -> None:
    assert diff({"draft": "a", "n": 1}, {"draft": "b", "n": 1}) == [{"op": "replace", "path": "/draft", "value": "b"}]
    assert diff({"a": 1}, {"a": 1}) == []
    assert diff({"a/b": 1}, {}) == [{"op": "remove", "path": "/a~1b"}]
