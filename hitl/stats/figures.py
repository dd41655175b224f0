"""The queue's figures, from rows: pure, so percentiles, hourly buckets and grouping are tested without a server.

Two kinds of rows. `Waiting`: a run waiting now, as the visibility store lists it (graph, since when,
who may decide, who holds it). `Log`: a finished run's decision log (its `StateSnapshot.decisions` and
`refused`), read for a bounded sample of the runs finished in the last week.

Time to decision is measured from when a question was asked to its answer. The log records answers, not
questions, so "asked" is the run's previous record that moved it on (its start, an answer, an edit, what ran
after a decision), claims, hand-overs and escalation steps being records made during the pause: exact up to
the time the asking node itself ran before it paused.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hitl.types import Decision, Refusal

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
HOURS = 24
"""Answers per hour are shown for the last day, one bucket per hour."""
DURING_PAUSE = frozenset({"claim", "release", "delegate", "escalate", "notify"})
"""Records made while a question waits: they do not mark when the next question was asked."""
BY_DEFAULT = frozenset({"deadline", "escalation"})
"""Identities of a "deadline" record: time answered the question (its deadline, or an escalation step)."""


@dataclass(frozen=True)
class Waiting:
    """A run waiting for a person now."""

    graph: str
    since: datetime | None
    reviewers: Sequence[str] = ()
    """Who may decide (HitlReviewers: identities, role:NAME, '*' for anyone), where indexed."""
    assigned: Sequence[str] = ()
    """Who holds its questions (HitlAssigned), where indexed."""


@dataclass(frozen=True)
class Log:
    """A finished run's decision log."""

    graph: str
    created_at: datetime
    decisions: Sequence[Decision]
    refused: Sequence[Refusal] = ()


@dataclass
class Window:
    """What happened in one window (the last day or week), for one graph or reviewer."""

    answers: int = 0
    p50_s: float | None = None
    p95_s: float | None = None
    refusals: int = 0
    escalations: int = 0
    """Escalation steps taken (reminders, widened reviewers, answers by an escalation step)."""
    by_default: int = 0
    """Questions answered by time (a deadline's default, or an escalation's answer step)."""


@dataclass
class Row:
    """One graph's or one reviewer's line."""

    name: str
    waiting: int = 0
    """Graph: its runs waiting now. Reviewer: waiting runs they may decide (their own name or role listed)."""
    holds: int = 0
    """Reviewer: waiting runs whose question they hold (claimed or delegated to them)."""
    oldest_since: datetime | None = None
    day: Window = field(default_factory=Window)
    week: Window = field(default_factory=Window)
    per_hour: list[int] = field(default_factory=lambda: [0] * HOURS)
    """Answers in each hour of the last day, oldest first (the last bucket ends now)."""


@dataclass
class Figures:
    at: datetime
    graphs: list[Row]
    reviewers: list[Row]
    total: Row
    sampled: int
    """Finished runs whose logs were read."""
    finished: int
    """Runs finished in the last week (all of them, counted): `sampled` < `finished` means a sample."""


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile (`p` in 0..100) of `values`; None for none: a value someone waited,
    never an interpolation between two."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def hourly(times: Iterable[datetime], now: datetime, hours: int = HOURS) -> list[int]:
    """How many of `times` fall in each of the last `hours` hours, oldest first; the last bucket ends at `now`."""
    buckets = [0] * hours
    for t in times:
        ago = (now - t).total_seconds() // 3600
        if 0 <= ago < hours:
            buckets[hours - 1 - int(ago)] += 1
    return buckets


@dataclass(frozen=True)
class Answer:
    """One person's answer, with how long its question had waited."""

    graph: str
    identity: str
    at: datetime
    waited_s: float


def answers(log: Log) -> list[Answer]:
    """The people's answers in a log, each with its time to decision (see the module's note)."""
    out: list[Answer] = []
    asked = log.created_at
    for d in sorted(log.decisions, key=lambda d: d.at):
        if d.kind == "resume" and d.identity != "run":
            out.append(Answer(log.graph, d.identity, d.at, max(0.0, (d.at - asked).total_seconds())))
        if d.kind not in DURING_PAUSE and not (d.kind == "resume" and _vote_pending(d, log.decisions)):
            asked = d.at
    return out


def _vote_pending(d: Decision, decisions: Sequence[Decision]) -> bool:
    """A vote after which the same question still waited (a later vote answers it): not a new question."""
    return d.interrupt_id is not None and any(
        o.interrupt_id == d.interrupt_id and o.kind == "resume" and o.at > d.at for o in decisions
    )


def compute(waiting: Sequence[Waiting], logs: Sequence[Log], now: datetime, finished: int) -> Figures:
    """The figures per graph, per reviewer and in total."""
    graphs: dict[str, Row] = {}
    people: dict[str, Row] = {}
    total = Row("all graphs")

    def row(table: dict[str, Row], name: str) -> Row:
        return table.setdefault(name, Row(name))

    for w in waiting:
        for r in (row(graphs, w.graph), total):
            r.waiting += 1
            if w.since and (r.oldest_since is None or w.since < r.oldest_since):
                r.oldest_since = w.since
        for who in set(w.reviewers):
            row(people, who).waiting += 1
        for who in set(w.assigned):
            row(people, who).holds += 1

    waited: dict[int, list[float]] = defaultdict(list)
    """Times to decision by window (`id` of a row's Window), for its percentiles."""
    for log in logs:
        for a in answers(log):
            for r in (row(graphs, a.graph), row(people, a.identity), total):
                for win in _windows(r, a.at, now):
                    win.answers += 1
                    waited[id(win)].append(a.waited_s)
                r.per_hour = [x + y for x, y in zip(r.per_hour, hourly([a.at], now), strict=True)]
        for refusal in log.refused:
            for r in (row(graphs, log.graph), row(people, refusal.identity), total):
                for win in _windows(r, refusal.at, now):
                    win.refusals += 1
        for d in log.decisions:
            climbed = d.kind == "escalate" or (d.kind == "deadline" and d.identity == "escalation")
            by_default = d.kind == "deadline" and d.identity in BY_DEFAULT
            for r in (row(graphs, log.graph), total):
                for win in _windows(r, d.at, now):
                    win.escalations += climbed
                    win.by_default += by_default

    for r in [*graphs.values(), *people.values(), total]:
        for win in (r.day, r.week):
            win.p50_s, win.p95_s = percentile(waited[id(win)], 50), percentile(waited[id(win)], 95)
    return Figures(
        at=now,
        graphs=sorted(graphs.values(), key=lambda r: (-r.waiting, r.name)),
        reviewers=sorted(people.values(), key=lambda r: (-r.week.answers, -r.waiting, r.name)),
        total=total,
        sampled=len(logs),
        finished=finished,
    )


def _windows(r: Row, at: datetime, now: datetime) -> list[Window]:
    """The row's windows that `at` falls in (the last day's, the last week's)."""
    return [win for span, win in ((DAY, r.day), (WEEK, r.week)) if timedelta(0) <= now - at <= span]


def waited(seconds: float | None) -> str:
    """A duration as people read it: 45 s, 12 min, 3.5 h, 2.1 d."""
    if seconds is None:
        return "–"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            n = seconds / size
            return f"{n:.0f} {unit}" if n >= 10 or unit == "min" else f"{n:.1f} {unit}"
    return f"{seconds:.0f} s"
