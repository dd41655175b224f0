"""Everything the CLI prints, and how: JSON with --json, aligned lines for a person otherwise.

Commands return data (a `Shown`) or print through `say`; every character a
terminal acts on is escaped here, so a run id or value can neither break the
layout nor drive the terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO

from hitl.client.batch import BatchReport
from hitl.client.client import PendingRun, RunInfo
from hitl.graph import CompiledGraph
from hitl.payloads.blob_gc import Collected, span
from hitl.protocol import finite
from hitl.protocol.limits import shorten
from hitl.protocol.row_memo import words
from hitl.protocol.wire import ANYONE
from hitl.stats.figures import Figures, Row, Window, waited
from hitl.types import Checkpoint, HitlError, StateSnapshot


@dataclass(frozen=True)
class Shown:
    """A command's answer: `data` (printed as JSON with --json) and how a person reads it."""

    data: Any
    render: Callable[[Any], list[str]]
    failure: HitlError | None = None
    """Raised once the data is shown: a script must not read a failed run whose state was printed as success."""
    code: int = 0


def emit(shown: Shown, *, as_json: bool) -> None:
    """Print a command's answer: as JSON for machines, else as the lines its renderer makes, for a person."""
    if as_json:
        print(to_json(plain(shown.data), indent=2), flush=True)
    else:
        say(*shown.render(shown.data))


def say(*lines: str, file: TextIO | None = None) -> None:
    """Print lines for a person, each escaped: a run id or value can neither break the layout nor drive the terminal."""
    print("\n".join(escape(line) for line in lines), file=file or sys.stdout, flush=True)


def fail(message: str) -> None:
    """The one `error: ...` line of a refusal, on stderr."""
    say(f"error: {message}", file=sys.stderr)


def json_line(value: Any) -> None:
    """One JSON value on one line (`hitl watch --json`: a line per event)."""
    print(to_json(value), flush=True)


def raw(line: str) -> None:
    """A line exactly as given: `hitl audit`'s export, which a later `--verify` reads back byte for byte."""
    print(line, flush=True)


def escape(text: str, *, in_json: bool = False) -> str:
    """Characters a terminal acts on (control characters, line breaks, bidi overrides) as
    escapes: `\\x1b` in text, `\\u001b` inside JSON (still the same JSON value; json.dumps
    splits no string across lines, so a line at a time is safe). Letters print as themselves."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _json_escape(c) if in_json else repr(c)[1:-1] for c in text)


def _json_escape(c: str) -> str:
    """`c` as JSON `\\uXXXX` escapes (a surrogate pair beyond the BMP)."""
    units = c.encode("utf-16-be", "surrogatepass")
    return "".join(f"\\u{int.from_bytes(units[i : i + 2], 'big'):04x}" for i in range(0, len(units), 2))


def to_json(value: Any, indent: int | None = None) -> str:
    """JSON as the CLI prints it, for machines and people alike: letters as themselves, what a
    terminal acts on as `\\u` escapes, so a value shown can be pasted back as --value."""
    text = finite.dumps(value, indent=indent, default=str, ensure_ascii=False)
    return "\n".join(escape(line, in_json=True) for line in text.split("\n"))


def plain(data: Any) -> Any:
    """Dataclasses as dicts, for JSON."""
    if is_dataclass(data) and not isinstance(data, type):
        return asdict(data)
    if isinstance(data, list):
        return [plain(d) for d in data]
    return data


def when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else "-"


def table(headers: list[str], rows: list[list[str]], empty: str = "nothing to show") -> list[str]:
    """Aligned columns; cells are escaped first, so the widths are those shown."""
    if not rows:
        return [empty]
    cells = [[escape(str(x)) for x in r] for r in [headers, *rows]]
    widths = [max(len(x) for x in col) for col in zip(*cells, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*r).rstrip() for r in cells]


# ------------------------------------------------------------------ runs


def state(s: StateSnapshot) -> list[str]:
    values = to_json(s.values, indent=2).split("\n")
    lines = [
        f"run      {s.run_id}  (graph {s.graph})",
        f"status   {s.status}" + (f" since {when(s.paused_at)}" if s.paused_at else "") + f"  (step {s.step})",
        f"next     {', '.join(s.next) or '-'}",
        f"values   {values[0]}",
        *(f"         {line}" for line in values[1:]),
    ]
    if s.breakpoint:
        lines.append(
            f"paused   at a breakpoint {s.breakpoint} {', '.join(s.next) if s.breakpoint == 'before' else 'the last step'}"
        )
        lines.append(f"continue with: hitl resume {s.run_id}")
    for i in s.interrupts:
        lines.append(f"waiting  [{i.id}] {i.node}: {to_json(i.value)}")
        if i.schema:
            lines.append(f"         answer must fit: {to_json(i.schema)}")
        if i.claimed_by is not None:
            lines.append(f"         claimed by {i.claimed_by} until {when(i.claimed_until)}")
        if i.quorum is not None:
            voted = ", ".join(f"{v.identity} ({to_json(v.value)})" for v in i.votes) or "nobody yet"
            lines.append(f"         needs {i.quorum.n} people, {len(i.votes)} answered: {voted}")
    if s.interrupts:
        if len(s.interrupts) == 1:
            lines.append(f"answer with: hitl resume {s.run_id} --value JSON")
        else:
            lines.append(f"answer with: hitl resume {s.run_id} --map '{{\"{s.interrupts[0].id}\": ...}}'")
    for r in s.refused:
        what = "a decision by {} (its node failed on it)" if r.rolled_back else "a decision by {} sent as a signal"
        lines.append(f"refused  {when(r.at)} {what.format(r.identity)}: {r.reason}")
    if s.guarded_by:
        lines.append(f"guarded  changes other than answers need someone allowed by each of: {s.guarded_by}")
    if s.error:
        lines.append(f"error    {s.error}")
    return lines


def history(checkpoints: list[Checkpoint]) -> list[str]:
    lines = []
    for c in checkpoints:
        who = "; ".join(
            f"{d.kind} by {d.identity}" + (f" -> {to_json(d.value)}" if d.value is not None else "")
            for d in c.decisions
        )
        lines.append(
            f"step {c.step:>3}  {c.source:<6}  next: {', '.join(c.next) or '-':<20} {when(c.created_at)}"
            + (f"  [{who}]" if who else "")
        )
        lines.append(f"          values: {to_json(c.values) if c.values is not None else '(no longer kept)'}")
    return lines or ["no checkpoints"]


def result(value: Any) -> list[str]:
    return to_json(value, indent=2).split("\n")


def started(run_id: str, graph: str, ui_url: str) -> list[str]:
    return [f"started run {run_id} (graph {graph})", f"  state:  hitl state {run_id}", f"  web UI: {ui_url}"]


def forked(run_id: str, source: str, step: int) -> list[str]:
    return [f"forked run {run_id} from {source} at step {step}", f"  state:  hitl state {run_id}"]


def runs(infos: list[RunInfo]) -> list[str]:
    rows = [[r.run_id, r.graph, r.status, when(r.started_at)] for r in infos]
    return table(["RUN ID", "GRAPH", "STATUS", "STARTED"], rows, empty="no runs yet")


def inbox(pending: list[PendingRun]) -> list[str]:
    rows = [
        [p.run_id, p.graph, ",".join(p.nodes), shorten(words(p.summary), 60), when(p.waiting_since)] for p in pending
    ]
    headers = ["RUN ID", "GRAPH", "NODE", "WAITING FOR", "SINCE"]
    if any(p.assigned for p in pending):  # claims: who holds a question (where the server indexes it)
        headers.append("HELD BY")
        rows = [[*row, ",".join(p.assigned)] for row, p in zip(rows, pending, strict=True)]
    return table(headers, rows, empty="nobody is waiting: the inbox is empty")


def graphs(known: list[CompiledGraph]) -> list[str]:
    return table(["GRAPH", "NODES"], [[g.name, ", ".join(g.nodes)] for g in known])


# -------------------------------------------------------------- decisions


def signal_sent(run_id: str) -> list[str]:
    return [
        f"decision sent to run {run_id} as a signal: it applies when the run next pauses, "
        f"or is refused there and listed by `hitl state {run_id}`"
    ]


def batch(report: BatchReport) -> list[str]:
    shown = {"would_apply": "", "already_applied": "already applied", "applied": "applied"}
    lines = []
    for r in report.results:
        what = r.reason if r.outcome == "would_apply" else shown.get(r.outcome, r.outcome)
        extra = (
            f": {r.reason}"
            if r.outcome in ("refused", "unreachable")
            else (f" ({r.reason})" if r.outcome == "already_applied" else "")
        )
        lines.append(f"{r.run_id}  {what}{extra}")
    counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in report.counts().items()) or "no waiting run matched"
    verb = "would answer" if report.dry_run else "answered"
    lines.append(f"batch id {report.batch_id}: {verb} {len(report.results)} run(s): {counts}")
    if not report.ok:
        lines.append(
            f"resend with --batch-id {report.batch_id} to retry: runs that have the answer are not answered twice"
        )
    return lines


def link(made: dict[str, Any], expires_at: datetime) -> list[str]:
    return [
        made["url"],
        f"lets {made['identity']} answer interrupt {made['interrupt_id']} of run {made['run_id']} once, until {when(expires_at)} UTC",
    ]


# -------------------------------------------------------------------- ops


def collected(done: Collected, store_url: str, namespace: str, grace: timedelta) -> list[str]:
    verb = "would delete" if done.dry_run else "deleted"
    return [
        f"{store_url}: {done.blobs} blobs; {done.named} named by the {done.runs} histories of namespace "
        f"'{namespace}'; {done.young} named by none but written within {span(grace)} (kept); "
        f"{verb} {len(done.deleted)} ({done.deleted_bytes:,} bytes)",
        *([f"  {key}" for key in done.deleted] if done.dry_run else []),
    ]


# ------------------------------------------------------------------ stats


def stats(f: Figures) -> list[str]:
    """The queue's picture as two tables (per graph, per reviewer) and where the figures come from."""

    def window(w: Window) -> list[str]:
        return [str(w.answers), waited(w.p50_s), waited(w.p95_s)]

    def ago(r: Row) -> str:
        return waited((f.at - r.oldest_since).total_seconds() if r.oldest_since else None)

    graphs = [
        [r.name, str(r.waiting), ago(r), *window(r.day), *window(r.week), str(r.week.refusals)]
        + [str(r.week.escalations), str(r.week.by_default)]
        for r in [*f.graphs, f.total]
    ]
    people = [
        [
            "(anyone)" if r.name == ANYONE else r.name,
            str(r.waiting),
            str(r.holds),
            *window(r.day),
            *window(r.week),
            str(r.week.refusals),
        ]
        for r in f.reviewers
    ]
    spans = ["ANSWERS 24H", "P50 24H", "P95 24H", "ANSWERS 7D", "P50 7D", "P95 7D"]
    sampled = f"the newest {f.sampled} of them: a sample" if f.sampled < f.finished else f"all {f.sampled}"
    return [
        *table(["GRAPH", "WAITING", "OLDEST", *spans, "REFUSED 7D", "ESCALATIONS 7D", "BY DEFAULT 7D"], graphs),
        "",
        *table(["REVIEWER", "MAY DECIDE", "HOLDS", *spans, "REFUSED 7D"], people, empty="no reviewer named yet"),
        "",
        f"answers, times and refusals from the decision logs of runs finished in the last 7 days ({f.finished}; {sampled})",
    ]
