"""`stuck.watched`: a read that comes back is returned, asking nothing; a slow one asks once whether the run is
stuck, and is waited for when it is not, or ended (and cancelled) with the reason when it is."""

from __future__ import annotations

import asyncio

import pytest

from hitl.client import stuck
from hitl.types import HitlError


async def _read(after: float, cancelled: list[bool]) -> str:
    try:
        await asyncio.sleep(after)
    except asyncio.CancelledError:
        cancelled.append(True)
        raise
    return "state"


async def test_a_read_is_returned_and_a_stuck_run_ends_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stuck, "STUCK_AFTER", 0.01)
    asked: list[str] = []
    cancelled: list[bool] = []

    async def healthy() -> HitlError | None:
        asked.append("healthy")
        return None

    async def failing() -> HitlError | None:
        asked.append("failing")
        return HitlError("run 'r' is stuck")

    assert await stuck.watched(_read(0, cancelled), healthy) == "state" and asked == []
    assert await stuck.watched(_read(0.05, cancelled), healthy) == "state" and asked == ["healthy"]
    with pytest.raises(HitlError, match="is stuck"):
        await stuck.watched(_read(5, cancelled), failing)
    await asyncio.sleep(0)
    assert asked == ["healthy", "failing"] and cancelled == [True]
