"""What a pause waits for, and what falls due: deadlines, claims running out, escalation steps.

The workflow waits on one durable Temporal timer, set for `next_due`; when it fires, it runs these rules in
the order `GraphWorkflow._on_timer` gives and carries out the effects they return.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Container
from datetime import datetime
from typing import Any

from hitl.protocol.wire import DEADLINE_EXPIRED, PendingTask, Phase, RunState
from hitl.types import EscalationStep, Interrupt, Vote
from hitl.workflows.core import records
from hitl.workflows.core.answers import replace_in, vote_json
from hitl.workflows.core.effects import Effect, Notify, Publish, TellParent


@dataclasses.dataclass(frozen=True, kw_only=True)
class Due:
    """When the pause must wake by itself: its own questions' first deadline, and the first of anything due."""

    deadline: datetime | None
    at: datetime | None


def next_due(run: RunState, subgraphs: Container[int]) -> Due:
    """The first deadline of the run's own questions, the first claim to run out (any question's: claims
    live on this run's copy), and the next escalation step of its own questions."""
    own = [i for t in run.tasks if id(t) not in subgraphs for i in t.interrupts]
    deadline = min((i.deadline for i in own if i.deadline), default=None)
    claimed = min((i.claimed_until for i in records.pending(run) if i.claimed_until), default=None)
    ladder = min((s.due for i in own for s in i.escalation[i.escalated :][:1] if s.due), default=None)
    return Due(deadline=deadline, at=min((t for t in (deadline, claimed, ladder) if t is not None), default=None))


def answer_by_default(
    run: RunState, task: PendingTask, interrupt: Interrupt, who: str, default: tuple[bool, Any], now: datetime
) -> None:
    """Time answered a question (`default`: whether there is a value, and the value): with the value (a quorum
    question: the votes so far and this one), or, with none, the node is told time ran out."""
    has_value, value = default
    if interrupt.quorum is not None and has_value:
        votes = [*interrupt.votes, Vote(identity=who, value=value, at=now)]
        task.resumes.append([vote_json(v) for v in votes])
    else:
        task.resumes.append(value if has_value else DEADLINE_EXPIRED)
    task.interrupts = [i for i in task.interrupts if i.id != interrupt.id]
    records.retire(run, interrupt.id, f"answered by its {who} at {records.when(now)}")
    records.note(run, "deadline", who, value if has_value else None, (interrupt.id, task.node), now)


def expire_deadlines(run: RunState, subgraphs: Container[int], now: datetime) -> None:
    """Answer each overdue question of the run's own with its default, or tell the node time ran out."""
    for task in run.tasks:
        own = id(task) not in subgraphs
        for interrupt in [i for i in task.interrupts if i.deadline and i.deadline <= now and own]:
            ask = task.defaults[interrupt.id]
            answer_by_default(run, task, interrupt, "deadline", (ask.has_default, ask.default), now)
    run.phase = Phase.RESUMED


def expire_claims(run: RunState, now: datetime) -> bool:
    """Free the questions whose claim ran out (recorded as released by "expiry"); any freed?"""
    freed = False
    for task in run.tasks:
        for interrupt in list(task.interrupts):
            if interrupt.claimed_until is not None and interrupt.claimed_until <= now:
                replace_in(task, dataclasses.replace(interrupt, claimed_by=None, claimed_until=None))
                records.note(run, "release", "expiry", interrupt.claimed_by, (interrupt.id, task.node), now)
                freed = True
    return freed


def escalate(
    run: RunState, subgraphs: Container[int], now: datetime, *, notify: bool, parent: bool
) -> tuple[bool, list[Effect]]:
    """Take every escalation step of the run's own questions that fell due, in order, each recorded: any
    taken, and what to carry out (a reminder's notification, the run published, a parent told)."""
    taken = False
    effects: list[Effect] = []
    for task in run.tasks:
        if id(task) in subgraphs:
            continue
        for interrupt in list(task.interrupts):
            climbed, reminders = _climb(run, task, interrupt, now)
            taken = taken or climbed
            effects += [Notify() for _ in range(reminders) if notify]
    if taken:
        effects.append(Publish())
        if parent and run.phase is Phase.ASKING:
            effects.append(TellParent())  # the parent answers by this list
    return taken, effects


def _climb(run: RunState, task: PendingTask, interrupt: Interrupt, now: datetime) -> tuple[bool, int]:
    """Take one question's due steps: any taken, and how many were reminders."""
    taken, reminders = False, 0
    while interrupt.escalated < len(interrupt.escalation):
        step = interrupt.escalation[interrupt.escalated]
        if step.due is None or step.due > now:
            break
        taken = True
        if step.action == "answer":
            answer_by_default(run, task, interrupt, "escalation", (True, step.value), now)
            run.phase = Phase.RESUMED
            break
        interrupt = replace_in(
            task, dataclasses.replace(interrupt, escalated=interrupt.escalated + 1, reviewers=_widened(interrupt, step))
        )
        detail = {"step": interrupt.escalated - 1, "action": step.action, "reviewers": step.reviewers}
        records.note(run, "escalate", "escalation", detail, (interrupt.id, task.node), now)
        reminders += step.action == "remind"
    return taken, reminders


def _widened(interrupt: Interrupt, step: EscalationStep) -> list[str] | None:
    if step.action != "widen":
        return interrupt.reviewers
    return list(dict.fromkeys([*(interrupt.reviewers or []), *(step.reviewers or [])]))
