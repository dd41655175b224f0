"""The Python client: start runs, read their state, send human decisions.

`client = await hitl.connect()` reaches the Temporal server named by
`TEMPORAL_ADDRESS` or a `temporalio.envconfig` profile (default: the local dev
server). Everything the client shows comes from the workflow itself (queries
and updates); nothing is recomputed here.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import getpass
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import temporalio.api.enums.v1
import temporalio.api.operatorservice.v1
import temporalio.client
import temporalio.common
import temporalio.envconfig
import temporalio.exceptions
import temporalio.runtime
import temporalio.service

from hitl import catalog
from hitl._temporal_errors import OUTSIDE_HITL, ended_outside, namespace_missing, read_with_retries, unreachable
from hitl._text import split_names
from hitl._whole import whole_number
from hitl.client import stuck
from hitl.client.listing import WAITING, list_runs
from hitl.client.listing import PendingRun as PendingRun  # public as hitl.PendingRun
from hitl.client.serving import (
    WorkerInfo,
    check_workers,
    explaining,
    failing_task,
    list_workers,
    polled_since,
    run_patches,
    wait_until_polling,
)
from hitl.client.stream import RunEvent, StreamMode, check_modes, chunks, follow
from hitl.client.threads import ThreadStart
from hitl.client.tracing import traced
from hitl.functional import FunctionalGraph
from hitl.graph import CompiledGraph
from hitl.payloads.codec import from_env as codec_from_env
from hitl.payloads.codec import with_codec
from hitl.payloads.converter import data_converter
from hitl.protocol.audit import AuditTrail
from hitl.protocol.finite import non_finite
from hitl.protocol.limits import MAX_DECISION_BYTES, MAX_STATE_BYTES, too_deep, too_large
from hitl.protocol.patches import TASK_CALLS
from hitl.protocol.policy import decider_refused, identity_refused, override_refused, roles_refused, values_refused
from hitl.protocol.wire import (
    ASSIGNED,
    DEFAULT_TASK_QUEUE,
    GRAPH,
    NO_VALUE,
    RAN_AHEAD,
    REVIEWERS,
    SEARCH_ATTRIBUTE_TYPES,
    SEARCH_ATTRIBUTES,
    STATUS,
    SUBGRAPH_RUN_MARK,
    THREAD_WORKFLOW,
    WORKFLOW_NAME,
    CancelRequest,
    ClaimAction,
    ClaimRequest,
    ForkFrom,
    GraphSpec,
    HistoryPage,
    Request,
    ResumeRequest,
    RunInput,
    SendPacket,
    UpdateStateRequest,
    request_digest,
)
from hitl.state import message_keys, messages_as_stored
from hitl.types import (
    Checkpoint,
    Command,
    Decision,
    DecisionRejectedError,
    Goto,
    HitlError,
    InvalidInputError,
    KeyMismatchError,
    NoWorkerError,
    Queued,
    RunAlreadyExistsError,
    RunFailedError,
    RunNotFoundError,
    Send,
    StateSnapshot,
)

if TYPE_CHECKING:
    import temporalio.worker
    from typing_extensions import TypeForm

    from hitl.client.batch import BatchReport, Progress, Waiting

T = TypeVar("T")

POLL_SECONDS = 0.1


@dataclass
class RunInfo:
    """A run as `list_runs()` shows it (from Temporal's visibility store)."""

    run_id: str
    graph: str
    status: str
    started_at: datetime | None


async def connect(
    address: str | None = None,
    *,
    namespace: str | None = None,
    task_queue: str = DEFAULT_TASK_QUEUE,
    identity: str | None = None,
    roles: Sequence[str] = (),
    graphs: Sequence[CompiledGraph] | None = None,
    runtime: temporalio.runtime.Runtime | None = None,
) -> Client:
    """Connect to Temporal: `address`, else `TEMPORAL_ADDRESS` / envconfig, else localhost:7233.
    `runtime`: Temporal's runtime to use (e.g. one serving metrics: `hitl worker --metrics`)."""
    person(identity or default_identity())  # refused before anything connects
    held(roles)
    config = temporalio.envconfig.ClientConfig.load_client_connect_config()  # a fresh dict, ours to change
    if address:
        config["target_host"] = address
    if namespace:
        config["namespace"] = namespace
    config.setdefault("target_host", "localhost:7233")
    target = config["target_host"]
    converter = data_converter(codec_from_env())
    try:
        temporal = await temporalio.client.Client.connect(**config, data_converter=converter, runtime=runtime)
    except RuntimeError as e:
        reason = "connection refused" if "refused" in str(e).lower() else str(e).splitlines()[0][:160]
        raise HitlError(
            f"cannot reach Temporal at {target} ({reason}); start the local stack with "
            "`hitl dev` or set TEMPORAL_ADDRESS"
        ) from None
    return Client(temporal, task_queue=task_queue, identity=identity, roles=roles, graphs=graphs)


class Client:
    """A connection to Temporal plus the graphs this process knows by name."""

    def __init__(
        self,
        temporal: temporalio.client.Client,
        *,
        task_queue: str = DEFAULT_TASK_QUEUE,
        identity: str | None = None,
        roles: Sequence[str] = (),
        graphs: Sequence[CompiledGraph] | None = None,
        rpc_timeout: timedelta | None = None,
    ) -> None:
        self.temporal = traced(explaining(with_codec(temporal)))
        self.rpc_timeout = rpc_timeout
        """How long one decision RPC may wait before it is sent again (same update id); None: the server's."""
        self.roles = (
            held(roles, "roles")
            if roles
            else held(split_names(os.environ.get("HITL_ROLES"), on_spaces=True), "HITL_ROLES")
        )
        self.task_queue = task_queue
        self.identity = person(identity) if identity else default_identity()
        self._graphs = {g.name: g for g in graphs} if graphs is not None else None
        self._search_attributes: bool | None = None
        self._reviewers_indexed = False
        self._assigned_indexed = False

    @property
    def namespace(self) -> str:
        return self.temporal.namespace

    def graph(self, name: str) -> CompiledGraph:
        """A graph known to this process: given at connect, served by a worker of this
        process (`client.worker(graphs=...)`), or from the catalog."""
        if self._graphs is not None and name in self._graphs:
            return self._graphs[name]
        served = catalog.served()
        if name in served:
            return served[name]
        return catalog.lookup({**(self._graphs if self._graphs is not None else catalog.by_name()), **served}, name)

    async def start(
        self,
        graph: str | CompiledGraph,
        input: dict[str, Any] | None = None,
        *,
        run_id: str | None = None,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
        max_history_events: int = 5000,
        thread: ThreadStart | None = None,
        context: Any = None,
    ) -> Run:
        """Start a run. The input is checked against the state schema before anything starts.

        A run continues as new (a fresh Temporal history, same run id) once its
        history reaches `max_history_events`, carrying its state across. `thread`: what
        `hitl serve` keeps of the thread the run starts on (its metadata, the record it replaces).
        `context` (LangGraph's `invoke(..., context=)`): what nodes read as `runtime.context`, an instance
        of the graph's `context_schema` or a dict of its fields, checked here; it travels as JSON and stays
        the run's across continue-as-new, its forks and its thread's next turns.
        """
        if run_id is not None:
            check_run_id(run_id, new=True)
        compiled = graph if isinstance(graph, CompiledGraph) else self.graph(graph)
        # Before validation: a validator recurses, and a state schema could turn NaN into something else.
        check_json(input, "input")
        values = compiled.validate_input(input if input is not None else {})
        check_size(values, MAX_STATE_BYTES, "input")
        carried = compiled.check_context(context)
        workers = await check_workers(self.temporal, self.task_queue)
        run_input = await self._run_input(
            compiled,
            compiled.spec(),
            values,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            max_history_events=max_history_events,
            patches=run_patches(workers),
            context=carried,
        )
        return await self._start(run_input, run_id or f"{compiled.name}-{uuid.uuid4().hex[:12]}", thread)

    async def _run_input(
        self,
        compiled: CompiledGraph,
        spec: GraphSpec,
        values: dict[str, Any],
        *,
        interrupt_before: Sequence[str] | str | None,
        interrupt_after: Sequence[str] | str | None,
        max_history_events: int,
        patches: list[str],
        fork: ForkFrom | None = None,
        context: Any = None,
    ) -> RunInput:
        """What a new run starts with: the graph, its checked input and breakpoints, as this client, with what
        this namespace indexes and the patches every live worker has (a start, and a thread's next turn)."""
        if isinstance(compiled, FunctionalGraph) and TASK_CALLS not in patches:
            raise NoWorkerError(
                f"the workers of task queue '{self.task_queue}' predate entrypoints' @task calls (patch {TASK_CALLS}); "
                f"upgrade them to run entrypoint '{compiled.name}'"
            )
        return RunInput(
            graph=spec,
            input=values,
            identity=self.identity,
            interrupt_before=compiled.check_breakpoints(interrupt_before, "interrupt_before"),
            interrupt_after=compiled.check_breakpoints(interrupt_after, "interrupt_after"),
            search_attributes=await self.search_attributes_registered(),
            index_reviewers=await self.reviewers_indexed(),
            index_assigned=await self.assigned_indexed(),
            max_history_events=max_history_events,
            patches=patches,
            fork=fork,
            context=context,
        )

    async def _start(self, run_input: RunInput, run_id: str, thread: ThreadStart | None = None) -> Run:
        attributes = None
        if run_input.search_attributes:
            attributes = temporalio.common.TypedSearchAttributes(
                [
                    temporalio.common.SearchAttributePair(GRAPH, run_input.graph.name),
                    temporalio.common.SearchAttributePair(STATUS, "running"),
                ]
            )
        reuse = temporalio.common.WorkflowIDReusePolicy.REJECT_DUPLICATE
        if thread is not None and thread.replaces is not None:
            await thread.supersede(self.temporal, run_id)
            reuse = temporalio.common.WorkflowIDReusePolicy.ALLOW_DUPLICATE
        try:
            handle = await self.temporal.start_workflow(
                WORKFLOW_NAME,
                run_input,
                id=run_id,
                task_queue=self.task_queue,
                search_attributes=attributes,
                id_reuse_policy=reuse,
                static_summary=f"hitl graph {run_input.graph.name}",
                memo=thread.memo() if thread is not None else None,
            )
        except temporalio.exceptions.WorkflowAlreadyStartedError:
            raise RunAlreadyExistsError(
                f"a run with id '{run_id}' exists already; pick another id or omit it to get a fresh one"
            ) from None
        return Run(self, handle.id, task_queue=self.task_queue)

    def get_run(self, run_id: str) -> Run:
        return Run(self, check_run_id(run_id))

    async def fork(
        self,
        run_id: str,
        step: int,
        values: dict[str, Any] | None = None,
        *,
        new_run_id: str | None = None,
        identity: str | None = None,
        roles: Sequence[str] | None = None,
        thread: ThreadStart | None = None,
    ) -> Run:
        """Time travel: a new run that starts from `run_id`'s checkpoint at `step`.

        A run with a reviewer guard (declared with `compile(guard=)` or learned
        from a limited question) may be forked only by someone it allows, with or
        without edits: a fork after an approval would carry it out again. Edits
        (`values`) are also checked like any edit of state: the keys and their
        schemas and the size limits. The fork keeps the source's reviewer guard, and its
        first checkpoint records who forked it with which edits.
        """
        identity = person(identity) if identity else self.identity
        roles = held(roles) if roles is not None else self.roles
        if new_run_id is not None:
            check_run_id(new_run_id, new=True)
        source = self.get_run(run_id)
        checkpoint: Checkpoint | None = await source._query("get_checkpoint", Checkpoint | None, step)
        if checkpoint is None:
            steps = sorted({c.step for c in await source.get_state_history()})
            raise InvalidInputError(f"run '{run_id}' has no checkpoint at step {step}; its steps are {steps}")
        if checkpoint.values is None:
            raise InvalidInputError(
                f"run '{run_id}' no longer keeps the state of step {step} (it keeps state copies of its recent "
                "checkpoints only); fork from a later step"
            )
        original: RunInput = await source._query("get_spec", RunInput)
        guard = (await source.get_state()).guarded_by
        if values is not None and not isinstance(values, dict):
            raise InvalidInputError(f"fork values must be a JSON object of state keys; got {type(values).__name__}")
        if values:
            check_json(values, "fork edit")
            keys = message_keys(original.graph.channels)
            values = messages_as_stored(values, keys, what="fork edit", error=InvalidInputError)
            for refused in (
                values_refused(original.graph, values, "fork edit"),
                too_deep(values, "fork edit"),
                too_large(values, MAX_DECISION_BYTES, "fork edit"),
                non_finite(values, "fork edit"),
            ):
                if refused:
                    raise InvalidInputError(refused)
        # With or without edits: a plain fork replays the steps after an approval (pays again).
        refused = override_refused(guard, identity, roles, "fork it with edits" if values else "fork it")
        if refused:
            raise DecisionRejectedError(f"run '{run_id}' refused the fork: {refused}")
        run_input = RunInput(
            graph=original.graph,
            input=values or {},
            identity=identity,
            interrupt_before=original.interrupt_before,
            interrupt_after=original.interrupt_after,
            search_attributes=await self.search_attributes_registered(),
            index_reviewers=await self.reviewers_indexed(),
            requester=original.requester or original.identity,  # a quorum still bars who asked for the source run
            index_assigned=await self.assigned_indexed(),
            context=original.context,
            fork=ForkFrom(
                run_id=run_id,
                step=checkpoint.step,
                values=checkpoint.values,
                next=checkpoint.next,
                guard=guard,
                sends=[SendPacket(node=s.node, arg=s.arg) for s in checkpoint.sends],
                audit_head=checkpoint.audit_head,
            ),
        )
        workers = await check_workers(self.temporal, self.task_queue)
        run_input = dataclasses.replace(run_input, patches=run_patches(workers))
        base = run_id.replace(SUBGRAPH_RUN_MARK, "-")  # a fork of a subgraph's run is a run of its own
        return await self._start(run_input, new_run_id or f"{base}-fork{step}-{uuid.uuid4().hex[:6]}", thread)

    def as_caller(self, identity: str | None = None, roles: Sequence[str] | None = None) -> Client:
        """A client deciding as `identity` with exactly `roles` (default: this client's), sharing the connection."""
        other = copy.copy(self)
        other.identity = person(identity) if identity else self.identity
        other.roles = held(roles) if roles is not None else list(self.roles)
        return other

    async def resume_many(
        self,
        runs: Sequence[str | Run] | Mapping[str, str] | Waiting | None,
        value: Any,
        *,
        identity: str | None = None,
        roles: Sequence[str] | None = None,
        node: str | None = None,
        graph: str | None = None,
        question: str | None = None,
        batch_id: str | None = None,
        concurrency: int = 8,
        dry_run: bool = False,
        on_result: Progress | None = None,
    ) -> BatchReport:
        """Answer many waiting runs with one `value` (hitl/client/batch.py): `runs` by id, or every
        waiting run matching `Waiting(graph, node, question)` / the `graph=`, `node=` and
        `question=` filters (`None` with filters: all waiting runs that match), or
        `{run_id: interrupt_id}`: each run answered at that question only (refused if it moved on).

        Each run checks the decision itself and applies it exactly once. The
        report lists every run (applied, already applied, refused with the run's
        reason, unreachable) and never raises for one run's failure. Send the same
        `batch_id` again after a crash or timeout and nothing is applied twice.
        `on_result(result, done, total)` reports progress; at most `concurrency`
        runs are answered at once. `dry_run` lists what would be answered."""
        from hitl.client.batch import resume_many

        return await resume_many(
            self,
            runs,
            value,
            identity=identity,
            roles=roles,
            graph=graph,
            node=node,
            question=question,
            batch_id=batch_id,
            concurrency=concurrency,
            dry_run=dry_run,
            on_result=on_result,
        )

    async def list_runs(self, limit: int = 50) -> list[RunInfo]:
        """Recent runs. Each shows hitl's own status (a paused run is `interrupted`, where
        Temporal says `running`) when the namespace has the HitlStatus search attribute;
        Temporal's when it has not, or when Temporal ended the run from outside (terminated)."""
        runs = []
        try:
            async for w in self.temporal.list_workflows(f'WorkflowType = "{WORKFLOW_NAME}"', limit=limit):
                sa = w.typed_search_attributes
                status = w.status.name.lower() if w.status else "unknown"
                own = sa.get(STATUS) if sa else None
                if own and (status == "running" or own in ("completed", "failed", "cancelled")):
                    status = own
                runs.append(RunInfo(w.id, (sa.get(GRAPH) if sa else None) or "?", status, w.start_time))
        except temporalio.service.RPCError as e:
            raise namespace_missing(self.temporal, e) or HitlError(
                f"Temporal refused to list runs on namespace '{self.namespace}': {e.message}"
            ) from None
        return runs

    async def pending(self, limit: int | None = None) -> list[PendingRun]:
        """Runs waiting for a person, found server-side through search attributes."""
        if not await self.search_attributes_registered():
            raise HitlError(
                "the search attributes hitl uses to find waiting runs are not registered on namespace "
                f"'{self.namespace}'; register them with: "
                + " && ".join(
                    f"temporal operator search-attribute create --namespace {self.namespace} "
                    f"--name {k.name} --type {SEARCH_ATTRIBUTE_TYPES[k.indexed_value_type]}"
                    for k in SEARCH_ATTRIBUTES
                )
            )
        return [row.pending async for row in list_runs(self.temporal, WAITING, limit)]

    async def search_attributes_registered(self) -> bool:
        """Whether hitl's search attributes exist on the namespace. A refusal to tell (no
        operator rights) counts as no; a namespace that does not exist is an error of its own."""
        if self._search_attributes is None:
            try:
                response = await self.temporal.operator_service.list_search_attributes(
                    temporalio.api.operatorservice.v1.ListSearchAttributesRequest(namespace=self.namespace)
                )
                self._search_attributes = all(k.name in response.custom_attributes for k in SEARCH_ATTRIBUTES)
                self._reviewers_indexed = self._search_attributes and REVIEWERS.name in response.custom_attributes
                self._assigned_indexed = self._search_attributes and ASSIGNED.name in response.custom_attributes
            except temporalio.service.RPCError as e:
                cause = namespace_missing(self.temporal, e) or unreachable(self.temporal, e)
                if cause is not None:  # not a refusal to tell: no answer at all
                    raise cause from None
                self._search_attributes = False
        return self._search_attributes

    async def reviewers_indexed(self) -> bool:
        """Whether waiting runs index who may answer them (the optional HitlReviewers attribute)."""
        await self.search_attributes_registered()
        return self._reviewers_indexed

    async def assigned_indexed(self) -> bool:
        """Whether waiting runs index who holds their questions (the optional HitlAssigned attribute)."""
        await self.search_attributes_registered()
        return self._assigned_indexed

    @asynccontextmanager
    async def worker(
        self,
        graphs: Sequence[CompiledGraph] | None = None,
        *,
        max_cached_workflows: int | None = None,
        **worker_options: Any,
    ) -> AsyncIterator[temporalio.worker.Worker]:
        """Serve `graphs` (default: this client's graphs, else the catalog) in this process;
        `worker_options` go to `create_worker` (any other Temporal worker setting)."""
        from hitl.worker import CACHED_RUNS, create_worker

        graphs = list(graphs) if graphs is not None else list((self._graphs or catalog.by_name()).values())
        cached = CACHED_RUNS if max_cached_workflows is None else max_cached_workflows
        async with create_worker(
            self.temporal, graphs, task_queue=self.task_queue, max_cached_workflows=cached, **worker_options
        ) as worker:
            await wait_until_polling(self.temporal, self.task_queue, worker.config()["identity"] or "")
            with catalog.serving(graphs):  # start("name") knows what this process serves
                yield worker

    def ui_url(self, run_id: str | None = None) -> str:
        """Where to look in the Temporal Web UI."""
        base = os.environ.get("HITL_UI_URL") or _guess_ui(self.temporal.service_client.config.target_host)
        path = f"/namespaces/{self.namespace}/workflows" + (f"/{run_id}" if run_id else "")
        return base.rstrip("/") + path


class Run:
    """A handle on one run, by id. Cheap to make; every call asks the workflow."""

    def __init__(self, client: Client, run_id: str, *, task_queue: str | None = None) -> None:
        self.client = client
        self.run_id = run_id
        self._handle: temporalio.client.WorkflowHandle[Any, dict[str, Any]] = client.temporal.get_workflow_handle(
            run_id, result_type=dict
        )
        self._task_queue = task_queue

    async def _check_workers(self, *, queue: bool = False) -> None:
        """Refuse up front what no live worker of this run's task queue could handle (hitl/client/serving.py).

        The run's own queue, which may not be this client's: asked once per handle.
        """
        if self._task_queue is None:
            with self._errors("a description"):
                self._task_queue = (await self._handle.describe()).task_queue
        await check_workers(self.client.temporal, self._task_queue, queue=queue)

    async def check_reachable(self) -> None:
        """Refuse (NoWorkerError, nothing sent) when no live worker serves this run's task queue."""
        await self._check_workers()

    def __repr__(self) -> str:
        return f"<Run {self.run_id}>"

    async def get_state(self) -> StateSnapshot:
        """The run's state. A query of a closed workflow is answered by replaying its history, whose last state
        says running or interrupted when Temporal ended the run outside hitl (terminated, timed out): so the
        query is asked of open runs only (one RPC, as before), and a closed one is read again and its snapshot
        says how Temporal ended it."""
        try:
            return await self._query("get_state", StateSnapshot, reject=temporalio.common.QueryRejectCondition.NOT_OPEN)
        except temporalio.client.WorkflowQueryRejectedError as e:
            snapshot = await self._query("get_state", StateSnapshot)
            moved_on = e.status == temporalio.client.WorkflowExecutionStatus.CONTINUED_AS_NEW  # read its next run
            if moved_on or snapshot.status in ("completed", "failed", "cancelled"):
                return snapshot  # one of hitl's own endings, or the fresh history the run went on in
            how = await self._closed_how(e.status)
            return dataclasses.replace(
                snapshot,
                status="cancelled" if how.startswith("cancelled") else "failed",
                error=how,
                interrupts=[],
                next=[],
                breakpoint=None,
            )

    async def _closed_how(self, status: temporalio.client.WorkflowExecutionStatus | None) -> str:
        """How Temporal closed the run, outside hitl: its closing event's reason, where it gives one."""
        s = temporalio.client.WorkflowExecutionStatus
        if status == s.TERMINATED:
            reason = ""
            with self._errors("its history"):
                async for event in self._handle.fetch_history_events(
                    event_filter_type=temporalio.client.WorkflowHistoryEventFilterType.CLOSE_EVENT
                ):
                    reason = event.workflow_execution_terminated_event_attributes.reason
            return ended_outside("terminated", reason or "no reason given")
        if status == s.TIMED_OUT:
            return ended_outside("timed out", "its execution or run timeout passed")
        if status == s.CANCELED:
            return ended_outside("cancelled", "a cancel request hitl did not send")
        return ended_outside(status.name.lower() if status else "closed", "see its history")

    async def get_state_history(self, *, limit: int | None = None, before: int | None = None) -> list[Checkpoint]:
        """Checkpoints newest first (at most `limit`; older than checkpoint seq `before`).

        The run answers in pages that fit one Temporal payload; this asks for as
        many pages as it takes.
        """
        out: list[Checkpoint] = []
        while limit is None or len(out) < limit:
            want = None if limit is None else limit - len(out)
            page = await self.history_page(limit=want, before=before)
            out += page
            if not page or page[-1].seq == 0:
                break
            before = page[-1].seq
        return out

    async def history_page(self, *, limit: int | None, before: int | None) -> list[Checkpoint]:
        """One page of checkpoints, newest first: as many as fit one Temporal payload, at most `limit`."""
        return await self._query("get_state_history", list[Checkpoint], HistoryPage(limit=limit, before=before))

    def events(
        self, *, since: int | None = None, until_pause: bool = False, custom: bool = False, tasks: bool = False
    ) -> AsyncIterator[RunEvent]:
        """The run's events as they happen (`hitl.client.stream.RunEvent`): node updates, the state after
        each step, pauses with their questions, decisions with who made them, the end.

        Without `since`, the stream opens on the run as it is now (its state, then its pause or
        its end) and follows it; `since=0` replays its checkpoints from the input first (any
        checkpoint seq works). Ends after the run ends; with `until_pause`, at its next pause.
        Continue-as-new is followed; a paused run costs one pending long poll, no queries.
        With `custom`, also what nodes write with their stream writer (`custom` events, before the node's
        update or the pause it asked in; read from the run's history, so each reading costs a history read).
        With `tasks`, a run of an entrypoint (hitl/functional.py) also streams each `@task` call's result as a
        `node` event named after the task (read from history as `custom`).
        """
        return follow(self, since=since, until_pause=until_pause, custom=custom, tasks=tasks)

    def astream(
        self,
        stream_mode: StreamMode | Sequence[StreamMode] = "updates",
        *,
        since: int | None = None,
        until_pause: bool = False,
    ) -> AsyncIterator[Any]:
        """LangGraph's `astream` chunks for this run: "updates" (`{node: update}`, and
        `{"__interrupt__": (Interrupt, ...)}` at a pause), "values" (the state after each step), "custom"
        (what nodes wrote with `get_stream_writer()`, as written), or a list of modes, giving `(mode, chunk)`
        tuples. Same cursor rules as `events()`. An unknown mode is refused here, before anything is read."""
        modes = check_modes(stream_mode)
        multi = not isinstance(stream_mode, str)

        async def gen() -> AsyncIterator[Any]:
            tasks = "updates" in modes
            events = follow(self, since=since, until_pause=until_pause, custom="custom" in modes, tasks=tasks)
            try:
                async for event in events:
                    for mode, chunk in chunks(event, modes):
                        yield (mode, chunk) if multi else chunk
            finally:
                await events.aclose()  # type: ignore[attr-defined]

        return gen()

    async def audit(self) -> AuditTrail:
        """The run's tamper-evident decision chain (hitl/protocol/audit.py): every sealed record the run
        keeps (decisions, edits with their JSON Patch, what executed after them), oldest first.

        Read from the checkpoints page by page and the state; read again if the run moved on
        meanwhile, so records and head belong together.
        """
        for _ in range(5):
            before = (await self.get_state()).audit_head
            history = await self.get_state_history()
            snapshot = await self.get_state()
            if snapshot.audit_head == before:
                break
        by_seq: dict[int, Decision] = {}
        for checkpoint in reversed(history):
            for decision in [*checkpoint.decisions, *checkpoint.audit]:
                if decision.seq is not None:
                    by_seq[decision.seq] = decision
        for decision in snapshot.decisions:
            if decision.seq is not None:
                by_seq[decision.seq] = decision
        return AuditTrail(self.run_id, [by_seq[k] for k in sorted(by_seq)], snapshot.audit_head)

    async def wait(
        self, *, timeout: float | None = None, on_progress: Callable[[StateSnapshot], None] | None = None
    ) -> StateSnapshot:
        """Wait until the run pauses for a person or ends; its state then.

        `on_progress` is called with the state whenever the run moves to a new step.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        last_step = -1
        while True:
            snapshot = await self.get_state()
            if snapshot.status != "running":
                return snapshot
            if on_progress is not None and snapshot.step != last_step:
                on_progress(snapshot)
                last_step = snapshot.step
            if deadline is not None and loop.time() > deadline:
                raise HitlError(f"run '{self.run_id}' was still running after {timeout:g}s — {self.where()}")
            await asyncio.sleep(POLL_SECONDS)

    async def result(self) -> dict[str, Any]:
        """Wait for the run to end; its final state, or RunFailedError saying why and where to look."""
        with self._errors("its result"):
            return await self._handle.result()

    @overload
    async def resume(
        self,
        value: Any = ...,
        *,
        map: dict[str, Any] | None = ...,
        update: dict[str, Any] | None = ...,
        goto: str | list[str] | None = ...,
        wait: bool = ...,
        request_id: str | None = ...,
        identity: str | None = ...,
        roles: Sequence[str] | None = ...,
        queue: Literal[False] = ...,
    ) -> StateSnapshot: ...

    @overload
    async def resume(
        self,
        value: Any = ...,
        *,
        map: dict[str, Any] | None = ...,
        update: dict[str, Any] | None = ...,
        goto: str | list[str] | None = ...,
        wait: bool = ...,
        request_id: str | None = ...,
        identity: str | None = ...,
        roles: Sequence[str] | None = ...,
        queue: bool,
    ) -> StateSnapshot | Queued: ...

    async def resume(
        self,
        value: Any = NO_VALUE,
        *,
        map: dict[str, Any] | None = None,
        update: dict[str, Any] | None = None,
        goto: str | list[str] | None = None,
        wait: bool = True,
        request_id: str | None = None,
        identity: str | None = None,
        roles: Sequence[str] | None = None,
        queue: bool = False,
    ) -> StateSnapshot | Queued:
        """Answer a paused run. `value` answers its one pending interrupt (or pass a
        `Command`); `map` answers several by id. A dict `value` whose keys are all
        interrupt ids pending right now is read as a map too (the run decides, as
        LangGraph does); any other dict is an answer. With `wait` (default), returns the
        snapshot at the next pause or at the end. The same `request_id` twice
        answers once; the same `request_id` with a different decision is refused.

        No live worker refuses with NoWorkerError (nothing sent), unless `queue`:
        then the decision goes as a signal (`send_resume`) and `Queued` comes back."""
        if queue and request_id is None:
            # One id for the update and the signal that may follow it: should a worker take both (the update
            # was held by Temporal when no worker took it in time), the second is a resend and applies nothing.
            request_id = f"q-{uuid.uuid4().hex}"
        req = await self._resume_request(value, map, update, goto, wait, identity, roles, request_id)
        if queue:
            try:
                await self._check_workers()
                return await self._update("resume", req, "the decision", until_paused=wait)
            except NoWorkerError:
                await self.send_resume(
                    value, map=map, update=update, goto=goto, identity=identity, roles=roles, request_id=request_id
                )
                return Queued(run_id=self.run_id)
        return await self._update("resume", req, "the decision", until_paused=wait)

    async def send_resume(
        self,
        value: Any = NO_VALUE,
        *,
        map: dict[str, Any] | None = None,
        update: dict[str, Any] | None = None,
        goto: str | list[str] | None = None,
        request_id: str | None = None,
        identity: str | None = None,
        roles: Sequence[str] | None = None,
    ) -> None:
        """Send a decision as a signal: returns once Temporal has it, even if no worker is up.

        The run holds it until it next pauses, then applies it through the same
        checks as `resume()`; one that does not fit is refused there and listed
        in `get_state().refused` (a signal cannot be refused up front)."""
        req = await self._resume_request(value, map, update, goto, False, identity, roles, request_id)
        check_decider(req)
        await self._check_workers(queue=True)
        with self._errors("the decision"):
            await self._handle.signal("resume_signal", req)

    async def update_state(
        self,
        values: dict[str, Any],
        as_node: str | None = None,
        *,
        identity: str | None = None,
        roles: Sequence[str] | None = None,
        request_id: str | None = None,
    ) -> StateSnapshot:
        """Edit a paused run's state through the reducers, as if `as_node` wrote it (`END`: nothing follows,
        and the run ends with its values as they then are, pending questions dropped).

        Without `as_node`, an edit while a question is pending withdraws that
        question: the node runs again on the edited state and asks again, so what
        a reviewer approves is what runs. Returns the state once it has asked.
        """
        if not isinstance(values, dict):
            raise InvalidInputError(f"values must be a JSON object of state keys; got {type(values).__name__}")
        check_json(values, "values")
        values = await self._messages_as_stored(values, "values")
        check_size(values, MAX_DECISION_BYTES, "values")
        req = UpdateStateRequest(
            identity=self._who(identity),
            roles=self._roles(roles),
            values=values,
            as_node=as_node,
            request_id=request_id,
        )
        return await self._update("update_state", req, "the edit", until_paused=True)

    async def cancel(
        self,
        reason: str = "",
        *,
        identity: str | None = None,
        roles: Sequence[str] | None = None,
        request_id: str | None = None,
    ) -> StateSnapshot:
        """End the run, as a decision: checked (reviewers guard it like any override) and recorded."""
        req = CancelRequest(
            identity=self._who(identity), roles=self._roles(roles), reason=reason, request_id=request_id
        )
        return await self._update("cancel", req, "the cancellation")

    async def claim(
        self,
        interrupt_id: str | None = None,
        *,
        ttl: timedelta = timedelta(minutes=30),
        identity: str | None = None,
        roles: Sequence[str] | None = None,
        request_id: str | None = None,
    ) -> StateSnapshot:
        """Hold a pending question (the only one when `interrupt_id` is None) for `ttl`: others see
        who holds it and may not answer it until the claim is released, delegated or runs out."""
        return await self._claim("claim", interrupt_id, None, ttl, identity, roles, request_id)

    async def release(
        self,
        interrupt_id: str | None = None,
        *,
        identity: str | None = None,
        roles: Sequence[str] | None = None,
        request_id: str | None = None,
    ) -> StateSnapshot:
        """Give a claimed question back to everyone allowed to answer it."""
        return await self._claim("release", interrupt_id, None, timedelta(minutes=30), identity, roles, request_id)

    async def delegate(
        self,
        to: str,
        interrupt_id: str | None = None,
        *,
        ttl: timedelta = timedelta(minutes=30),
        identity: str | None = None,
        roles: Sequence[str] | None = None,
        request_id: str | None = None,
    ) -> StateSnapshot:
        """Hand a question to `to` (an identity or `role:NAME` on its reviewer list), held for `ttl`."""
        return await self._claim("delegate", interrupt_id, to, ttl, identity, roles, request_id)

    async def _claim(
        self,
        action: ClaimAction,
        interrupt_id: str | None,
        to: str | None,
        ttl: timedelta,
        identity: str | None,
        roles: Sequence[str] | None,
        request_id: str | None,
    ) -> StateSnapshot:
        if not isinstance(ttl, timedelta):
            raise InvalidInputError(f"ttl must be a timedelta (a claim's length); got {type(ttl).__name__}")
        req = ClaimRequest(
            identity=self._who(identity),
            action=action,
            interrupt_id=interrupt_id,
            to=to,
            ttl_s=ttl.total_seconds(),
            roles=self._roles(roles),
            request_id=request_id,
        )
        return await self._update("claim", req, f"the {action}")

    async def _update(self, name: str, req: Request, what: str, *, until_paused: bool = False) -> StateSnapshot:
        """Send a decision as a Temporal update and wait for its outcome.

        A busy server or worker can let the RPC time out before the run has
        answered. The update is then sent again under the same id, which Temporal
        applies at most once, so a slow moment never loses or doubles a decision.
        The same when the workflow task that carried it failed (Temporal aborts
        the update: e.g. the task raced an activity's completion and the server
        refused its commands), twice at most: Temporal calls such an abort final,
        since a decision can also be what fails the task.
        A caller's request id becomes the update id together with a digest of the
        decision, so reusing an id for a different decision reaches the run,
        which refuses it, instead of being answered with the first outcome.
        With `until_paused`, a snapshot taken as the run moved to a fresh history
        (status running) is followed by waiting for its next pause or end.
        """
        check_decider(req)
        await self._check_workers()
        update_id = f"{req.request_id}.{request_digest(req)}" if req.request_id else uuid.uuid4().hex
        aborted = 0
        while True:
            try:
                with self._errors(what):
                    try:
                        snapshot = await self._send(name, req, update_id, what)
                    except temporalio.service.RPCError as e:
                        if _task_failed(e):
                            if aborted < UPDATE_RETRIES:
                                aborted += 1  # nothing of it was recorded: send it again, under the same id
                                await asyncio.sleep(0.1 * aborted)
                                continue
                            raise HitlError(
                                f"run '{self.run_id}' did not take {what}: Temporal aborted it {aborted + 1} times "
                                f"with the workflow task that carried it ({e.message.rstrip('.')}), so nothing of it "
                                "was applied; send it again, and if it keeps failing, the run's history shows why its "
                                f"workflow tasks fail — {self.where()}"
                            ) from None
                        if e.status != temporalio.service.RPCStatusCode.NOT_FOUND:
                            raise
                        raise await self._ended(what) from None
                if until_paused and snapshot.status == "running":  # the run moved to a fresh history meanwhile
                    snapshot = await self.wait()
                return snapshot
            except temporalio.client.WorkflowUpdateRPCTimeoutOrCancelledError as e:
                if isinstance(e.__cause__, asyncio.CancelledError):
                    # Our caller gave up (a cancel, asyncio.wait_for): it must see its cancellation.
                    raise e.__cause__ from None

    async def _send(self, name: str, req: Request, update_id: str, what: str) -> StateSnapshot:
        """Send the update and wait for its outcome, first checking within seconds that a worker takes it.

        The worker check before sending counts a worker killed a moment ago as live (the server lists it
        with a recent poll), and Temporal holds an update that no worker takes without answering. So the
        update is awaited ACCEPT_SECONDS at a time (to its outcome first, then only until a worker accepts
        or refuses it); when NO_WORKER_SECONDS pass with no worker taking it and none starting a poll of the
        run's task queue (or appearing there) since the first wait, the caller is refused (NoWorkerError)
        instead of waiting on. Such an update is not in the run's history, but Temporal keeps it for a
        while: a worker back meanwhile may still apply it, as the refusal says. A live worker, even a busy
        or a restarted one, polls again and is waited for.
        """
        stage = temporalio.client.WorkflowUpdateStage.COMPLETED  # most decisions: one RPC, as before
        listed: list[WorkerInfo] | None = None
        alive = False
        sent = time.monotonic()
        while True:
            try:
                handle = await self._handle.start_update(
                    name,
                    req,
                    id=update_id,
                    wait_for_stage=stage,
                    result_type=StateSnapshot,
                    rpc_timeout=timedelta(seconds=ACCEPT_SECONDS),
                )
                break
            except temporalio.client.WorkflowUpdateRPCTimeoutOrCancelledError as e:
                if isinstance(e.__cause__, asyncio.CancelledError) or self._task_queue is None:
                    raise
                # Not done yet: is it taken at all? Ask again (the same update id) only that far; a taken one
                # answers at once and is then awaited to its end.
                stage = temporalio.client.WorkflowUpdateStage.ACCEPTED
                late = time.monotonic() - sent >= NO_WORKER_SECONDS
                if late:  # a worker may be there and fail the run's task on every try: say so, not "no worker"
                    await self._refuse_if_failing(what)
                if alive:
                    continue
                now = await list_workers(self.client.temporal, self._task_queue)
                if listed is None:
                    listed = now
                elif polled_since(listed, now):
                    alive = True  # a worker polled since: it is there, only slow (or starting); wait on
                elif late:
                    raise NoWorkerError(self._not_taken(what, now, req.request_id)) from None
            except temporalio.service.RPCError as e:
                if "workflow task in failed state" in e.message.lower():  # Temporal says that much; say why
                    await self._refuse_if_failing(what)
                raise
        snapshot: StateSnapshot = await handle.result(rpc_timeout=self.client.rpc_timeout)
        return snapshot

    async def _refuse_if_failing(self, what: str) -> None:
        """Raise when the run's workflow task keeps failing (on a live worker): a decision waits on it forever."""
        temporal = self.client.temporal
        failing = await failing_task(temporal.service_client, temporal.namespace, self.run_id)
        if failing is not None:
            raise HitlError(
                f"run '{self.run_id}' has not taken {what}: its workflow task fails on the worker ({failing}); "
                "nothing is applied while it does, though Temporal holds the decision a while and a worker that "
                f"runs the task again (fixed) may still apply it; see `hitl state {self.run_id}` and the worker's log"
            )

    def _not_taken(self, what: str, workers: list[WorkerInfo], request_id: str | None) -> str:
        again = (
            f"send it again with request id '{request_id}' and --queue (queue=True): the run holds it until a "
            "worker is back and applies it once"
            if request_id
            else f"check `hitl state {self.run_id}` before sending it again, e.g. with --queue (queue=True) for the "
            "run to hold it until a worker is back (it carried no request id: a resend is another decision)"
        )
        last = max((w.polled_at for w in workers if w.polled_at), default=None)
        since = f" since {last:%H:%M:%S} UTC" if last else ""
        return (
            f"no worker took {what} for run '{self.run_id}' within {NO_WORKER_SECONDS:.0f} s: none has polled "
            f"task queue '{self._task_queue}'{since} (its worker stopped); nothing was applied and nothing of it "
            "is in the run's history. Temporal may hold the decision a while and apply it if a worker comes back "
            f"meanwhile: {again}"
        )

    async def _ended(self, what: str) -> HitlError:
        """Why a decision found no run to take it: the run ended (say how, and whose decision it last took,
        e.g. a cancel that won a race with this answer), or there is no such run."""
        state = await self.get_state()  # a run that ended still answers; no run raises RunNotFoundError here
        outside = state.status == "failed" and OUTSIDE_HITL in (state.error or "")
        how = state.error if (state.status == "cancelled" or outside) and state.error else state.status
        last = state.decisions[-1] if state.decisions else None
        took = f"; its last decision was a {last.kind} by {last.identity} at {last.at:%H:%M:%S} UTC" if last else ""
        return DecisionRejectedError(
            f"run '{self.run_id}' refused {what}: it has ended ({how}){took}; it accepts a decision only while "
            f"interrupted — {self.where()}"
        )

    async def fork(self, step: int, values: dict[str, Any] | None = None, **kwargs: Any) -> Run:
        return await self.client.fork(self.run_id, step, values, **kwargs)

    def where(self) -> str:
        return f"see `hitl state {self.run_id}` or {self.client.ui_url(self.run_id)}"

    def _who(self, identity: str | None) -> str:
        """Who a decision is from: the call's `identity=` (checked), else the client's."""
        return person(identity) if identity else self.client.identity

    def _roles(self, roles: Sequence[str] | None) -> list[str]:
        return held(roles) if roles is not None else list(self.client.roles)

    async def _resume_request(
        self,
        value: Any,
        map: dict[str, Any] | None,
        update: dict[str, Any] | None,
        goto: Goto,
        wait: bool,
        identity: str | None,
        roles: Sequence[str] | None,
        request_id: str | None,
    ) -> ResumeRequest:
        if isinstance(value, Command):
            if map is not None or update is not None or goto is not None:
                raise InvalidInputError("pass either a Command or keyword arguments to resume(), not both")
            if value.graph is not None:
                raise InvalidInputError(
                    "Command(graph=...) is for a subgraph's node handing its parent an update (Command.PARENT); "
                    "resume() takes resume, update and goto"
                )
            value, update, goto = (value.resume if value.resume is not None else NO_VALUE), value.update, value.goto
        if map is not None and value is not NO_VALUE:
            raise InvalidInputError("pass a single value or a map of interrupt id to value, not both")
        if map is not None and not isinstance(map, dict):
            raise InvalidInputError(f"map must be a JSON object of interrupt id to value; got {type(map).__name__}")
        if update is not None and not isinstance(update, dict):
            raise InvalidInputError(f"update must be a JSON object of state keys; got {type(update).__name__}")
        targets = [goto] if isinstance(goto, (str, Send)) else (list(goto) if goto else None)
        if targets and any(isinstance(t, Send) for t in targets):
            raise InvalidInputError(
                "a decision's goto names nodes to add to the paused step; Send(...) is for a node's "
                "Command or a router (it runs a node with an arg of its own)"
            )
        answers = [("the answer", None if value is NO_VALUE else value), ("the update", update)]
        for what, part in answers + [(f"the answer to {k}", v) for k, v in (map or {}).items()]:
            check_json(part, what)
        if update:
            update = await self._messages_as_stored(update, "the update")
        refused = too_large([None if value is NO_VALUE else value, map, update], MAX_DECISION_BYTES, "the decision")
        if refused:
            raise InvalidInputError(refused)
        return ResumeRequest(
            identity=self._who(identity),
            roles=self._roles(roles),
            has_resume=value is not NO_VALUE,
            resume=None if value is NO_VALUE else value,
            resume_map=map,
            update=update,
            goto=[t for t in targets if isinstance(t, str)] if targets else None,
            wait=wait,
            request_id=request_id,
        )

    async def _messages_as_stored(self, values: dict[str, Any], what: str) -> dict[str, Any]:
        """`values` written from outside (an edit, a decision's update) with their messages as a run's input
        and its nodes' writes are stored (hitl/state.py `messages_as_stored`): the workflow's `add_messages`
        only appends what it is given, and no random id may be made there. The graph's message keys come
        from the run's start, its first history event, read without a worker, so a queued decision is
        converted too. Values for a key the graph lacks are left for the run to refuse."""
        if not values:
            return values
        try:
            started = await self._started_with()
        except KeyMismatchError:
            # An encrypted run read by a client without its key: the worker check says so as every other
            # write does (this client has no key but the workers encrypt), before anything is sent.
            await self._check_workers(queue=True)
            raise
        if started is None:
            return values  # not a hitl run (a thread record): the run refuses the edit itself
        keys = message_keys(started.graph.channels)
        if not keys & values.keys():
            return values
        return messages_as_stored(values, keys, what=what, error=InvalidInputError)

    async def _started_with(self) -> RunInput | None:
        """What the run's current execution started with (its first history event), or None for a workflow
        that is no hitl run."""
        with self._errors("its start"):
            async for event in self._handle.fetch_history_events(page_size=1):
                started = event.workflow_execution_started_event_attributes
                if started.workflow_type.name != WORKFLOW_NAME:
                    return None
                decoded = await self.client.temporal.data_converter.decode(started.input.payloads, [RunInput])
                return decoded[0] if isinstance(decoded[0], RunInput) else None
        return None

    async def _query(
        self,
        name: str,
        result_type: TypeForm[T],
        *args: Any,
        reject: temporalio.common.QueryRejectCondition | None = None,
    ) -> T:
        with self._errors(f"'{name}'"):
            for attempt in range(1, QUERY_ATTEMPTS + 1):
                try:
                    result: T = await stuck.watched(
                        read_with_retries(
                            lambda: self._handle.query(
                                name,
                                *args,
                                result_type=result_type,  # type: ignore[arg-type]
                                reject_condition=reject,
                            )
                        ),
                        lambda: stuck.failing_task(self.client.temporal, self.run_id, self.where()),
                    )
                    return result
                except temporalio.client.WorkflowQueryFailedError as e:
                    if RAN_AHEAD not in str(e) or attempt == QUERY_ATTEMPTS:
                        raise
                    await asyncio.sleep(QUERY_PAUSE_SECONDS)  # the copy that ran ahead is gone: ask again
            raise AssertionError("unreachable")

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Temporal's errors as one line that names the real cause and where to look (one place)."""
        try:
            yield
        except temporalio.client.WorkflowUpdateFailedError as e:
            raise DecisionRejectedError(f"run '{self.run_id}' refused {what}: {_message(e)}") from None
        except temporalio.client.WorkflowFailureError as e:
            cause = e.cause
            while cause.__cause__ is not None and not isinstance(cause, temporalio.exceptions.ApplicationError):
                cause = cause.__cause__
            reason = cause.message if isinstance(cause, temporalio.exceptions.FailureError) else str(cause)
            raise RunFailedError(f"run '{self.run_id}' ended: {reason} — {self.where()}") from None
        except temporalio.client.WorkflowQueryFailedError as e:
            raise HitlError(f"run '{self.run_id}' could not answer {what}: {e} — {self.where()}") from None
        except temporalio.service.RPCError as e:
            raise self._rpc_error(e, what) from None

    async def indexed_graph(self) -> str | None:
        """The run's graph as its HitlGraph search attribute says (None where it is not indexed): one
        describe, needing no worker and no key (`hitl serve` checks who may read a run with it)."""
        try:
            described = await self._handle.describe()
        except temporalio.service.RPCError as e:
            raise self._rpc_error(e, "describing the run") from None
        if described.workflow_type == THREAD_WORKFLOW:
            raise self.not_found()  # a `hitl serve` thread no run has started on yet
        self._task_queue = described.task_queue  # a decision sent next needs no describe of its own
        return described.typed_search_attributes.get(GRAPH)

    async def starter(self) -> str:
        """Who started the run (its spec's `starter`): a quorum that bars its starter asks."""
        return (await self._query("get_spec", RunInput)).starter

    def not_found(self) -> RunNotFoundError:
        """The error of an id no run has (also what `hitl serve` answers for a run the caller may not read)."""
        return RunNotFoundError(
            f"no run '{self.run_id}' on namespace '{self.client.namespace}'; list runs with `hitl list`"
        )

    def _rpc_error(self, e: temporalio.service.RPCError, what: str = "the call") -> HitlError:
        message = e.message.lower()
        if e.status == temporalio.service.RPCStatusCode.NOT_FOUND:
            if "completed" in message:
                return DecisionRejectedError(
                    f"run '{self.run_id}' has ended; it accepts a decision only while interrupted — {self.where()}"
                )
            return self.not_found()
        if "size exceeds" in message or "larger than max" in message or "too large" in message:
            return HitlError(
                f"Temporal refused {what} for run '{self.run_id}' as too large ({e.message}); "
                f"keep large data outside the run and store a reference to it — {self.where()}"
            )
        if "no poller" in message:
            return HitlError(
                f"no worker is polling the task queue of run '{self.run_id}' ({e.message}); start one with "
                f"`hitl worker` — {self.where()}"
            )
        if e.status == temporalio.service.RPCStatusCode.UNAVAILABLE:
            return HitlError(
                f"cannot reach Temporal for {what} of run '{self.run_id}' ({e.message}); it is down or restarting: "
                f"try again once it is back — {self.where()}"
            )
        if e.status == temporalio.service.RPCStatusCode.DEADLINE_EXCEEDED:
            return HitlError(
                f"run '{self.run_id}' did not answer {what} in time ({e.message}): its worker is down or busy — {self.where()}"
            )
        return HitlError(f"Temporal refused {what} for run '{self.run_id}': {e.message} — {self.where()}")


def check_size(value: Any, limit: int, what: str) -> None:
    """Refuse a value before it is sent when the run could not carry it (hitl/protocol/limits.py)."""
    check_json(value, what)
    refused = too_large(value, limit, what)
    if refused:
        raise InvalidInputError(refused)


def check_json(value: Any, what: str) -> None:
    """Refuse a value before anything serializes it when it is not plain JSON a run can hold: nesting deeper
    than MAX_JSON_DEPTH (hitl/protocol/limits.py), or NaN or an infinite number, which would pass a schema's bounds
    (hitl/protocol/finite.py)."""
    refused = too_deep(value, what) or non_finite(value, what)
    if refused:
        raise InvalidInputError(refused)


def default_identity() -> str:
    """Who is deciding, unless the caller says: `HITL_IDENTITY`, else the OS user."""
    if os.environ.get("HITL_IDENTITY"):
        return person(os.environ["HITL_IDENTITY"], "HITL_IDENTITY")
    try:
        user = getpass.getuser()
    except Exception:
        return "unknown"
    return person(user, "the OS user name")


def person(identity: str, where: str = "identity") -> str:
    """`identity`, or InvalidInputError when it cannot name a person (`hitl.protocol.policy.identity_refused`)."""
    refused = identity_refused(identity, where)
    if refused:
        raise InvalidInputError(refused)
    return identity


def held(roles: Sequence[str], where: str = "roles") -> list[str]:
    """`roles` as a list, or InvalidInputError when they are out of bounds (`hitl.protocol.policy.roles_refused`)."""
    if isinstance(roles, str):
        raise InvalidInputError(f"{where} must be a list of role names, not the string {roles[:100]!r}")
    refused = roles_refused(list(roles), where)
    if refused:
        raise InvalidInputError(refused)
    return list(roles)


def check_decider(req: Request) -> None:
    """Refuse, before anything is sent, a decision whose who, reason or request id is out of bounds."""
    refused = decider_refused(req.identity, req.roles, getattr(req, "reason", None), req.request_id)
    if refused:
        raise InvalidInputError(refused)


def _message(e: temporalio.client.WorkflowUpdateFailedError) -> str:
    cause = e.cause
    return cause.message if isinstance(cause, temporalio.exceptions.FailureError) else str(cause)


def _guess_ui(target: str) -> str:
    host, _, port = target.rpartition(":")
    number = whole_number(port, most=65535)
    if host in ("localhost", "127.0.0.1") and number is not None:
        return f"http://{host}:{number + 1000}"
    return "https://cloud.temporal.io" if "tmprl.cloud" in target else f"http://{host or target}:8233"


MAX_RUN_ID = 255
"""Longer new ids are refused: Temporal's own limit (1,000 by default) comes back as a raw RPC error."""
MAX_MADE_RUN_ID = 1000
"""An existing run's id may be longer: hitl names a subgraph's or a called graph's run after its parent's
(`PARENT.node.step~NONCE`), so a parent of 255 characters has children of 280 and more (Temporal's limit)."""


def check_run_id(run_id: str, *, new: bool = False) -> str:
    """Refuse, before any RPC, a run id Temporal would refuse with a raw error or that
    would garble a terminal or a table when shown (control characters, stray spaces).
    A `new` id (start, fork) may not hold "/" either: no inbox page or API path could
    name that run (an existing one made elsewhere is still readable here); nor the mark of a
    subgraph's run (`SUBGRAPH_RUN_MARK`): a run started under a subgraph's id first would keep
    its parent from starting it."""
    import unicodedata

    if new and "/" in run_id:
        raise InvalidInputError(
            f"run id '{run_id}' contains '/'; a new run id may not, since the inbox and HTTP API "
            "name runs in URL paths: use letters, digits and - _ . : instead"
        )
    if new and SUBGRAPH_RUN_MARK in run_id:
        raise InvalidInputError(
            f"run id '{run_id}' contains '{SUBGRAPH_RUN_MARK}', which only the runs of subgraphs have "
            f"(PARENT.node.step{SUBGRAPH_RUN_MARK}...); a new run id may not: use letters, digits and - _ . : instead"
        )
    if not run_id:
        problem = "is empty"
    elif len(run_id) > (MAX_RUN_ID if new else MAX_MADE_RUN_ID):
        problem = f"is {len(run_id)} characters long"
    elif (control := next((c for c in run_id if unicodedata.category(c)[0] == "C"), None)) is not None:
        problem = f"contains the control character {control!r} at position {run_id.index(control)}"
    elif run_id != run_id.strip():
        problem = "has leading or trailing whitespace"
    else:
        return run_id
    raise InvalidInputError(
        f"run id {problem}; a run id is 1 to {MAX_RUN_ID} characters"
        + ("" if new else f" ({MAX_MADE_RUN_ID:,} for the run of a subgraph, named after its parent's)")
        + ", with no control characters and no leading or trailing whitespace"
    )


ACCEPT_SECONDS = 3.0
"""How long a decision waits at a time for its outcome, then for a worker to take it (accept or refuse it),
before the client looks whether any worker polls; a live worker takes one in milliseconds."""
NO_WORKER_SECONDS = 11.0
"""How long a decision no worker takes, with no worker polling meanwhile, is waited on before it is refused:
past the 10 s a run's workflow task may wait on the sticky queue of the worker that last ran it (the
Python SDK's default) before Temporal offers it to every worker, so a worker restarted meanwhile gets it."""

UPDATE_RETRIES = 2
"""Times a decision is sent again after Temporal aborted it with the workflow task that carried it."""


QUERY_ATTEMPTS = 3
"""Times a query is asked when the run failed the copy of it that answered (`RAN_AHEAD`): asked again, it is
answered from the run's history."""
QUERY_PAUSE_SECONDS = 0.2
"""The pause before it is asked again."""


def _task_failed(error: temporalio.service.RPCError) -> bool:
    """Temporal aborted an update because the workflow task carrying it failed: nothing was recorded."""
    return error.status == temporalio.service.RPCStatusCode.FAILED_PRECONDITION and "workflow task failure" in str(
        error.message
    )
