"""Open live streams per identity: each one holds a Temporal long poll (or a counting loop) for as long
as it stays open, so one caller (a script opening streams in a loop, a tab left open many times) must
not be able to hold them without bound. Counted per server process: behind a load balancer each copy
caps on its own."""

from __future__ import annotations

from collections import Counter

from hitl.web.errors import WebError

DEFAULT_MAX_STREAMS = 16
"""Enough for a reviewer's tabs and a front-end's few streams; `hitl serve --max-streams` changes it."""


class Slot:
    """One open stream's place; released once, however the stream ends (idempotent)."""

    def __init__(self, slots: StreamSlots, who: str) -> None:
        self.slots, self.who, self.held = slots, who, True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.slots.open[self.who] -= 1
            if self.slots.open[self.who] <= 0:
                del self.slots.open[self.who]


class StreamSlots:
    """How many streams each identity has open here, capped at `limit`."""

    def __init__(self, limit: int = DEFAULT_MAX_STREAMS) -> None:
        self.limit = limit
        self.open: Counter[str] = Counter()

    def take(self, who: str) -> Slot:
        """A slot for one more stream of `who`, or the 429 saying the cap (nothing is started)."""
        if self.open[who] >= self.limit:
            raise WebError(
                429,
                f"'{who}' already has {self.open[who]} live streams open on this server, the most one identity "
                f"may hold (hitl serve --max-streams {self.limit}); close one and open this again",
            )
        self.open[who] += 1
        return Slot(self, who)
