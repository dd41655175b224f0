"""What a run's search attributes read, and upserts name only what changed (workflows/attributes.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import temporalio.converter

from hitl.protocol.wire import ASSIGNED, PENDING_NODES, REVIEWERS, STATUS, WAITING_SINCE, GraphSpec, Phase, RunInput
from hitl.types import Interrupt
from hitl.workflows.attributes import (
    MAX_VALUE_BYTES,
    attribute_updates,
    changed_updates,
    fit_keywords,
    indexes_who,
    remember,
)

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


def _inp(**options: bool) -> RunInput:
    return RunInput(graph=GraphSpec(name="g", nodes=[], edges=[], channels={}), input={}, identity="ann", **options)


def test_a_paused_run_indexes_its_status_nodes_and_who_may_decide_or_holds_what() -> None:
    asked = [Interrupt(id="q", value="ok?", node="review", reviewers=["bob"], claimed_by="cy")]
    inp = _inp(search_attributes=True, index_reviewers=True, index_assigned=True)
    updates = attribute_updates(inp, Phase.ASKING, asked, ["review"], AT, "ann", paused=True)
    assert {u.key.name: u.value for u in updates} == {
        STATUS.name: "interrupted",
        PENDING_NODES.name: ["review"],
        WAITING_SINCE.name: AT,
        REVIEWERS.name: ["cy"],  # a claimed question: its holder decides
        ASSIGNED.name: ["cy"],
    }
    ended = attribute_updates(inp, Phase.COMPLETED, asked, [], None, "ann", paused=False)
    assert {u.key.name: u.value for u in ended} == {
        STATUS.name: "completed",
        PENDING_NODES.name: [],
        WAITING_SINCE.name: None,
        REVIEWERS.name: [],
        ASSIGNED.name: [],
    }
    plain = attribute_updates(_inp(search_attributes=True), Phase.ASKING, asked, ["review"], AT, "ann", paused=True)
    assert [u.key.name for u in plain] == [STATUS.name, PENDING_NODES.name, WAITING_SINCE.name]


def test_only_a_run_that_indexes_deciders_or_holders_is_indexed_again_on_a_claim() -> None:
    assert indexes_who(_inp(search_attributes=True, index_reviewers=True))
    assert indexes_who(_inp(search_attributes=True, index_assigned=True))
    assert not indexes_who(_inp(search_attributes=True))
    assert not indexes_who(_inp(index_reviewers=True, index_assigned=True))  # attributes not registered
