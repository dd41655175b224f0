"""Putting a person's change of state back: pure rules, no commands.

An edit that withdrew questions, or an `update` sent with answers, sends nodes
to run again on the changed state. Should they fail for good (or the step's
writes fail), the workflow puts the change back (patch `hitl-edit-rollback`):
these functions say what it keeps, what the state becomes, and the line that
tells people why.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Literal

from hitl.protocol.limits import clip, shorten
from hitl.protocol.wire import RunState, Undo
from hitl.types import Interrupt
from hitl.workflows.core import answers, records
from hitl.workflows.core.steps import key


def undo_of(
    kind: Literal["edit", "update"],
    values: dict[str, Any],
    written: dict[str, Any],
    *,
    identity: str,
    request_id: str | None,
    update_id: str | None,
    tasks: list[str],
    asked: dict[str, list[Interrupt]] | None = None,
) -> Undo:
    """What putting back a change that wrote `written` over `values` (the state before it) needs: the old
    values of the keys it wrote, and which of them had none."""
    return Undo(
        kind=kind,
        identity=identity,
        request_id=request_id,
        update_id=update_id,
        written=written,
        before={k: values[k] for k in written if k in values},
        absent=[k for k in written if k not in values],
        tasks=tasks,
        asked=asked or {},
    )


def put_back(values: dict[str, Any], undo: Undo) -> dict[str, Any]:
    """The state as it was before the change: the keys it wrote get their old values back (or none)."""
    restored = {k: v for k, v in values.items() if k not in undo.absent}
    restored.update(undo.before)
    return restored


def rollback_reason(undo: Undo, error: str) -> str:
    """One line for `refused`, the waiting caller, `hitl state` and the inbox."""
    what = "edit" if undo.kind == "edit" else "update sent with the answer"
    keys = ", ".join(sorted(undo.written)) or "nothing"
    again = "the question is pending again" if undo.kind == "edit" else "the answer's question is pending again"
    line = " ".join(error.split())
    return shorten(
        f"{what} by {undo.identity} of {keys} was rolled back (the state is as before it), {again}: {line}", 600
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class PutBack:
    """What putting a change back did, for the workflow's bookkeeping."""

    reason: str
    """The change's own line (for its waiting caller)."""
    told: list[tuple[str, str]]
    """Why each answer put back with it was, by the update id of its waiting caller."""
    answers_put_back: int
    """How many of its tasks had answers put back (a subgraph's run tells its parent of each)."""


def put_back_change(run: RunState, undo: Undo, error: str, now: datetime) -> PutBack:
    """A node run again because of a person's change of state failed for good, or the step's writes did: the
    state goes back to before the change, and every node it sent to run again waits on its questions again
    (an edit's withdrawn ones, an update's answers put back). Recorded as an answer's rollback is: on
    `refused` and as a `rollback` decision. The caller stops what still runs those nodes."""
    run.values = put_back(run.values, undo)
    told: list[tuple[str, str]] = []
    rolled = 0
    for task in [t for t in run.tasks if key(t) in undo.tasks]:
        if undo.kind == "edit":
            task.result = None
            task.interrupts = list(undo.asked.get(key(task), []))
            for interrupt in task.interrupts:
                run.retired.pop(interrupt.id, None)
        elif task.answered:
            told += answers.roll_back(run, task, error, now)
            rolled += 1
    reason = rollback_reason(undo, error)
    records.refuse(run, undo.identity, undo.request_id, reason, now, rolled_back=True)
    asked = [i for t in run.tasks if key(t) in undo.tasks for i in t.interrupts]
    where = (asked[0].id if asked else None, ",".join(undo.tasks))
    value = {undo.kind: clip(undo.written), "error": " ".join(error.split())}
    records.note(run, "rollback", undo.identity, value, where, now, undo.request_id)
    return PutBack(reason=reason, told=told, answers_put_back=rolled)
