"""`interrupt()`: pause the graph inside a node and ask a person.

A node that calls `interrupt(value)` stops there; the run waits, for as long as
it takes, until someone resumes it. Then the node runs again **from its start**
and this time `interrupt()` returns the person's answer. Code before an
`interrupt()` therefore runs again on resume: keep side effects after it, or
make them idempotent (or put them in a node of their own).

Several `interrupt()` calls in one node are matched by order: on each resume
the calls already answered return their saved answers, and the first
unanswered one pauses the run again.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar, overload

import pydantic

from hitl._limits import MAX_QUESTION_BYTES, too_large
from hitl._protocol import DEADLINE_EXPIRED, InterruptRequest
from hitl.state import one_line, to_json
from hitl.types import HitlError

if TYPE_CHECKING:
    from typing_extensions import TypeForm

T = TypeVar("T")
_NO_DEFAULT: Any = object()


class GraphInterrupt(Exception):
    """Raised by `interrupt()` to stop the node; the activity turns it into a question.

    Do not catch it in node code (a bare `except Exception` would swallow the
    pause); if you must, re-raise it.
    """

    def __init__(self, request: InterruptRequest) -> None:
        super().__init__(f"interrupt #{request.index}")
        self.request = request


class DeadlineExceeded(HitlError):
    """Nobody answered an `interrupt(..., timeout=...)` in time, and it had no default."""


@dataclass
class _NodeScope:
    node: str
    resumes: Sequence[Any]
    calls: int = field(default=0)


_scope: contextvars.ContextVar[_NodeScope | None] = contextvars.ContextVar("hitl_node_scope", default=None)


# The answer's static type follows `schema`: a class gives an instance of it, any
# other type expression (`Literal["approve", "reject"]`, `int | None`, `list[Item]`)
# gives that type, and a JSON Schema dict (or no schema) gives Any.
@overload
def interrupt(
    value: Any,
    *,
    schema: type[T],
    reviewers: Sequence[str] | None = None,
    timeout: timedelta | None = None,
    default: Any = ...,
) -> T: ...
@overload
def interrupt(
    value: Any,
    *,
    schema: TypeForm[T],
    reviewers: Sequence[str] | None = None,
    timeout: timedelta | None = None,
    default: Any = ...,
) -> T: ...
@overload
def interrupt(
    value: Any,
    *,
    schema: dict[str, Any] | None = None,
    reviewers: Sequence[str] | None = None,
    timeout: timedelta | None = None,
    default: Any = ...,
) -> Any: ...
def interrupt(
    value: Any,
    *,
    schema: Any = None,
    reviewers: Sequence[str] | None = None,
    timeout: timedelta | None = None,
    default: Any = _NO_DEFAULT,
) -> Any:
    """Ask a person: pause the run with `value` shown, return their answer on resume.

    `value` must be JSON-serialisable. `schema` (a pydantic model or any type)
    declares the answer (or pass a JSON Schema dict): its JSON Schema is
    published with the pending interrupt, answers that do not fit are refused before they reach the run,
    and the answer is returned as that type. `reviewers` names who may answer:
    identities, or `role:NAME` for callers holding that role (anyone if not
    given). Identities and roles are what the caller asserts unless the
    Temporal cluster authenticates clients (see the README).

    `timeout` sets a deadline on a durable Temporal timer: when nobody answers
    in time, `default` is the answer (recorded as decided by the deadline), or,
    without a default, `interrupt()` raises `DeadlineExceeded`, which the node
    may catch to route elsewhere (escalation).
    """
    scope = _scope.get()
    if scope is None:
        raise HitlError("interrupt() was called outside a graph node; call it inside a node function")
    index = scope.calls
    scope.calls += 1
    raw_schema = schema if isinstance(schema, dict) else None  # a JSON Schema given as is
    adapter = pydantic.TypeAdapter(schema) if schema is not None and raw_schema is None else None
    if index < len(scope.resumes):
        answer = scope.resumes[index]
        if answer == DEADLINE_EXPIRED:
            raise DeadlineExceeded(
                f"nobody answered interrupt #{index} of node '{scope.node}' within {timeout}; "
                "catch DeadlineExceeded in the node to route elsewhere, or give interrupt() a default"
            )
        if adapter is None:
            return answer
        try:
            return adapter.validate_python(answer)
        except pydantic.ValidationError as e:  # the edge validated it; this is a deploy skew
            raise HitlError(
                f"answer to interrupt #{index} of node '{scope.node}' does not fit: {one_line(e)}"
            ) from None
    json_schema = adapter.json_schema() if adapter is not None else raw_schema
    shown = to_json(value, what=f"interrupt value in node '{scope.node}'")
    refused = too_large(
        [shown, default if default is not _NO_DEFAULT else None],
        MAX_QUESTION_BYTES,
        f"the interrupt() value of node '{scope.node}'",
    )
    if refused:
        raise HitlError(refused)
    raise GraphInterrupt(
        InterruptRequest(
            index=index,
            value=shown,
            schema=json_schema,
            reviewers=list(reviewers) if reviewers else None,
            timeout_s=timeout.total_seconds() if timeout is not None else None,
            has_default=default is not _NO_DEFAULT,
            default=None
            if default is _NO_DEFAULT
            else to_json(default, what=f"interrupt default in node '{scope.node}'"),
        )
    )


def node_scope(node: str, resumes: Sequence[Any]) -> contextvars.Token[_NodeScope | None]:
    """Enter the scope of one node execution (the activity calls this)."""
    return _scope.set(_NodeScope(node, resumes))


def reset_scope(token: contextvars.Token[_NodeScope | None]) -> None:
    _scope.reset(token)
