"""How a stream decides that its run ended (hitl/client/stream.py), without a server: a fake run whose history
closes while its state is being read, as Temporal's long poll can report between the two readings."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from hitl.client.stream import _Follower
from hitl.types import Checkpoint, StateSnapshot

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


class _ClosingRun:
    """Reads as running at step 1; the history's watcher sees the run end just after the state was read."""

    run_id = "r"
    follower: _Follower

    async def history_page(self, *, limit: int | None = None, before: int | None = None) -> list[Checkpoint]:
        return []

    async def get_state(self) -> StateSnapshot:
        state = StateSnapshot(
            run_id="r", graph="g", status="running", values={}, next=["finish"], step=1, interrupts=[],
            created_at=NOW, updated_at=NOW,
        )  # fmt: skip
        self.follower.history_closed = True  # hitl's own end, reported while this reading was under way
        return state

    def where(self) -> str:
        return "see `hitl state r`"


async def _events(run: Any, follower: _Follower) -> list[str]:
    run.follower = follower
    return [e.kind async for e in follower.sync()]


async def test_a_history_closing_while_the_state_is_read_is_not_taken_for_an_end_from_outside() -> None:
    """The run read as running, then ended as hitl ends runs: the stream reads it again (its last step and end
    come next), rather than reporting a run ended outside hitl and stopping before that step."""
    run = _ClosingRun()
    kinds = await _events(run, _Follower(run, None))  # type: ignore[arg-type]
    assert "failed" not in kinds, kinds


async def test_a_history_closed_before_the_state_is_read_while_it_says_running_ended_outside_hitl() -> None:
    run = _ClosingRun()
    follower = _Follower(run, None)  # type: ignore[arg-type]
    follower.history_closed = True  # terminated in Temporal: closed, and the state still says running
    kinds = await _events(run, follower)
    assert kinds[-1] == "failed", kinds
