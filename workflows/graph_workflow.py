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
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    FailureError,
    WorkflowAlreadyStartedError,
)
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from hitl._limits import (
        MAX_PAYLOAD_BYTES,
        MAX_STATE_BYTES,
        clip,
        json_size,
        over_limit,
        step_input_refused,
    )
    from hitl._patches import (
        ANSWER_ROLLBACK,
        BOUNDED_CHECKS,
        CANCEL_RACE,
        CHANGED_ATTRIBUTES,
        CHILD_FAILURES,
        CHILD_MAPS,
        EDIT_REASKS,
        EDIT_ROLLBACK,
        FINITE_SIGNALS,
        GOTO_ADDS,
        HELD_SIGNALS,
        LOCAL_RERUN,
        NOTHING_NEXT_ENDS,
        STEP_INPUTS,
        SUBGRAPH_IDS,
        THREAD_TURNS,
    )
    from hitl._policy import assignees, deciders
    from hitl._protocol import (
        ANYONE,
        ASSIGNED,
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
        ChildPaused,
        ClaimRequest,
        GraphSpec,
        HistoryPage,
        NodeResult,
        NodeSpec,
        NodeTask,
        NotifyTask,
        ParentRef,
        PendingTask,
        Phase,
        ReduceTask,
        Request,
        ResumeRequest,
        Route,
        RouteTask,
        RunInput,
        RunState,
        Undo,
        UpdateStateRequest,
        request_digest,
        retry_policy_kwargs,
    )
    from hitl._reducers import WriteConflict, apply_builtin_writes, initial_values
    from hitl._schema import SCHEMA_STEPS
    from hitl.types import END, Checkpoint, Decision, DecisionKind, Interrupt, StateSnapshot
    from workflows import checks, topology
    from workflows.attributes import changed_updates, fit_keywords, remember
    from workflows.core import answers, claims, lifecycle, records, rollback, steps, subgraphs, timers
    from workflows.core.effects import Effect, Notify, Publish, Reindex

T = TypeVar("T")
R = TypeVar("R", ResumeRequest, UpdateStateRequest, CancelRequest, ClaimRequest)


@dataclass(kw_only=True)
class _Execution:
    """What belongs to this execution only and never travels with the run (see `RunState` for what does).

    Rebuilt empty by every continue-as-new: a hand-over happens only between
    steps, with nothing running, no decision being applied and no caller left waiting.
    """

    runners: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    """The asyncio task running each task of the pending step that still runs, by the `PendingTask`'s id()
    (a step made anew gets new task objects, so a cancelled runner never stands for a new one)."""
    children: dict[int, str] = field(default_factory=dict)
    """The run id of the subgraph's run, for each task of the pending step that is one, by id() as above."""
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Decisions take turns: one is applied at a time, in the order they were accepted."""
    stops: int = 0
    """Times the run stopped where a waiting `resume()` returns: a pause, its end, or a hand-over."""
    failure: _StepFailed | None = None
    cancelled_by: str | None = None
    cancel_final: bool = False
    """A cancel was applied (under the CANCEL_RACE patch): decisions are checked as to a cancelled run."""
    released_by: str | None = None
    """Who released the pause, while the step it released runs: a cancel then is refused (it raced that
    decision, or would cut it short halfway; it may cancel once the run moves on or pauses)."""
    error: str | None = None
    updated_at: datetime
    paused_at: datetime | None = None
    history_length: int = 0
    """The history length last reported by Temporal, and the local-activity markers written since."""
    markers_since: int = 0
    summary: str = ""
    """The pending-questions memo as last written (written again only when it changes)."""
    attributes: dict[str, Any] = field(default_factory=dict)
    """The search attributes as this execution last wrote them, by name (see `_publish`)."""
    state_bytes: int = 0
    checkpoint_bytes: list[int] = field(default_factory=list)
    rolled_back: dict[str, str] = field(default_factory=dict)
    """Why an update's answer was put back, by update id, for its waiting caller (see `_roll_back`)."""
    untold: list[str] = field(default_factory=list)
    """Errors that put answers back since a subgraph's run last told its parent it paused."""
    claim_changes: int = 0
    """Claims taken, released or handed on; the pause sets its claim timer again when this moves."""
    claims_seen: int = 0
    surfaced: set[str] = field(default_factory=set)
    """Subgraph runs started under the CHILD_FAILURES patch: a signal to one that fails fails the step."""
    stopped: set[int] = field(default_factory=set)
    """Tasks whose re-run was stopped because a change of state they ran on was put back (EDIT_ROLLBACK), by
    id(): what their cancelled runner raises is not the step's failure."""
    crash: Exception | None = None
    """An error a step's task raised that is not a Temporal failure (a bug): the run raises it, so its
    workflow task fails and is retried (under the CHILD_FAILURES patch; before: lost with the task)."""
    passed_down: set[str] = field(default_factory=set)
    """Questions of subgraphs this run answered and passed down, until the subgraph's report leaves them out:
    a subgraph that pauses again before it applies them reports them still pending, and this run must not
    offer them again."""


class _StepFailed(Exception):
    pass


class _Surfaced(_StepFailed):
    """A step failure noticed at once, even while the run waits (under the CHILD_FAILURES patch): a subgraph's
    run that cannot be started or reached, or that failed."""


class _Cancelled(Exception):
    pass


@workflow.defn(name=WORKFLOW_NAME)
class GraphWorkflow:
    """Walks one run's graph. `self.state` is the run; `self.live` this execution's bookkeeping."""

    @workflow.init
    def __init__(self, inp: RunInput) -> None:
        self.inp = inp
        self.spec = inp.graph
        self.before = inp.interrupt_before if inp.interrupt_before is not None else inp.graph.interrupt_before
        self.after = inp.interrupt_after if inp.interrupt_after is not None else inp.graph.interrupt_after
        self.live = _Execution(updated_at=workflow.now())
        if inp.carry is None:
            declared = [list(inp.graph.guard)] if inp.graph.guard else []  # compile(guard=): guarded from the start
            fork = inp.fork
            self.state = RunState(
                created_at=workflow.now(), guard=declared, audit_head=fork.audit_head if fork else None
            )
        else:
            self.state = inp.carry
            self._restored()

    def _patched(self, patch_id: str) -> bool:
        """`workflow.patched`, except for a patch the run has from its start (`RunInput.patches`): taken as
        applied with no marker written. Runs from before that field carry none and replay as recorded."""
        return patch_id in self.inp.patches or workflow.patched(patch_id)

    # ----------------------------------------------------------------- the run

    @workflow.run
    async def run(self, inp: RunInput) -> dict[str, Any]:
        ended = Phase.COMPLETED
        try:
            if inp.carry is None:
                await self._begin(inp)
            while self.state.next or self.state.sends:
                if self._history_full(inp):
                    await self._hand_over(inp)
                await self._superstep()
        except _StepFailed as e:
            ended, self.live.error = Phase.FAILED, str(e)
        except _Cancelled:
            self._drop_tasks()
            ended, self.live.error = Phase.CANCELLED, self.live.cancelled_by
        except (asyncio.CancelledError, CancelledError):
            self._finish(Phase.CANCELLED)
            raise
        self._finish(ended)
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.state.phase is Phase.FAILED:
            raise ApplicationError(self.live.error or "run failed", type="RunFailed", non_retryable=True)
        if self.state.phase is Phase.CANCELLED:
            raise ApplicationError(self.live.error or "run cancelled", type="RunCancelled", non_retryable=True)
        return self.state.values

    async def _begin(self, inp: RunInput) -> None:
        run = self.state
        if inp.fork is not None:
            if inp.fork.history and self._patched(THREAD_TURNS):
                run.checkpoints = list(inp.fork.history)
                self.live.checkpoint_bytes = [json_size(c.values) if c.values else 0 for c in run.checkpoints]
                run.audit_seq = 1 + max(
                    (d.seq for c in run.checkpoints for d in [*c.decisions, *c.audit] if d.seq is not None), default=-1
                )
            run.values, run.step = dict(inp.fork.values), inp.fork.step
            run.sends = list(inp.fork.sends)
            run.next = topology.pulled(inp.fork.next, run.sends)
            run.guard += [list(g) for g in inp.fork.guard if list(g) not in run.guard]
            self.live.state_bytes = json_size(run.values)
            where = f"{inp.fork.run_id}@{inp.fork.step}"
            records.log(
                run,
                Decision(
                    kind="fork",
                    identity=inp.identity,
                    at=workflow.now(),
                    step=run.step,
                    value=clip(inp.input or None),
                    node=where,
                ),
            )
            self._checkpoint("fork")
            if inp.input:
                await self._write([inp.input])
                self._checkpoint("update", writes={"__fork__": inp.input})
            return
        run.values = initial_values(self.spec.channels)
        await self._write([inp.input])
        routed, sends = topology.split_routes(await self._route("__start__") if self.spec.start_has_router else [])
        run.next, run.sends = topology.entry_nodes(self.spec, routed), sends
        self._checkpoint("input", writes={"__input__": inp.input})

    # ------------------------------------------------------ continue-as-new

    def _history_full(self, inp: RunInput) -> bool:
        """Time for a fresh history? Only between steps, with nothing in flight.

        Local activities finish inside one workflow task, so the reported length
        lags: add the markers written since it last moved.
        """
        info = workflow.info()
        length = info.get_current_history_length()
        if length != self.live.history_length:
            self.live.history_length, self.live.markers_since = length, 0
        full = length + self.live.markers_since >= inp.max_history_events or info.is_continue_as_new_suggested()
        return full and all(id(t) not in self.live.runners for t in self.state.tasks)

    async def _hand_over(self, inp: RunInput) -> None:
        """Continue as new, carrying the run's state (`RunState.carried`).

        Checkpoints travel without their state copies (the newest one is the
        current state), so the carry stays well under Temporal's payload limit;
        should it not, the run stays in this history a while longer.
        """
        if json_size(dataclasses.asdict(self.state.carried())) > MAX_PAYLOAD_BYTES * 0.9:
            workflow.logger.warning("run %s stays in its history: its carry is too large", workflow.info().workflow_id)
            return
        self.live.stops += 1  # waiting resume() calls return now; clients poll on
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(dataclasses.replace(inp, input={}, fork=None, carry=self.state.carried()))

    def _restored(self) -> None:
        """Rebuild what is derived from a carried state: the newest checkpoint's values, the size caches."""
        run = self.state
        if run.checkpoints and run.checkpoints[-1].values is None:
            run.checkpoints[-1] = dataclasses.replace(run.checkpoints[-1], values=dict(run.values))
        self.live.state_bytes = json_size(run.values)
        self.live.checkpoint_bytes = (
            [0] * (len(run.checkpoints) - 1) + [self.live.state_bytes] if run.checkpoints else []
        )

    async def _superstep(self) -> None:
        """Run the pending step to its end, pausing as often as people are asked."""
        run = self.state
        if isinstance(self.live.failure, _Surfaced):  # a subgraph's run failed or was lost while the run waited
            raise self.live.failure
        if run.phase is not Phase.RESUMED and topology.matches(self.before, topology.step_names(run.next, run.sends)):
            await self._pause(Phase.BEFORE)
            return
        if run.phase is not Phase.RESUMED:
            self.live.released_by = None  # the step a decision released is done: cancels are plain again
        run.phase = Phase.RUNNING
        for task in steps.lay_out(run):
            self._stop(task)
        self._start_tasks()
        await self._tasks_settled()
        if any(t.result is None for t in run.tasks):
            run.undo = None  # the nodes a change sent to run again asked again: the change stands
            await self._pause(Phase.ASKING)
            return
        writes = steps.writes_of(run.tasks)
        if not await self._write_step(writes):
            await self._pause(Phase.ASKING)
            return
        ran, audit = steps.advance(run, self.spec, writes, workflow.now())
        self._checkpoint("loop", writes=writes, audit=audit)
        if topology.matches(self.after, ran) and (run.next or run.sends or not self._patched(NOTHING_NEXT_ENDS)):
            await self._pause(Phase.AFTER)

    def _start_tasks(self) -> None:
        """Start a runner for each of the step's tasks that neither runs nor is settled."""
        run = self.state
        starting = [t for t in run.tasks if not t.settled and id(t) not in self.live.runners]
        refused = step_input_refused(run.step, [self._input_bytes(t) for t in starting])
        if refused and self._patched(STEP_INPUTS):
            raise _StepFailed(refused)  # one line, where Temporal would terminate the run
        # Local re-runs starting together would share one workflow task's completion (the server takes 4 MB):
        # then each goes as an activity, its result in an event of its own.
        crowded = sum(t.rerun_local for t in starting) > 1
        for task in starting:
            self.live.runners[id(task)] = asyncio.create_task(self._run_task(task, crowded))

    async def _tasks_settled(self) -> None:
        """Wait until every task of the step is done or asking; raise what ended the step instead."""
        live = self.live
        await workflow.wait_condition(
            lambda: (
                live.failure is not None
                or live.cancelled_by is not None
                or live.crash is not None
                or all(t.settled for t in self.state.tasks)
            )
        )
        if live.crash is not None:
            raise live.crash
        if live.cancelled_by is not None:
            raise _Cancelled()
        if live.failure is not None:
            raise live.failure

    async def _write_step(self, writes: dict[str, Any]) -> bool:
        """Apply the step's writes. Should they fail, a change or the answers that led to them are put back
        (False: the run waits again); without any, the step fails."""
        try:
            await self._write(list(writes.values()))
        except _StepFailed as e:
            if self.state.undo is not None and self._patched(EDIT_ROLLBACK):
                self._put_back_change(str(e))
                return False
            answered = [t for t in self.state.tasks if self._rolls_back(t)]
            if not answered:
                raise
            for task in answered:  # their answers led to writes the state refused; the other tasks keep theirs
                self._roll_back(task, str(e))
            return False
        return True

    async def _run_task(self, task: PendingTask, crowded: bool) -> None:
        try:
            try:
                node = self.spec.node(task.node)
                if node.subgraph is not None:
                    await self._run_subgraph(task, node.subgraph)
                else:
                    await self._execute(task, local_rerun=task.rerun_local and not crowded)
            except FailureError as e:  # a Temporal failure no branch expected: the step fails with it
                if id(task) not in self.live.runners or not self._patched(CHILD_FAILURES):
                    raise  # a dropped task's; or a run from before the patch, which lost it
                raise _Surfaced(f"node '{_key(task)}' failed at step {self.state.step}: {_cause(e)}") from None
        except _StepFailed as e:
            self._task_failed(task, e)
        except Exception as e:  # a bug: raised by the run (its workflow task fails, and is retried once fixed)
            if id(task) not in self.live.runners or not self._patched(CHILD_FAILURES):
                raise  # a dropped task's; or a run from before the patch, which lost it
            self.live.crash = self.live.crash or e
        finally:
            self.live.runners.pop(id(task), None)
            self.live.children.pop(id(task), None)

    def _task_failed(self, task: PendingTask, e: _StepFailed) -> None:
        """A task of the step failed for good: the change or the answers it ran on are put back, or the step
        fails; nothing when the task was dropped (goto, as_node, a change put back) while it ran."""
        if id(task) in self.live.stopped or (isinstance(e, _Surfaced) and id(task) not in self.live.runners):
            return
        if self._puts_back_change(task):
            self._put_back_change(str(e), failed=task)
        elif self._rolls_back(task):
            self._roll_back(task, str(e))
        else:
            self.live.failure = self.live.failure or e

    def _drop_tasks(self) -> None:
        """The paused step is replaced (goto, update_state as_node): stop what still runs."""
        for task in self.state.tasks:
            self._stop(task)
        self.state.tasks = []

    def _stop(self, task: PendingTask) -> None:
        """Cancel what runs a dropped task and forget it at once (a runner cancelled before it started
        never reaches its own clean-up)."""
        runner = self.live.runners.pop(id(task), None)
        self.live.children.pop(id(task), None)
        if runner is not None:
            runner.cancel()

    def _input_bytes(self, task: PendingTask) -> int:
        """About what `_execute` sends for `task`: the state, its answers and its Send's arg."""
        send = self.state.sends[task.push] if task.push is not None else None
        return self.live.state_bytes + json_size(task.resumes) + (json_size(send.arg) if send else 0)

    async def _execute(self, task: PendingTask, local_rerun: bool) -> None:
        node = self.spec.node(task.node)
        send = self.state.sends[task.push] if task.push is not None else None
        arg = NodeTask(
            graph=self.spec.name,
            node=task.node,
            step=self.state.step,
            state=_node_input(node, self.state.values),
            resumes=list(task.resumes),
            send=send,
        )
        size = self._input_bytes(task)
        if size > MAX_PAYLOAD_BYTES * 0.95:
            raise _StepFailed(
                over_limit(size, int(MAX_PAYLOAD_BYTES * 0.95), f"the input of node '{task.node}' (state and answers)")
            )
        options: dict[str, Any] = {
            "start_to_close_timeout": timedelta(seconds=node.start_to_close_s),
            "schedule_to_close_timeout": _seconds(node.schedule_to_close_s),
            "retry_policy": RetryPolicy(**retry_policy_kwargs(node.retry)),
            "result_type": NodeResult,
            "summary": f"node {task.node} (step {self.state.step})"
            if send is None
            else f"node {_key(task)} (step {self.state.step}, Send)",
        }
        activity_type = f"{self.spec.name}.{task.node}"
        try:
            if node.local or (local_rerun and self._patched(LOCAL_RERUN)):
                result = await workflow.execute_local_activity(activity_type, arg, **options)
                self.live.markers_since += 1
            else:
                result = await workflow.execute_activity(
                    activity_type, arg, heartbeat_timeout=_seconds(node.heartbeat_s), **options
                )
        except (ActivityError, ApplicationError, TemporalTimeoutError) as e:
            # A local activity's timeout comes wrapped (ActivityError) live but bare on replay: both fail the
            # step, for every run. Its other failures come bare both ways: runs from before the patch hung there.
            if isinstance(e, ApplicationError) and not self._patched(LOCAL_RERUN):
                raise
            raise _StepFailed(f"node '{_key(task)}' failed at step {self.state.step}: {_cause(e)}") from None
        if result.interrupt is None:
            task.result = result
            return
        interrupt_id = topology.interrupt_id(
            workflow.info().workflow_id, self.state.step, task.node, result.interrupt.index, task.push
        )
        steps.ask(self.state, task, result.interrupt, interrupt_id, workflow.now())

    async def _run_subgraph(self, task: PendingTask, spec: GraphSpec) -> None:
        """A compiled graph used as a node runs as a child workflow; its questions surface here."""
        parent, step = workflow.info().workflow_id, self.state.step
        if self._patched(SUBGRAPH_IDS):
            child_id = topology.subgraph_run_id(parent, task.node, step, workflow.uuid4().hex[:12])
        else:
            child_id = f"{parent}.{task.node}.{step}"
        self.live.children[id(task)] = child_id
        surfaced = self._patched(CHILD_FAILURES)
        if surfaced:
            self.live.surfaced.add(child_id)
        shared = {k: v for k, v in self.state.values.items() if k in spec.channels}
        child_input = RunInput(
            graph=spec,
            input=shared,
            identity=self.inp.identity,
            interrupt_before=[],
            interrupt_after=[],
            parent=ParentRef(run_id=workflow.info().workflow_id, node=task.node),
            requester=self.inp.requester,
            patches=list(self.inp.patches),
        )
        try:
            handle = await workflow.start_child_workflow(
                WORKFLOW_NAME, child_input, id=child_id, result_type=dict, static_summary=f"subgraph {spec.name}"
            )
        except (FailureError, RuntimeError) as e:  # not started: its id is taken, or Temporal refused it
            if not surfaced:
                raise  # runs from before the patch lost this (the parent stayed running)
            raise _Surfaced(
                f"subgraph '{task.node}' could not start its run '{child_id}' at step {step}: {_not_started(e)}"
            ) from None
        try:
            final = await handle
        except ChildWorkflowError as e:
            failed = _Surfaced if surfaced else _StepFailed
            raise failed(f"subgraph '{task.node}' failed at step {self.state.step}: {_cause(e)}") from None
        task.interrupts = []
        task.result = NodeResult(writes={k: v for k, v in final.items() if k in self.spec.channels})

    @workflow.signal(name="child_paused")
    def child_paused(self, msg: ChildPaused) -> None:
        tasks = [t for t in self.state.tasks if self.live.children.get(id(t)) == msg.child_id]
        self._tell_callers(subgraphs.reported(self.state, msg, tasks, self.live.passed_down, workflow.now()))

    def _undo_of(
        self,
        kind: Literal["edit", "update"],
        before: dict[str, Any],
        written: dict[str, Any],
        req: ResumeRequest | UpdateStateRequest,
        tasks: list[str],
        asked: dict[str, list[Interrupt]] | None = None,
    ) -> Undo:
        """What putting back `req`'s change needs, should the nodes it sent to run again fail on it."""
        update = workflow.current_update_info()
        return rollback.undo_of(
            kind,
            before,
            written,
            identity=req.identity,
            request_id=req.request_id,
            update_id=update.id if update is not None else None,
            tasks=tasks,
            asked=asked,
        )

    async def _write(self, writes: list[dict[str, Any]]) -> None:
        """Apply writes through the reducers: built-ins here, user reducers in an activity."""
        try:
            values, owed = apply_builtin_writes(self.spec.channels, self.state.values, writes)
        except WriteConflict as e:
            raise _StepFailed(str(e)) from None
        if owed:
            try:
                values = await workflow.execute_activity(
                    REDUCE_ACTIVITY,
                    ReduceTask(graph=self.spec.name, values=values, writes=owed),
                    **_helper(timedelta(minutes=1)),
                    result_type=dict,
                )
            except ActivityError as e:
                raise _StepFailed(f"a reducer failed: {_cause(e)}") from None
        size = json_size(values)
        if size > MAX_STATE_BYTES:
            raise _StepFailed(over_limit(size, MAX_STATE_BYTES, f"the state after step {self.state.step}"))
        self.state.values, self.live.state_bytes = values, size

    async def _route(self, node: str) -> list[Route]:
        try:
            targets: list[Route] = await workflow.execute_activity(
                ROUTE_ACTIVITY,
                RouteTask(graph=self.spec.name, node=node, state=self.state.values),
                **_helper(timedelta(minutes=1)),
                result_type=list[Route],
            )
        except ActivityError as e:
            raise _StepFailed(f"router of '{node}' failed: {_cause(e)}") from None
        return targets

    # ------------------------------------------------------------- pausing

    async def _pause(self, kind: Phase) -> None:
        """Wait for a person: until a decision (or a deadline, or the subgraph) releases the step."""
        run = self.state
        run.phase = kind
        self.live.released_by = None
        self.live.paused_at = self.live.updated_at = workflow.now()
        self.live.stops += 1
        self._publish()
        await self._report_pause()
        live = self.live
        woken = lambda: (  # noqa: E731
            self._released()
            or bool(run.held)
            or live.cancelled_by is not None
            or live.claim_changes != live.claims_seen
            or isinstance(live.failure, _Surfaced)
        )
        while not self._released():
            if live.cancelled_by is not None:
                raise _Cancelled()
            if isinstance(live.failure, _Surfaced):  # a subgraph's run failed or was lost: the step fails now
                raise live.failure
            if run.held:
                await self._apply_held()
                continue
            live.claims_seen = live.claim_changes  # a claim made meanwhile sets a timer of its own
            due = timers.next_due(run, live.children)
            if due.at is None:
                await workflow.wait_condition(woken)
                continue
            try:
                # A durable Temporal timer: it fires even if every worker was down then.
                await workflow.wait_condition(woken, timeout=max(due.at - workflow.now(), timedelta(0)))
            except asyncio.TimeoutError:
                self._on_timer(due.deadline)
        self.live.paused_at = None
        self._publish()
        if self.inp.parent is not None and kind is Phase.ASKING:
            await self._tell_parent(self._interrupts(), going_on=True)  # what is still pending stays answerable

    def _on_timer(self, deadline: datetime | None) -> None:
        """The pause's timer fired: claims run out, escalation steps fall due, and (when nothing else moved,
        or its first deadline passed) overdue questions are answered by their defaults."""
        run, now = self.state, workflow.now()
        freed = timers.expire_claims(run, now)
        if freed:
            self._reindex()
        taken, effects = timers.escalate(
            run, self.live.children, now, notify=bool(self.spec.notify), parent=self.inp.parent is not None
        )
        self._carry_out(effects)
        if not (freed or taken) or (deadline is not None and deadline <= now):
            timers.expire_deadlines(run, self.live.children, now)

    def _carry_out(self, effects: list[Effect]) -> None:
        """Do with Temporal what a rule of the core asked for, in its order."""
        for effect in effects:
            if isinstance(effect, Reindex):
                self._reindex()
            elif isinstance(effect, Publish):
                self._publish()
            elif isinstance(effect, Notify):
                asyncio.create_task(self._notify())
            else:
                asyncio.create_task(self._tell_parent(self._interrupts()))

    def _released(self) -> bool:
        """The pause is over: no longer paused, and the decision that released it is fully applied."""
        return not self.state.phase.paused and not self.live.turn.locked()

    async def _report_pause(self) -> None:
        """Tell whoever waits: the parent run (for a subgraph) and the graph's notify hook."""
        if self.inp.parent is not None and self.state.phase is Phase.ASKING:
            await self._tell_parent(self._interrupts())
        if self.spec.notify:
            asyncio.create_task(self._notify())

    async def _tell_parent(self, interrupts: list[Interrupt], going_on: bool = False) -> None:
        assert self.inp.parent is not None
        parent = workflow.get_external_workflow_handle(self.inp.parent.run_id)
        asking = bool(interrupts) and not going_on
        untold, self.live.untold = (self.live.untold, []) if asking else ([], self.live.untold)
        await parent.signal(
            "child_paused",
            ChildPaused(
                child_id=workflow.info().workflow_id, interrupts=interrupts, rolled_back=untold, going_on=going_on
            ),
        )

    async def _notify(self) -> None:
        try:
            await workflow.execute_activity(
                NOTIFY_ACTIVITY,
                NotifyTask(graph=self.spec.name, snapshot=self.get_state()),
                **_helper(timedelta(seconds=30)),
            )
        except ActivityError as e:  # a failed notification never blocks or fails the run
            workflow.logger.warning("notify hook of graph %s failed: %s", self.spec.name, _cause(e))

    def _finish(self, ended: Phase) -> None:
        """The run ended: refuse what is still held, tell waiting callers, publish the end."""
        run = self.state
        was, run.phase = run.phase, ended
        for req in run.held:
            if not (req.request_id and req.request_id in run.requests):  # a resend of an applied decision
                self._refuse(req, f"the run was {run.phase.status} before it paused again; nothing was applied")
        run.held = []
        self.live.updated_at = workflow.now()
        self.live.stops += 1
        self._publish(ended_in=was if was.paused else None)

    @property
    def _starter(self) -> str:
        """Who asked for this run (a fork keeps its source run's): a quorum question may bar them."""
        return self.inp.requester or self.inp.identity

    def _reindex(self) -> None:
        """Who may decide and who holds what changed while the run stays paused (a claim taken, handed on,
        given back or run out; a vote that leaves its quorum open): index it again.

        One upsert per such change, and only where those attributes are indexed, so that the inbox's "I may
        decide" and "assigned to me" are filtered server-side, paging and counts included (see `deciders`).
        Only runs with a claim or a quorum question reach this: no older history holds one (issue 14)."""
        if self.inp.search_attributes and (self.inp.index_reviewers or self.inp.index_assigned):
            self._publish()

    def _publish(self, ended_in: Phase | None = None) -> None:
        """Keep the run findable: status and pending nodes as search attributes, and the summary memo.

        A run that ended while paused (cancelled) keeps showing that pause's nodes and summary,
        as it always has: `ended_in` is that pause.
        """
        if not self.inp.search_attributes:
            return
        run = self.state
        pause = run.phase if run.phase.paused else ended_in
        pending = self._interrupts()
        nodes = records.pending_nodes(run, paused=pause is not None)
        updates = self._attribute_updates(pending, nodes, paused=pause is not None)
        changed = changed_updates(updates, self.live.attributes)
        if changed != updates and self._patched(CHANGED_ATTRIBUTES):
            updates = changed
        if updates:
            workflow.upsert_search_attributes(updates)
            remember(updates, self.live.attributes)
        if pause is None:
            return  # the summary is read only while a run waits: no event spent clearing it
        summary = records.summary(pending, pause, nodes)
        if summary != self.live.summary:
            workflow.upsert_memo({SUMMARY_MEMO: summary})
            self.live.summary = summary

    def _attribute_updates(
        self, pending: list[Interrupt], nodes: list[str], *, paused: bool
    ) -> list[SearchAttributeUpdate[Any]]:
        """Every search attribute this run indexes, as it should read now."""
        live = self.live
        updates: list[SearchAttributeUpdate[Any]] = [
            STATUS.value_set(self.state.phase.status),
            PENDING_NODES.value_set(fit_keywords(nodes)),
            WAITING_SINCE.value_set(live.paused_at) if live.paused_at else WAITING_SINCE.value_unset(),
        ]
        if self.inp.index_reviewers:  # in the same upsert: no extra history event
            # Too many to index: listed for anyone's "I may decide" (a filter's false positive; answering is
            # still checked), never an upsert Temporal refuses by terminating the run.
            reviewers = fit_keywords(deciders(pending, self._starter), overflow=[ANYONE]) if paused else []
            updates.append(REVIEWERS.value_set(reviewers))
        if self.inp.index_assigned:
            updates.append(ASSIGNED.value_set(fit_keywords(assignees(pending)) if paused else []))
        return updates

    # ------------------------------------------------------------- decisions
    #
    # Each decision (an update, or a signal held for the pause) is checked by the update's validator, where a
    # refusal writes nothing to the run's history. Decisions then take turns (`_Execution.turn`); in its turn
    # the handler checks again (what replay runs). A resume first claims, without awaiting, what later
    # decisions are checked against (its request id, the questions it answers, the run no longer paused),
    # then does what has to wait (a subgraph's signal, a user reducer). A decision arriving meanwhile is
    # therefore refused up front, with the real reason, when the one being applied made it unfit. An edit
    # claims only its request id before its write (where it leads can depend on user code: a reducer's result, a
    # router's target), so a decision queued behind an edit that runs user code is checked once more in its
    # turn and, should it no longer fit, refused then: its update fails after acceptance with nothing
    # applied, the one refusal that leaves events in the history.

    @workflow.update(name="resume")
    async def resume(self, req: ResumeRequest) -> StateSnapshot:
        stops = self.live.stops
        if await self._take_turn(req, checks.check_resume, self._apply_resume) and req.wait:
            await workflow.wait_condition(lambda: self.live.stops > stops)
        return self._told()

    @resume.validator
    def _validate_resume(self, req: ResumeRequest) -> None:
        self._validate(req, checks.check_resume)

    @workflow.signal(name="resume_signal")
    async def resume_signal(self, req: ResumeRequest) -> None:
        """For senders that must not wait: held until the run pauses, then applied or refused visibly."""
        if self._patched(HELD_SIGNALS):
            digest = request_digest(req)
            if not any(
                h.request_id and h.request_id == req.request_id and request_digest(h) == digest for h in self.state.held
            ):
                self.state.held.append(req)  # a resend of a held decision is the same decision
            return
        # Runs from before the patch replay as they ran: wait for no decision being applied, check, apply.
        await workflow.wait_condition(lambda: not self.live.turn.locked())
        async with self.live.turn:
            try:
                checks.check_resume(self._view(), checks.as_recorded(req))
            except ApplicationError as e:
                self._refuse(req, e.message)
                return
            await _rejecting(self._apply_resume(req))

    async def _apply_held(self) -> None:
        """Apply the oldest decision that came as a signal, or record why it was refused."""
        req = self.state.held.pop(0)
        refused = checks.non_finite_refusal(req)
        if refused and self._patched(FINITE_SIGNALS):
            self._refuse(req, refused)
            return
        refused = checks.costly_refusal(self._view(), req)
        if refused and self._patched(BOUNDED_CHECKS):
            self._refuse(req, refused)
            return
        try:
            await self._take_turn(req, checks.check_resume, self._apply_resume)
        except ApplicationError as e:
            self._refuse(req, e.message)

    @workflow.update(name="update_state")
    async def update_state(self, req: UpdateStateRequest) -> StateSnapshot:
        stops = self.live.stops
        if await self._take_turn(req, checks.check_edit, self._apply_edit):
            await workflow.wait_condition(lambda: self.live.stops > stops)
        return self._told()

    def _told(self) -> StateSnapshot:
        """The snapshot a waiting caller gets: with why its decision was put back in `error`, if it was."""
        update = workflow.current_update_info()
        rolled_back = self.live.rolled_back.pop(update.id, None) if update is not None else None
        snapshot = self.get_state()
        return dataclasses.replace(snapshot, error=rolled_back) if rolled_back else snapshot

    @update_state.validator
    def _validate_update_state(self, req: UpdateStateRequest) -> None:
        self._validate(req, checks.check_edit)

    @workflow.update(name="claim")
    async def claim(self, req: ClaimRequest) -> StateSnapshot:
        """Claim, release or delegate a pending question: it changes who may answer, not what runs."""
        await self._take_turn(req, checks.check_claim, self._apply_claim)
        return self.get_state()

    @claim.validator
    def _validate_claim(self, req: ClaimRequest) -> None:
        self._validate(req, checks.check_claim)

    @workflow.update(name="cancel")
    async def cancel(self, req: CancelRequest) -> StateSnapshot:
        if await self._take_turn(req, self._check_cancel_in_turn, self._apply_cancel):
            await workflow.wait_condition(lambda: self.state.phase is Phase.CANCELLED)
        return self.get_state()

    @cancel.validator
    def _validate_cancel(self, req: CancelRequest) -> None:
        self._validate(req, self._check_cancel_up_front)

    def _check_cancel_up_front(self, view: checks.RunView, req: CancelRequest) -> None:
        self._check_cancel(view, req, racing=self.live.released_by is not None)  # validators never replay

    def _check_cancel_in_turn(self, view: checks.RunView, req: CancelRequest) -> None:
        self._check_cancel(view, req, racing=self.live.released_by is not None and self._patched(CANCEL_RACE))

    def _check_cancel(self, view: checks.RunView, req: CancelRequest, *, racing: bool) -> None:
        """A cancel also loses to a decision that released the pause, while the step that decision released
        runs: of a cancel and an answer racing for one pause, exactly one is applied."""
        checks.check_cancel(view, req)
        if racing:
            checks.reject(
                f"run was resumed by {self.live.released_by} and is carrying that decision out (step "
                f"{self.state.step}); cancel again once it moves on or pauses, if you still mean to"
            )

    def _validate(self, req: R, check: Callable[[checks.RunView, R], None]) -> None:
        """An update's validator. A subgraph's run takes decisions only through its parent run, which checks
        them against its own claims and guard and passes the answers down (as signals). Validators never
        run on replay: refusing here changes no history."""
        parent = self.inp.parent
        if parent is not None:
            checks.reject(
                f"run {workflow.info().workflow_id} is the subgraph '{parent.node}' of run {parent.run_id}: "
                f"send decisions to run {parent.run_id}, where its questions show"
            )
        checks.check_finite(req)  # here only: the handlers' checks replay, and answers once took NaN
        checks.check_decider(req)  # likewise: decisions by longer names or roles were once taken
        self._is_resend(req, check, replays=False)  # bounded here only, for the same reason

    def _is_resend(self, req: R, check: Callable[[checks.RunView, R], None], *, replays: bool = True) -> bool:
        """True when this request id was applied already; raises the refusal when the decision does not fit now.
        A handler's check (`replays`) judges the decision as recorded histories were (`checks.as_recorded`, schema
        checks unbounded); a validator's, new rules and all (schema checks within `SCHEMA_STEPS`)."""
        view = self._view() if replays else dataclasses.replace(self._view(), schema_budget=SCHEMA_STEPS)
        if checks.already_applied(view, req):
            return True
        check(view, checks.as_recorded(req) if replays else req)
        return False

    async def _take_turn(
        self, req: R, check: Callable[[checks.RunView, R], None], apply: Callable[[R], Coroutine[Any, Any, bool]]
    ) -> bool:
        """Apply a decision once the decisions accepted before it are done. True when it moved the run on
        (the caller may wait for the next stop); False for a resend of an applied decision, an edit that
        leaves the run where it was, votes that leave a quorum question pending, or a claim."""
        async with self.live.turn:
            # The validator's check again (what replay runs); for a decision that waited, against the state the
            # decisions before it left, which their user code's part may have made unfit.
            if self._is_resend(req, check):
                return False
            return await _rejecting(apply(req))

    async def _apply_resume(self, req: ResumeRequest) -> bool:
        """Apply a checked decision: answers, state update, goto. The run counts as released from the
        start (so later decisions are checked against that) and goes on once this one is done."""
        run = self.state
        now = workflow.now()
        paused = run.phase
        records.remember(run, req, now)
        if answers.only_votes(req, checks.answers(req, self._interrupts()), self._interrupts()):
            await self._answer(req, paused, now)  # the question waits for more people: the run stays paused
            self._reindex()
            return False
        run.phase = Phase.RESUMED if paused in (Phase.BEFORE, Phase.ASKING) else Phase.RUNNING
        self.live.released_by = f"{req.identity} at {records.when(now)}"
        try:
            await self._answer(req, paused, now)
        except _StepFailed:
            run.phase, self.live.released_by = paused, None
            raise
        self.live.paused_at = None
        return True

    async def _apply_claim(self, req: ClaimRequest) -> bool:
        """Take, give back or hand on a question: who may answer changes, the run stays where it is."""
        effects = claims.claim(self.state, req, checks.claim_target(self._view(), req), workflow.now())
        self.live.claim_changes += 1
        self._carry_out(effects)
        return False

    async def _answer(self, req: ResumeRequest, paused: Phase, now: datetime) -> None:
        run = self.state
        answered = checks.answers(req, self._interrupts())
        await self._give(req, answered, now)
        if paused is not Phase.ASKING and not req.update and not req.goto:
            self._record("resume", req, node=",".join(topology.step_names(run.next, run.sends)))
        if req.update:
            await self._answer_update(req, req.update, answered, now)
        if req.goto:
            self._answer_goto(req, req.goto, now)
        if req.update or req.goto:
            run.step += 1
            self._checkpoint("update", writes={"__human__": req.update or {}})

    async def _give(self, req: ResumeRequest, answered: dict[str, Any], now: datetime) -> None:
        """Each answer to its question (`answers.give`); a subgraph's question's answer goes down to its run."""
        down: dict[str, dict[str, Any]] = {}  # answers for each subgraph's run
        update = workflow.current_update_info()
        for interrupt_id, value in answered.items():
            given = answers.give(
                self.state,
                req,
                (interrupt_id, value),
                now,
                subgraphs=self.live.children,
                patched=self._patched,
                update_id=update.id if update is not None else None,
                recorded_at=workflow.now(),
            )
            child_id = self.live.children.get(id(given.task))
            if child_id is None:
                continue
            if given.closed:
                self.live.passed_down.add(interrupt_id)
            if self._patched(CHILD_MAPS):  # a vote too goes down: the subgraph counts it as well
                down.setdefault(child_id, {})[interrupt_id] = value
            else:  # the question is the subgraph's: pass the answer down to its run, with who gave it
                await self._signal_child(given.task.node, child_id, _passed_down(req, {interrupt_id: value}))
        for child_id, given_down in down.items():  # one decision reaches a subgraph as one decision
            node = next(t.node for t in self.state.tasks if self.live.children.get(id(t)) == child_id)
            await self._signal_child(node, child_id, _passed_down(req, given_down))

    async def _answer_update(
        self, req: ResumeRequest, update: dict[str, Any], answered: dict[str, Any], now: datetime
    ) -> None:
        """The state update sent with a decision: applied, recorded, and (without a goto) the votes on the old
        state withdrawn. What the answers' nodes run on is put back with them should they fail."""
        run = self.state
        before = dict(run.values)
        rerun = [
            _key(t)
            for t in run.tasks
            if id(t) not in self.live.children and any(a.interrupt.id in answered for a in t.answered)
        ]
        if rerun and not req.goto:
            run.undo = self._undo_of("update", before, update, req, rerun)
        await self._write([update])
        self._record("update_state", req, update, patch=records.edit_patch(before, run.values, update))
        if not req.goto:  # a goto with an update withdraws the questions themselves (`_answer_goto`)
            answers.void_votes(run, req.identity, now, self.live.children, workflow.now())

    def _answer_goto(self, req: ResumeRequest, goto: list[str], now: datetime) -> None:
        run = self.state
        if self._patched(GOTO_ADDS):
            # As LangGraph: the named nodes join the paused step. A question still unanswered stays
            # pending, unless the decision also changed the state: then its node asks again about it.
            if req.update:
                reason = f"withdrawn when {req.identity} changed the state at {records.when(now)}; the node asked again"
                lifecycle.withdraw(run, self.live.children, reason)
            run.next = topology.in_order(self.spec, [*run.next, *goto])
        else:
            records.retire_all(run, f"dropped when {req.identity} sent the run to {goto} at {records.when(now)}")
            self._drop_tasks()
            run.next, run.sends = topology.in_order(self.spec, goto), []
        self._record("goto", req, goto)

    async def _signal_child(self, node: str, child_id: str, req: ResumeRequest) -> None:
        """Pass answers down to a subgraph's run. Should that run be out of reach (it ended meanwhile, or was
        terminated), the step fails with one line naming it: it cannot go on without the run (CHILD_FAILURES,
        known from when that run was started: no patch is asked from a handler)."""
        try:
            await workflow.get_external_workflow_handle(child_id).signal("resume_signal", req)
        except FailureError as e:
            if child_id not in self.live.surfaced:
                raise
            line = (
                f"subgraph '{node}' could not be reached at its run '{child_id}' (step {self.state.step}): {_cause(e)}"
            )
            self.live.failure = self.live.failure or _Surfaced(line)

    async def _apply_edit(self, req: UpdateStateRequest) -> bool:
        """Apply a person's edit. Returns True when the run moves on: the edit withdrew a question
        the node asks again, or it left nothing to run (as_node leading to END), so the run ends."""
        run = self.state
        now = workflow.now()
        records.remember(run, req, now)
        before = dict(run.values)
        await self._write([req.values])
        patch = records.edit_patch(before, run.values, req.values)
        self._record("update_state", req, req.values, node=req.as_node, patch=patch)
        reask = ended = False
        if req.as_node is not None:
            ended = await self._edit_as_node(req, req.as_node, now)
        elif self._own_interrupts() and self._patched(EDIT_REASKS):
            # What a reviewer approves must be what runs: the node asks again about the edited state.
            asked = {_key(t): list(t.interrupts) for t in run.tasks if id(t) not in self.live.children and t.interrupts}
            run.undo = self._undo_of("edit", before, req.values, req, list(asked), asked)
            reason = f"withdrawn when {req.identity} edited the state under review at {records.when(now)}"
            lifecycle.withdraw(run, self.live.children, f"{reason}; the node asked again")
            reask = True
        run.step += 1
        self._checkpoint("update", writes={req.as_node or "__human__": req.values})
        if reask or ended:
            run.phase = Phase.RESUMED if reask else Phase.RUNNING
            self.live.paused_at = None
        else:
            self._publish()
        return reask or ended

    async def _edit_as_node(self, req: UpdateStateRequest, node: str, now: datetime) -> bool:
        """The edit stands for `node`'s writes: the step is replaced by what that node leads to (paused before
        it). True when that is nothing to answer and nothing to run: the run ends."""
        run = self.state
        as_end = node == END  # LangGraph's "mark as resolved": nothing follows, the run ends as it is
        routes = await self._route(node) if not as_end and self.spec.node(node).has_router else []
        routed, sends = topology.split_routes(routes)
        run.next = [] if as_end else topology.successors(self.spec, [node], routed, run.barriers)
        records.retire_all(run, f"dropped when {req.identity} edited the state as node {node} at {records.when(now)}")
        self._drop_tasks()
        run.sends = sends
        run.phase = Phase.BEFORE
        return not run.next and not run.sends and self._patched(NOTHING_NEXT_ENDS)

    async def _apply_cancel(self, req: CancelRequest) -> bool:
        self.live.cancelled_by = lifecycle.cancel(self.state, req, workflow.now())
        self.live.cancel_final = self._patched(CANCEL_RACE)
        return True

    def _rolls_back(self, task: PendingTask) -> bool:
        """Does this task's failure put people's answers back? Only for a node re-run on answers given to it
        (a subgraph's run puts its own answers back; a subgraph that failed for good fails the run)."""
        return bool(task.answered) and self.spec.node(task.node).subgraph is None and self._patched(ANSWER_ROLLBACK)

    def _roll_back(self, task: PendingTask, error: str) -> None:
        """The node run again because of people's answers failed for good: put them back (`answers.roll_back`)."""
        self._tell_callers(answers.roll_back(self.state, task, error, workflow.now()))
        if self.inp.parent is not None:
            self.live.untold.append(" ".join(error.split()))

    def _tell_callers(self, told: list[tuple[str, str]]) -> None:
        """Keep why each update's answer was put back, for its waiting caller (the newest few)."""
        for update_id, reason in told:
            self.live.rolled_back[update_id] = reason
            records.trim(self.live.rolled_back, records.KEEP_REFUSALS)

    def _puts_back_change(self, task: PendingTask) -> bool:
        """Did this task run again because of a change of state (an edit, an answer's update) it may put back?"""
        undo = self.state.undo
        return undo is not None and _key(task) in undo.tasks and self._patched(EDIT_ROLLBACK)

    def _put_back_change(self, error: str, failed: PendingTask | None = None) -> None:
        """A node run again because of a person's change of state failed for good (`failed`), or the step's
        writes did: the state goes back to before the change, and every node it sent to run again is stopped
        and waits on its questions again (an edit's withdrawn ones, an update's answers put back). Recorded as
        an answer's rollback is: on `refused`, as a `rollback` decision, for the waiting caller."""
        run = self.state
        undo, run.undo = run.undo, None
        assert undo is not None
        for task in [t for t in run.tasks if _key(t) in undo.tasks and t is not failed]:
            runner = self.live.runners.pop(id(task), None)
            if runner is not None:  # it ran on the change: stop it (what its runner raises now is ignored)
                self.live.stopped.add(id(task))
                runner.cancel()
        done = rollback.put_back_change(run, undo, error, workflow.now())
        self.live.state_bytes = json_size(run.values)
        self._tell_callers(done.told)
        line = " ".join(error.split())
        if undo.update_id is not None:
            self.live.rolled_back.setdefault(undo.update_id, done.reason)  # an answer's own line, if put back too
            records.trim(self.live.rolled_back, records.KEEP_REFUSALS)
        if self.inp.parent is not None:
            self.live.untold += [line] * (done.answers_put_back + 1)
        self._checkpoint("update", writes={"__rollback__": undo.before})

    def _view(self) -> checks.RunView:
        run = self.state
        return checks.RunView(
            spec=self.spec,
            status="cancelled" if self.live.cancel_final else run.phase.status,
            pause=run.phase.value if run.phase.paused else None,
            next=topology.step_names(run.next, run.sends),
            pending=self._interrupts(),
            guard=run.guard,
            retired=run.retired,
            requests=run.requests,
            values=run.values,
            starter=self._starter,
            now=workflow.now(),
        )

    def _record(self, kind: DecisionKind, req: Request, value: Any = None, **fields: Any) -> None:
        records.record(self.state, kind, req, workflow.now(), value, **fields)

    def _refuse(self, req: ResumeRequest, reason: str) -> None:
        """A signalled decision that does not fit: recorded on the run, never applied, never silent."""
        workflow.logger.warning("refused a decision sent as a signal by %s: %s", req.identity, reason)
        records.refuse(self.state, req.identity, req.request_id, reason, workflow.now())

    # ------------------------------------------------------------- reading

    @workflow.query(name="get_state")
    def get_state(self) -> StateSnapshot:
        run = self.state
        return StateSnapshot(
            run_id=workflow.info().workflow_id,
            graph=self.spec.name,
            status=run.phase.status,
            values=run.values,
            next=self._still_to_run(),
            step=run.step,
            interrupts=self._interrupts(),
            created_at=run.created_at,
            updated_at=self.live.updated_at,
            paused_at=self.live.paused_at,
            breakpoint=run.phase.breakpoint,
            error=self.live.error,
            decisions=list(run.decisions),
            refused=list(run.refused),
            guarded_by=[list(g) for g in run.guard],
            audit_head=run.audit_head,
        )

    @workflow.query(name="get_state_history")
    def get_state_history(self, page: HistoryPage | None = None) -> list[Checkpoint]:
        """Checkpoints newest first, `before` a checkpoint seq, cut to fit one payload.

        A page holds at least one checkpoint; the client asks for the next page
        with `before` set to the oldest seq it got.
        """
        page = page or HistoryPage()
        return records.page(self.state.checkpoints, self.live.checkpoint_bytes, page.before, page.limit)

    @workflow.query(name="get_checkpoint")
    def get_checkpoint(self, step: int) -> Checkpoint | None:
        """The newest checkpoint of `step` (time travel starts there), or None."""
        return next((c for c in reversed(self.state.checkpoints) if c.step == step), None)

    @workflow.query(name="get_spec")
    def get_spec(self) -> RunInput:
        return RunInput(
            graph=self.spec,
            input={},
            identity=self.inp.identity,
            interrupt_before=self.before,
            interrupt_after=self.after,
            search_attributes=self.inp.search_attributes,
            index_reviewers=self.inp.index_reviewers,
            requester=self.inp.requester,
            index_assigned=self.inp.index_assigned,
        )

    def _still_to_run(self) -> list[str]:
        """The step's nodes that have yet to finish (as LangGraph's `next`): not the ones done while others wait."""
        run = self.state
        return topology.step_names(run.next, run.sends, [_key(t) for t in run.tasks if t.result is not None])

    def _interrupts(self) -> list[Interrupt]:
        return [i for t in self.state.tasks for i in t.interrupts]

    def _own_interrupts(self) -> list[Interrupt]:
        return [i for t in self.state.tasks if id(t) not in self.live.children for i in t.interrupts]

    def _checkpoint(
        self,
        source: records.CheckpointSource,
        writes: dict[str, Any] | None = None,
        audit: list[Decision] | None = None,
    ) -> None:
        """Record the state after a step (this execution keeps each checkpoint's state size beside it)."""
        live = self.live
        live.updated_at = workflow.now()
        records.checkpoint(self.state, live.checkpoint_bytes, live.state_bytes, source, live.updated_at, writes, audit)


async def _rejecting(work: Coroutine[Any, Any, T]) -> T:
    """A state write that fails while a decision is applied refuses that decision (its caller sees why)."""
    try:
        return await work
    except _StepFailed as e:
        raise ApplicationError(str(e), type="DecisionRejected") from None


def _key(task: PendingTask) -> str:
    return steps.key(task)


def _passed_down(req: ResumeRequest, answers: dict[str, Any]) -> ResumeRequest:
    """The decision as a subgraph's run gets it: the same person (identity, roles), only these answers."""
    return dataclasses.replace(
        req,
        has_resume=False,
        resume=None,
        resume_map=answers,
        update=None,
        goto=None,
        wait=False,
        request_id=None,
    )


def _node_input(node: NodeSpec, values: dict[str, Any]) -> dict[str, Any]:
    """The state a node's activity gets: only the keys it reads, unless a router reads after it."""
    if node.reads is None or node.has_router:
        return values
    return {k: v for k, v in values.items() if k in node.reads}


def _helper(timeout: timedelta) -> dict[str, Any]:
    """Options of hitl's own short activities (route, reduce, notify): user code, but brief."""
    return {"start_to_close_timeout": timeout, "retry_policy": RetryPolicy(maximum_attempts=3)}


def _cause(error: BaseException) -> str:
    while error.__cause__ is not None:
        error = error.__cause__
    if isinstance(error, ApplicationError):
        return f"{error.type}: {error.message}" if error.type else error.message
    return str(error)


def _not_started(error: BaseException) -> str:
    """Why a subgraph's run could not start, in words."""
    if isinstance(error, WorkflowAlreadyStartedError):
        return "a run with that id exists already (started by someone else); the subgraph cannot run"
    return _cause(error)


def _seconds(value: float | None) -> timedelta | None:
    return timedelta(seconds=value) if value else None
