"""Search attribute upserts name only what changed (workflows/attributes.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import temporalio.converter

from hitl._protocol import PENDING_NODES, REVIEWERS, STATUS, WAITING_SINCE
from workflows.attributes import MAX_VALUE_BYTES, changed_updates, fit_keywords, remember

AT = datetime(2026, 11, 26, tzinfo=timezone.utc)


def _pause() -> list[Any]:
    return [
        STATUS.value_set("interrupted"),
        PENDING_NODES.value_set(["review"]),
        WAITING_SINCE.value_set(AT),
        REVIEWERS.value_set(["*"]),
    ]


def test_everything_is_new_to_an_execution_that_wrote_nothing() -> None:
    assert changed_updates(_pause(), {}) == _pause()


def test_the_same_values_again_are_no_upsert_at_all() -> None:
    written: dict[str, Any] = {}
    remember(_pause(), written)
    assert changed_updates(_pause(), written) == []


def test_only_the_changed_ones_go_out_and_unset_counts_as_a_value() -> None:
    written: dict[str, Any] = {}
    remember(_pause(), written)
    resumed = [
        STATUS.value_set("running"),
        PENDING_NODES.value_set([]),
        WAITING_SINCE.value_unset(),
        REVIEWERS.value_set(["*"]),
    ]
    assert [u.key.name for u in changed_updates(resumed, written)] == [
        "HitlStatus",
        "HitlPendingNodes",
        "HitlWaitingSince",
    ]
    remember(resumed, written)
    finished = [STATUS.value_set("completed"), PENDING_NODES.value_set([]), WAITING_SINCE.value_unset()]
    assert [u.key.name for u in changed_updates(finished, written)] == ["HitlStatus"]
    assert changed_updates([WAITING_SINCE.value_unset()], written) == []


def _encoded(values: list[str]) -> int:
    """The size Temporal checks: the SDK's own encoding of the keyword list."""
    return len(temporalio.converter.encode_typed_search_attribute_value(REVIEWERS, values).data)


def test_a_keyword_list_that_fits_is_written_whole_measured_as_the_sdk_encodes_it() -> None:
    names = [f"reviewer.{i:02}@example-company.com" for i in range(56)]  # 56 x 34 + commas: just under 2,048
    assert _encoded(names) <= MAX_VALUE_BYTES and fit_keywords(names) == names
    tricky = ['é"\\', "日本", "a b"] * 200
    fitted = fit_keywords(tricky)
    assert _encoded(fitted) <= MAX_VALUE_BYTES < _encoded(fitted + tricky[len(fitted) : len(fitted) + 1])


def test_a_keyword_list_past_the_limit_becomes_its_overflow_or_the_prefix_that_fits() -> None:
    names = [f"reviewer.{i:02}@example-company.com" for i in range(80)]
    assert _encoded(names) > MAX_VALUE_BYTES
    assert fit_keywords(names, overflow=["*"]) == ["*"]
    prefix = fit_keywords(names)
    assert prefix == names[: len(prefix)] and _encoded(prefix) <= MAX_VALUE_BYTES < _encoded(names[: len(prefix) + 1])
    assert fit_keywords(["x" * 3000]) == [] and fit_keywords([]) == []
