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
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from hitl._limits import (
        CHECKPOINT_VALUES_BYTES,
        KEEP_DECISIONS,
        MAX_PAYLOAD_BYTES,
        MAX_STATE_BYTES,
        PAGE_BYTES,
        clip,
        json_size,
        over_limit,
        shorten,
    )
    from hitl._protocol import (
        ANYONE,
        DEADLINE_EXPIRED,
        NOTIFY_ACTIVITY,
        PENDING_NODES,
        REDUCE_ACTIVITY,
        REVIEWERS,
        ROUTE_ACTIVITY,
        STATUS,
        SUMMARY_MEMO,
        WAITING_SINCE,
        WORKFLOW_NAME,
        CancelRequest,
        CarriedTask,
        Carry,
        ChildPaused,
        GraphSpec,
        HistoryPage,
        InterruptRequest,
        NodeResult,
        NodeTask,
        NotifyTask,
        ParentRef,
        ReduceTask,
        Request,
        ResumeRequest,
        Route,
        RouteTask,
        RunInput,
        SendPacket,
        UpdateStateRequest,
        request_digest,
        retry_policy_kwargs,
    )
    from hitl._reducers import WriteConflict, apply_builtin_writes, initial_values
    from hitl.types import Checkpoint, Decision, DecisionKind, Interrupt, Refusal, RunStatus, Send, StateSnapshot
    from workflows import checks, topology

PauseKind = Literal["before", "after", "interrupt"]
T = TypeVar("T")
KEEP_CHECKPOINTS = 200
"""Checkpoints a run keeps in memory (and carries across continue-as-new, without their state copies)."""
KEEP_REFUSALS = 20
KEEP_REQUEST_IDS = 1000
KEEP_RETIRED = 200
HELD_SIGNALS = "hitl-held-signals"
"""Patch: signals wait for the next pause and refusals are recorded (before: dropped unless paused)."""
EDIT_REASKS = "hitl-edit-reasks"
"""Patch: an edit while a question is pending withdraws it; the node runs again and asks again."""
GOTO_ADDS = "hitl-goto-adds"
"""Patch: a decision's goto adds its nodes to the paused step, as LangGraph does (before: it replaced the
step, dropping pending questions), and may come with an answer."""
CHILD_MAPS = "hitl-send"
"""Patch: the answers one decision gives a subgraph's questions go down in one signal (a map), so the
subgraph applies them together: its mapped (Send) or parallel tasks run again at once and never report an
answered question as pending again (before: one signal per answer, applied one pause at a time)."""
NOTHING_NEXT_ENDS = "hitl-nothing-next-ends"
"""Patch: with nothing to answer and nothing next, a run completes instead of waiting (interrupt_after on
the last node, update_state(as_node=...) leading to END)."""


@dataclass
class _Task:
    """One node's execution in the pending step."""

    node: str
    resumes: list[Any] = field(default_factory=list)
    result: NodeResult | None = None
    interrupts: list[Interrupt] = field(default_factory=list)
    defaults: dict[str, InterruptRequest] = field(default_factory=dict)
    runner: asyncio.Task[None] | None = None
    child_id: str | None = None
    push: int | None = None
    """For a task made by a Send: its place among the step's Sends (`GraphWorkflow.sends`)."""

    @property
    def key(self) -> str:
        return topology.task_key(self.node, self.push)

    @property
    def settled(self) -> bool:
        """Done, or waiting for a person (a subgraph waits while its run goes on)."""
        return self.result is not None or bool(self.interrupts)


class _StepFailed(Exception):
    pass


class _Cancelled(Exception):
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
        self.index_reviewers = inp.index_reviewers
        self.values: dict[str, Any] = {}
        self.step = 0
        self.status: RunStatus = "running"
        self.next: list[str] = []
        self.sends: list[SendPacket] = []  # the step's tasks made by Send, beside the nodes in `next`
        self.tasks: list[_Task] = []
        self.barriers: dict[str, list[str]] = {}
        self.checkpoints: list[Checkpoint] = []
        self.decisions: list[Decision] = []
        self.unrecorded: list[Decision] = []
        self.pause: PauseKind | None = None
        self.skip_before = False
        self.resumed = False
        self.busy = False
        self.pauses = 0
        self.failure: _StepFailed | None = None
        self.error: str | None = None
        self.created_at = workflow.now()
        self.updated_at = self.created_at
        self.paused_at: datetime | None = None
        self.generation = 0
        self.handing_over = False
        self.seen_length = 0
        self.unseen_markers = 0
        self.summary = ""
        self.guard: list[list[str]] = []
        self.refused: list[Refusal] = []
        self.requests: dict[str, str] = {}
        self.retired: dict[str, str] = {}
        self.held: list[ResumeRequest] = []
        self.cancelled_by: str | None = None
        self.state_bytes = 0
        self.checkpoint_bytes: list[int] = []
        if inp.carry is not None:
            self._restore(inp.carry)

    # ----------------------------------------------------------------- the run

    @workflow.run
    async def run(self, inp: RunInput) -> dict[str, Any]:
        try:
            if inp.carry is None:
                await self._begin(inp)
            while self.next or self.sends:
                if self._history_full(inp):
                    await self._hand_over(inp)
                await self._superstep()
            self.status = "completed"
        except _StepFailed as e:
            self.status, self.error = "failed", str(e)
        except _Cancelled:
            self._drop_tasks()
            self.status, self.error = "cancelled", self.cancelled_by
        except (asyncio.CancelledError, CancelledError):
            self.status = "cancelled"
            self._finish()
            raise
        self._finish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.status == "failed":
            raise ApplicationError(self.error or "run failed", type="RunFailed", non_retryable=True)
        if self.status == "cancelled":
            raise ApplicationError(self.error or "run cancelled", type="RunCancelled", non_retryable=True)
        return self.values

    async def _begin(self, inp: RunInput) -> None:
        if inp.fork is not None:
            self.values, self.step = dict(inp.fork.values), inp.fork.step
            self.sends = list(inp.fork.sends)
            self.next = topology.pulled(inp.fork.next, self.sends)
            self.guard = [list(g) for g in inp.fork.guard]
            self.state_bytes = json_size(self.values)
            where = f"{inp.fork.run_id}@{inp.fork.step}"
            self._decide(
                Decision(
                    kind="fork",
                    identity=inp.identity,
                    at=workflow.now(),
                    step=self.step,
                    value=clip(inp.input or None),
                    node=where,
                )
            )
            self._checkpoint("fork")
            if inp.input:
                await self._write([inp.input])
                self._checkpoint("update", writes={"__fork__": inp.input})
            return
        self.values = initial_values(self.spec.channels)
        await self._write([inp.input])
        routed, sends = topology.split_routes(await self._route("__start__") if self.spec.start_has_router else [])
        self.next, self.sends = topology.entry_nodes(self.spec, routed), sends
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
        """Continue as new, carrying state, step count, pending questions and decisions.

        Checkpoints travel without their state copies (the newest one is the
        current state), so the carry stays well under Temporal's payload limit;
        should it not, the run stays in this history a while longer.
        """
        if json_size(dataclasses.asdict(self._carry())) > MAX_PAYLOAD_BYTES * 0.9:
            workflow.logger.warning("run %s stays in its history: its carry is too large", workflow.info().workflow_id)
            return
        self.handing_over = True  # waiting resume() calls return now; clients poll on
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(dataclasses.replace(inp, input={}, fork=None, carry=self._carry()))

    def _carry(self) -> Carry:
        return Carry(
            values=self.values,
            step=self.step,
            next=self.next,
            tasks=[CarriedTask(t.node, t.resumes, t.result, t.interrupts, t.defaults, push=t.push) for t in self.tasks],
            barriers=self.barriers,
            checkpoints=[dataclasses.replace(c, values=None, sends=[]) for c in self.checkpoints],
            decisions=self.decisions[-KEEP_DECISIONS:],
            unrecorded=self.unrecorded,
            skip_before=self.skip_before,
            created_at=self.created_at,
            generation=self.generation + 1,
            guard=self.guard,
            refused=self.refused,
            requests=self.requests,
            retired=self.retired,
            held=self.held,
            sends=self.sends,
        )

    def _restore(self, carry: Carry) -> None:
        self.values, self.step, self.next = carry.values, carry.step, carry.next
        self.tasks = [_Task(t.node, t.resumes, t.result, t.interrupts, t.defaults, push=t.push) for t in carry.tasks]
        self.sends = carry.sends
        self.barriers, self.checkpoints = carry.barriers, carry.checkpoints
        if self.checkpoints and self.checkpoints[-1].values is None:
            self.checkpoints[-1].values = dict(self.values)  # the newest checkpoint is the current state
        self.state_bytes = json_size(self.values)
        self.checkpoint_bytes = [0] * (len(self.checkpoints) - 1) + [self.state_bytes] if self.checkpoints else []
        self.decisions, self.unrecorded = carry.decisions, carry.unrecorded
        self.skip_before, self.created_at, self.generation = carry.skip_before, carry.created_at, carry.generation
        self.guard, self.refused, self.requests = carry.guard, carry.refused, carry.requests
        self.retired, self.held = carry.retired, carry.held

    async def _superstep(self) -> None:
        """Run the pending step to its end, pausing as often as people are asked."""
        if not self.skip_before and topology.matches(self.before, topology.step_names(self.next, self.sends)):
            await self._pause("before")
            return
        self.skip_before = False
        keys = topology.step_keys(self.next, self.sends)
        if [t.key for t in self.tasks] != keys:
            # Tasks of the step that are still in it stay (a goto added nodes to a waiting step);
            # a step made anew (goto of old runs, as_node) had its tasks dropped already.
            kept = {t.key: t for t in self.tasks if t.key in keys}
            for task in self.tasks:
                if task.key not in kept and task.runner is not None:
                    task.runner.cancel()
            pushed = [_Task(s.node, push=i) for i, s in enumerate(self.sends)]
            self.tasks = [kept.get(n) or _Task(n) for n in self.next] + [kept.get(t.key) or t for t in pushed]
        for task in self.tasks:
            if not task.settled and task.runner is None:
                task.runner = asyncio.create_task(self._run_task(task))
        await workflow.wait_condition(
            lambda: self.failure is not None or self.cancelled_by is not None or all(t.settled for t in self.tasks)
        )
        if self.cancelled_by is not None:
            raise _Cancelled()
        if self.failure is not None:
            raise self.failure
        if any(t.result is None for t in self.tasks):
            await self._pause("interrupt")
            return
        ran, self.tasks = self.tasks, []
        writes = {t.key: t.result.writes for t in ran if t.result and t.result.writes}
        await self._write(list(writes.values()))
        routed = [g for t in ran if t.result for g in t.result.goto]
        self.next = topology.successors(self.spec, [t.node for t in ran], routed, self.barriers)
        self.sends = [s for t in ran if t.result for s in t.result.sends]
        self.step += 1
        self._checkpoint("loop", writes=writes)
        if topology.matches(self.after, [t.node for t in ran]) and (
            self.next or self.sends or not workflow.patched(NOTHING_NEXT_ENDS)
        ):
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
        send = self.sends[task.push] if task.push is not None else None
        arg = NodeTask(self.spec.name, task.node, self.step, self.values, list(task.resumes), send=send)
        size = self.state_bytes + json_size(arg.resumes) + (json_size(send.arg) if send else 0)
        if size > MAX_PAYLOAD_BYTES * 0.95:
            raise _StepFailed(
                over_limit(size, int(MAX_PAYLOAD_BYTES * 0.95), f"the input of node '{task.node}' (state and answers)")
            )
        options: dict[str, Any] = {
            "start_to_close_timeout": timedelta(seconds=node.start_to_close_s),
            "schedule_to_close_timeout": _seconds(node.schedule_to_close_s),
            "retry_policy": RetryPolicy(**retry_policy_kwargs(node.retry)),
            "result_type": NodeResult,
            "summary": f"node {task.node} (step {self.step})"
            if send is None
            else f"node {task.key} (step {self.step}, Send)",
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
            raise _StepFailed(f"node '{task.key}' failed at step {self.step}: {_cause(e)}") from None
        if result.interrupt is None:
            task.result = result
            return
        ask = result.interrupt
        interrupt = Interrupt(
            id=topology.interrupt_id(workflow.info().workflow_id, self.step, task.node, ask.index, task.push),
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
        self._guard_with([interrupt])

    async def _run_subgraph(self, task: _Task, spec: GraphSpec) -> None:
        """A compiled graph used as a node runs as a child workflow; its questions surface here."""
        task.child_id = f"{workflow.info().workflow_id}.{task.node}.{self.step}"
        shared = {k: v for k, v in self.values.items() if k in spec.channels}
        child_input = RunInput(
            spec, shared, self.identity, [], [], parent=ParentRef(workflow.info().workflow_id, task.node)
        )
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
        self._guard_with(msg.interrupts)
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
                    **_helper(timedelta(minutes=1)),
                    result_type=dict,
                )
            except ActivityError as e:
                raise _StepFailed(f"a reducer failed: {_cause(e)}") from None
        size = json_size(values)
        if size > MAX_STATE_BYTES:
            raise _StepFailed(over_limit(size, MAX_STATE_BYTES, f"the state after step {self.step}"))
        self.values, self.state_bytes = values, size

    async def _route(self, node: str) -> list[Route]:
        try:
            targets: list[Route] = await workflow.execute_activity(
                ROUTE_ACTIVITY,
                RouteTask(self.spec.name, node, self.values),
                **_helper(timedelta(minutes=1)),
                result_type=list[Route],
            )
        except ActivityError as e:
            raise _StepFailed(f"router of '{node}' failed: {_cause(e)}") from None
        return targets

    # ------------------------------------------------------------- pausing

    async def _pause(self, kind: PauseKind) -> None:
        self.status, self.pause, self.resumed = "interrupted", kind, False
        self.paused_at = self.updated_at = workflow.now()
        self.pauses += 1
        self._publish()
        await self._report_pause()
        woken = lambda: self.resumed or bool(self.held) or self.cancelled_by is not None  # noqa: E731
        while not self.resumed:
            if self.cancelled_by is not None:
                raise _Cancelled()
            if self.held:
                await self._apply_held()
                continue
            deadline = min((i.deadline for i in self._own_interrupts() if i.deadline), default=None)
            if deadline is None:
                await workflow.wait_condition(woken)
                continue
            try:
                # A durable Temporal timer: it fires even if every worker was down then.
                await workflow.wait_condition(woken, timeout=max(deadline - workflow.now(), timedelta(0)))
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
                self._retire(interrupt.id, f"answered by its deadline at {_when(now)}")
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
                **_helper(timedelta(seconds=30)),
            )
        except ActivityError as e:  # a failed notification never blocks or fails the run
            workflow.logger.warning("notify hook of graph %s failed: %s", self.spec.name, _cause(e))

    def _finish(self) -> None:
        for req in self.held:
            if not (req.request_id and req.request_id in self.requests):  # a resend of an applied decision
                self._refuse(req, f"the run was {self.status} before it paused again; nothing was applied")
        self.held = []
        self.updated_at = workflow.now()
        self.pauses += 1
        self._publish()

    def _publish(self) -> None:
        """Keep the run findable: status and pending nodes as search attributes."""
        if not self.use_search_attributes:
            return
        pending = self._interrupts()
        nodes = sorted({i.node for i in pending}) or (
            list(dict.fromkeys(topology.step_names(self.next, self.sends))) if self.pause else []
        )
        updates: list[SearchAttributeUpdate[Any]] = [
            STATUS.value_set(self.status),
            PENDING_NODES.value_set(nodes),
            WAITING_SINCE.value_set(self.paused_at) if self.paused_at else WAITING_SINCE.value_unset(),
        ]
        if self.index_reviewers:  # in the same upsert: no extra history event
            updates.append(REVIEWERS.value_set(_reviewers(pending) if self.pause else []))
        workflow.upsert_search_attributes(updates)
        if self.pause is None:
            return  # the summary is read only while a run waits: no event spent clearing it
        summary = (
            "; ".join(shorten(i.value) for i in pending) if pending else f"breakpoint {self.pause} {', '.join(nodes)}"
        )
        if summary != self.summary:
            workflow.upsert_memo({SUMMARY_MEMO: summary})
            self.summary = summary

    # ------------------------------------------------------------- decisions

    @workflow.update(name="resume")
    async def resume(self, req: ResumeRequest) -> StateSnapshot:
        if self._admit(req, checks.check_resume):
            return self.get_state()
        pauses = self.pauses
        await self._decision(self._accept(req))
        if req.wait:
            await workflow.wait_condition(lambda: self.pauses > pauses or self.handing_over)
        return self.get_state()

    @resume.validator
    def _validate_resume(self, req: ResumeRequest) -> None:
        self._admit(req, checks.check_resume)

    @workflow.signal(name="resume_signal")
    async def resume_signal(self, req: ResumeRequest) -> None:
        """For senders that must not wait: held until the run pauses, then applied or refused visibly."""
        if workflow.patched(HELD_SIGNALS):
            digest = request_digest(req)
            if not any(
                h.request_id and h.request_id == req.request_id and request_digest(h) == digest for h in self.held
            ):
                self.held.append(req)  # a resend of a held decision is the same decision
            return
        await workflow.wait_condition(lambda: not self.busy)  # runs from before the patch replay as they ran
        try:
            checks.check_resume(self._view(), req)
        except ApplicationError as e:
            self._refuse(req, e.message)
            return
        await self._decision(self._accept(req))

    def _admit(self, req: Any, check: Callable[[checks.RunView, Any], None]) -> bool:
        """Refuse a decision that does not fit now; True when its request id was applied already."""
        view = self._view()
        if checks.already_applied(view, req):
            return True
        check(view, req)
        return False

    async def _apply_held(self) -> None:
        """Apply the oldest decision that came as a signal, or record why it was refused."""
        req = self.held.pop(0)
        try:
            if not self._admit(req, checks.check_resume):
                await self._decision(self._accept(req))
        except ApplicationError as e:
            self._refuse(req, e.message)

    @workflow.update(name="update_state")
    async def update_state(self, req: UpdateStateRequest) -> StateSnapshot:
        if self._admit(req, checks.check_edit):
            return self.get_state()
        pauses = self.pauses
        if await self._decision(self._edit(req)):
            await workflow.wait_condition(lambda: self.pauses > pauses or self.handing_over)
        return self.get_state()

    @update_state.validator
    def _validate_update_state(self, req: UpdateStateRequest) -> None:
        self._admit(req, checks.check_edit)

    @workflow.update(name="cancel")
    async def cancel(self, req: CancelRequest) -> StateSnapshot:
        if self._admit(req, checks.check_cancel):
            return self.get_state()
        now = workflow.now()
        self._remember(req)
        self._record("cancel", req, req.reason or None)
        for interrupt in self._interrupts():
            self._retire(interrupt.id, f"cancelled with the run by {req.identity} at {_when(now)}")
        self.cancelled_by = f"cancelled by {req.identity}" + (f": {req.reason}" if req.reason else "")
        await workflow.wait_condition(lambda: self.status == "cancelled")
        return self.get_state()

    @cancel.validator
    def _validate_cancel(self, req: CancelRequest) -> None:
        self._admit(req, checks.check_cancel)

    async def _decision(self, work: Coroutine[Any, Any, T]) -> T:
        """Apply one decision at a time; a state write that fails refuses the decision."""
        self.busy = True
        try:
            return await work
        except _StepFailed as e:
            raise ApplicationError(str(e), type="DecisionRejected") from None
        finally:
            self.busy = False

    async def _edit(self, req: UpdateStateRequest) -> bool:
        """Apply a person's edit. Returns True when the run moves on: the edit withdrew a question
        the node asks again, or it left nothing to run (as_node leading to END), so the run ends."""
        now = workflow.now()
        self._remember(req)
        await self._write([req.values])
        self._record("update_state", req, req.values, node=req.as_node)
        reask = ended = False
        if req.as_node is not None:
            routes = await self._route(req.as_node) if self.spec.node(req.as_node).has_router else []
            routed, sends = topology.split_routes(routes)
            self.next = topology.successors(self.spec, [req.as_node], routed, self.barriers)
            self._retire_all(f"dropped when {req.identity} edited the state as node {req.as_node} at {_when(now)}")
            self._drop_tasks()
            self.sends = sends
            self.pause = "before"
            ended = (
                not self.next and not self.sends and workflow.patched(NOTHING_NEXT_ENDS)
            )  # nothing to answer, nothing to run: done
        elif self._own_interrupts() and workflow.patched(EDIT_REASKS):
            # What a reviewer approves must be what runs: the node asks again about the edited state.
            for task in self.tasks:
                if task.child_id is None and task.interrupts:
                    for interrupt in task.interrupts:
                        self._retire(
                            interrupt.id,
                            f"withdrawn when {req.identity} edited the state under review at {_when(now)}; the node asked again",
                        )
                    task.interrupts = []
            reask = True
        self.step += 1
        self._checkpoint("update", writes={req.as_node or "__human__": req.values})
        if reask:
            self.skip_before = True
            self._wake()
        elif ended:
            self._wake()
        else:
            self._publish()
        return reask or ended

    async def _accept(self, req: ResumeRequest) -> None:
        """Apply a validated decision: answers, state update, redirect; then wake the run."""
        now = workflow.now()
        self._remember(req)
        down: dict[str, dict[str, Any]] = {}  # answers for each subgraph's run
        for interrupt_id, value in checks.answers(req, self._interrupts()).items():
            task = next(t for t in self.tasks if any(i.id == interrupt_id for i in t.interrupts))
            asked = next(i for i in task.interrupts if i.id == interrupt_id)
            task.interrupts = [i for i in task.interrupts if i.id != interrupt_id]
            self._retire(interrupt_id, f"answered by {req.identity} at {_when(now)}")
            self._record("resume", req, value, interrupt_id=interrupt_id, node=task.node, question=clip(asked.value))
            if task.child_id is None:
                task.resumes.append(value)
            elif workflow.patched(CHILD_MAPS):
                down.setdefault(task.child_id, {})[interrupt_id] = value
            else:  # the question is the subgraph's: pass the answer down to its run, with who gave it
                child = workflow.get_external_workflow_handle(task.child_id)
                await child.signal(
                    "resume_signal",
                    ResumeRequest(identity=req.identity, roles=req.roles, resume_map={interrupt_id: value}, wait=False),
                )
        for child_id, answers in down.items():  # one decision reaches a subgraph as one decision
            await workflow.get_external_workflow_handle(child_id).signal(
                "resume_signal",
                ResumeRequest(identity=req.identity, roles=req.roles, resume_map=answers, wait=False),
            )
        if self.pause != "interrupt" and not req.update and not req.goto:
            self._record("resume", req, node=",".join(topology.step_names(self.next, self.sends)))
        if req.update:
            await self._write([req.update])
            self._record("update_state", req, req.update)
        if req.goto and workflow.patched(GOTO_ADDS):
            # As LangGraph: the named nodes join the paused step. A question still unanswered stays
            # pending, unless the decision also changed the state: then its node asks again about it.
            if req.update:
                for task in self.tasks:
                    if task.child_id is None and task.interrupts:
                        for interrupt in task.interrupts:
                            self._retire(
                                interrupt.id,
                                f"withdrawn when {req.identity} changed the state at {_when(now)}; the node asked again",
                            )
                        task.interrupts = []
            self.next = topology.in_order(self.spec, [*self.next, *req.goto])
        elif req.goto:
            self._retire_all(f"dropped when {req.identity} sent the run to {req.goto} at {_when(now)}")
            self._drop_tasks()
            self.next, self.sends = topology.in_order(self.spec, req.goto), []
        if req.goto:
            self._record("goto", req, req.goto)
        if req.update or req.goto:
            self.step += 1
            self._checkpoint("update", writes={"__human__": req.update or {}})
        if self.pause in ("before", "interrupt"):
            self.skip_before = True
        self._wake()

    def _wake(self) -> None:
        """The decision is in: the run is running again from here on (a --no-wait caller sees so)."""
        self.resumed = True
        self.status, self.pause, self.paused_at = "running", None, None

    def _view(self) -> checks.RunView:
        return checks.RunView(
            spec=self.spec,
            status=self.status,
            busy=self.busy,
            pause=self.pause,
            next=topology.step_names(self.next, self.sends),
            pending=self._interrupts(),
            guard=self.guard,
            retired=self.retired,
            requests=self.requests,
            values=self.values,
        )

    def _record(self, kind: DecisionKind, req: Request, value: Any = None, **fields: Any) -> None:
        """Record a person's decision: who and which request (from `req`), when, at which step,
        and what (clipped for the records; the whole value stays in Temporal's history)."""
        self._decide(
            Decision(
                kind=kind,
                identity=req.identity,
                at=workflow.now(),
                step=self.step,
                value=clip(value),
                request_id=req.request_id,
                **fields,
            )
        )

    def _decide(self, decision: Decision) -> None:
        self.decisions.append(decision)
        del self.decisions[:-KEEP_DECISIONS]
        self.unrecorded.append(decision)

    def _remember(self, req: Request) -> None:
        """Keep the request id with what it decided, so a reuse for another decision is refused."""
        if req.request_id:
            self.requests[req.request_id] = f"{request_digest(req)} {req.identity} at {_when(workflow.now())}"
            _trim(self.requests, KEEP_REQUEST_IDS)

    def _retire(self, interrupt_id: str, reason: str) -> None:
        """Remember why a question is no longer pending, to tell whoever answers it late."""
        self.retired[interrupt_id] = reason
        _trim(self.retired, KEEP_RETIRED)

    def _retire_all(self, reason: str) -> None:
        for interrupt in self._interrupts():
            self._retire(interrupt.id, reason)

    def _refuse(self, req: ResumeRequest, reason: str) -> None:
        """A signalled decision that does not fit: recorded on the run, never applied, never silent."""
        workflow.logger.warning("refused a decision sent as a signal by %s: %s", req.identity, reason)
        self.refused.append(Refusal(identity=req.identity, at=workflow.now(), reason=reason, request_id=req.request_id))
        del self.refused[:-KEEP_REFUSALS]

    def _guard_with(self, interrupts: list[Interrupt]) -> None:
        """A limited question guards the run from now on (see workflows/checks.py)."""
        for interrupt in interrupts:
            if interrupt.reviewers and interrupt.reviewers not in self.guard:
                self.guard.append(list(interrupt.reviewers))

    # ------------------------------------------------------------- reading

    @workflow.query(name="get_state")
    def get_state(self) -> StateSnapshot:
        return StateSnapshot(
            run_id=workflow.info().workflow_id,
            graph=self.spec.name,
            status=self.status,
            values=self.values,
            next=self._still_to_run(),
            step=self.step,
            interrupts=self._interrupts(),
            created_at=self.created_at,
            updated_at=self.updated_at,
            paused_at=self.paused_at,
            breakpoint=self.pause if self.pause in ("before", "after") else None,
            error=self.error,
            decisions=list(self.decisions),
            refused=list(self.refused),
            guarded_by=[list(g) for g in self.guard],
        )

    @workflow.query(name="get_state_history")
    def get_state_history(self, page: HistoryPage | None = None) -> list[Checkpoint]:
        """Checkpoints newest first, `before` a checkpoint seq, cut to fit one payload.

        A page holds at least one checkpoint; the client asks for the next page
        with `before` set to the oldest seq it got.
        """
        page = page or HistoryPage()
        out: list[Checkpoint] = []
        budget = PAGE_BYTES
        for checkpoint, size in zip(reversed(self.checkpoints), reversed(self.checkpoint_bytes), strict=False):
            if page.before is not None and checkpoint.seq >= page.before:
                continue
            size = size if checkpoint.values is not None else 0
            if out and ((page.limit is not None and len(out) >= page.limit) or size > budget):
                break
            out.append(checkpoint)
            budget -= size
        return out

    @workflow.query(name="get_checkpoint")
    def get_checkpoint(self, step: int) -> Checkpoint | None:
        """The newest checkpoint of `step` (time travel starts there), or None."""
        return next((c for c in reversed(self.checkpoints) if c.step == step), None)

    @workflow.query(name="get_spec")
    def get_spec(self) -> RunInput:
        return RunInput(
            self.spec,
            {},
            self.identity,
            self.before,
            self.after,
            self.use_search_attributes,
            index_reviewers=self.index_reviewers,
        )

    def _still_to_run(self) -> list[str]:
        """The step's nodes that have yet to finish (as LangGraph's `next`): not the ones done while others wait."""
        return topology.step_names(self.next, self.sends, [t.key for t in self.tasks if t.result is not None])

    def _interrupts(self) -> list[Interrupt]:
        return [i for t in self.tasks for i in t.interrupts]

    def _own_interrupts(self) -> list[Interrupt]:
        return [i for t in self.tasks if t.child_id is None for i in t.interrupts]

    def _checkpoint(
        self, source: Literal["input", "loop", "update", "fork"], writes: dict[str, Any] | None = None
    ) -> None:
        """Record the state after a step; older state copies give way to a memory budget."""
        self.updated_at = workflow.now()
        self.checkpoints.append(
            Checkpoint(
                step=self.step,
                values=dict(self.values),
                next=topology.step_names(self.next, self.sends),
                sends=[Send(s.node, s.arg) for s in self.sends],
                source=source,
                created_at=self.updated_at,
                writes={k: clip(v) for k, v in writes.items()} if writes is not None else None,
                decisions=self.unrecorded,
                seq=self.checkpoints[-1].seq + 1 if self.checkpoints else 0,
            )
        )
        self.checkpoint_bytes.append(self.state_bytes)
        del self.checkpoints[:-KEEP_CHECKPOINTS]
        del self.checkpoint_bytes[:-KEEP_CHECKPOINTS]
        kept = 0
        for checkpoint, size in zip(
            reversed(self.checkpoints[:-1]), reversed(self.checkpoint_bytes[:-1]), strict=False
        ):
            kept += size if checkpoint.values is not None else 0
            if kept > CHECKPOINT_VALUES_BYTES:
                checkpoint.values, checkpoint.sends = None, []
        self.unrecorded = []


def _reviewers(pending: list[Interrupt]) -> list[str]:
    """Who may answer what a run waits for: reviewer entries, ANYONE for an open question or a breakpoint."""
    named = sorted({r for i in pending for r in i.reviewers or []})
    return [ANYONE, *named] if not pending or any(not i.reviewers for i in pending) else named


def _helper(timeout: timedelta) -> dict[str, Any]:
    """Options of hitl's own short activities (route, reduce, notify): user code, but brief."""
    return {"start_to_close_timeout": timeout, "retry_policy": RetryPolicy(maximum_attempts=3)}


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _trim(records: dict[str, str], keep: int) -> None:
    """Drop the oldest entries of an insertion-ordered dict beyond `keep`."""
    while len(records) > keep:
        del records[next(iter(records))]


def _cause(error: BaseException) -> str:
    while error.__cause__ is not None:
        error = error.__cause__
    if isinstance(error, ApplicationError):
        return f"{error.type}: {error.message}" if error.type else error.message
    return str(error)


def _seconds(value: float | None) -> timedelta | None:
    return timedelta(seconds=value) if value else None
