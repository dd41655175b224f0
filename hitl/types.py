"""The user-facing vocabulary of hitl, in one place.

Names follow LangGraph (`START`, `END`, `Command`, `Interrupt`, `StateSnapshot`)
so a LangGraph user changes only the import line. Every type here is a plain
dataclass made of JSON values: the same objects travel through Temporal
(workflow queries and updates) and reach the user unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, Literal, TypeVar

START = "__start__"
"""The virtual node a run begins at: `add_edge(START, "first")`."""

END = "__end__"
"""The virtual node a run ends at: `add_edge("last", END)`."""

RunStatus = Literal["running", "interrupted", "completed", "failed", "cancelled"]
"""Where a run is: working, waiting for a person, or finished one of three ways."""


@dataclass(frozen=True)
class Send:
    """Run `node` once with `arg` as its input, in the next step (LangGraph's map-reduce fan-out).

    Return a list of them from a conditional edge's router (mixed with node
    names), or from a node as `Command(goto=Send(...))`. Each Send is its own
    task: its own activity, its own `interrupt()` ids; its update is merged into
    the state through the reducers with the rest of the step. `arg` travels as
    JSON, so the node receives JSON values (a pydantic model arrives as its dict).
    """

    node: str
    arg: Any


Goto = str | Send | Sequence[str | Send] | None

DecisionKind = Literal[
    "resume",
    "update_state",
    "goto",
    "deadline",
    "cancel",
    "fork",
    "executed",
    "claim",
    "release",
    "delegate",
    "escalate",
    "rollback",
    "notify",
]
"""What a person (or a deadline) did to a run; "executed" records what ran after a decision (audit only);
"claim", "release" and "delegate" who held a question (a release by "expiry" is a claim's timer);
"escalate" a step of an escalation ladder (a reminder, widened reviewers);
"rollback" an answer put back because the node it released failed; "notify" what the graph's notify hook
sent at a pause (or that it failed), by identity "notify"."""


@dataclass(frozen=True, kw_only=True)
class Command:
    """Steer a run: as a node's return value, or as the input of `resume()`.

    From a node: `update` is the node's state update and `goto` names the
    node(s) to run next (on top of the node's static edges).

    As resume input: `resume` answers the pending interrupt(s) (one value, or a
    map of interrupt id to value), `update` is applied to the state through the
    reducers before the run continues, and `goto` adds the named node(s) to the
    paused step, as LangGraph does: they run alongside the nodes still to run
    (a question left unanswered stays pending; with `update`, its node asks
    again about the changed state).
    """

    update: dict[str, Any] | None = None
    goto: Goto = None
    resume: Any = None
    graph: str | None = None
    """`Command.PARENT` from a node of a subgraph: `update` and `goto` are for the graph that runs the
    subgraph as a node (applied through its reducers; `goto` names its nodes), and the subgraph's run
    ends there, as LangGraph's `Command(graph=Command.PARENT, ...)` does."""

    PARENT: ClassVar[str] = "__parent__"


@dataclass(frozen=True)
class Quorum:
    """A question that takes `n` people: `interrupt(value, quorum=Quorum(2, of=["alice", "bob", "role:finance"]))`.

    The question stays pending until `n` answers from allowed people are in (`of`, identities or
    `role:NAME`; anyone when None). With `distinct`, the same identity counts once: a second answer
    from it is refused. Unless `requester_may_approve`, the identity that started the run may not
    answer. An answer in `veto` (say `["reject"]`) closes the question at once: the first rejection
    wins. The node's `interrupt()` returns every answer as a `Vote`, in the order they came.
    """

    n: int
    of: list[str] | None = None
    distinct: bool = True
    requester_may_approve: bool = False
    veto: list[Any] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Vote:
    """One person's answer to a quorum question: who, what, when."""

    identity: str
    value: Any
    at: datetime | None = None


@dataclass(frozen=True)
class Remind:
    """An escalation step: `after` the question was asked, call the graph's notify hook again."""

    after: timedelta


@dataclass(frozen=True)
class Widen:
    """An escalation step: `after` the question was asked, `reviewers` may answer it too."""

    after: timedelta
    reviewers: list[str]


@dataclass(frozen=True)
class AnswerWith:
    """An escalation step: `after` the question was asked, `value` is the answer (the last step)."""

    after: timedelta
    value: Any


@dataclass(frozen=True, kw_only=True)
class EscalationStep:
    """One step of a question's escalation ladder as the run keeps it: what, and when it falls due."""

    action: Literal["remind", "widen", "answer"]
    after_s: float
    reviewers: list[str] | None = None
    value: Any = None
    due: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Interrupt:
    """A question a node asked a person with `interrupt(value)`.

    `id` is deterministic and unique per `interrupt()` call; answer it with
    `resume({id: answer})`. `schema` is the JSON Schema the answer must meet
    when the node declared one (`interrupt(value, schema=Model)`). A question
    with a `quorum` lists the answers counted so far in `votes`. `claimed_by`
    (an identity or `role:NAME`) holds the question until `claimed_until`:
    nobody else may answer it meanwhile. `escalation` is its ladder (each
    step's `due` time), of which the first `escalated` steps were taken.
    """

    id: str
    value: Any
    node: str
    step: int = 0
    index: int = 0
    schema: dict[str, Any] | None = None
    reviewers: list[str] | None = None
    deadline: datetime | None = None
    quorum: Quorum | None = None
    votes: list[Vote] = field(default_factory=list)
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    escalation: list[EscalationStep] = field(default_factory=list)
    escalated: int = 0
    title: str | None = None
    """The inbox row's title of the question (`interrupt(value, title=...)`, or the action of a review)."""
    summary: dict[str, str] | None = None
    """The `key: value` fields the inbox row shows (`interrupt(value, summary=[keys])`), each one short line."""


@dataclass(frozen=True, kw_only=True)
class Decision:
    """One human decision applied to a run: who, when, what.

    `question` is what the person was shown when answering an interrupt, so the
    record says which version was approved. Values over a few kB are kept as a
    stub naming their size (the whole value stays in the Temporal history).

    `patch` is an edit's RFC 6902 JSON Patch from the state before to the state
    after (a stub naming its size when large, as values are). `seq`, `prev_hash` and `hash` place the record in the run's
    tamper-evident chain (`hitl/protocol/audit.py`; None on runs from before it).
    """

    kind: DecisionKind
    identity: str
    at: datetime
    step: int
    value: Any = None
    interrupt_id: str | None = None
    node: str | None = None
    question: Any = None
    request_id: str | None = None
    patch: Any = None
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None


@dataclass(frozen=True, kw_only=True)
class Refusal:
    """A decision the run refused after it was sent (a signal cannot be refused up front), or an answer
    it put back because the node run again on it failed (`rolled_back`; see docs/durability.md).

    Updates are refused before they reach the run and leave no trace; a signal
    is in the history already, so its refusal is recorded here instead of
    being dropped silently.
    """

    identity: str
    at: datetime
    reason: str
    request_id: str | None = None
    rolled_back: bool = False


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """The state after one step of a run, as `get_state_history()` lists it.

    `source` says what produced it: "input" (the run's input), "loop" (a step of
    nodes), "update" (a person's `update_state`), or "fork" (a new run forked
    from another run's checkpoint). `values` is None for a checkpoint whose
    state copy the run no longer keeps (before its last continue-as-new, or
    beyond its memory budget for time travel). `seq` numbers a run's
    checkpoints in order (several can share a step). `audit` holds the chain's
    records of what ran in this step after a decision (kind "executed"), and
    `audit_head` the hash of the chain's last record when the checkpoint was made.
    """

    step: int
    values: dict[str, Any] | None
    next: list[str]
    source: Literal["input", "loop", "update", "fork"]
    created_at: datetime
    writes: dict[str, Any] | None = None
    decisions: list[Decision] = field(default_factory=list)
    seq: int = 0
    sends: list[Send] = field(default_factory=list)
    """The step's tasks made by `Send` (their nodes lead `next`), so a fork runs them with their args."""
    audit: list[Decision] = field(default_factory=list)
    audit_head: str | None = None


@dataclass(frozen=True, kw_only=True)
class StateSnapshot:
    """What `run.get_state()` returns: a run's state as the workflow holds it.

    `decisions` lists the newest decisions (the checkpoints hold all of them);
    `refused` the decisions sent as signals that the run refused; `guarded_by`
    the reviewer lists of the restricted questions this run has asked: anyone
    changing the run other than by answering must satisfy each of them;
    `audit_head` the hash of the newest record of the run's decision chain;
    `held` how many decisions sent as signals wait for the run's next pause.
    """

    run_id: str
    graph: str
    status: RunStatus
    values: dict[str, Any]
    next: list[str]
    step: int
    interrupts: list[Interrupt]
    created_at: datetime
    updated_at: datetime
    paused_at: datetime | None = None
    breakpoint: Literal["before", "after"] | None = None
    error: str | None = None
    decisions: list[Decision] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    guarded_by: list[list[str]] = field(default_factory=list)
    audit_head: str | None = None
    held: int = 0
    """Decisions sent as signals (an `enqueue` answer, `send_resume`) held until the run's next pause."""


ContextT = TypeVar("ContextT")


def _no_writer(chunk: Any) -> None:
    """The stream writer outside a node: what is written goes nowhere."""


@dataclass(frozen=True, kw_only=True)
class Runtime(Generic[ContextT]):
    """What a node taking a `runtime` parameter gets (LangGraph's `langgraph.runtime.Runtime`).

    `context` is the run's context (`client.start(..., context=Ctx(...))`), rebuilt in the node's
    activity as the graph's `context_schema` (None when the run was started without one);
    `stream_writer` is the node's `get_stream_writer()`. There is no long-term `store` (None) and no
    functional API's `previous` (None): they are here so LangGraph code reading them runs.
    """

    context: ContextT = None  # type: ignore[assignment]
    stream_writer: Callable[[Any], None] = _no_writer
    store: Any = None
    previous: Any = None


@dataclass(frozen=True, kw_only=True)
class Queued:
    """What `Run.resume(..., queue=True)` returns when no worker is up: the decision is a
    signal in the run's history, applied when a worker is back."""

    run_id: str

    def __str__(self) -> str:
        return (
            f"accepted: run {self.run_id} has no worker right now; the decision is queued in its history "
            f"and applies when a worker is back (check with hitl state {self.run_id})"
        )


class HitlError(Exception):
    """Base of every error hitl raises on purpose; its message is one clear line."""


class GraphValidationError(HitlError):
    """The graph definition is wrong (duplicate node, unknown edge target, ...)."""


class InvalidInputError(HitlError):
    """Input (a run's input, a state edit, a CLI argument) does not fit."""


class InvalidUpdateError(HitlError):
    """A node's output does not fit the state (unknown key, two writes to a key)."""


class UnknownGraphError(HitlError):
    """No graph of that name is known here."""


class RunNotFoundError(HitlError):
    """No run with that id exists on the Temporal namespace."""


class RunAlreadyExistsError(HitlError):
    """A run with that id exists already."""


class DecisionRejectedError(HitlError):
    """The run refused a human decision; nothing was written to its history."""


class RunFailedError(HitlError):
    """The run ended failed or cancelled; the message says why and where to look."""


class CalledGraphFailed(HitlError):
    """A graph a node called (`subgraph.invoke()` inside the node) failed or was cancelled: raised in the node,
    which may catch it; uncaught, the node fails with it."""


class AuditChainBroken(HitlError):
    """A run's decision chain, or an export of it, does not verify: the message names the first
    broken record."""


class KeyMismatchError(HitlError):
    """This process and the run's payloads, or this client and the workers, hold different
    encryption keys (or one side none); nothing was sent, so nothing is stored unreadable."""


class NoWorkerError(HitlError):
    """No worker polls the task queue: a run or decision sent now would wait unseen, so nothing was sent."""
