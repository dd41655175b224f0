"""Search attribute upserts name only what changed (workflows/attributes.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from hitl._protocol import PENDING_NODES, REVIEWERS, STATUS, WAITING_SINCE
from workflows.attributes import changed_updates, remember

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
