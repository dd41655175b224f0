"""`GraphWorkflow`: one deterministic workflow that walks any graph.

The run's topology arrives as a `GraphSpec` in the workflow input and is kept
for the run's whole life. Each superstep runs its nodes as parallel activities,
then applies their writes together. The run pauses (status `interrupted`) on a
node's `interrupt()` or on a static breakpoint, and blocks until a person's
decision arrives as a Temporal update (validated before anything is written to
history) or a signal. Temporal's event history is the checkpoint.

Changing this file changes how every run in flight replays: see the replay
tests before editing it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Optional

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    import jsonschema

    from hitl._protocol import (
        PENDING_NODES,
        REDUCE_ACTIVITY,
        ROUTE_ACTIVITY,
        WORKFLOW_NAME,
        NodeResult,
        NodeTask,
        ReduceTask,
        ResumeRequest,
        RouteTask,
        RunInput,
        STATUS,
        SUMMARY_MEMO,
        UpdateStateRequest,
        WAITING_SINCE,
        retry_policy_kwargs,
    )
    from hitl._reducers import WriteConflict, apply_builtin_writes, initial_values
    from hitl.types import Checkpoint, Decision, Interrupt, RunStatus, StateSnapshot
    from workflows import topology

PauseKind = Literal["before", "after", "interrupt"]


@dataclass
class _Task:
    """One node's execution in the pending step."""

    node: str
    resumes: list[Any] = field(default_factory=list)
    result: Optional[NodeResult] = None
    interrupt: Optional[Interrupt] = None


class _StepFailed(Exception):
    pass


@workflow.defn(name=WORKFLOW_NAME)
class GraphWorkflow:
    @workflow.init
    def __init__(self, inp: RunInput) -> None:
        self.spec = inp.graph
        self.identity = inp.identity
        self.before = inp.interrupt_before if inp.interrupt_before is not None else inp.graph.interrupt_before
        self.after = inp.interrupt_after if inp.interrupt_after is not None else inp.graph.interrupt_after
        self.use_search_attributes = inp.search_attributes
        self.values: dict[str, Any] = {}
        self.step = 0
        self.status: RunStatus = "running"
        self.next: list[str] = []
        self.tasks: list[_Task] = []
        self.barriers: dict[str, list[str]] = {}
        self.checkpoints: list[Checkpoint] = []
        self.decisions: list[Decision] = []
        self.unrecorded: list[Decision] = []
        self.pause: Optional[PauseKind] = None
        self.skip_before = False
        self.resumed = False
        self.busy = False
        self.pauses = 0
        self.finished = False
        self.error: Optional[str] = None
        self.created_at = workflow.now()
        self.updated_at = self.created_at
        self.paused_at: Optional[datetime] = None

    # ----------------------------------------------------------------- the run

    @workflow.run
    async def run(self, inp: RunInput) -> dict[str, Any]:
        try:
            await self._begin(inp)
            while self.next:
                await self._superstep()
            self.status = "completed"
        except _StepFailed as e:
            self.status, self.error = "failed", str(e)
        except (asyncio.CancelledError, CancelledError):
            self.status = "cancelled"
            self._finish()
            raise
        self._finish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.status == "failed":
            raise ApplicationError(self.error or "run failed", type="RunFailed", non_retryable=True)
        return self.values

    async def _begin(self, inp: RunInput) -> None:
        if inp.fork is not None:
            self.values, self.step, self.next = dict(inp.fork.values), inp.fork.step, list(inp.fork.next)
            self._checkpoint("fork")
            if inp.input:
                await self._write([inp.input])
                self._checkpoint("update", writes={"__fork__": inp.input})
            return
        self.values = initial_values(self.spec.channels)
        await self._write([inp.input])
        routed = await self._route("__start__") if self.spec.start_has_router else []
        self.next = topology.entry_nodes(self.spec, routed)
        self._checkpoint("input", writes={"__input__": inp.input})

    async def _superstep(self) -> None:
        """Run the pending step to its end, pausing as often as people are asked."""
        if not self.skip_before and topology.matches(self.before, self.next):
            await self._pause("before")
            return
        self.skip_before = False
        if [t.node for t in self.tasks] != self.next:
            self.tasks = [_Task(n) for n in self.next]
        runnable = [t for t in self.tasks if t.result is None and t.interrupt is None]
        results = await asyncio.gather(*(self._execute(t) for t in runnable), return_exceptions=True)
        for outcome in results:
            if isinstance(outcome, BaseException):
                raise outcome
        if any(t.result is None for t in self.tasks):
            await self._pause("interrupt")
            return
        ran, self.tasks = self.tasks, []
        writes = {t.node: t.result.writes for t in ran if t.result and t.result.writes}
        await self._write(list(writes.values()))
        routed = [g for t in ran if t.result for g in t.result.goto]
        self.next = topology.successors(self.spec, [t.node for t in ran], routed, self.barriers)
        self.step += 1
        self._checkpoint("loop", writes=writes)
        if topology.matches(self.after, [t.node for t in ran]):
            await self._pause("after")

    async def _execute(self, task: _Task) -> None:
        node = self.spec.node(task.node)
        arg = NodeTask(self.spec.name, task.node, self.step, self.values, list(task.resumes))
        options: dict[str, Any] = {
            "start_to_close_timeout": timedelta(seconds=node.start_to_close_s),
            "schedule_to_close_timeout": _seconds(node.schedule_to_close_s),
            "retry_policy": RetryPolicy(**retry_policy_kwargs(node.retry)),
            "result_type": NodeResult,
            "summary": f"node {task.node} (step {self.step})",
        }
        activity_type = f"{self.spec.name}.{task.node}"
        try:
            if node.local:
                result = await workflow.execute_local_activity(activity_type, arg, **options)
            else:
                result = await workflow.execute_activity(
                    activity_type, arg, heartbeat_timeout=_seconds(node.heartbeat_s), **options
                )
        except ActivityError as e:
            raise _StepFailed(f"node '{task.node}' failed at step {self.step}: {_cause(e)}") from None
        if result.interrupt is None:
            task.result = result
            return
        ask = result.interrupt
        task.interrupt = Interrupt(
            id=topology.interrupt_id(workflow.info().workflow_id, self.step, task.node, ask.index),
            value=ask.value,
            node=task.node,
            step=self.step,
            index=ask.index,
            schema=ask.schema,
            reviewers=ask.reviewers,
        )

    async def _write(self, writes: list[dict[str, Any]]) -> None:
        """Apply writes through the reducers: built-ins here, user reducers in an activity."""
        try:
            values, owed = apply_builtin_writes(self.spec.channels, self.values, writes)
        except WriteConflict as e:
            raise _StepFailed(str(e)) from None
        if owed:
            try:
                values = await workflow.execute_activity(
                    REDUCE_ACTIVITY,
                    ReduceTask(self.spec.name, values, owed),
                    start_to_close_timeout=timedelta(minutes=1),
                    retry_policy=RetryPolicy(maximum_attempts=3),
                    result_type=dict,
                )
            except ActivityError as e:
                raise _StepFailed(f"a reducer failed: {_cause(e)}") from None
        self.values = values

    async def _route(self, node: str) -> list[str]:
        try:
            return await workflow.execute_activity(
                ROUTE_ACTIVITY,
                RouteTask(self.spec.name, node, self.values),
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=RetryPolicy(maximum_attempts=3),
                result_type=list[str],
            )
        except ActivityError as e:
            raise _StepFailed(f"router of '{node}' failed: {_cause(e)}") from None

    # ------------------------------------------------------------- pausing

    async def _pause(self, kind: PauseKind) -> None:
        self.status, self.pause, self.resumed = "interrupted", kind, False
        self.paused_at = self.updated_at = workflow.now()
        self.pauses += 1
        self._publish()
        await workflow.wait_condition(lambda: self.resumed)
        self.status, self.pause, self.paused_at = "running", None, None
        self._publish()

    def _finish(self) -> None:
        self.finished = True
        self.updated_at = workflow.now()
        self.pauses += 1
        self._publish()

    def _publish(self) -> None:
        """Keep the run findable: status and pending nodes as search attributes."""
        if not self.use_search_attributes:
            return
        pending = self._interrupts()
        nodes = sorted({i.node for i in pending}) or (list(self.next) if self.pause else [])
        workflow.upsert_search_attributes(
            [
                STATUS.value_set(self.status),
                PENDING_NODES.value_set(nodes),
                WAITING_SINCE.value_set(self.paused_at) if self.paused_at else WAITING_SINCE.value_unset(),
            ]
        )
        summary = "; ".join(_short(i.value) for i in pending) if pending else (
            f"breakpoint {self.pause} {', '.join(nodes)}" if self.pause else ""
        )
        workflow.upsert_memo({SUMMARY_MEMO: summary})

    # ------------------------------------------------------------- decisions

    @workflow.update(name="resume")
    async def resume(self, req: ResumeRequest) -> StateSnapshot:
        self._check_resume(req)
        pauses = self.pauses
        self.busy = True
        try:
            await self._accept(req)
        finally:
            self.busy = False
        if req.wait:
            await workflow.wait_condition(lambda: self.pauses > pauses)
        return self.get_state()

    @resume.validator
    def _validate_resume(self, req: ResumeRequest) -> None:
        self._check_resume(req)

    @workflow.signal(name="resume_signal")
    async def resume_signal(self, req: ResumeRequest) -> None:
        """For senders that must not wait; an invalid signal is logged and dropped."""
        try:
            self._check_resume(req)
        except ApplicationError as e:
            workflow.logger.warning("dropped resume signal from %s: %s", req.identity, e.message)
            return
        await workflow.wait_condition(lambda: not self.busy)
        self.busy = True
        try:
            await self._accept(req)
        finally:
            self.busy = False

    @workflow.update(name="update_state")
    async def update_state(self, req: UpdateStateRequest) -> StateSnapshot:
        self._check_edit(req)
        self.busy = True
        try:
            await self._write([req.values])
            self._decide(Decision("update_state", req.identity, workflow.now(), self.step, req.values, node=req.as_node))
            if req.as_node is not None:
                routed = await self._route(req.as_node) if self.spec.node(req.as_node).has_router else []
                self.next = topology.successors(self.spec, [req.as_node], routed, self.barriers)
                self.tasks, self.pause = [], "before"
            self.step += 1
            self._checkpoint("update", writes={req.as_node or "__human__": req.values})
            self._publish()
        except _StepFailed as e:
            raise ApplicationError(str(e), type="DecisionRejected") from None
        finally:
            self.busy = False
        return self.get_state()

    @update_state.validator
    def _validate_update_state(self, req: UpdateStateRequest) -> None:
        self._check_edit(req)

    async def _accept(self, req: ResumeRequest) -> None:
        """Apply a validated decision: answers, state update, redirect; then wake the run."""
        now = workflow.now()
        for interrupt_id, value in self._answers(req).items():
            task = next(t for t in self.tasks if t.interrupt and t.interrupt.id == interrupt_id)
            task.resumes.append(value)
            self._decide(Decision("resume", req.identity, now, self.step, value, interrupt_id, task.node))
            task.interrupt = None
        if self.pause != "interrupt" and not req.update and not req.goto:
            self._decide(Decision("resume", req.identity, now, self.step, None, node=",".join(self.next)))
        if req.update:
            try:
                await self._write([req.update])
            except _StepFailed as e:
                raise ApplicationError(str(e), type="DecisionRejected") from None
            self._decide(Decision("update_state", req.identity, now, self.step, req.update))
        if req.goto:
            self.next, self.tasks = topology.in_order(self.spec, req.goto), []
            self._decide(Decision("goto", req.identity, now, self.step, req.goto))
        if req.update or req.goto:
            self.step += 1
            self._checkpoint("update", writes={"__human__": req.update or {}})
        if self.pause in ("before", "interrupt"):
            self.skip_before = True
        self.resumed = True

    def _answers(self, req: ResumeRequest) -> dict[str, Any]:
        pending = self._interrupts()
        if req.resume_map is not None:
            return dict(req.resume_map)
        if req.has_resume and pending:
            return {pending[0].id: req.resume}
        return {}

    def _check_resume(self, req: ResumeRequest) -> None:
        """Refuse a decision that does not fit the pause; raises one clear line."""
        self._check_paused()
        pending = {i.id: i for i in self._interrupts()}
        if req.goto:
            unknown = [g for g in req.goto if g not in self.spec.node_names]
            if unknown:
                _reject(f"goto names unknown node(s) {unknown}; nodes are {self.spec.node_names}")
            if req.has_resume or req.resume_map:
                _reject("goto replaces the paused step, so a resume value would be lost; send goto or resume, not both")
        if req.update:
            self._check_values(req.update, "update")
        if req.resume_map is not None:
            if not req.resume_map:
                _reject(f"the resume map is empty; pending interrupt ids are {sorted(pending)}")
            unknown = [k for k in req.resume_map if k not in pending]
            if unknown:
                _reject(f"unknown interrupt id(s) {unknown}; pending interrupt ids are {sorted(pending) or 'none'}")
            answers = req.resume_map
        elif req.has_resume:
            if not pending:
                _reject(
                    f"run is paused at a breakpoint {self.pause} {self.next}, which takes no resume value; "
                    "resume with no value (optionally with update or goto)"
                )
            if len(pending) > 1:
                _reject(
                    f"{len(pending)} interrupts are pending ({', '.join(sorted(pending))}); "
                    "answer with a map of interrupt id to value"
                )
            answers = {next(iter(pending)): req.resume}
        else:
            if pending and not req.goto:
                _reject(f"interrupt(s) {sorted(pending)} are waiting for an answer; resume with a value, a map, or goto")
            answers = {}
        for interrupt_id, value in answers.items():
            interrupt = pending[interrupt_id]
            if interrupt.reviewers and req.identity not in interrupt.reviewers:
                _reject(f"'{req.identity}' may not answer interrupt {interrupt_id}; its reviewers are {interrupt.reviewers}")
            if interrupt.schema is not None:
                _check_schema(value, interrupt.schema, f"answer to interrupt {interrupt_id}")

    def _check_edit(self, req: UpdateStateRequest) -> None:
        self._check_paused()
        if req.as_node is not None and req.as_node not in self.spec.node_names:
            _reject(f"as_node '{req.as_node}' is not a node; nodes are {self.spec.node_names}")
        self._check_values(req.values, "values")

    def _check_paused(self) -> None:
        if self.busy:
            _reject("run is applying another decision; send this one again once it is done")
        if self.status != "interrupted":
            _reject(f"run is {self.status}; it accepts a decision only while interrupted")

    def _check_values(self, values: dict[str, Any], what: str) -> None:
        unknown = [k for k in values if k not in self.spec.channels]
        if unknown:
            _reject(f"{what} has unknown key(s) {unknown}; the state keys are {sorted(self.spec.channels)}")
        for key, value in values.items():
            schema = self.spec.channels[key].json_schema
            if schema is not None:
                _check_schema(value, schema, f"{what} key '{key}'")

    def _decide(self, decision: Decision) -> None:
        self.decisions.append(decision)
        self.unrecorded.append(decision)

    # ------------------------------------------------------------- reading

    @workflow.query(name="get_state")
    def get_state(self) -> StateSnapshot:
        return StateSnapshot(
            run_id=workflow.info().workflow_id,
            graph=self.spec.name,
            status=self.status,
            values=self.values,
            next=list(self.next),
            step=self.step,
            interrupts=self._interrupts(),
            created_at=self.created_at,
            updated_at=self.updated_at,
            paused_at=self.paused_at,
            breakpoint=self.pause if self.pause in ("before", "after") else None,
            error=self.error,
            decisions=list(self.decisions),
        )

    @workflow.query(name="get_state_history")
    def get_state_history(self) -> list[Checkpoint]:
        return list(reversed(self.checkpoints))

    @workflow.query(name="get_spec")
    def get_spec(self) -> RunInput:
        return RunInput(self.spec, {}, self.identity, self.before, self.after, self.use_search_attributes)

    def _interrupts(self) -> list[Interrupt]:
        return [t.interrupt for t in self.tasks if t.interrupt is not None]

    def _checkpoint(self, source: Literal["input", "loop", "update", "fork"], writes: Optional[dict[str, Any]] = None) -> None:
        self.updated_at = workflow.now()
        self.checkpoints.append(
            Checkpoint(self.step, dict(self.values), list(self.next), source, self.updated_at, writes, self.unrecorded)
        )
        self.unrecorded = []


def _reject(message: str) -> None:
    raise ApplicationError(message, type="DecisionRejected", non_retryable=True)


def _check_schema(value: Any, schema: dict[str, Any], what: str) -> None:
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path)
        _reject(f"{what}{' at ' + where if where else ''} does not fit its schema: {error.message}")


def _cause(error: BaseException) -> str:
    while error.__cause__ is not None:
        error = error.__cause__
    if isinstance(error, ApplicationError):
        return f"{error.type}: {error.message}" if error.type else error.message
    return str(error)


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _seconds(value: Optional[float]) -> Optional[timedelta]:
    return timedelta(seconds=value) if value else None
