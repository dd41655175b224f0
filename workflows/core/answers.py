"""Answers and votes: what a person's answer does to the question it answers, and putting answers back."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Container
from datetime import datetime
from typing import Any

from hitl.protocol.limits import clip, shorten
from hitl.protocol.patches import ANSWER_ROLLBACK
from hitl.protocol.policy import quorum_met
from hitl.protocol.wire import Answered, PendingTask, ResumeRequest, RunState
from hitl.types import Interrupt, Vote
from hitl.workflows.core import records


def replace_in(task: PendingTask, changed: Interrupt) -> Interrupt:
    """Put a changed copy of one of the task's questions in its place (questions are frozen values)."""
    task.interrupts = [changed if i.id == changed.id else i for i in task.interrupts]
    return changed


def vote_json(vote: Vote) -> dict[str, Any]:
    """A vote as the node's activity receives it (interrupt() turns it back into a Vote)."""
    return {"identity": vote.identity, "value": vote.value, "at": vote.at.isoformat() if vote.at else None}


def only_votes(req: ResumeRequest, answered: dict[str, Any], pending: list[Interrupt]) -> bool:
    """Does this decision only add votes to quorum questions that stay open after them?"""
    if req.update or req.goto:
        return False
    by_id = {i.id: i for i in pending}
    return bool(answered) and all(
        (q := by_id[i].quorum) is not None
        and not quorum_met(q, [*by_id[i].votes, Vote(identity=req.identity, value=v)])
        for i, v in answered.items()
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Given:
    """One answer given: the task whose question it answered, and whether it closed the question."""

    task: PendingTask
    closed: bool


def give(
    run: RunState,
    req: ResumeRequest,
    answer: tuple[str, Any],
    now: datetime,
    *,
    subgraphs: Container[int],
    patched: Callable[[str], bool],
    update_id: str | None,
    recorded_at: datetime | None = None,
) -> Given:
    """Apply one answer (`answer`: the question's id and the value) to its question: a vote is counted and
    the question closes once its quorum is met; a closed question is retired and, for the run's own node,
    the answer goes to the node's next run. Recorded; kept to put back should that run fail (ANSWER_ROLLBACK).
    A subgraph's question (its task's id in `subgraphs`) is the caller's to pass down. The record is dated
    `recorded_at` (the workflow's clock when it is written, which moves on while earlier answers went down to
    a subgraph), else `now`."""
    interrupt_id, value = answer
    task = next(t for t in run.tasks if any(i.id == interrupt_id for i in t.interrupts))
    asked = next(i for i in task.interrupts if i.id == interrupt_id)
    asked, given, closed = _count(task, asked, Vote(identity=req.identity, value=value, at=now))
    if closed:
        task.interrupts = [i for i in task.interrupts if i.id != interrupt_id]
        records.retire(run, interrupt_id, f"answered by {_who(asked, req.identity)} at {records.when(now)}")
    at = recorded_at or now
    records.record(run, "resume", req, at, value, interrupt_id=interrupt_id, node=task.node, question=clip(asked.value))
    if closed and patched(ANSWER_ROLLBACK):  # a vote that leaves it open releases nothing
        task.answered.append(
            Answered(
                interrupt=asked,  # with its votes: put back, it is asked again and counted anew
                identity=req.identity,
                request_id=req.request_id,
                update_id=update_id,
            )
        )
    if closed and id(task) not in subgraphs:
        task.resumes.append(given)
    return Given(task=task, closed=closed)


def _who(asked: Interrupt, identity: str) -> str:
    """Who answered a closed question: its voters, or the one who answered."""
    return ", ".join(v.identity for v in asked.votes) if asked.quorum is not None else identity


def _count(task: PendingTask, asked: Interrupt, vote: Vote) -> tuple[Interrupt, Any, bool]:
    """An answer to `asked`: the question as it stands after it, what its node gets, and whether it closed.
    A quorum question counts it as a vote and closes once its quorum is met; any other closes at once."""
    quorum = asked.quorum
    if quorum is None:
        return asked, vote.value, True
    asked = replace_in(task, dataclasses.replace(asked, votes=[*asked.votes, vote]))
    return asked, [vote_json(v) for v in asked.votes], quorum_met(quorum, asked.votes)


def vote_request_id(run: RunState, asked: Interrupt, vote: Vote) -> str | None:
    """The request id a vote came with: a resend of it would be taken as done, so say it was put back."""
    return next(
        (
            d.request_id
            for d in reversed(run.decisions)
            if d.kind == "resume" and d.interrupt_id == asked.id and d.identity == vote.identity
        ),
        None,
    )


def void_votes(run: RunState, identity: str, changed_at: datetime, subgraphs: Container[int], now: datetime) -> None:
    """A decision changed the state (at `changed_at`) under this run's open quorum questions: the votes given
    on the old state stop counting (what N people approved must be what runs). Each is put back and recorded
    (at `now`); the question stays pending with the same id and no votes. State only: no command, no patch."""
    line = f"{identity} changed the state at {records.when(changed_at)}; vote again on the new state"
    for task in run.tasks:
        if id(task) in subgraphs:  # a subgraph's question is about the subgraph's own state
            continue
        for asked in [i for i in task.interrupts if i.quorum is not None and i.votes]:
            replace_in(task, dataclasses.replace(asked, votes=[]))
            for vote in asked.votes:
                why = shorten(
                    f"vote {shorten(vote.value, 80)} to interrupt {asked.id} (node '{asked.node}') was withdrawn, "
                    f"the question is pending again with no votes: {line}",
                    600,
                )
                who = (vote.identity, vote_request_id(run, asked, vote))
                records.put_back(run, task.node, who, (asked.id, vote.value), line, why, now)


def note_rollback(run: RunState, task: PendingTask, error: str, now: datetime) -> list[tuple[str, str]]:
    """Record each of the task's answers as put back: on `refused` and in the decisions. A quorum question
    is put back with no votes: each earlier vote is recorded as put back too. Returns the line for each
    waiting caller, by update id (one that did not wait is never told)."""
    line = " ".join(error.split())
    told: list[tuple[str, str]] = []
    for answer in task.answered:
        asked = answer.interrupt
        given = next((d.value for d in reversed(run.decisions) if d.interrupt_id == asked.id), None)
        reason = shorten(
            f"answer {shorten(given, 80)} to interrupt {asked.id} (node '{asked.node}') "
            f"was rolled back, the question is pending again: {line}",
            600,
        )
        records.put_back(run, task.node, (answer.identity, answer.request_id), (asked.id, given), line, reason, now)
        if answer.update_id is not None:
            told.append((answer.update_id, reason))
        for vote in asked.votes[:-1]:  # the last is this answer's own
            dropped = shorten(
                f"vote {shorten(vote.value, 80)} to interrupt {asked.id} (node '{asked.node}') was put back with "
                f"the answer by {answer.identity} that closed its quorum, the question is pending again with no "
                f"votes: vote again; {line}",
                600,
            )
            who = (vote.identity, vote_request_id(run, asked, vote))
            records.put_back(run, task.node, who, (asked.id, vote.value), line, dropped, now)
    return told


def roll_back(run: RunState, task: PendingTask, error: str, now: datetime) -> list[tuple[str, str]]:
    """The node run again because of people's answers failed for good (or the step's writes did): drop
    its result, put the answers' questions back as pending (same ids) and record why. The run waits on.
    Returns the lines for waiting callers (`note_rollback`)."""
    task.result = None
    del task.resumes[len(task.resumes) - len(task.answered) :]
    task.interrupts = [dataclasses.replace(a.interrupt, votes=[]) for a in task.answered]
    for interrupt in task.interrupts:
        run.retired.pop(interrupt.id, None)
    told = note_rollback(run, task, error, now)
    task.answered = []
    return told
