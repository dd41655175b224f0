"""Messages between the client, the graph workflow and the node activities.

Everything here is a plain dataclass of JSON values and is imported by the
workflow sandbox, so it must stay free of user code and of I/O. The graph's
topology travels as a `GraphSpec` captured when a run starts and kept for the
run's whole life: a paused run keeps its shape across deploys.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Literal

from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey

from hitl.protocol.limits import KEEP_DECISIONS
from hitl.protocol.patches import RUN_PATCHES as RUN_PATCHES  # the patch list's home; read here by clients and workers
from hitl.types import Checkpoint, Decision, EscalationStep, Interrupt, Quorum, Refusal, RunStatus, StateSnapshot

WORKFLOW_NAME = "hitl.Graph"
ROUTE_ACTIVITY = "hitl.route"
REDUCE_ACTIVITY = "hitl.reduce"
NOTIFY_ACTIVITY = "hitl.notify"
TASK_ACTIVITY = "hitl.task"
"""The activity running one `@task` call of an entrypoint (hitl/functional.py)."""
RAN_AHEAD = "a query ran this copy of the run ahead of its history"
"""What an activation failed by `workflows.failures.RanAhead` says: a query failing with it is asked again."""
DEFAULT_TASK_QUEUE = "hitl"

# Search attributes that keep waiting runs findable server-side (the inbox).
STATUS = SearchAttributeKey.for_keyword("HitlStatus")
PENDING_NODES = SearchAttributeKey.for_keyword_list("HitlPendingNodes")
WAITING_SINCE = SearchAttributeKey.for_datetime("HitlWaitingSince")
GRAPH = SearchAttributeKey.for_keyword("HitlGraph")
SEARCH_ATTRIBUTES = (STATUS, PENDING_NODES, WAITING_SINCE, GRAPH)
REVIEWERS = SearchAttributeKey.for_keyword_list("HitlReviewers")
"""Who may answer a waiting run's questions (reviewer entries, ANYONE for an open question): the
inbox's "I may decide" filter, server-side. Optional: runs index it only where it is registered."""
ANYONE = "*"
ASSIGNED = SearchAttributeKey.for_keyword_list("HitlAssigned")
"""Who holds a waiting run's questions (claim holders: identities, or role:NAME a question was delegated
to): the inbox's "assigned to me" filter, server-side. Optional, as HitlReviewers."""
OPTIONAL_SEARCH_ATTRIBUTES = (REVIEWERS, ASSIGNED)
SEARCH_ATTRIBUTE_TYPES = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
}
SUMMARY_MEMO = "hitl_pending"
THREAD_MEMO = "hitl_thread"
"""The memo of a thread's execution (its record, or a run started on it): `{"metadata": {...}, "created_at": ISO}`,
set at start, as `hitl serve` shows the thread (hitl/web/threads.py)."""
THREAD_WORKFLOW = "hitl.Thread"
"""The workflow type of a thread's record before its first run: an execution no worker ever runs (hitl/web/threads.py)."""

SUBGRAPH_RUN_MARK = "~"
"""Marks the id of a subgraph's run (`PARENT.node.step~NONCE`, see `hitl/protocol/topology.py`). Every start path
refuses it in a new run id (`hitl.client.client.check_run_id`), so nobody can start a run under a subgraph's id first
and leave its parent unable to start it."""

# What a node's interrupt() is resumed with when its deadline passed with no default.
DEADLINE_EXPIRED = {"__hitl__": "deadline_expired"}

ReducerKind = Literal["last_value", "add", "add_messages", "custom"]


@dataclass(frozen=True, kw_only=True)
class RetrySpec:
    """A Temporal retry policy in JSON-friendly form."""

    maximum_attempts: int = 3
    initial_interval_s: float = 1.0
    backoff_coefficient: float = 2.0
    maximum_interval_s: float | None = None
    non_retryable_error_types: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class NodeSpec:
    """One node as the workflow sees it: a name and how to run its activity."""

    name: str
    start_to_close_s: float = 300.0
    schedule_to_close_s: float | None = None
    heartbeat_s: float | None = None
    retry: RetrySpec = field(default_factory=RetrySpec)
    local: bool = False
    has_router: bool = False
    subgraph: GraphSpec | None = None
    reads: list[str] | None = None
    """The state keys the node reads (its input_schema); None: all. A node with a router gets the whole
    state all the same (its router may read any key)."""


@dataclass(frozen=True, kw_only=True)
class EdgeSpec:
    """`sources -> target`; more than one source is a join (waits for all)."""

    sources: list[str]
    target: str


@dataclass(frozen=True, kw_only=True)
class ChannelSpec:
    """One state key: how writes combine, its starting value, its JSON Schema."""

    reducer: ReducerKind = "last_value"
    reducer_name: str | None = None
    has_default: bool = False
    default: Any = None
    json_schema: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class GraphSpec:
    """A compiled graph's topology, captured when a run starts."""

    name: str
    nodes: list[NodeSpec]
    edges: list[EdgeSpec]
    channels: dict[str, ChannelSpec]
    start_has_router: bool = False
    interrupt_before: list[str] = field(default_factory=list)
    interrupt_after: list[str] = field(default_factory=list)
    notify: bool = False
    guard: list[str] | None = None
    """Reviewer entries declared with `compile(guard=...)`: the run is guarded from its start,
    not only once a node asks a limited question (None for graphs that declared none, and in
    specs recorded before the option existed)."""

    def node(self, name: str) -> NodeSpec:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]


@dataclass(frozen=True, kw_only=True)
class ForkFrom:
    """Start a run from another run's checkpoint instead of from input.

    `guard` is the source run's: a fork may not escape the reviewers of the
    run it copies. `audit_head` is the source's chain head at that checkpoint:
    the fork's decision record continues that chain.
    """

    run_id: str
    step: int
    values: dict[str, Any]
    next: list[str]
    guard: list[list[str]] = field(default_factory=list)
    sends: list[SendPacket] = field(default_factory=list)
    audit_head: str | None = None
    history: list[Checkpoint] = field(default_factory=list)
    """The thread's earlier checkpoints, oldest first, for a thread's next turn (patch hitl-thread-turns)."""


@dataclass(frozen=True, kw_only=True)
class ParentRef:
    """A subgraph's run knows its parent run, to report its questions there."""

    run_id: str
    node: str


@dataclass(frozen=True, kw_only=True)
class ChildPaused:
    """Signal from a subgraph's run to its parent: these questions are pending."""

    child_id: str
    interrupts: list[Interrupt]
    rolled_back: list[str] = field(default_factory=list)
    """Why the subgraph put answers back since it last paused (its node failed on them): the parent records them
    too, so whoever answered through the parent is told."""
    going_on: bool = False
    """Sent as the subgraph's pause ends: it goes on, and `interrupts` are its questions still pending
    (answers to others released it). The parent keeps them answerable meanwhile (before: an empty list, so
    the parent refused answers to them until the subgraph asked again)."""


@dataclass(kw_only=True, frozen=True)
class SendPacket:
    """A `Send(node, arg)` on the wire: one task of the next step, run with `arg` as its input.

    `arg` is JSON already (checked where the Send was made, in the activity).
    """

    node: str
    arg: Any = None


class Phase(str, Enum):
    """Where a run is in its life. The status users see follows from it (`Phase.status`).

    A run walks steps (RUNNING), stops for a person (BEFORE, AFTER, ASKING), goes on
    once released (RESUMED: the paused step runs now without stopping at its
    breakpoint again), and ends one of three ways.
    """

    RUNNING = "running"
    RESUMED = "resumed"
    BEFORE = "before"
    AFTER = "after"
    ASKING = "interrupt"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def paused(self) -> bool:
        return self in (Phase.BEFORE, Phase.AFTER, Phase.ASKING)

    @property
    def status(self) -> RunStatus:
        return _STATUS[self]

    @property
    def breakpoint(self) -> Literal["before", "after"] | None:
        return "before" if self is Phase.BEFORE else "after" if self is Phase.AFTER else None


_STATUS: dict[Phase, RunStatus] = {
    Phase.RUNNING: "running",
    Phase.RESUMED: "running",
    Phase.BEFORE: "interrupted",
    Phase.AFTER: "interrupted",
    Phase.ASKING: "interrupted",
    Phase.COMPLETED: "completed",
    Phase.FAILED: "failed",
    Phase.CANCELLED: "cancelled",
}


@dataclass(kw_only=True, frozen=True)
class Answered:
    """A person's answer to one of a task's questions, kept until the node's re-run has been written."""

    interrupt: Interrupt
    identity: str
    request_id: str | None = None
    update_id: str | None = None
    """The update that gave it (None for a signal): its waiting caller is told when it is rolled back."""


@dataclass(kw_only=True, frozen=True)
class Undo:
    """A person's change of state that sent nodes to run again: an edit that withdrew their questions, or an
    `update` sent with answers. Kept until those nodes asked again or the step's writes landed; should they
    fail first, the change is put back (docs/durability.md, "What happens when an answer breaks a node")."""

    kind: Literal["edit", "update"]
    identity: str
    request_id: str | None = None
    update_id: str | None = None
    """The update that made it (None for a signal): its waiting caller is told when it is put back."""
    written: dict[str, Any] = field(default_factory=dict)
    """What it wrote, for the record of its rollback."""
    before: dict[str, Any] = field(default_factory=dict)
    """The values the keys it wrote had before it."""
    absent: list[str] = field(default_factory=list)
    """The keys it wrote that had no value before it."""
    tasks: list[str] = field(default_factory=list)
    """The keys (`topology.task_key`) of the step's tasks that run again because of it."""
    asked: dict[str, list[Interrupt]] = field(default_factory=dict)
    """For an edit: the questions it withdrew, by task key, pending again (same ids) when it is put back."""


@dataclass(kw_only=True)
class PendingTask:
    """One node of the pending step: its answers so far, its result, or its open questions.

    Part of `RunState`, so it is mutable; what runs it (an asyncio task, a
    subgraph's run id) belongs to one execution and is kept by the workflow.
    """

    node: str
    resumes: list[Any] = field(default_factory=list)
    result: NodeResult | None = None
    interrupts: list[Interrupt] = field(default_factory=list)
    defaults: dict[str, InterruptRequest] = field(default_factory=dict)
    push: int | None = None
    """For a task made by a Send: its place among the step's Sends (`RunState.sends`)."""
    rerun_local: bool = False
    """The node's last run said its next one is a local activity (`InterruptRequest.rerun_local`)."""
    answered: list[Answered] = field(default_factory=list)
    """The people's answers given since the node last asked (the last of `resumes`): what is put back,
    as pending again, should the node's re-run or the step's writes fail (docs/durability.md)."""
    called: list[CallOutcome] = field(default_factory=list)
    """How each graph the node called so far (`subgraph.invoke()` inside the node) ended, in call order:
    the node's next run gets them (`NodeTask.called`), as `resumes` carries its answers."""
    done: list[TaskOutcome] = field(default_factory=list)
    """How each `@task` an entrypoint's body called so far ended, in call order: the body's next run gets
    them (`NodeTask.done`), its futures resolving to them instead of running the tasks again."""

    @property
    def settled(self) -> bool:
        """Done, or waiting for a person (a subgraph waits while its run goes on)."""
        return self.result is not None or bool(self.interrupts)


@dataclass(kw_only=True)
class RunState:
    """Everything a run is, and exactly what it carries into a fresh history (continue-as-new).

    The JSON field names are those of the older `Carry`, so a carry written by an
    older worker decodes into this class and the other way round. `skip_before`
    is that older name for `Phase.RESUMED`: kept in step with `phase` so both
    kinds of worker read a carry alike.
    """

    created_at: datetime
    values: dict[str, Any] = field(default_factory=dict)
    step: int = 0
    next: list[str] = field(default_factory=list)
    tasks: list[PendingTask] = field(default_factory=list)
    barriers: dict[str, list[str]] = field(default_factory=dict)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    """The newest decisions, for `get_state()` (the checkpoints hold all of them)."""
    unrecorded: list[Decision] = field(default_factory=list)
    """Decisions since the last checkpoint: the next checkpoint takes them."""
    phase: Phase = Phase.RUNNING
    skip_before: bool = False
    generation: int = 0
    """How many histories this run had before the current one (continue-as-new hand-overs)."""
    guard: list[list[str]] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    requests: dict[str, str] = field(default_factory=dict)
    """Request id -> the decision's digest, who and when: a resend applies once, a reuse is refused."""
    retired: dict[str, str] = field(default_factory=dict)
    """Interrupt id -> why it is no longer pending, to tell whoever answers it late."""
    held: list[ResumeRequest] = field(default_factory=list)
    """Decisions sent as signals, waiting for the next pause."""
    sends: list[SendPacket] = field(default_factory=list)
    """The step's tasks made by Send, beside the nodes in `next`."""
    audit_head: str | None = None
    """The hash of the run's newest sealed record (hitl/protocol/audit.py): the next record points at it."""
    audit_seq: int = 0
    """The next record's place in the run's chain."""
    audit_owed: bool = False
    """A decision about what runs was recorded: the next step is recorded as executed."""
    undo: Undo | None = None
    """A person's change of state the nodes it sent to run again may still put back (EDIT_ROLLBACK)."""

    def __post_init__(self) -> None:
        if self.skip_before and self.phase is Phase.RUNNING:  # a carry from an older worker
            self.phase = Phase.RESUMED

    def carried(self) -> RunState:
        """The state as it travels: checkpoints without their state copies (the newest is `values`)."""
        return dataclasses.replace(
            self,
            checkpoints=[dataclasses.replace(c, values=None, sends=[]) for c in self.checkpoints],
            decisions=self.decisions[-KEEP_DECISIONS:],
            skip_before=self.phase is Phase.RESUMED,
            generation=self.generation + 1,
        )


@dataclass(frozen=True, kw_only=True)
class RunInput:
    """The workflow's argument."""

    graph: GraphSpec
    input: dict[str, Any]
    identity: str
    interrupt_before: list[str] | None = None
    interrupt_after: list[str] | None = None
    search_attributes: bool = False
    fork: ForkFrom | None = None
    index_reviewers: bool = False
    index_assigned: bool = False
    parent: ParentRef | None = None
    carry: RunState | None = None
    max_history_events: int = 5000
    requester: str | None = None
    """Who asked for the run when that is not `identity`: a fork's (and its subgraphs') is the source run's
    requester, so `Quorum(requester_may_approve=False)` still bars them (None: `identity`)."""
    patches: list[str] = field(default_factory=list)
    """Workflow patches (`workflow.patched` ids) this run has from its start: the workflow takes them as
    applied without asking Temporal, so it writes no marker event for them (a marker, and the
    `TemporalChangeVersion` search attribute upsert Temporal adds to it, cost two history events a patch).
    Set by the client to the patches every live worker has (`hitl.client.serving.run_patches`); runs started
    before the field replay through `workflow.patched` as they were recorded."""

    context: Any = None
    """The run's runtime context as JSON (`client.start(..., context=)`, checked there against the graph's
    `context_schema`): the workflow only carries it, into each node's activity (`NodeTask.context`), its
    subgraphs' runs, continue-as-new, forks and a thread's next turn. None: started without one (and runs
    started before the field)."""

    @property
    def starter(self) -> str:
        """Who asked for this run (a fork keeps its source run's): a quorum question may bar them."""
        return self.requester or self.identity


@dataclass(frozen=True, kw_only=True)
class NodeTask:
    """The node activity's argument: which node, on what state, with what answers."""

    graph: str
    node: str
    step: int
    state: dict[str, Any]
    resumes: list[Any] = field(default_factory=list)
    send: SendPacket | None = None
    """Set for a task made by a `Send`: the node is called with `send.arg` instead of the state
    (its routers still read the state, as LangGraph's do)."""
    context: Any = None
    """The run's runtime context as JSON (`RunInput.context`): the node gets it as `runtime.context`."""
    called: list[CallOutcome] = field(default_factory=list)
    """How the graphs the node called on its earlier runs ended (`PendingTask.called`): its `invoke()` calls
    return them in order, and the first one past them asks the run to call its graph (`NodeResult.call`)."""
    done: list[TaskOutcome] = field(default_factory=list)
    """How the `@task` calls of an entrypoint's body on its earlier runs ended (`PendingTask.done`)."""


@dataclass(frozen=True, kw_only=True)
class InterruptRequest:
    """A node asked a person something: the `index`-th interrupt() call of the node."""

    index: int
    value: Any
    schema: dict[str, Any] | None = None
    reviewers: list[str] | None = None
    timeout_s: float | None = None
    has_default: bool = False
    default: Any = None
    quorum: Quorum | None = None
    escalation: list[EscalationStep] = field(default_factory=list)
    rerun_local: bool = False
    title: str | None = None
    """What the inbox row shows of it (hitl/row_card.py): computed in the node, stored and listed by the run."""
    summary: dict[str, str] | None = None
    """The node's next run (after the answer) goes as a local activity (`add_node(rerun="local")`). The activity
    says so, so the choice is in the history and replays as made whatever the graph's code becomes."""


@dataclass(frozen=True, kw_only=True)
class NodeResult:
    """What a node activity returns: its update and where to go, or a question."""

    writes: dict[str, Any] | None = None
    goto: list[str] = field(default_factory=list)
    interrupt: InterruptRequest | None = None
    sends: list[SendPacket] = field(default_factory=list)
    """The tasks this node's `Command(goto=Send(...))` and routers add to the next step, in order."""
    to_parent: ToParent | None = None
    """`Command(graph=Command.PARENT, ...)`: what the node hands up to the graph running its subgraph."""
    call: GraphCall | None = None
    """The node called a compiled graph (`subgraph.invoke()` inside it): the run runs that graph as a run of
    its own, waits for it (its questions surface here), and runs the node again with how it ended."""
    tasks: list[TaskCall] = field(default_factory=list)
    """An entrypoint's body waits on `@task` calls not run yet: the run runs each as an activity of its own
    (`TASK_ACTIVITY`, side by side), records how they ended (`PendingTask.done`) and runs the body again."""
    custom: CustomWrites | None = None
    """What the node wrote with its stream writer (`get_stream_writer()`), bounded: it lands in history with
    the result, where a stream in "custom" mode reads it (hitl/client/stream.py); the workflow drops it."""


@dataclass(frozen=True, kw_only=True)
class ToParent:
    """A subgraph node's `Command.PARENT`: an update and a goto for the parent graph (checked there, against
    the parent's own nodes and keys). The subgraph's run ends with it as its result, under TO_PARENT."""

    update: dict[str, Any] = field(default_factory=dict)
    goto: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class GraphCall:
    """A node's `index`-th call of a compiled graph: its topology (captured in the activity, breakpoints left
    out: its questions surface on the calling run, its breakpoints do not) and its input, as JSON."""

    graph: GraphSpec
    input: dict[str, Any]
    index: int


@dataclass(frozen=True, kw_only=True)
class CallOutcome:
    """How a graph a node called ended: its final values, or why it failed (`error`, one line)."""

    values: dict[str, Any] | None = None
    error: str | None = None
    graph: str | None = None
    """The graph called (None in runs from before it was kept): a node's later run that makes another call
    at this position is told, not handed this graph's values."""


@dataclass(frozen=True, kw_only=True)
class TaskCall:
    """The `index`-th `@task` call of an entrypoint's body: which task (`ref`, found on the worker by it;
    `name`, what people see), its arguments as JSON, and its activity's options."""

    name: str
    ref: str
    index: int
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    start_to_close_s: float = 300.0
    retry: RetrySpec = field(default_factory=RetrySpec)


@dataclass(frozen=True, kw_only=True)
class TaskRun:
    """The task activity's argument: the call, and where it was made (for one-line errors and traces)."""

    graph: str
    node: str
    step: int
    call: TaskCall


@dataclass(frozen=True, kw_only=True)
class TaskOutcome:
    """How a `@task` call ended: its result as JSON, or why it failed (`error`, one line)."""

    value: Any = None
    error: str | None = None


TO_PARENT = "__hitl_to_parent__"
"""The key of a subgraph run's result that carries a `ToParent` instead of its final values."""


@dataclass(frozen=True, kw_only=True)
class CustomWrites:
    """One node run's stream-writer events (LangGraph's `stream_mode="custom"` chunks), in order.

    At most `limits.MAX_CUSTOM_EVENTS` events and `limits.MAX_CUSTOM_BYTES` of JSON: what came past the bound
    (or was not JSON) is `dropped`, counted, never failing the node."""

    node: str
    step: int
    events: list[Any] = field(default_factory=list)
    dropped: int = 0

    def chunks(self) -> list[Any]:
        """What a "custom" stream shows: the events kept, then, when some were dropped, one marker counting
        them (`{"__hitl__": "custom_dropped", "node": ..., "dropped": N}`)."""
        marker = {"__hitl__": CUSTOM_DROPPED, "node": self.node, "dropped": self.dropped}
        return [*self.events, marker] if self.dropped else list(self.events)


CUSTOM_DROPPED = "custom_dropped"


Route = str | SendPacket
"""Where a router leads: a node name, or a task made by `Send` (the ROUTE activity returns a list)."""


@dataclass(frozen=True, kw_only=True)
class RouteTask:
    """Evaluate a node's conditional edges on a given state (no node run)."""

    graph: str
    node: str
    state: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class ReduceTask:
    """Apply writes to keys whose reducer is user code (runs as an activity)."""

    graph: str
    values: dict[str, Any]
    writes: list[dict[str, Any]]


NO_VALUE: Any = object()
"""A resume that answers nothing (a `Command` with only `update` or `goto`), told apart from answering None."""


@dataclass(frozen=True, kw_only=True)
class ResumeRequest:
    """A person's answer to a paused run (Temporal update or signal payload).

    `request_id` is the caller's idempotency key: the same id with the same
    decision applies once; the same id with a different decision is refused.
    """

    identity: str
    has_resume: bool = False
    roles: list[str] = field(default_factory=list)
    resume: Any = None
    resume_map: dict[str, Any] | None = None
    update: dict[str, Any] | None = None
    goto: list[str] | None = None
    wait: bool = True
    request_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class UpdateStateRequest:
    """A person's edit of a paused run's state."""

    identity: str
    values: dict[str, Any]
    as_node: str | None = None
    roles: list[str] = field(default_factory=list)
    request_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class CancelRequest:
    """A person ends a run. Goes through the same checks as every other decision."""

    identity: str
    roles: list[str] = field(default_factory=list)
    reason: str = ""
    request_id: str | None = None


ClaimAction = Literal["claim", "release", "delegate"]


@dataclass(frozen=True, kw_only=True)
class ClaimRequest:
    """Take, give back or hand on a pending question (`interrupt_id`; None: the one pending).

    A claim holds it for `ttl_s` seconds; `delegate` hands it to `to` (an identity or `role:NAME`)
    for the same time. Checked and recorded like every decision.
    """

    identity: str
    action: ClaimAction
    interrupt_id: str | None = None
    to: str | None = None
    ttl_s: float = 1800.0
    roles: list[str] = field(default_factory=list)
    request_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class HistoryPage:
    """Which checkpoints `get_state_history` returns: newest first, steps below `before`."""

    limit: int | None = None
    before: int | None = None


Request = ResumeRequest | UpdateStateRequest | CancelRequest | ClaimRequest


def request_digest(req: Request) -> str:
    """What a decision says, as a short hash: the same request id must mean the same decision.

    `wait` is left out: resending a decision without waiting is the same decision.
    """
    fields = {k: v for k, v in sorted(vars(req).items()) if k not in ("wait", "request_id")}
    text = json.dumps([type(req).__name__, fields], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, kw_only=True)
class NotifyTask:
    """The notification activity's argument: a run just paused."""

    graph: str
    snapshot: StateSnapshot


@dataclass(frozen=True, kw_only=True)
class Notified:
    """What a notify hook reports it sent (the notify activity's result; a hook returning anything else
    reports nothing): one line per message, and those an earlier attempt of the activity had sent."""

    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def retry_policy_kwargs(spec: RetrySpec) -> dict[str, Any]:
    """The keyword arguments of `temporalio.common.RetryPolicy` for a spec."""
    return {
        "maximum_attempts": spec.maximum_attempts,
        "initial_interval": timedelta(seconds=spec.initial_interval_s),
        "backoff_coefficient": spec.backoff_coefficient,
        "maximum_interval": (timedelta(seconds=spec.maximum_interval_s) if spec.maximum_interval_s else None),
        "non_retryable_error_types": list(spec.non_retryable_error_types),
    }
