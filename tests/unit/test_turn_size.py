"""hitl/client/turns.py: a thread's next turn starts with one Temporal payload (its input and the thread's state
whole, with the earlier checkpoints): refused past MAX_PAYLOAD_BYTES, and the checkpoints' state copies give
way first."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from hitl.client.turns import carried, payload_size, turn_refused
from hitl.protocol.limits import MAX_PAYLOAD_BYTES
from hitl.protocol.wire import ForkFrom, RunInput
from hitl.types import Checkpoint
from tests.runtime_graphs import chain


def weighing(total: int) -> RunInput:
    """A turn's start of exactly `total` bytes (its input padded)."""
    fork = ForkFrom(run_id="t-1", step=4, values={"text": "abc"}, next=["a"])
    bare = RunInput(graph=chain.spec(), input={"text": ""}, identity="ada", fork=fork)
    return dataclasses.replace(bare, input={"text": "y" * (total - payload_size(bare))})


def test_a_turn_at_the_payload_limit_starts_and_one_byte_past_is_refused_in_one_line() -> None:
    at, past = weighing(MAX_PAYLOAD_BYTES), weighing(MAX_PAYLOAD_BYTES + 1)
    assert (payload_size(at), payload_size(past)) == (MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES + 1)
    assert turn_refused("t-1", at) is None
    assert turn_refused("t-1", past) == (
        "thread 't-1''s next turn (its input with the thread's state, which its start carries whole) is 2.0 MB; "
        "hitl takes at most 2.0 MB there: keep large data outside the run (a file or a bucket) and store a "
        "reference to it"
    )


def test_the_checkpoints_state_copies_give_way_to_the_turns_input_newest_kept_first() -> None:
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    checkpoints = [
        Checkpoint(step=s, values={"text": "x" * 100_000}, next=["a"], source="loop", created_at=at) for s in range(3)
    ]
    roomy = carried(checkpoints)
    assert [c.values is not None for c in roomy] == [True, True, True]
    tight = carried(checkpoints, 150_000)  # the room the turn's input and state left: one copy fits
    assert [c.values is not None for c in tight] == [False, False, True]
    assert [c.values is not None for c in carried(checkpoints, 0)] == [False, False, False]
    assert [c.step for c in tight] == [0, 1, 2]
