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
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

import pydantic

from hitl.human_interrupt import implied_schema
from hitl.protocol.finite import non_finite
from hitl.protocol.limits import MAX_QUESTION_BYTES, MAX_STATE_BYTES, too_large
from hitl.protocol.policy import schema_refused
from hitl.protocol.schema import schema_unusable
from hitl.protocol.wire import DEADLINE_EXPIRED, CallOutcome, InterruptRequest, TaskCall, TaskOutcome
from hitl.row_card import Summary, card
from hitl.state import one_line, to_json
from hitl.types import AnswerWith, CalledGraphFailed, EscalationStep, HitlError, Quorum, Remind, Vote, Widen

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


class CallableGraph(Protocol):
    """What a node may call (a `CompiledGraph`; named so here, as hitl.graph imports this module)."""

    name: str

    def validate_input(self, data: Any) -> dict[str, Any]: ...


class GraphCallRequested(Exception):
    """Raised by `CompiledGraph.invoke()` inside a node for a call not made yet: the node stops, the activity
    hands the run the call (`NodeResult.call`), and the node runs again once the called graph ended.

    Do not catch it in node code (as `GraphInterrupt`); if you must, re-raise it.
    """

    def __init__(self, graph: CallableGraph, input: dict[str, Any], index: int) -> None:
        super().__init__(f"call #{index} of graph '{graph.name}'")
        self.graph, self.input, self.index = graph, input, index


@dataclass
class _NodeScope:
    node: str
    resumes: Sequence[Any]
    calls: int = field(default=0)
    called: Sequence[CallOutcome] = ()
    """How the graphs this node called on its earlier runs ended, in call order."""
    invokes: int = 0
    done: Sequence[TaskOutcome] = ()
    """How the `@task` calls of this node's earlier runs ended, in call order (hitl/functional.py)."""
    tasks: int = 0
    asked: list[TaskCall] = field(default_factory=list)
    """The `@task` calls of this run past `done`: the run runs them (`NodeResult.tasks`)."""
    stopped: str | None = None
    """What stopped the node (`interrupt #0`, `call #0 of graph 'x'`): set when it raises to stop it. Should the
    node return all the same, node code caught that (an `except Exception` around it), and the stop was lost."""


_scope: contextvars.ContextVar[_NodeScope | None] = contextvars.ContextVar("hitl_node_scope", default=None)
_in_task: contextvars.ContextVar[str | None] = contextvars.ContextVar("hitl_task", default=None)
"""The `@task` whose activity runs here: it cannot pause (interrupt()) nor call tasks (hitl/functional.py)."""


class TasksRequested(Exception):
    """Raised where an entrypoint's body needs the result of a `@task` call not run yet: the body stops, the
    activity hands the run every such call made so far (`NodeResult.tasks`), and the body runs again once
    they ended. Do not catch it in the body (as `GraphInterrupt`); if you must, re-raise it."""

    def __init__(self, calls: list[TaskCall]) -> None:
        super().__init__(f"{len(calls)} task call(s) to run: {', '.join(c.name for c in calls)}")
        self.calls = calls


# A quorum question returns every answer, with who gave it.
@overload
def interrupt(
    value: Any,
    *,
    quorum: int | Quorum,
    schema: Any = None,
    reviewers: Sequence[str] | None = None,
    timeout: timedelta | None = None,
    default: Any = ...,
    escalate: Sequence[Remind | Widen | AnswerWith] | None = None,
    title: str | None = None,
    summary: Summary | None = None,
) -> list[Vote]: ...
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
    escalate: Sequence[Remind | Widen | AnswerWith] | None = None,
    title: str | None = None,
    summary: Summary | None = None,
) -> T: ...
@overload
def interrupt(
    value: Any,
    *,
    schema: TypeForm[T],
    reviewers: Sequence[str] | None = None,
    timeout: timedelta | None = None,
    default: Any = ...,
    escalate: Sequence[Remind | Widen | AnswerWith] | None = None,
    title: str | None = None,
    summary: Summary | None = None,
) -> T: ...
@overload
def interrupt(
    value: Any,
    *,
    schema: dict[str, Any] | None = None,
    reviewers: Sequence[str] | None = None,
    timeout: timedelta | None = None,
    default: Any = ...,
    escalate: Sequence[Remind | Widen | AnswerWith] | None = None,
    title: str | None = None,
    summary: Summary | None = None,
) -> Any: ...
def interrupt(
    value: Any,
    *,
    schema: Any = None,
    reviewers: Sequence[str] | None = None,
    timeout: timedelta | None = None,
    default: Any = _NO_DEFAULT,
    quorum: int | Quorum | None = None,
    escalate: Sequence[Remind | Widen | AnswerWith] | None = None,
    title: str | None = None,
    summary: Summary | None = None,
) -> Any:
    """Ask a person: pause the run with `value` shown, return their answer on resume.

    `value` must be JSON-serialisable. `schema` (a pydantic model or any type)
    declares the answer (or pass a JSON Schema dict): its JSON Schema is
    published with the pending interrupt, answers that do not fit are refused before they reach the run,
    and the answer is returned as that type. `reviewers` names who may answer:
    identities, or `role:NAME` for callers holding that role (anyone if not
    given). Identities and roles are what the caller asserts unless the
    Temporal cluster authenticates clients (docs/security.md).

    `timeout` sets a deadline on a durable Temporal timer: when nobody answers
    in time, `default` is the answer (recorded as decided by the deadline), or,
    without a default, `interrupt()` raises `DeadlineExceeded`, which the node
    may catch to route elsewhere (escalation).

    `quorum` (a number, or a `Quorum` policy) makes the question take that many
    people: it stays pending until `n` distinct allowed people answered (or an
    answer in `Quorum.veto` came), and `interrupt()` returns every answer as a
    `Vote(identity, value, at)`, oldest first; `schema` applies to each answer.
    By default the person who started the run may not answer. A deadline with a
    default adds a vote from `deadline` carrying the default.

    `escalate` is a ladder instead of one deadline, each step counted from
    when the question was asked and taken on a durable timer (recorded):
    `Remind(after)` calls the graph's notify hook again, `Widen(after,
    reviewers)` lets more people answer, `AnswerWith(after, value)` answers
    (the last step; a quorum question gets it as a vote from `escalation`).

    `title` and `summary` say what the inbox row shows of the question: a title, and the keys of `value`
    to show as `key: value` (or a function from `value` to the fields to show); each is cut to one line.
    """
    scope = _scope.get()
    if scope is None:
        if (task := _in_task.get()) is not None:
            raise HitlError(
                f"interrupt() was called inside @task '{task}': hitl runs a task as an activity of its own, which "
                "cannot pause; call interrupt() in the entrypoint's body (or a graph node) instead"
            )
        raise HitlError("interrupt() was called outside a graph node; call it inside a node function")
    index = scope.calls
    scope.calls += 1
    policy = _quorum(quorum, reviewers, scope.node)
    if policy is not None:
        reviewers = policy.of  # a Quorum(of=...) names the reviewers: a ladder may widen them
    ladder = _ladder(escalate, reviewers, scope.node)
    raw_schema = schema if isinstance(schema, dict) else None  # a JSON Schema given as is
    adapter = pydantic.TypeAdapter(schema) if schema is not None and raw_schema is None else None
    if index < len(scope.resumes):
        answer = scope.resumes[index]
        if answer == DEADLINE_EXPIRED:
            raise DeadlineExceeded(
                f"nobody answered interrupt #{index} of node '{scope.node}' within {timeout}; "
                "catch DeadlineExceeded in the node to route elsewhere, or give interrupt() a default"
            )
        if policy is not None:
            return [
                Vote(
                    identity=v["identity"], value=_typed(adapter, v["value"], index, scope.node), at=_time(v.get("at"))
                )
                for v in answer
            ]
        return _typed(adapter, answer, index, scope.node)
    json_schema = adapter.json_schema() if adapter is not None else raw_schema
    shown = to_json(value, what=f"interrupt value in node '{scope.node}'")
    if schema is None:  # a question in Agent Inbox's shape says what it takes (hitl/human_interrupt.py)
        json_schema = implied_schema(shown)
    refused = too_large(
        [shown, default if default is not _NO_DEFAULT else None, [s.value for s in ladder]],
        MAX_QUESTION_BYTES,
        f"the interrupt() value of node '{scope.node}'",
    )
    if refused:
        raise HitlError(refused)
    if json_schema is not None:  # checked now, in the node: a schema no answer can pass would wedge the question
        if unusable := schema_unusable(json_schema, f"the answer schema of interrupt() in node '{scope.node}'"):
            raise HitlError(unusable)
    for what, given in (
        ("value", shown),
        ("default", None if default is _NO_DEFAULT else default),
        ("AnswerWith values", [s.value for s in ladder]),
    ):
        if refused := non_finite(given, f"the interrupt() {what} of node '{scope.node}'"):
            raise HitlError(refused)
    if json_schema is not None:  # what time answers with must be an answer the question takes
        timed = [
            (f"the AnswerWith value of escalation step {n}", s.value)
            for n, s in enumerate(ladder)
            if s.action == "answer"
        ]
        if default is not _NO_DEFAULT:
            timed.append(("the timeout default", to_json(default, what=f"interrupt default in node '{scope.node}'")))
        for what, given in timed:
            if unfit := schema_refused(given, json_schema, what):
                raise HitlError(f"{unfit} (interrupt() in node '{scope.node}'); give a value the schema takes")
    row = card(shown, title, summary, f"interrupt() in node '{scope.node}'")
    scope.stopped = f"interrupt() #{index}"
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
            quorum=policy,
            escalation=ladder,
            title=row.title if row else None,
            summary=row.fields if row else None,
        )
    )


def _ladder(
    steps: Sequence[Remind | Widen | AnswerWith] | None, reviewers: Sequence[str] | None, node: str
) -> list[EscalationStep]:
    """An escalation ladder, checked: steps in time order, an answer only last, widening a limited question."""
    out: list[EscalationStep] = []
    for n, step in enumerate(steps or []):
        where = f"escalation step {n} of interrupt() in node '{node}'"
        if not isinstance(step, Remind | Widen | AnswerWith):
            raise HitlError(
                f"{where} is {step!r}; use Remind(after), Widen(after, reviewers) or AnswerWith(after, value)"
            )
        if not isinstance(step.after, timedelta) or step.after <= timedelta(0):
            raise HitlError(f"{where} needs `after` as a positive timedelta; got {step.after!r}")
        if out and step.after.total_seconds() < out[-1].after_s:
            raise HitlError(
                f"{where} comes after {step.after}, earlier than the step before it; list steps in time order"
            )
        if out and out[-1].action == "answer":
            raise HitlError(f"{where} follows AnswerWith, which answers the question; make AnswerWith the last step")
        if isinstance(step, Widen):
            if not reviewers:
                raise HitlError(f"{where} widens a question anyone may answer already; give interrupt() reviewers")
            if not step.reviewers or not all(isinstance(r, str) and r for r in step.reviewers):
                raise HitlError(f"{where} needs reviewers: identities or role:NAME")
            out.append(
                EscalationStep(action="widen", after_s=step.after.total_seconds(), reviewers=list(step.reviewers))
            )
        elif isinstance(step, AnswerWith):
            value = to_json(step.value, what=f"the AnswerWith value of {where}")
            out.append(EscalationStep(action="answer", after_s=step.after.total_seconds(), value=value))
        else:
            out.append(EscalationStep(action="remind", after_s=step.after.total_seconds()))
    return out


def _typed(adapter: pydantic.TypeAdapter[Any] | None, answer: Any, index: int, node: str) -> Any:
    if adapter is None:
        return answer
    try:
        return adapter.validate_python(answer)
    except pydantic.ValidationError as e:  # the edge validated it; this is a deploy skew
        raise HitlError(f"answer to interrupt #{index} of node '{node}' does not fit: {one_line(e)}") from None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _quorum(quorum: int | Quorum | None, reviewers: Sequence[str] | None, node: str) -> Quorum | None:
    """The quorum policy of an interrupt() call, checked: one clear line for a policy that cannot work."""
    if quorum is None:
        return None
    if isinstance(quorum, bool) or not isinstance(quorum, int | Quorum):
        raise HitlError(f"interrupt(quorum=...) in node '{node}' takes a number or a Quorum; got {quorum!r}")
    policy = Quorum(quorum, of=list(reviewers) if reviewers else None) if isinstance(quorum, int) else quorum
    if policy.of is not None and reviewers and list(reviewers) != list(policy.of):
        raise HitlError(
            f"interrupt() in node '{node}' names reviewers twice (reviewers={list(reviewers)} and "
            f"Quorum(of={policy.of})); give them once"
        )
    if isinstance(policy.n, bool) or not isinstance(policy.n, int) or policy.n < 1:
        raise HitlError(
            f"the quorum of interrupt() in node '{node}' must be a whole number of at least 1; got {policy.n!r}"
        )
    people = [r for r in policy.of or [] if not r.startswith("role:")]
    if policy.of and policy.distinct and len(people) == len(policy.of) and len(set(people)) < policy.n:
        raise HitlError(
            f"interrupt() in node '{node}' asks {policy.n} different people out of {sorted(set(people))}: "
            "it could never close; name more reviewers (or a role:NAME) or lower the quorum"
        )
    return Quorum(
        policy.n,
        list(policy.of) if policy.of else None,
        policy.distinct,
        policy.requester_may_approve,
        list(policy.veto),
    )


def call_graph(graph: CallableGraph, input: Any) -> dict[str, Any]:
    """`graph.invoke(input)` inside a node: the final values of the graph's run, started by the node's run as a
    run of its own (its questions asked on the node's run). Calls are matched by order, as `interrupt()` calls
    are: a call made on an earlier run of the node returns how it ended (or raises `CalledGraphFailed`); the
    first new one stops the node until the called graph's run ends."""
    scope = _scope.get()
    if scope is None:
        raise HitlError(
            f"graph '{graph.name}': invoke() runs a graph only inside a node of another graph (as its subgraph); "
            f"to start a run of it, use client.start('{graph.name}', input)"
        )
    index = scope.invokes
    scope.invokes += 1
    if index < len(scope.called):
        outcome = scope.called[index]
        if outcome.graph is not None and outcome.graph != graph.name:
            raise HitlError(
                f"node '{scope.node}' calls graph '{graph.name}' as its call #{index}, but its earlier run called "
                f"graph '{outcome.graph}' there; a node must make the same calls in the same order on every run "
                "(calls are matched by order): choose the graph from the state, not from a counter, a clock or chance"
            )
        if outcome.values is None:
            raise CalledGraphFailed(
                f"graph '{graph.name}' called by node '{scope.node}' (call #{index}) did not finish: {outcome.error}"
            )
        return dict(outcome.values)
    given = graph.validate_input(input)
    # The call travels in the node's result (Temporal's 2 MB) and starts a run whose state holds it: said here,
    # naming the call, rather than as the SDK's PayloadsTooLarge on the node.
    refused = too_large(given, MAX_STATE_BYTES, f"the input of graph '{graph.name}' called by node '{scope.node}'")
    if refused:
        raise HitlError(refused)
    scope.stopped = f"call #{index} of graph '{graph.name}'"
    raise GraphCallRequested(graph, given, index)


def caught_stop() -> str | None:
    """Why the node returning now is a mistake: it was stopped (a question to ask, a graph to call) and its
    code caught that; None when it was not stopped."""
    scope = _scope.get()
    if scope is None or scope.stopped is None:
        return None
    return (
        f"node '{scope.node}' returned after its {scope.stopped} stopped it: node code caught the stop (an "
        "`except Exception` around it?), so the question would never be asked or the graph never called; "
        "re-raise hitl's GraphInterrupt and GraphCallRequested (or catch narrower exceptions)"
    )


def node_scope(
    node: str, resumes: Sequence[Any], called: Sequence[CallOutcome] = (), done: Sequence[TaskOutcome] = ()
) -> contextvars.Token[_NodeScope | None]:
    """Enter the scope of one node execution (the activity calls this)."""
    return _scope.set(_NodeScope(node, resumes, called=called, done=done))


def current_scope() -> _NodeScope | None:
    """The node (or entrypoint body) running here, if any."""
    return _scope.get()


def unrun_tasks() -> list[TaskCall]:
    """The `@task` calls the node running here made past those already run (its activity hands them over)."""
    scope = _scope.get()
    return list(scope.asked) if scope is not None else []


def task_scope(name: str) -> contextvars.Token[str | None]:
    """Enter the activity of one `@task` call (hitl/functional.py)."""
    return _in_task.set(name)


def current_task() -> str | None:
    return _in_task.get()


def leave_task(token: contextvars.Token[str | None]) -> None:
    _in_task.reset(token)


def reset_scope(token: contextvars.Token[_NodeScope | None]) -> None:
    _scope.reset(token)
