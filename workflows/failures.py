"""How a run's step fails, and the one line that says why.

Raised by the Temporal calls (`calls.py`) and the workflow's step, caught by the workflow's run loop and its
decision handlers; the line is what the run's `error` and a refused caller read.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

T = TypeVar("T")


class StepFailed(Exception):
    """The pending step cannot go on: the run fails with this line (unless answers or a change are put back)."""


class Surfaced(StepFailed):
    """A step failure noticed at once, even while the run waits (under the CHILD_FAILURES patch): a subgraph's
    run that cannot be started or reached, or that failed."""


class Cancelled(Exception):
    """A cancel was applied: the run ends cancelled."""


class RanAhead(Exception):
    """This copy of the run was run ahead of its history by a query (`checks.ran_ahead`). Not a step's failure:
    it fails the activation, so Temporal keeps none of it and the next task replays the run from its history."""


async def rejecting(work: Coroutine[Any, Any, T]) -> T:
    """A state write that fails while a decision is applied refuses that decision (its caller sees why)."""
    try:
        return await work
    except StepFailed as e:
        raise ApplicationError(str(e), type="DecisionRejected") from None


def cause(error: BaseException) -> str:
    """The innermost cause of a Temporal failure, as one line (an application error's type first)."""
    while error.__cause__ is not None:
        error = error.__cause__
    if isinstance(error, ApplicationError):
        return f"{error.type}: {error.message}" if error.type else error.message
    return str(error)


def not_started(error: BaseException) -> str:
    """Why a subgraph's run could not start, in words."""
    if isinstance(error, WorkflowAlreadyStartedError):
        return "a run with that id exists already (started by someone else); the subgraph cannot run"
    return cause(error)
