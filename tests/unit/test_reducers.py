"""hitl/protocol/reducers.py: the state arithmetic the workflow does itself; the rest is owed to activities."""

from __future__ import annotations

import pytest

from hitl.protocol.reducers import WriteConflict, add_messages, apply_builtin_writes, initial_values
from hitl.protocol.wire import ChannelSpec

CHANNELS = {
    "x": ChannelSpec(),
    "log": ChannelSpec(reducer="add", has_default=True, default=[]),
    "n": ChannelSpec(reducer="add"),
    "messages": ChannelSpec(reducer="add_messages"),
    "tags": ChannelSpec(reducer="custom", reducer_name="merge_dicts"),
}


def test_initial_values_are_the_declared_defaults() -> None:
    assert initial_values(CHANNELS) == {"log": []}


def test_writes_apply_in_writer_order_and_leave_the_input_alone() -> None:
    values = {"x": 1, "log": ["a"]}
    new, owed = apply_builtin_writes(CHANNELS, values, [{"log": ["b"], "n": 2}, {"log": ["c"], "n": 3, "x": 9}])
    assert new == {"x": 9, "log": ["a", "b", "c"], "n": 5} and owed == []
    assert values == {"x": 1, "log": ["a"]}


def test_custom_reducers_are_owed_to_the_reduce_activity() -> None:
    new, owed = apply_builtin_writes(CHANNELS, {}, [{"tags": {"a": 1}, "x": 1}, {"n": 1}, {"tags": {"b": 2}}])
    assert new == {"x": 1, "n": 1}
    assert owed == [{"tags": {"a": 1}}, {"tags": {"b": 2}}]


def test_two_writes_to_a_last_value_key_in_one_step_conflict() -> None:
    with pytest.raises(WriteConflict, match="At key 'x': can receive only one value per step"):
        apply_builtin_writes(CHANNELS, {}, [{"x": 1}, {"x": 2}])


def test_add_refuses_mismatched_types() -> None:
    assert apply_builtin_writes(CHANNELS, {"n": "ab"}, [{"n": "c"}])[0]["n"] == "abc"
    with pytest.raises(WriteConflict, match="operator.add cannot combine list with int"):
        apply_builtin_writes(CHANNELS, {"log": ["a"]}, [{"log": 1}])


def test_add_messages_appends_and_replaces_by_id() -> None:
    left = [{"id": "1", "content": "a"}, {"content": "no id"}]
    merged = add_messages(left, [{"id": "1", "content": "A"}, {"id": "2", "content": "b"}])
    assert merged == [{"id": "1", "content": "A"}, {"content": "no id"}, {"id": "2", "content": "b"}]
    assert left[0]["content"] == "a", "the left list is not changed in place"
    assert add_messages([], {"id": "3"}) == [{"id": "3"}]
