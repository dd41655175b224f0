"""The queue's figures (hitl/stats/figures.py) and its plots (hitl/web/svg.py), from rows: no server."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

from hitl.stats.figures import Log, Waiting, answers, compute, hourly, percentile, waited
from hitl.types import Decision, Refusal
from hitl.web import svg

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
SVG = "{http://www.w3.org/2000/svg}"


def ago(**kw: float) -> datetime:
    return NOW - timedelta(**kw)


def d(kind: str, who: str, at: datetime, interrupt: str | None = "q") -> Decision:
    return Decision(kind=kind, identity=who, at=at, step=1, interrupt_id=interrupt)  # type: ignore[arg-type]


def test_percentile_is_the_nearest_rank_a_value_someone_waited() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 100) == 100.0


def test_hourly_buckets_end_now_oldest_first_and_drop_what_is_outside() -> None:
    got = hourly([ago(minutes=1), ago(minutes=59), ago(minutes=61), ago(hours=23, minutes=59), ago(hours=24)], NOW)
    assert len(got) == 24
    assert got[-1] == 2 and got[-2] == 1 and got[0] == 1
    assert sum(got) == 4
    assert hourly([NOW + timedelta(minutes=5)], NOW) == [0] * 24  # a clock ahead of ours: in no bucket


def test_time_to_decision_runs_from_the_previous_step_not_from_claims_or_escalations() -> None:
    log = Log(
        "g",
        ago(hours=3),
        [
            d("claim", "alice", ago(hours=2, minutes=50)),
            d("escalate", "escalation", ago(hours=2, minutes=40)),
            d("resume", "alice", ago(hours=2)),  # 1 h after the start
            d("executed", "run", ago(hours=2) + timedelta(seconds=30), None),
            d("resume", "bob", ago(hours=1), "q2"),  # a second question, asked when the nodes after the first ran
        ],
    )
    got = answers(log)
    assert [(a.identity, a.waited_s) for a in got] == [("alice", 3600.0), ("bob", 3570.0)]


def test_a_quorum_s_votes_each_wait_from_when_the_question_was_asked() -> None:
    log = Log("g", ago(hours=3), [d("resume", "alice", ago(hours=2)), d("resume", "bob", ago(hours=1))])
    assert [a.waited_s for a in answers(log)] == [3600.0, 7200.0]


def test_figures_per_graph_per_reviewer_and_in_total() -> None:
    waiting = [
        Waiting("approval", ago(hours=5), reviewers=["alice", "role:ops"], assigned=["alice"]),
        Waiting("approval", ago(minutes=5), reviewers=["*"]),
        Waiting("triage", ago(days=2), reviewers=["bob"]),
    ]
    logs = [
        Log("approval", ago(hours=2), [d("resume", "alice", ago(hours=1))]),  # 1 h, today
        Log("approval", ago(days=3), [d("resume", "bob", ago(days=3) + timedelta(minutes=10))]),  # 10 min, this week
        Log(
            "triage",
            ago(hours=4),
            [d("escalate", "escalation", ago(hours=3)), d("deadline", "escalation", ago(hours=2))],
            refused=[Refusal(identity="carol", at=ago(hours=3), reason="not yours")],
        ),
        Log("triage", ago(days=8), [d("resume", "bob", ago(days=8))]),  # older than a week: not counted
    ]
    f = compute(waiting, logs, NOW, finished=10)
    by_graph = {r.name: r for r in f.graphs}
    by_person = {r.name: r for r in f.reviewers}
    assert [r.name for r in f.graphs] == ["approval", "triage"]  # most waiting first
    assert by_graph["approval"].waiting == 2 and by_graph["approval"].oldest_since == ago(hours=5)
    assert by_graph["triage"].oldest_since == ago(days=2)
    assert f.total.waiting == 3 and f.total.oldest_since == ago(days=2)
    a = by_graph["approval"]
    assert (a.day.answers, a.day.p50_s) == (1, 3600.0)
    assert (a.week.answers, a.week.p50_s, a.week.p95_s) == (2, 600.0, 3600.0)
    assert a.per_hour[-2] == 1 and sum(a.per_hour) == 1  # the answer an hour ago; the 3-day-old one is not in 24 h
    t = by_graph["triage"]
    assert (t.week.answers, t.week.refusals, t.week.escalations, t.week.by_default) == (0, 1, 2, 1)
    assert (t.day.escalations, t.day.by_default) == (2, 1)
    assert (by_person["alice"].waiting, by_person["alice"].holds, by_person["alice"].day.answers) == (1, 1, 1)
    assert (by_person["bob"].waiting, by_person["bob"].week.answers, by_person["bob"].day.answers) == (1, 1, 0)
    assert by_person["bob"].week.p50_s == 600.0
    assert by_person["carol"].week.refusals == 1
    assert by_person["*"].waiting == 1 and by_person["role:ops"].waiting == 1
    assert (f.total.week.answers, f.total.week.refusals, f.total.week.by_default) == (2, 1, 1)
    assert (f.sampled, f.finished) == (4, 10)


def test_nothing_at_all_gives_empty_figures() -> None:
    f = compute([], [], NOW, finished=0)
    assert f.graphs == [] and f.reviewers == [] and f.total.waiting == 0 and f.total.week.p50_s is None


def test_durations_read_as_people_read_them() -> None:
    assert [waited(x) for x in (None, 45, 720, 5400, 86400 * 2.5, 86400 * 12)] == [
        "–",
        "45 s",
        "12 min",
        "1.5 h",
        "2.5 d",
        "12 d",
    ]


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # raises on anything not well-formed


def test_bars_are_well_formed_svg_with_a_title_and_one_per_bar() -> None:
    plot = svg.bars('Waiting <now> & "then"', [("approval", 3), ("a" * 40, 1.5), ("zero", 0)], " min")
    root = parse(plot)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == 'Waiting <now> & "then"'
    assert root.get("aria-labelledby") == title.get("id")
    bars = [g.find(f"{SVG}title") for g in root.findall(f"{SVG}g")]
    assert [b.text for b in bars if b is not None] == ["approval: 3 min", f"{'a' * 40}: 1.5 min", "zero: 0 min"]
    widths = [float(r.get("width") or 0) for r in root.iter(f"{SVG}rect")]
    assert widths[0] > widths[1] > widths[2] == 0


def test_columns_name_each_hour_and_an_empty_plot_says_so() -> None:
    root = parse(svg.columns("Answers per hour", [0, 2, 1], ["09:00", "10:00", "11:00"], ("then", "now")))
    assert [g.find(f"{SVG}title").text for g in root.findall(f"{SVG}g")] == ["09:00: 0", "10:00: 2", "11:00: 1"]  # type: ignore[union-attr]
    empty = parse(svg.bars("Nothing", []))
    assert "nothing yet" in "".join(empty.itertext())


def test_two_plots_on_a_page_have_different_title_ids() -> None:
    one, two = parse(svg.bars("a", [("x", 1)])), parse(svg.bars("b", [("x", 1)]))
    assert one.get("aria-labelledby") != two.get("aria-labelledby")
