"""Decisions about the run as a whole: its start from a fork, a cancel, an edit that withdraws the questions
under it, and its end."""

from __future__ import annotations

from collections.abc import Container, Sequence
from datetime import datetime
from typing import Any

from hitl.protocol import topology
from hitl.protocol.limits import clip, json_size
from hitl.protocol.wire import CancelRequest, ForkFrom, Phase, ResumeRequest, RunState
from hitl.types import Checkpoint, Decision
from hitl.workflows.core import records


def fork(run: RunState, source: ForkFrom, identity: str, written: dict[str, Any], now: datetime) -> None:
    """Start the run from another run's checkpoint: its values, step and pending step, under its guard too (a
    fork may not escape the reviewers of the run it copies); recorded as a `fork` decision (`written`: the
    state the fork was asked to write over it, applied by the caller)."""
    run.values, run.step = dict(source.values), source.step
    run.sends = list(source.sends)
    run.next = topology.pulled(source.next, run.sends)
    run.guard += [list(g) for g in source.guard if list(g) not in run.guard]
    where = f"{source.run_id}@{source.step}"
    decision = Decision(kind="fork", identity=identity, at=now, step=run.step, value=clip(written or None), node=where)
    records.log(run, decision)


def carry(run: RunState, history: Sequence[Checkpoint]) -> list[int]:
    """A thread's next turn starts with the thread's earlier checkpoints, so its history steps and its
    decision chain continue the thread's (the chain's next record follows the highest sequence number
    carried). Returns each carried checkpoint's values size, for the history pages."""
    run.checkpoints = list(history)
    seqs = [d.seq for c in run.checkpoints for d in [*c.decisions, *c.audit] if d.seq is not None]
    run.audit_seq = 1 + max(seqs, default=-1)
    return [json_size(c.values) if c.values else 0 for c in run.checkpoints]


def cancel(run: RunState, req: CancelRequest, now: datetime) -> str:
    """Cancel the run: recorded, every pending question retired. Returns the run's error line."""
    records.remember(run, req, now)
    records.record(run, "cancel", req, now, req.reason or None)
    records.retire_all(run, f"cancelled with the run by {req.identity} at {records.when(now)}")
    return f"cancelled by {req.identity}" + (f": {req.reason}" if req.reason else "")


def withdraw(run: RunState, subgraphs: Container[int], reason: str) -> None:
    """The run's own pending questions are dropped (retired for `reason`): their nodes run again and ask again."""
    for task in run.tasks:
        if id(task) not in subgraphs and task.interrupts:
            for interrupt in task.interrupts:
                records.retire(run, interrupt.id, reason)
            task.interrupts = []


def finish(run: RunState, ended: Phase) -> tuple[Phase, list[tuple[ResumeRequest, str]]]:
    """The run ended: returns the phase it was in, and the decisions held for a pause that never came, each
    with why it is refused (the caller records them; a resend of an applied decision is no refusal)."""
    was, run.phase = run.phase, ended
    reason = f"the run was {ended.status} before it paused again; nothing was applied"
    refused = [(req, reason) for req in run.held if not (req.request_id and req.request_id in run.requests)]
    run.held = []
    return was, refused
