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
import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Optional

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from hitl._protocol import (
        DEADLINE_EXPIRED,
        NOTIFY_ACTIVITY,
        PENDING_NODES,
        REDUCE_ACTIVITY,
        ROUTE_ACTIVITY,
        WORKFLOW_NAME,
        Carry,
        CarriedTask,
        ChildPaused,
        GraphSpec,
        InterruptRequest,
        NodeResult,
        NodeTask,
        NotifyTask,
        ParentRef,
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
    from workflows import checks, topology

PauseKind = Literal["before", "after", "interrupt"]
KEEP_CHECKPOINTS = 200
"""Checkpoints a run keeps in memory (and carries across continue-as-new)."""


@dataclass
class _Task:
    """One node's execution in the pending step."""

    node: str
    resumes: list[Any] = field(default_factory=list)
    result: Optional[NodeResult] = None
    interrupts: list[Interrupt] = field(default_factory=list)
    defaults: dict[str, InterruptRequest] = field(default_factory=dict)
    runner: Optional[asyncio.Task[None]] = None
    child_id: Optional[str] = None

    @property
    def settled(self) -> bool:
        """Done, or waiting for a person (a subgraph waits while its run goes on)."""
        return self.result is not None or bool(self.interrupts)


class _StepFailed(Exception):
    pass


@workflow.defn(name=WORKFLOW_NAME)
class GraphWorkflow:
    @workflow.init
    def __init__(self, inp: RunInput) -> None:
        self.spec = inp.graph
        self.identity = inp.identity
        self.parent = inp.parent
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
        self.failure: Optional[_StepFailed] = None
        self.error: Optional[str] = None
        self.created_at = workflow.now()
        self.updated_at = self.created_at
        self.paused_at: Optional[datetime] = None
        self.generation = 0
        self.handing_over = False
        self.seen_length = 0
        self.unseen_markers = 0
        self.summary = ""
        if inp.carry is not None:
            self._restore(inp.carry)

    # ----------------------------------------------------------------- the run

    @workflow.run
    async def run(self, inp: RunInput) -> dict[str, Any]:
        try:
            if inp.carry is None:
                await self._begin(inp)
            while self.next:
                if self._history_full(inp):
                    await self._hand_over(inp)
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

    # ------------------------------------------------------ continue-as-new

    def _history_full(self, inp: RunInput) -> bool:
        """Time for a fresh history? Only between steps, with nothing in flight.

        Local activities finish inside one workflow task, so the reported length
        lags: add the markers written since it last moved.
        """
        info = workflow.info()
        length = info.get_current_history_length()
        if length != self.seen_length:
            self.seen_length, self.unseen_markers = length, 0
        full = length + self.unseen_markers >= inp.max_history_events or info.is_continue_as_new_suggested()
        return full and all(t.runner is None for t in self.tasks)

    async def _hand_over(self, inp: RunInput) -> None:
        """Continue as new, carrying state, step count, pending questions and decisions."""
        self.handing_over = True  # waiting resume() calls return now; clients poll on
        await workflow.wait_condition(workflow.all_handlers_finished)
        carry = Carry(
            values=self.values,
            step=self.step,
            next=self.next,
            tasks=[CarriedTask(t.node, t.resumes, t.result, t.interrupts, t.defaults) for t in self.tasks],
            barriers=self.barriers,
            checkpoints=self.checkpoints,
            decisions=self.decisions,
            unrecorded=self.unrecorded,
            skip_before=self.skip_before,
            created_at=self.created_at,
            generation=self.generation + 1,
        )
        workflow.continue_as_new(dataclasses.replace(inp, input={}, fork=None, carry=carry))

    def _restore(self, carry: Carry) -> None:
        self.values, self.step, self.next = carry.values, carry.step, carry.next
        self.tasks = [_Task(t.node, t.resumes, t.result, t.interrupts, t.defaults) for t in carry.tasks]
        self.barriers, self.checkpoints = carry.barriers, carry.checkpoints
        self.decisions, self.unrecorded = carry.decisions, carry.unrecorded
        self.skip_before, self.created_at, self.generation = carry.skip_before, carry.created_at, carry.generation

    async def _superstep(self) -> None:
        """Run the pending step to its end, pausing as often as people are asked."""
        if not self.skip_before and topology.matches(self.before, self.next):
            await self._pause("before")
            return
        self.skip_before = False
        if [t.node for t in self.tasks] != self.next:
            self._drop_tasks()
            self.tasks = [_Task(n) for n in self.next]
        for task in self.tasks:
            if not task.settled and task.runner is None:
                task.runner = asyncio.create_task(self._run_task(task))
        await workflow.wait_condition(lambda: self.failure is not None or all(t.settled for t in self.tasks))
        if self.failure is not None:
            raise self.failure
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

    async def _run_task(self, task: _Task) -> None:
        try:
            node = self.spec.node(task.node)
            if node.subgraph is not None:
                await self._run_subgraph(task, node.subgraph)
            else:
                await self._execute(task)
        except _StepFailed as e:
            self.failure = self.failure or e
        finally:
            task.runner = None

    def _drop_tasks(self) -> None:
        """The paused step is replaced (goto, update_state as_node): stop what still runs."""
        for task in self.tasks:
            if task.runner is not None:
                task.runner.cancel()
        self.tasks = []

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
                self.unseen_markers += 1
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
        interrupt = Interrupt(
            id=topology.interrupt_id(workflow.info().workflow_id, self.step, task.node, ask.index),
            value=ask.value,
            node=task.node,
            step=self.step,
            index=ask.index,
            schema=ask.schema,
            reviewers=ask.reviewers,
            deadline=workflow.now() + timedelta(seconds=ask.timeout_s) if ask.timeout_s else None,
        )
        task.interrupts = [interrupt]
        task.defaults[interrupt.id] = ask

    async def _run_subgraph(self, task: _Task, spec: GraphSpec) -> None:
        """A compiled graph used as a node runs as a child workflow; its questions surface here."""
        task.child_id = f"{workflow.info().workflow_id}.{task.node}.{self.step}"
        shared = {k: v for k, v in self.values.items() if k in spec.channels}
        child_input = RunInput(spec, shared, self.identity, [], [], parent=ParentRef(workflow.info().workflow_id, task.node))
        try:
            final = await workflow.execute_child_workflow(
                WORKFLOW_NAME, child_input, id=task.child_id, result_type=dict, static_summary=f"subgraph {spec.name}"
            )
        except ChildWorkflowError as e:
            raise _StepFailed(f"subgraph '{task.node}' failed at step {self.step}: {_cause(e)}") from None
        task.interrupts = []
        task.result = NodeResult(writes={k: v for k, v in final.items() if k in self.spec.channels})

    @workflow.signal(name="child_paused")
    def child_paused(self, msg: ChildPaused) -> None:
        for task in self.tasks:
            if task.child_id == msg.child_id:
                task.interrupts = [dataclasses.replace(i, node=f"{task.node}/{i.node}") for i in msg.interrupts]
        if self.pause == "interrupt" and not self._interrupts():
            self.skip_before = self.resumed = True  # the subgraph went on by itself (a deadline)

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
        await self._report_pause()
        while not self.resumed:
            deadline = min((i.deadline for i in self._own_interrupts() if i.deadline), default=None)
            if deadline is None:
                await workflow.wait_condition(lambda: self.resumed)
                break
            try:
                # A durable Temporal timer: it fires even if every worker was down then.
                await workflow.wait_condition(lambda: self.resumed, timeout=max(deadline - workflow.now(), timedelta(0)))
            except asyncio.TimeoutError:
                self._expire_deadlines()
        self.status, self.pause, self.paused_at = "running", None, None
        self._publish()
        if self.parent is not None and kind == "interrupt":
            await self._tell_parent([])

    def _expire_deadlines(self) -> None:
        """Answer each overdue question with its default, or tell the node time ran out."""
        now = workflow.now()
        for task in self.tasks:
            for interrupt in [i for i in task.interrupts if i.deadline and i.deadline <= now and task.child_id is None]:
                ask = task.defaults[interrupt.id]
                task.resumes.append(ask.default if ask.has_default else DEADLINE_EXPIRED)
                task.interrupts.remove(interrupt)
                value = ask.default if ask.has_default else None
                self._decide(Decision("deadline", "deadline", now, self.step, value, interrupt.id, task.node))
        self.skip_before = self.resumed = True

    async def _report_pause(self) -> None:
        """Tell whoever waits: the parent run (for a subgraph) and the graph's notify hook."""
        if self.parent is not None and self.pause == "interrupt":
            await self._tell_parent(self._interrupts())
        if self.spec.notify:
            asyncio.create_task(self._notify())

    async def _tell_parent(self, interrupts: list[Interrupt]) -> None:
        assert self.parent is not None
        parent = workflow.get_external_workflow_handle(self.parent.run_id)
        await parent.signal("child_paused", ChildPaused(workflow.info().workflow_id, interrupts))

    async def _notify(self) -> None:
        try:
            await workflow.execute_activity(
                NOTIFY_ACTIVITY,
                NotifyTask(self.spec.name, self.get_state()),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except ActivityError as e:  # a failed notification never blocks or fails the run
            workflow.logger.warning("notify hook of graph %s failed: %s", self.spec.name, _cause(e))

    def _finish(self) -> None:
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
        if self.pause is None:
            return  # the summary is read only while a run waits: no event spent clearing it
        summary = "; ".join(_short(i.value) for i in pending) if pending else f"breakpoint {self.pause} {', '.join(nodes)}"
        if summary != self.summary:
            workflow.upsert_memo({SUMMARY_MEMO: summary})
            self.summary = summary

    # ------------------------------------------------------------- decisions

    @workflow.update(name="resume")
    async def resume(self, req: ResumeRequest) -> StateSnapshot:
        self._check_resume(req)
        pauses = self.pauses
        await self._decision(self._accept(req))
        if req.wait:
            await workflow.wait_condition(lambda: self.pauses > pauses or self.handing_over)
        return self.get_state()

    @resume.validator
    def _validate_resume(self, req: ResumeRequest) -> None:
        self._check_resume(req)

    @workflow.signal(name="resume_signal")
    async def resume_signal(self, req: ResumeRequest) -> None:
        """For senders that must not wait; an invalid signal is logged and dropped."""
        await workflow.wait_condition(lambda: not self.busy)
        try:
            self._check_resume(req)
        except ApplicationError as e:
            workflow.logger.warning("dropped resume signal from %s: %s", req.identity, e.message)
            return
        await self._decision(self._accept(req))

    @workflow.update(name="update_state")
    async def update_state(self, req: UpdateStateRequest) -> StateSnapshot:
        self._check_edit(req)
        await self._decision(self._edit(req))
        return self.get_state()

    @update_state.validator
    def _validate_update_state(self, req: UpdateStateRequest) -> None:
        self._check_edit(req)

    async def _decision(self, work: Any) -> None:
        """Apply one decision at a time; a state write that fails refuses the decision."""
        self.busy = True
        try:
            await work
        except _StepFailed as e:
            raise ApplicationError(str(e), type="DecisionRejected") from None
        finally:
            self.busy = False

    async def _edit(self, req: UpdateStateRequest) -> None:
        await self._write([req.values])
        self._decide(Decision("update_state", req.identity, workflow.now(), self.step, req.values, node=req.as_node))
        if req.as_node is not None:
            routed = await self._route(req.as_node) if self.spec.node(req.as_node).has_router else []
            self.next = topology.successors(self.spec, [req.as_node], routed, self.barriers)
            self._drop_tasks()
            self.pause = "before"
        self.step += 1
        self._checkpoint("update", writes={req.as_node or "__human__": req.values})
        self._publish()

    async def _accept(self, req: ResumeRequest) -> None:
        """Apply a validated decision: answers, state update, redirect; then wake the run."""
        now = workflow.now()
        for interrupt_id, value in checks.answers(req, self._interrupts()).items():
            task = next(t for t in self.tasks if any(i.id == interrupt_id for i in t.interrupts))
            task.interrupts = [i for i in task.interrupts if i.id != interrupt_id]
            self._decide(Decision("resume", req.identity, now, self.step, value, interrupt_id, task.node))
            if task.child_id is None:
                task.resumes.append(value)
            else:  # the question is the subgraph's: pass the answer down to its run
                child = workflow.get_external_workflow_handle(task.child_id)
                await child.signal("resume_signal", ResumeRequest(req.identity, resume_map={interrupt_id: value}, wait=False))
        if self.pause != "interrupt" and not req.update and not req.goto:
            self._decide(Decision("resume", req.identity, now, self.step, None, node=",".join(self.next)))
        if req.update:
            await self._write([req.update])
            self._decide(Decision("update_state", req.identity, now, self.step, req.update))
        if req.goto:
            self._drop_tasks()
            self.next = topology.in_order(self.spec, req.goto)
            self._decide(Decision("goto", req.identity, now, self.step, req.goto))
        if req.update or req.goto:
            self.step += 1
            self._checkpoint("update", writes={"__human__": req.update or {}})
        if self.pause in ("before", "interrupt"):
            self.skip_before = True
        self.resumed = True

    def _check_resume(self, req: ResumeRequest) -> None:
        self._check_paused()
        checks.check_resume(self.spec, self.pause, self.next, self._interrupts(), req)

    def _check_edit(self, req: UpdateStateRequest) -> None:
        self._check_paused()
        checks.check_edit(self.spec, req)

    def _check_paused(self) -> None:
        if self.busy:
            checks.reject("run is applying another decision; send this one again once it is done")
        if self.status != "interrupted":
            checks.reject(f"run is {self.status}; it accepts a decision only while interrupted")

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
        return [i for t in self.tasks for i in t.interrupts]

    def _own_interrupts(self) -> list[Interrupt]:
        return [i for t in self.tasks if t.child_id is None for i in t.interrupts]

    def _checkpoint(self, source: Literal["input", "loop", "update", "fork"], writes: Optional[dict[str, Any]] = None) -> None:
        self.updated_at = workflow.now()
        self.checkpoints.append(
            Checkpoint(self.step, dict(self.values), list(self.next), source, self.updated_at, writes, self.unrecorded)
        )
        del self.checkpoints[:-KEEP_CHECKPOINTS]
        self.unrecorded = []


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
