"""The inbox's page window search (`hitl.web.search._Window`) over a count it is handed, as the visibility
store would answer COUNT(time < t): it must find a window holding the page, and ask few counts for it
(each is a scan of the store; on SQLite they are served one at a time). Counted, never timed."""

from __future__ import annotations

import bisect
import random
from datetime import datetime, timedelta, timezone

import pytest

from hitl.web.search import _Hints, _Window

NOW = datetime.now(timezone.utc)


class Store:
    """Sorted waiting-since times; `below` is the COUNT the window asks, counted."""

    def __init__(self, times: list[datetime]) -> None:
        # As old now as when they were made: the window walks back from the present, and the suite may run this
        # file minutes after importing it (tests/unit runs last), when "the last five minutes" would be long past.
        late = datetime.now(timezone.utc) - NOW
        self.times = sorted(t + late for t in times)
        self.asked = 0

    async def below(self, t: datetime) -> int:
        self.asked += 1
        return bisect.bisect_left(self.times, t)


def spread(n: int, seconds: float, ago: float = 0.0, seed: int = 1) -> list[datetime]:
    rng = random.Random(seed)
    return [NOW - timedelta(seconds=ago + rng.random() * seconds) for _ in range(n)]


SHAPES = {
    "5,000 paused over the last five minutes": spread(5000, 300),
    "5,000 over a week": spread(5000, 7 * 86400),
    "a burst a day ago and a trickle since": spread(4000, 60, ago=86400) + spread(1000, 86400, seed=2),
    "two bursts a month apart": spread(2500, 10, ago=30 * 86400) + spread(2500, 10, seed=3),
}
MOST = {  # counts for one page's window; bursts are found by halving a wide stretch, spread runs on a line
    "5,000 paused over the last five minutes": 12,
    "5,000 over a week": 14,
    "a burst a day ago and a trickle since": 28,
    "two bursts a month apart": 40,
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("position", [50, 1000, 2500, 4900])
async def test_the_window_brackets_the_position_within_slack_in_few_counts(shape: str, position: int) -> None:
    store = Store(SHAPES[shape])
    w = _Window(store.below, len(store.times), slack=40)
    start, below = await w.start_at(position)
    assert position - 40 <= below <= position and below == bisect.bisect_left(store.times, start)
    end = await w.end_at(position + 50)
    assert end is not None and position + 50 <= bisect.bisect_left(store.times, end) <= position + 90
    assert store.asked <= MOST[shape], f"{store.asked} counts for one page"


async def test_a_page_searched_again_starts_from_where_the_last_search_found_its_bounds() -> None:
    """The second search of the same query (another reviewer's page, a live refresh) asks one count per
    bound, with runs answered and paused in between."""
    times = SHAPES["5,000 over a week"]
    hints = _Hints()
    first = Store(times)
    w = _Window(first.below, len(times), slack=40)
    await w.end_at(50)
    hints.learn("q", w.fresh)
    again = Store(times[10:] + spread(5, 1, seed=9))  # ten of the oldest answered, five new pauses
    w2 = _Window(again.below, len(again.times), slack=40, hints=hints.of("q"))
    end = await w2.end_at(50)
    assert end is not None and 50 <= bisect.bisect_left(again.times, end) <= 90
    assert again.asked <= 2, again.asked


async def test_runs_tied_at_one_time_end_the_search_within_a_millisecond() -> None:
    """Three hundred runs stamped with the same time: no time splits them, the window takes them all."""
    tied = [NOW - timedelta(seconds=30)] * 300 + spread(100, 10, seed=4)
    store = Store(tied)
    w = _Window(store.below, len(tied), slack=40)
    end = await w.end_at(50)
    assert end is not None and bisect.bisect_left(store.times, end) >= 50
    assert store.asked <= 30, store.asked
