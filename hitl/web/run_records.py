"""A thread's LangGraph runs, read off what its hitl run records (no run table, no side store).

In LangGraph a thread holds many runs: the start is one, and every resume is another with its own id.
A hitl thread is one Temporal workflow, and it records both already: the start (its creation time), and
each accepted decision in its decision log under the request id it was sent with. So the runs are
derived, and every web-server replica lists the same ones:

* the start: id `start_run_id(thread)` (a name-based uuid of the thread id, known before the run exists);
* each next turn (new input on the thread once its run completed, hitl/client/turns.py): the fork record that
  begins the turn's execution, id `turn_run_id(thread, step)` (a name-based uuid of the thread id and the
  turn's first step, known before the turn's execution exists), its kwargs the input; the turn carries the
  thread's checkpoints and so its decision chain, read whole from them once a thread has turns;
* each decision that resumed the run (kinds `resume`/`goto`), grouped by request id: the API sends each
  answer under a fresh uuid (or the caller's `Idempotency-Key`), which is the run's id;
* a decision the run refused after it was sent as a signal (an `enqueue` answer that no longer fit),
  under its request id, with status `error`.

The newest run takes its status from the thread's (running, or how it paused or ended); older ones
succeeded, but for an answer the run put back because its node failed on it (`error`). An answer sent
to wait (`enqueue`) is listed once the run applies it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import hitl
from hitl.protocol.limits import KEEP_DECISIONS
from hitl.types import Decision, StateSnapshot
from hitl.web import shapes

RUN_KINDS = ("resume", "goto")
"""Decision kinds that move a run on: each request carrying one is a LangGraph run."""

LAST_STATUS = {
    "running": "running",
    "interrupted": "success",  # LangGraph: a run that stopped at a question ran successfully
    "completed": "success",
    "failed": "error",
    "cancelled": "interrupted",  # LangGraph: a run cancelled with action 'interrupt'
}
"""The thread's hitl status -> its newest LangGraph run's status."""


def start_run_id(thread_id: str) -> str:
    """The start's run id: derived from the thread id, so it is known when the start returns at once."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hitl:{thread_id}:start"))


def turn_run_id(thread_id: str, step: int) -> str:
    """A next turn's run id: derived from the thread id and the step the turn begins at (its fork record's),
    so it is known when the turn's start returns at once; a thread's turns begin at ever later steps."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hitl:{thread_id}:turn:{step}"))


def is_turn(thread_id: str, d: Decision) -> bool:
    """The record that begins a next turn: a fork of the thread's own newest checkpoint, under its own id
    (a fork into a new thread names its source thread instead)."""
    return d.kind == "fork" and d.node == f"{thread_id}@{d.step}"


def decision_run_id(thread_id: str, d: Decision) -> str:
    """A decision's run id: its request id; one sent without (hitl's own UI or CLI) gets one from its place."""
    return d.request_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"hitl:{thread_id}:{d.seq}:{d.at.isoformat()}"))


@dataclass
class RunRecord:
    """One LangGraph run of a thread, as derived here."""

    run_id: str
    created_at: datetime
    status: str = "success"
    kwargs: dict[str, Any] = field(default_factory=dict)
    turn: bool = False
    """A thread's next turn (its parts start at the turn's fork, `events_start`)."""


def derive(snapshot: StateSnapshot, decisions: list[Decision], started: datetime | None = None) -> list[RunRecord]:
    """The thread's runs, oldest first, from its state and its decision records (oldest first); `started`:
    when its first run started, for a thread whose current execution is a later turn's."""
    thread = snapshot.run_id
    start = RunRecord(start_run_id(thread), started or snapshot.created_at, kwargs={"input": None, "command": None})
    runs = [start]
    by_id: dict[str, RunRecord] = {}
    answers: dict[str, dict[str, Any]] = {}
    for d in decisions:
        if is_turn(thread, d):
            kwargs = {"input": d.value, "command": None}
            runs.append(RunRecord(turn_run_id(thread, d.step), d.at, kwargs=kwargs, turn=True))
            continue
        rid = decision_run_id(thread, d)
        record = by_id.get(rid)
        if record is None and d.kind in RUN_KINDS:
            record = by_id[rid] = RunRecord(rid, d.at, kwargs={"input": None, "command": {}})
            runs.append(record)
        if record is None:
            continue
        if d.kind == "resume":
            answers.setdefault(rid, {})[d.interrupt_id or ""] = d.value
        elif d.kind == "goto":
            record.kwargs["command"]["goto"] = d.value
        elif d.kind == "rollback":
            record.status = "error"
    for rid, given in answers.items():  # one answer as it was sent; several as LangGraph's {interrupt_id: value}
        by_id[rid].kwargs["command"]["resume"] = next(iter(given.values())) if len(given) == 1 else given
    for r in snapshot.refused:
        if r.request_id and r.request_id not in by_id and not r.rolled_back:
            runs.append(RunRecord(r.request_id, r.at, status="error", kwargs={"error": r.reason}))
    runs.sort(key=lambda r: r.created_at)
    newest = runs[-1]
    ended_while_paused = snapshot.status == "cancelled" and snapshot.paused_at is not None  # its last run had ended
    if (newest.status != "error" or snapshot.status == "running") and not ended_while_paused:
        newest.status = LAST_STATUS[snapshot.status]
    return runs


async def events_start(
    run: hitl.Run, run_id: str, taken_at: datetime | None = None, *, turn: bool = False
) -> tuple[int, bool]:
    """Where a run's stream parts start in the thread's checkpoints, `(since, resuming)` (hitl/web/walk.py),
    from its record, so any replica rebuilds a run's stream from the thread's history alone.

    The start's parts start at the first checkpoint. A decision's (a resume) at the checkpoint it answered:
    the one before the checkpoint that records it, or the newest while none records it yet (the run is on
    its way, or has not applied an enqueued answer). Checkpoints are read newest first, back to when the
    decision was taken (`taken_at`, its record's `created_at`; None for one just sent: the newest page).
    A decision older than every checkpoint the run keeps has its parts start at the oldest one kept.
    Answers to one step share the checkpoint they answered (a node asking twice records both answers in
    the checkpoint it makes once done): each one's parts start there, and the walk opens them after the
    answers before it (hitl/web/walk.py)."""
    if run_id == start_run_id(run.run_id):
        return 0, False
    if turn:
        return await turn_events_start(run, run_id)
    read: list[int] = []  # seqs of the checkpoints read, newest first
    limit = 8
    while True:
        page = await run.get_state_history(limit=limit, before=read[-1] if read else None)
        for c in page:
            read.append(c.seq)
            if any(decision_run_id(run.run_id, d) == run_id for d in c.decisions):
                return max(c.seq - 1, 0), True
            if taken_at is None or c.created_at < taken_at:
                return read[0], True
        if not page or page[-1].seq == 0:
            return (read[-1] if read else 0), True
        limit *= 2


async def turn_events_start(run: hitl.Run, run_id: str) -> tuple[int, bool]:
    """A next turn's parts start at the fork checkpoint it began with (LangGraph's input checkpoint of that
    run, hitl/web/parts.py), so its stream sends that turn's parts only, whatever the thread did before.
    Checkpoints are read newest first until it is found (a turn's record is there once its start returned)."""
    before: int | None = None
    limit = 8
    while True:
        page = await run.get_state_history(limit=limit, before=before)
        for c in page:
            if c.source == "fork" and turn_run_id(run.run_id, c.step) == run_id:
                return c.seq, False
        if not page or page[-1].seq == 0:
            return (page[-1].seq if page else 0), False
        before, limit = page[-1].seq, limit * 2


async def thread_runs(run: hitl.Run, snapshot: StateSnapshot) -> list[RunRecord]:
    """The thread's runs, oldest first. The state keeps its newest decisions (of its current execution only:
    a next turn is a new one); past that many, or once the thread has turns, the whole decision chain is read
    from the run's checkpoints, and a turned thread's first run started at its oldest checkpoint."""
    decisions = snapshot.decisions
    turned = any(is_turn(snapshot.run_id, d) for d in decisions)
    if len(decisions) >= KEEP_DECISIONS or turned:
        decisions = (await run.audit()).records
    started = None
    if turned:
        oldest = (await run.get_state_history())[-1:]
        started = oldest[0].created_at if oldest else None
    return derive(snapshot, list(decisions), started)


def find(runs: list[RunRecord], run_id: str) -> RunRecord | None:
    return next((r for r in runs if r.run_id == run_id), None)


def record(snapshot: StateSnapshot, r: RunRecord, runs: list[RunRecord]) -> dict[str, Any]:
    """A run in LangGraph's Run shape; its `updated_at` is when the next run began (or the thread's last change)."""
    later = [x.created_at for x in runs if x.created_at > r.created_at]
    return shapes.run(
        snapshot.run_id,
        snapshot.graph,
        r.status,
        r.run_id,
        created_at=r.created_at,
        updated_at=min(later) if later else snapshot.updated_at,
        kwargs=r.kwargs,
    )
