"""The Python client: start runs, read their state, send human decisions.

`client = await hitl.connect()` reaches the Temporal server named by
`TEMPORAL_ADDRESS` or a `temporalio.envconfig` profile (default: the local dev
server). Everything the client shows comes from the workflow itself (queries
and updates); nothing is recomputed here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import getpass
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence, overload

import temporalio.api.enums.v1
import temporalio.api.operatorservice.v1
import temporalio.client
import temporalio.common
import temporalio.envconfig
import temporalio.exceptions
import temporalio.service
from temporalio.contrib.pydantic import pydantic_data_converter

from hitl import catalog
from hitl._workers import Queued, check_workers, explaining, wait_until_polling
from hitl.codec import from_env as codec_from_env
from hitl.codec import with_codec
from hitl._protocol import (
    DEFAULT_TASK_QUEUE,
    GRAPH,
    PENDING_NODES,
    SEARCH_ATTRIBUTE_TYPES,
    SEARCH_ATTRIBUTES,
    STATUS,
    SUMMARY_MEMO,
    WAITING_SINCE,
    WORKFLOW_NAME,
    ForkFrom,
    ResumeRequest,
    RunInput,
    UpdateStateRequest,
)
from hitl.graph import CompiledGraph
from hitl.types import (
    Checkpoint,
    Command,
    DecisionRejectedError,
    HitlError,
    InvalidInputError,
    KeyMismatchError,
    NoWorkerError,
    RunAlreadyExistsError,
    RunFailedError,
    RunNotFoundError,
    StateSnapshot,
)
if TYPE_CHECKING:
    import temporalio.worker

NO_VALUE: Any = object()
POLL_SECONDS = 0.1


@dataclass
class PendingRun:
    """A run waiting for a person, as the inbox lists it."""

    run_id: str
    graph: str
    nodes: list[str]
    summary: str
    waiting_since: datetime | None


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
) -> Client:
    """Connect to Temporal: `address`, else `TEMPORAL_ADDRESS` / envconfig, else localhost:7233."""
    config = dict(temporalio.envconfig.ClientConfig.load_client_connect_config())
    if address:
        config["target_host"] = address
    if namespace:
        config["namespace"] = namespace
    config.setdefault("target_host", "localhost:7233")
    target = config["target_host"]
    converter = dataclasses.replace(pydantic_data_converter, payload_codec=codec_from_env())
    try:
        temporal = await temporalio.client.Client.connect(**config, data_converter=converter)
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
        self.temporal = explaining(with_codec(temporal))
        self.rpc_timeout = rpc_timeout
        """How long one decision RPC may wait before it is sent again (same update id); None: the server's."""
        self.roles = list(roles) or [r for r in os.environ.get("HITL_ROLES", "").replace(",", " ").split() if r]
        self.task_queue = task_queue
        self.identity = identity or default_identity()
        self._graphs = {g.name: g for g in graphs} if graphs is not None else None
        self._search_attributes: bool | None = None

    @property
    def namespace(self) -> str:
        return self.temporal.namespace

    def graph(self, name: str) -> CompiledGraph:
        """A graph known to this process: given at connect, or from the catalog."""
        graphs = self._graphs if self._graphs is not None else catalog.by_name()
        return catalog.lookup(graphs, name)

    async def start(
        self,
        graph: str | CompiledGraph,
        input: dict[str, Any] | None = None,
        *,
        run_id: str | None = None,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
        max_history_events: int = 5000,
    ) -> Run:
        """Start a run. The input is checked against the state schema before anything starts.

        A run continues as new (a fresh Temporal history, same run id) once its
        history reaches `max_history_events`, carrying its state across.
        """
        compiled = graph if isinstance(graph, CompiledGraph) else self.graph(graph)
        values = compiled.validate_input(input if input is not None else {})
        check_size(values, "input")
        await check_workers(self.temporal, self.task_queue)
        run_input = RunInput(
            graph=compiled.spec(),
            input=values,
            identity=self.identity,
            interrupt_before=compiled.check_breakpoints(interrupt_before, "interrupt_before"),
            interrupt_after=compiled.check_breakpoints(interrupt_after, "interrupt_after"),
            search_attributes=await self.search_attributes_registered(),
            max_history_events=max_history_events,
        )
        return await self._start(run_input, run_id or f"{compiled.name}-{uuid.uuid4().hex[:12]}")

    async def _start(self, run_input: RunInput, run_id: str) -> Run:
        attributes = None
        if run_input.search_attributes:
            attributes = temporalio.common.TypedSearchAttributes(
                [
                    temporalio.common.SearchAttributePair(GRAPH, run_input.graph.name),
                    temporalio.common.SearchAttributePair(STATUS, "running"),
                ]
            )
        try:
            handle = await self.temporal.start_workflow(
                WORKFLOW_NAME,
                run_input,
                id=run_id,
                task_queue=self.task_queue,
                search_attributes=attributes,
                id_reuse_policy=temporalio.common.WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"hitl graph {run_input.graph.name}",
            )
        except temporalio.exceptions.WorkflowAlreadyStartedError:
            raise RunAlreadyExistsError(
                f"a run with id '{run_id}' exists already; pick another id or omit it to get a fresh one"
            ) from None
        return Run(self, handle.id)

    def get_run(self, run_id: str) -> Run:
        return Run(self, run_id)

    async def fork(self, run_id: str, step: int, values: dict[str, Any] | None = None, *, new_run_id: str | None = None) -> Run:
        """Time travel: a new run that starts from `run_id`'s checkpoint at `step`."""
        source = self.get_run(run_id)
        history = await source.get_state_history()
        found = [c for c in history if c.step == step]
        if not found:
            steps = sorted({c.step for c in history})
            raise InvalidInputError(f"run '{run_id}' has no checkpoint at step {step}; its steps are {steps}")
        checkpoint = found[0]
        original: RunInput = await source._query("get_spec", RunInput)
        edits = {}
        if values:
            if not isinstance(values, dict):
                raise InvalidInputError(f"fork values must be a JSON object of state keys; got {type(values).__name__}")
            unknown = [k for k in values if k not in original.graph.channels]
            if unknown:
                raise InvalidInputError(
                    f"fork values have unknown key(s) {unknown}; the state keys are {sorted(original.graph.channels)}"
                )
            edits = values
        run_input = RunInput(
            graph=original.graph,
            input=edits,
            identity=self.identity,
            interrupt_before=original.interrupt_before,
            interrupt_after=original.interrupt_after,
            search_attributes=await self.search_attributes_registered(),
            fork=ForkFrom(run_id, checkpoint.step, checkpoint.values, checkpoint.next),
        )
        await check_workers(self.temporal, self.task_queue)
        return await self._start(run_input, new_run_id or f"{run_id}-fork{step}-{uuid.uuid4().hex[:6]}")

    async def list_runs(self, limit: int = 50) -> list[RunInfo]:
        runs = []
        async for w in self.temporal.list_workflows(f'WorkflowType = "{WORKFLOW_NAME}"', limit=limit):
            graph = w.typed_search_attributes.get(GRAPH) if w.typed_search_attributes else None
            status = w.status.name.lower() if w.status else "unknown"
            runs.append(RunInfo(w.id, graph or "?", status, w.start_time))
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
        out = []
        query = f'WorkflowType = "{WORKFLOW_NAME}" AND {STATUS.name} = "interrupted"'
        async for w in self.temporal.list_workflows(query, limit=limit):
            sa = w.typed_search_attributes
            try:
                memo = await w.memo_value(SUMMARY_MEMO, default="") if w.raw_info.memo.fields else ""
            except KeyMismatchError:  # a run encrypted with a key this process lacks: listed, unread
                memo = "(encrypted)"
            out.append(
                PendingRun(
                    run_id=w.id,
                    graph=sa.get(GRAPH) or "?",
                    nodes=list(sa.get(PENDING_NODES) or []),
                    summary=str(memo),
                    waiting_since=sa.get(WAITING_SINCE),
                )
            )
        return out

    async def search_attributes_registered(self) -> bool:
        if self._search_attributes is None:
            try:
                response = await self.temporal.operator_service.list_search_attributes(
                    temporalio.api.operatorservice.v1.ListSearchAttributesRequest(namespace=self.namespace)
                )
                self._search_attributes = all(k.name in response.custom_attributes for k in SEARCH_ATTRIBUTES)
            except temporalio.service.RPCError:
                self._search_attributes = False
        return self._search_attributes

    @asynccontextmanager
    async def worker(
        self, graphs: Sequence[CompiledGraph] | None = None, *, max_cached_workflows: int | None = None
    ) -> AsyncIterator[temporalio.worker.Worker]:
        """Serve `graphs` (default: this client's graphs, else the catalog) in this process."""
        from hitl.worker import CACHED_RUNS, create_worker

        graphs = list(graphs) if graphs is not None else list((self._graphs or catalog.by_name()).values())
        cached = CACHED_RUNS if max_cached_workflows is None else max_cached_workflows
        async with create_worker(self.temporal, graphs, task_queue=self.task_queue, max_cached_workflows=cached) as worker:
            await wait_until_polling(self.temporal, self.task_queue, worker.config()["identity"] or "")
            yield worker

    def ui_url(self, run_id: str | None = None) -> str:
        """Where to look in the Temporal Web UI."""
        base = os.environ.get("HITL_UI_URL") or _guess_ui(self.temporal.service_client.config.target_host)
        path = f"/namespaces/{self.namespace}/workflows" + (f"/{run_id}" if run_id else "")
        return base.rstrip("/") + path


class Run:
    """A handle on one run, by id. Cheap to make; every call asks the workflow."""

    def __init__(self, client: Client, run_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self._handle = client.temporal.get_workflow_handle(run_id, result_type=dict)

    def __repr__(self) -> str:
        return f"<Run {self.run_id}>"

    async def get_state(self) -> StateSnapshot:
        return await self._query("get_state", StateSnapshot)

    async def get_state_history(self) -> list[Checkpoint]:
        return await self._query("get_state_history", list[Checkpoint])

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
        try:
            return await self._handle.result()
        except temporalio.client.WorkflowFailureError as e:
            cause = e.cause
            while cause.__cause__ is not None and not isinstance(cause, temporalio.exceptions.ApplicationError):
                cause = cause.__cause__
            reason = cause.message if isinstance(cause, temporalio.exceptions.FailureError) else str(cause)
            raise RunFailedError(f"run '{self.run_id}' ended: {reason} — {self.where()}") from None
        except temporalio.service.RPCError as e:
            raise self._rpc_error(e) from None

    @overload
    async def resume(
        self, value: Any = ..., *, map: dict[str, Any] | None = ..., update: dict[str, Any] | None = ..., goto: str | list[str] | None = ...,
        wait: bool = ..., request_id: str | None = ..., identity: str | None = ..., queue: Literal[False] = ...,
    ) -> StateSnapshot: ...

    @overload
    async def resume(
        self, value: Any = ..., *, map: dict[str, Any] | None = ..., update: dict[str, Any] | None = ..., goto: str | list[str] | None = ...,
        wait: bool = ..., request_id: str | None = ..., identity: str | None = ..., queue: bool,
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
        queue: bool = False,
    ) -> StateSnapshot | Queued:
        """Answer a paused run. `value` answers its one pending interrupt (or pass a
        `Command`); `map` answers several by id. With `wait` (default), returns the
        snapshot at the next pause or at the end. The same `request_id` twice
        answers once.

        No live worker refuses with NoWorkerError (nothing sent), unless `queue`:
        then the decision goes as a signal (`send_resume`) and `Queued` comes back."""
        req = self._resume_request(value, map, update, goto, wait, identity)
        if queue:
            try:
                await check_workers(self.client.temporal, self.client.task_queue)
            except NoWorkerError:
                await self.send_resume(value, map=map, update=update, goto=goto, identity=identity)
                return Queued(self.run_id)
        snapshot = await self._update("resume", req, request_id, "the decision")
        if wait and snapshot.status == "running":  # the run moved to a fresh history meanwhile
            snapshot = await self.wait()
        return snapshot

    async def send_resume(
        self,
        value: Any = NO_VALUE,
        *,
        map: dict[str, Any] | None = None,
        update: dict[str, Any] | None = None,
        goto: str | list[str] | None = None,
        identity: str | None = None,
    ) -> None:
        """Send a decision as a signal: returns once Temporal has it, even if no worker is up.
        A signal cannot be refused up front: one that does not fit is logged and dropped."""
        req = self._resume_request(value, map, update, goto, False, identity)
        await check_workers(self.client.temporal, self.client.task_queue, queue=True)
        try:
            await self._handle.signal("resume_signal", req)
        except temporalio.service.RPCError as e:
            raise self._rpc_error(e) from None

    async def update_state(self, values: dict[str, Any], as_node: str | None = None, *, identity: str | None = None) -> StateSnapshot:
        """Edit a paused run's state through the reducers, as if `as_node` wrote it."""
        if not isinstance(values, dict):
            raise InvalidInputError(f"values must be a JSON object of state keys; got {type(values).__name__}")
        check_size(values, "values")
        req = UpdateStateRequest(identity or self.client.identity, values, as_node)
        return await self._update("update_state", req, None, "the edit")

    async def _update(self, name: str, req: Any, request_id: str | None, what: str) -> StateSnapshot:
        """Send a decision as a Temporal update and wait for its outcome.

        A busy server or worker can let the RPC time out before the run has
        answered. The update is then sent again under the same id, which Temporal
        applies at most once, so a slow moment never loses or doubles a decision.
        """
        await check_workers(self.client.temporal, self.client.task_queue)
        update_id = request_id or uuid.uuid4().hex
        while True:
            try:
                return await self._handle.execute_update(
                    name, req, id=update_id, result_type=StateSnapshot, rpc_timeout=self.client.rpc_timeout
                )
            except temporalio.client.WorkflowUpdateRPCTimeoutOrCancelledError as e:
                if isinstance(e.__cause__, asyncio.CancelledError):
                    raise  # our caller gave up: not a timeout to ride out
            except temporalio.client.WorkflowUpdateFailedError as e:
                raise DecisionRejectedError(f"run '{self.run_id}' refused {what}: {_message(e)}") from None
            except temporalio.service.RPCError as e:
                raise self._rpc_error(e) from None

    async def fork(self, step: int, values: dict[str, Any] | None = None) -> Run:
        return await self.client.fork(self.run_id, step, values)

    async def cancel(self) -> None:
        try:
            await self._handle.cancel()
        except temporalio.service.RPCError as e:
            raise self._rpc_error(e) from None

    def where(self) -> str:
        return f"see `hitl state {self.run_id}` or {self.client.ui_url(self.run_id)}"

    def _resume_request(self, value: Any, map: Any, update: Any, goto: Any, wait: bool, identity: str | None) -> ResumeRequest:
        if isinstance(value, Command):
            if map is not None or update is not None or goto is not None:
                raise InvalidInputError("pass either a Command or keyword arguments to resume(), not both")
            value, update, goto = (value.resume if value.resume is not None else NO_VALUE), value.update, value.goto
        if isinstance(value, dict) and map is None and value and all(isinstance(k, str) for k in value) and _looks_like_map(value):
            value, map = NO_VALUE, value
        if map is not None and value is not NO_VALUE:
            raise InvalidInputError("pass a single value or a map of interrupt id to value, not both")
        if map is not None and not isinstance(map, dict):
            raise InvalidInputError(f"map must be a JSON object of interrupt id to value; got {type(map).__name__}")
        if update is not None and not isinstance(update, dict):
            raise InvalidInputError(f"update must be a JSON object of state keys; got {type(update).__name__}")
        targets = [goto] if isinstance(goto, str) else (list(goto) if goto else None)
        check_size([None if value is NO_VALUE else value, map, update], "the decision")
        return ResumeRequest(
            identity=identity or self.client.identity,
            roles=list(self.client.roles),
            has_resume=value is not NO_VALUE,
            resume=None if value is NO_VALUE else value,
            resume_map=map,
            update=update,
            goto=targets,
            wait=wait,
        )

    async def _query(self, name: str, result_type: Any) -> Any:
        try:
            return await self._handle.query(name, result_type=result_type)
        except temporalio.client.WorkflowQueryFailedError as e:
            raise HitlError(f"run '{self.run_id}' could not answer '{name}': {e} — {self.where()}") from None
        except temporalio.service.RPCError as e:
            raise self._rpc_error(e) from None

    def _rpc_error(self, e: temporalio.service.RPCError) -> HitlError:
        if e.status == temporalio.service.RPCStatusCode.NOT_FOUND:
            if "already completed" in e.message or "completed" in e.message.lower():
                return DecisionRejectedError(
                    f"run '{self.run_id}' has ended; it accepts a decision only while interrupted — {self.where()}"
                )
            return RunNotFoundError(
                f"no run '{self.run_id}' on namespace '{self.client.namespace}'; list runs with `hitl list`"
            )
        if "no poller" in e.message.lower() or e.status == temporalio.service.RPCStatusCode.FAILED_PRECONDITION:
            return HitlError(
                f"no worker answered for run '{self.run_id}' ({e.message}); start one with `python worker.py` — {self.where()}"
            )
        return HitlError(f"Temporal refused the call for run '{self.run_id}': {e.message} — {self.where()}")


MAX_PAYLOAD_BYTES = 2_000_000
"""Temporal's default limit on one payload; larger ones are refused by the server."""


def check_size(value: Any, what: str) -> None:
    """Refuse a value Temporal would refuse, with a line that says what to do instead."""
    size = len(json.dumps(value, default=str))
    if size > MAX_PAYLOAD_BYTES:
        raise InvalidInputError(
            f"{what} is {size / 1e6:.1f} MB; Temporal takes payloads up to {MAX_PAYLOAD_BYTES / 1e6:.0f} MB: "
            "keep large data outside the run's state and store a reference to it"
        )


def default_identity() -> str:
    """Who is deciding, unless the caller says: `HITL_IDENTITY`, else the OS user."""
    try:
        return os.environ.get("HITL_IDENTITY") or getpass.getuser()
    except Exception:
        return "unknown"


def _looks_like_map(value: dict[str, Any]) -> bool:
    """A dict whose keys are all interrupt ids (16 hex digits) is a map of answers."""
    return all(len(k) == 16 and all(c in "0123456789abcdef" for c in k) for k in value)


def _message(e: temporalio.client.WorkflowUpdateFailedError) -> str:
    cause = e.cause
    return cause.message if isinstance(cause, temporalio.exceptions.FailureError) else str(cause)


def _guess_ui(target: str) -> str:
    host, _, port = target.rpartition(":")
    if host in ("localhost", "127.0.0.1") and port.isdigit():
        return f"http://{host}:{int(port) + 1000}"
    return "https://cloud.temporal.io" if "tmprl.cloud" in target else f"http://{host or target}:8233"
