"""Putting a person's change of state back: pure rules, no commands.

An edit that withdrew questions, or an `update` sent with answers, sends nodes
to run again on the changed state. Should they fail for good (or the step's
writes fail), the workflow puts the change back (patch `hitl-edit-rollback`):
these functions say what it keeps, what the state becomes, and the line that
tells people why.
"""

from __future__ import annotations

from typing import Any, Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from hitl._limits import shorten
    from hitl._protocol import Undo
    from hitl.types import Interrupt


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
