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
    from hitl._audit import diff as json_patch
    from hitl._audit import seal
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
        step_input_refused,
    )
    from hitl._policy import assignees, claim_until, deciders, quorum_met
    from hitl._protocol import (
        ANYONE,
        ASSIGNED,
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
        Answered,
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
    from hitl.types import Checkpoint, Decision, DecisionKind, Interrupt, Refusal, Send, StateSnapshot, Vote
    from workflows import checks, rollback, topology
    from workflows.attributes import changed_updates, fit_keywords, remember

T = TypeVar("T")
R = TypeVar("R", ResumeRequest, UpdateStateRequest, CancelRequest, ClaimRequest)
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
CANCEL_RACE = "hitl-cancel-race"
"""Patch: a cancel and another decision racing for one pause: exactly one is applied. Once a cancel is
applied, later decisions are refused as to a cancelled run (before: accepted and recorded, never carried
out); a cancel whose turn comes right after a decision released the pause, before the run moved on, is
refused naming that decision (before: both applied, the run cancelled under the approval)."""
ANSWER_ROLLBACK = "hitl-answer-rollback"
"""Patch: when the node run again because of a person's answer fails for good (or the step's writes fail),
the answer is put back: its question pending again, the failure recorded, the run still waiting (before: the
run failed)."""
CHANGED_ATTRIBUTES = "hitl-changed-attributes"
"""Patch: the search attribute upsert names only the attributes that changed since the last one this
execution wrote, and is left out when none did (before: all of them, every time: an edit or a reminder at a
pause spent an event and a visibility write on values already there)."""
LOCAL_RERUN = "hitl-local-rerun"
"""Patch: a node declared `rerun="local"` runs again after the answer as a local activity, in the workflow task
that applies the answer (before: an activity, one more task-queue round trip and five more events); and a local
activity's failure, which comes bare (not as an ActivityError), fails its step (before: the run hung)."""
NOTHING_NEXT_ENDS = "hitl-nothing-next-ends"
"""Patch: with nothing to answer and nothing next, a run completes instead of waiting (interrupt_after on
the last node, update_state(as_node=...) leading to END)."""
SUBGRAPH_IDS = "hitl-subgraph-ids"
"""Patch: a subgraph's run id ends in the reserved mark and a nonce from the run's own randomness
(`PARENT.node.step~NONCE`, `topology.subgraph_run_id`), which no start path takes as a new id (before:
`PARENT.node.step`, which anyone could start a run under first, so the parent could never start it)."""
CHILD_FAILURES = "hitl-child-failures"
"""Patch: a subgraph's run that cannot be started (its id taken) or reached (a signal to it fails), or that
fails while the parent waits, fails its step at once with one line naming that run; and any other error a
step's task raises is raised by the run instead of lost (before: the task died unseen and the parent stayed
`running` with nothing running, refusing every answer)."""
EDIT_ROLLBACK = "hitl-edit-rollback"
"""Patch: when the node run again because of a person's edit (or of an `update` sent with an answer) fails for
good, or the step's writes fail, the edit is put back: the state as before it, the node's questions pending
again, the failure recorded, the run still waiting (before: the run failed; an update stayed applied)."""
FINITE_SIGNALS = "hitl-finite-signals"
"""Patch: a decision sent as a signal that carries NaN or an infinite number is refused and recorded as
refused (before: applied). Consulted only for such a signal, so histories without one never reach it; an update
carrying one is refused by its validator, which writes nothing and needs no patch."""
BOUNDED_CHECKS = "hitl-bounded-checks"
"""Patch: a decision sent as a signal whose answer or update cannot be checked against its schemas within
`SCHEMA_STEPS` keyword applications is refused and recorded as refused (before: checked without bound, which
could run past the deadlock detector on every attempt of the workflow task and wedge the run for good).
Consulted only for such a signal; a run wedged by one before this patch takes it when its task is tried
again, and so gets unstuck. Updates are bounded in their validators, which write nothing and need no patch."""
STEP_INPUTS = "hitl-step-inputs"
"""Patch: a step whose node tasks carry more than MAX_STEP_INPUT_BYTES in all (many Sends of a large state)
fails the run with one line before scheduling them (before: their commands went out in one workflow task
completion past the server's 4 MB, and Temporal terminated the run). Consulted only for such a step."""
THREAD_TURNS = "hitl-thread-turns"
"""Patch: a fork that carries its thread's earlier checkpoints (`ForkFrom.history`: the next turn of a `hitl serve`
thread, hitl/web/turns.py) begins with them and numbers its decision records after theirs, so its history and
decision chain continue the thread's. Consulted only for such a fork; no recorded run carries one."""
# Quorum questions, claims and escalation ladders (issue 14) need no patch: each path is reached only by a
# question asked with `quorum=`/`escalate=` or by a `claim` update, which no history from before them holds,
# and no patch is ever called from an update or signal handler (a marker recorded there broke the replay of
# a continued run). Sealing the decision record writes no commands: runs in flight seal theirs on replay.


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
            self._log(
                Decision(
                    kind="fork",
                    identity=inp.identity,
                    at=workflow.now(),
                    step=run.step,
                    value=clip(inp.input or None),
                    node=where,
                )
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
        keys = topology.step_keys(run.next, run.sends)
        if [_key(t) for t in run.tasks] != keys:
            # Tasks of the step that are still in it stay (a goto added nodes to a waiting step);
            # a step made anew (goto of old runs, as_node) had its tasks dropped already.
            kept = {_key(t): t for t in run.tasks if _key(t) in keys}
            for task in run.tasks:
                if _key(task) not in kept:
                    self._stop(task)
            pushed = [PendingTask(node=s.node, push=i) for i, s in enumerate(run.sends)]
            run.tasks = [kept.get(n) or PendingTask(node=n) for n in run.next] + [
                kept.get(_key(t)) or t for t in pushed
            ]
        starting = [t for t in run.tasks if not t.settled and id(t) not in self.live.runners]
        refused = step_input_refused(run.step, [self._input_bytes(t) for t in starting])
        if refused and self._patched(STEP_INPUTS):
            raise _StepFailed(refused)  # one line, where Temporal would terminate the run
        # Local re-runs starting together would share one workflow task's completion (the server takes 4 MB):
        # then each goes as an activity, its result in an event of its own.
        crowded = sum(t.rerun_local for t in starting) > 1
        for task in starting:
            self.live.runners[id(task)] = asyncio.create_task(self._run_task(task, crowded))
        await workflow.wait_condition(
            lambda: (
                self.live.failure is not None
                or self.live.cancelled_by is not None
                or self.live.crash is not None
                or all(t.settled for t in run.tasks)
            )
        )
        if self.live.crash is not None:
            raise self.live.crash
        if self.live.cancelled_by is not None:
            raise _Cancelled()
        if self.live.failure is not None:
            raise self.live.failure
        if any(t.result is None for t in run.tasks):
            run.undo = None  # the nodes a change sent to run again asked again: the change stands
            await self._pause(Phase.ASKING)
            return
        writes = {_key(t): t.result.writes for t in run.tasks if t.result and t.result.writes}
        try:
            await self._write(list(writes.values()))
        except _StepFailed as e:
            if run.undo is not None and self._patched(EDIT_ROLLBACK):
                self._put_back_change(str(e))
                await self._pause(Phase.ASKING)
                return
            answered = [t for t in run.tasks if self._rolls_back(t)]
            if not answered:
                raise
            for task in answered:  # their answers led to writes the state refused; the other tasks keep theirs
                self._roll_back(task, str(e))
            await self._pause(Phase.ASKING)
            return
        ran, run.tasks, run.undo = run.tasks, [], None
        routed = [g for t in ran if t.result for g in t.result.goto]
        run.next = topology.successors(self.spec, [t.node for t in ran], routed, run.barriers)
        run.sends = [s for t in ran if t.result for s in t.result.sends]
        ran_after = self._ran_after_decision(ran, writes)
        run.step += 1
        self._checkpoint("loop", writes=writes, audit=ran_after)
        if topology.matches(self.after, [t.node for t in ran]) and (
            run.next or run.sends or not self._patched(NOTHING_NEXT_ENDS)
        ):
            await self._pause(Phase.AFTER)

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
            if id(task) in self.live.stopped or (isinstance(e, _Surfaced) and id(task) not in self.live.runners):
                return  # the task was dropped (goto, as_node, a change put back) while it ran
            if self._puts_back_change(task):
                self._put_back_change(str(e), failed=task)
            elif self._rolls_back(task):
                self._roll_back(task, str(e))
            else:
                self.live.failure = self.live.failure or e
        except Exception as e:  # a bug: raised by the run (its workflow task fails, and is retried once fixed)
            if id(task) not in self.live.runners or not self._patched(CHILD_FAILURES):
                raise  # a dropped task's; or a run from before the patch, which lost it
            self.live.crash = self.live.crash or e
        finally:
            self.live.runners.pop(id(task), None)
            self.live.children.pop(id(task), None)

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
        ask = result.interrupt
        interrupt = Interrupt(
            id=topology.interrupt_id(workflow.info().workflow_id, self.state.step, task.node, ask.index, task.push),
            value=ask.value,
            node=task.node,
            step=self.state.step,
            index=ask.index,
            schema=ask.schema,
            reviewers=ask.reviewers,
            deadline=workflow.now() + timedelta(seconds=ask.timeout_s) if ask.timeout_s else None,
            quorum=ask.quorum,
            escalation=[
                dataclasses.replace(s, due=workflow.now() + timedelta(seconds=s.after_s)) for s in ask.escalation
            ],
        )
        task.interrupts = [interrupt]
        task.rerun_local = ask.rerun_local
        task.answered = []  # the answers so far led the node on: they stand
        task.defaults[interrupt.id] = ask
        self._guard_with([interrupt])

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
        reported = {i.id for i in msg.interrupts}
        if msg.rolled_back:  # answers put back: the subgraph asks them again, so this run offers them again
            self.live.passed_down -= reported
        self.live.passed_down &= reported  # those it leaves out it has applied
        for task in self.state.tasks:
            if self.live.children.get(id(task)) == msg.child_id:
                # Claims live on this run's copy of the questions (the subgraph's run knows none): keep them.
                held = {i.id: i for i in task.interrupts if i.claimed_by is not None}
                task.interrupts = [
                    dataclasses.replace(
                        i,
                        node=f"{task.node}/{i.node}",
                        claimed_by=held[i.id].claimed_by if i.id in held else i.claimed_by,
                        claimed_until=held[i.id].claimed_until if i.id in held else i.claimed_until,
                    )
                    for i in msg.interrupts
                    if i.id not in self.live.passed_down  # answered here, not yet applied there
                ]
                if msg.rolled_back:  # the subgraph put answers back: so does this run's record
                    self._note_rollback(task, f"subgraph '{task.node}': {'; '.join(msg.rolled_back)}")
                if msg.interrupts and not msg.going_on:  # asking (again): the answers so far are settled
                    task.answered = []
        self._guard_with(msg.interrupts)
        if self.state.phase is Phase.ASKING and not self._interrupts():
            self.state.phase = Phase.RESUMED  # the subgraph went on by itself (a deadline)

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
            deadline = min((i.deadline for i in self._own_interrupts() if i.deadline), default=None)
            claimed = min((i.claimed_until for i in self._interrupts() if i.claimed_until), default=None)
            ladder = min(
                (s.due for i in self._own_interrupts() for s in i.escalation[i.escalated :][:1] if s.due), default=None
            )
            due = min((t for t in (deadline, claimed, ladder) if t is not None), default=None)
            if due is None:
                await workflow.wait_condition(woken)
                continue
            try:
                # A durable Temporal timer: it fires even if every worker was down then.
                await workflow.wait_condition(woken, timeout=max(due - workflow.now(), timedelta(0)))
            except asyncio.TimeoutError:
                moved = self._expire_claims() | self._escalate()
                if not moved or (deadline is not None and deadline <= workflow.now()):
                    self._expire_deadlines()
        self.live.paused_at = None
        self._publish()
        if self.inp.parent is not None and kind is Phase.ASKING:
            await self._tell_parent(self._interrupts(), going_on=True)  # what is still pending stays answerable

    def _released(self) -> bool:
        """The pause is over: no longer paused, and the decision that released it is fully applied."""
        return not self.state.phase.paused and not self.live.turn.locked()

    def _expire_deadlines(self) -> None:
        """Answer each overdue question with its default, or tell the node time ran out."""
        now = workflow.now()
        for task in self.state.tasks:
            own = id(task) not in self.live.children
            for interrupt in [i for i in task.interrupts if i.deadline and i.deadline <= now and own]:
                ask = task.defaults[interrupt.id]
                self._answer_by_default(task, interrupt, "deadline", ask.has_default, ask.default)
        self.state.phase = Phase.RESUMED

    def _answer_by_default(
        self, task: PendingTask, interrupt: Interrupt, who: str, has_value: bool, value: Any
    ) -> None:
        """Time answered a question: with `value` (a quorum question: the votes so far and this one),
        or, with none, the node is told time ran out."""
        now = workflow.now()
        if interrupt.quorum is not None and has_value:
            votes = [*interrupt.votes, Vote(identity=who, value=value, at=now)]
            task.resumes.append([_vote_json(v) for v in votes])
        else:
            task.resumes.append(value if has_value else DEADLINE_EXPIRED)
        task.interrupts = [i for i in task.interrupts if i.id != interrupt.id]
        self._retire(interrupt.id, f"answered by its {who} at {_when(now)}")
        self._note("deadline", who, value if has_value else None, interrupt.id, task.node)

    def _escalate(self) -> bool:
        """Take every escalation step that fell due, in order, each recorded; any taken?"""
        now, taken = workflow.now(), False
        for task in self.state.tasks:
            if id(task) in self.live.children:
                continue
            for interrupt in list(task.interrupts):
                while interrupt.escalated < len(interrupt.escalation):
                    step = interrupt.escalation[interrupt.escalated]
                    if step.due is None or step.due > now:
                        break
                    taken = True
                    if step.action == "answer":
                        self._answer_by_default(task, interrupt, "escalation", True, step.value)
                        self.state.phase = Phase.RESUMED
                        break
                    reviewers = interrupt.reviewers
                    if step.action == "widen":
                        reviewers = list(dict.fromkeys([*(interrupt.reviewers or []), *(step.reviewers or [])]))
                    interrupt = _replace_in(
                        task, dataclasses.replace(interrupt, escalated=interrupt.escalated + 1, reviewers=reviewers)
                    )
                    detail = {"step": interrupt.escalated - 1, "action": step.action, "reviewers": step.reviewers}
                    self._note("escalate", "escalation", detail, interrupt.id, task.node)
                    if step.action == "remind" and self.spec.notify:
                        asyncio.create_task(self._notify())
        if taken:
            self._publish()
            if self.inp.parent is not None and self.state.phase is Phase.ASKING:
                asyncio.create_task(self._tell_parent(self._interrupts()))  # the parent answers by this list
        return taken

    def _expire_claims(self) -> bool:
        """Free the questions whose claim ran out (recorded as released by "expiry"); any freed?"""
        now, freed = workflow.now(), False
        for task in self.state.tasks:
            for interrupt in list(task.interrupts):
                if interrupt.claimed_until is not None and interrupt.claimed_until <= now:
                    _replace_in(task, dataclasses.replace(interrupt, claimed_by=None, claimed_until=None))
                    self._note("release", "expiry", interrupt.claimed_by, interrupt.id, task.node)
                    freed = True
        if freed:
            self._reindex()
        return freed

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
        """Keep the run findable: status and pending nodes as search attributes.

        A run that ended while paused (cancelled) keeps showing that pause's nodes and summary,
        as it always has: `ended_in` is that pause.
        """
        if not self.inp.search_attributes:
            return
        run = self.state
        pause = run.phase if run.phase.paused else ended_in
        paused = pause is not None
        pending = self._interrupts()
        nodes = sorted({i.node for i in pending}) or (
            list(dict.fromkeys(topology.step_names(run.next, run.sends))) if paused else []
        )
        updates: list[SearchAttributeUpdate[Any]] = [
            STATUS.value_set(run.phase.status),
            PENDING_NODES.value_set(fit_keywords(nodes)),
            WAITING_SINCE.value_set(self.live.paused_at) if self.live.paused_at else WAITING_SINCE.value_unset(),
        ]
        if self.inp.index_reviewers:  # in the same upsert: no extra history event
            # Too many to index: listed for anyone's "I may decide" (a filter's false positive; answering is
            # still checked), never an upsert Temporal refuses by terminating the run.
            reviewers = fit_keywords(deciders(pending, self._starter), overflow=[ANYONE]) if paused else []
            updates.append(REVIEWERS.value_set(reviewers))
        if self.inp.index_assigned:
            updates.append(ASSIGNED.value_set(fit_keywords(assignees(pending)) if paused else []))
        changed = changed_updates(updates, self.live.attributes)
        if changed != updates and self._patched(CHANGED_ATTRIBUTES):
            updates = changed
        if updates:
            workflow.upsert_search_attributes(updates)
            remember(updates, self.live.attributes)
        if not paused:
            return  # the summary is read only while a run waits: no event spent clearing it
        summary = (
            "; ".join(shorten(i.value) for i in pending)
            if pending
            else f"breakpoint {pause.value if pause else ''} {', '.join(nodes)}"
        )
        if summary != self.live.summary:
            workflow.upsert_memo({SUMMARY_MEMO: summary})
            self.live.summary = summary

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
        self._remember(req)
        if self._only_votes(req):  # the question waits for more people: the run stays paused
            await self._answer(req, paused, now)
            self._reindex()
            return False
        run.phase = Phase.RESUMED if paused in (Phase.BEFORE, Phase.ASKING) else Phase.RUNNING
        self.live.released_by = f"{req.identity} at {_when(now)}"
        try:
            await self._answer(req, paused, now)
        except _StepFailed:
            run.phase, self.live.released_by = paused, None
            raise
        self.live.paused_at = None
        return True

    def _only_votes(self, req: ResumeRequest) -> bool:
        """Does this decision only add votes to quorum questions that stay open after them?"""
        if req.update or req.goto:
            return False
        pending = {i.id: i for i in self._interrupts()}
        answered = checks.answers(req, list(pending.values()))
        return bool(answered) and all(
            (q := pending[i].quorum) is not None
            and not quorum_met(q, [*pending[i].votes, Vote(identity=req.identity, value=v)])
            for i, v in answered.items()
        )

    async def _apply_claim(self, req: ClaimRequest) -> bool:
        """Take, give back or hand on a question: who may answer changes, the run stays where it is."""
        interrupt = checks.claim_target(self._view(), req)
        self._remember(req)
        holder = req.to if req.action == "delegate" else req.identity
        claimed = (
            dataclasses.replace(interrupt, claimed_by=None, claimed_until=None)
            if req.action == "release"
            else dataclasses.replace(interrupt, claimed_by=holder, claimed_until=claim_until(workflow.now(), req.ttl_s))
        )
        _replace_in(next(t for t in self.state.tasks if interrupt in t.interrupts), claimed)
        self._record(req.action, req, req.to, interrupt_id=interrupt.id, node=interrupt.node)
        self.live.claim_changes += 1
        self._reindex()
        return False

    async def _answer(self, req: ResumeRequest, paused: Phase, now: datetime) -> None:
        run = self.state
        down: dict[str, dict[str, Any]] = {}  # answers for each subgraph's run
        answered = checks.answers(req, self._interrupts())
        for interrupt_id, value in answered.items():
            task = next(t for t in run.tasks if any(i.id == interrupt_id for i in t.interrupts))
            asked = next(i for i in task.interrupts if i.id == interrupt_id)
            answer, closed = value, True
            if (quorum := asked.quorum) is not None:  # a vote: the question closes once the quorum is met
                vote = Vote(identity=req.identity, value=value, at=now)
                asked = _replace_in(task, dataclasses.replace(asked, votes=[*asked.votes, vote]))
                answer, closed = [_vote_json(v) for v in asked.votes], quorum_met(quorum, asked.votes)
            if closed:
                task.interrupts = [i for i in task.interrupts if i.id != interrupt_id]
                who = ", ".join(v.identity for v in asked.votes) if asked.quorum is not None else req.identity
                self._retire(interrupt_id, f"answered by {who} at {_when(now)}")
            self._record("resume", req, value, interrupt_id=interrupt_id, node=task.node, question=clip(asked.value))
            child_id = self.live.children.get(id(task))
            if closed and self._patched(ANSWER_ROLLBACK):  # a vote that leaves it open releases nothing
                update = workflow.current_update_info()
                task.answered.append(
                    Answered(
                        interrupt=asked,  # with its votes: put back, it is asked again and counted anew
                        identity=req.identity,
                        request_id=req.request_id,
                        update_id=update.id if update is not None else None,
                    )
                )
            if child_id is None:
                if closed:
                    task.resumes.append(answer)
            elif self._patched(CHILD_MAPS):  # a vote too goes down: the subgraph counts it as well
                down.setdefault(child_id, {})[interrupt_id] = value
                if closed:
                    self.live.passed_down.add(interrupt_id)
            else:  # the question is the subgraph's: pass the answer down to its run, with who gave it
                if closed:
                    self.live.passed_down.add(interrupt_id)
                await self._signal_child(task.node, child_id, _passed_down(req, {interrupt_id: value}))
        for child_id, answers in down.items():  # one decision reaches a subgraph as one decision
            node = next(t.node for t in run.tasks if self.live.children.get(id(t)) == child_id)
            await self._signal_child(node, child_id, _passed_down(req, answers))
        if paused is not Phase.ASKING and not req.update and not req.goto:
            self._record("resume", req, node=",".join(topology.step_names(run.next, run.sends)))
        if req.update:
            before = dict(run.values)
            rerun = [
                _key(t)
                for t in run.tasks
                if id(t) not in self.live.children and any(a.interrupt.id in answered for a in t.answered)
            ]
            if rerun and not req.goto:  # what the answers' nodes run on: put back with them should they fail
                run.undo = self._undo_of("update", before, req.update, req, rerun)
            await self._write([req.update])
            self._record("update_state", req, req.update, patch=self._patch(before, req.update))
            if not req.goto:  # a goto with an update withdraws the questions themselves (below)
                self._void_votes(req.identity, now)
        if req.goto and self._patched(GOTO_ADDS):
            # As LangGraph: the named nodes join the paused step. A question still unanswered stays
            # pending, unless the decision also changed the state: then its node asks again about it.
            if req.update:
                self._withdraw(f"withdrawn when {req.identity} changed the state at {_when(now)}; the node asked again")
            run.next = topology.in_order(self.spec, [*run.next, *req.goto])
        elif req.goto:
            self._retire_all(f"dropped when {req.identity} sent the run to {req.goto} at {_when(now)}")
            self._drop_tasks()
            run.next, run.sends = topology.in_order(self.spec, req.goto), []
        if req.goto:
            self._record("goto", req, req.goto)
        if req.update or req.goto:
            run.step += 1
            self._checkpoint("update", writes={"__human__": req.update or {}})

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
        self._remember(req)
        before = dict(run.values)
        await self._write([req.values])
        self._record("update_state", req, req.values, node=req.as_node, patch=self._patch(before, req.values))
        reask = ended = False
        if req.as_node is not None:
            routes = await self._route(req.as_node) if self.spec.node(req.as_node).has_router else []
            routed, sends = topology.split_routes(routes)
            run.next = topology.successors(self.spec, [req.as_node], routed, run.barriers)
            self._retire_all(f"dropped when {req.identity} edited the state as node {req.as_node} at {_when(now)}")
            self._drop_tasks()
            run.sends = sends
            run.phase = Phase.BEFORE
            # nothing to answer, nothing to run: done
            ended = not run.next and not run.sends and self._patched(NOTHING_NEXT_ENDS)
        elif self._own_interrupts() and self._patched(EDIT_REASKS):
            # What a reviewer approves must be what runs: the node asks again about the edited state.
            asked = {_key(t): list(t.interrupts) for t in run.tasks if id(t) not in self.live.children and t.interrupts}
            run.undo = self._undo_of("edit", before, req.values, req, list(asked), asked)
            self._withdraw(
                f"withdrawn when {req.identity} edited the state under review at {_when(now)}; the node asked again"
            )
            reask = True
        run.step += 1
        self._checkpoint("update", writes={req.as_node or "__human__": req.values})
        if reask or ended:
            run.phase = Phase.RESUMED if reask else Phase.RUNNING
            self.live.paused_at = None
        else:
            self._publish()
        return reask or ended

    async def _apply_cancel(self, req: CancelRequest) -> bool:
        now = workflow.now()
        self._remember(req)
        self._record("cancel", req, req.reason or None)
        for interrupt in self._interrupts():
            self._retire(interrupt.id, f"cancelled with the run by {req.identity} at {_when(now)}")
        self.live.cancelled_by = f"cancelled by {req.identity}" + (f": {req.reason}" if req.reason else "")
        self.live.cancel_final = self._patched(CANCEL_RACE)
        return True

    def _withdraw(self, reason: str) -> None:
        """The run's own pending questions are dropped: their nodes run again and ask again."""
        for task in self.state.tasks:
            if id(task) not in self.live.children and task.interrupts:
                for interrupt in task.interrupts:
                    self._retire(interrupt.id, reason)
                task.interrupts = []

    def _rolls_back(self, task: PendingTask) -> bool:
        """Does this task's failure put people's answers back? Only for a node re-run on answers given to it
        (a subgraph's run puts its own answers back; a subgraph that failed for good fails the run)."""
        return bool(task.answered) and self.spec.node(task.node).subgraph is None and self._patched(ANSWER_ROLLBACK)

    def _roll_back(self, task: PendingTask, error: str) -> None:
        """The node run again because of people's answers failed for good (or the step's writes did): drop
        its result, put the answers' questions back as pending (same ids) and record why. The run waits on."""
        task.result = None
        del task.resumes[len(task.resumes) - len(task.answered) :]
        task.interrupts = [dataclasses.replace(a.interrupt, votes=[]) for a in task.answered]
        for interrupt in task.interrupts:
            self.state.retired.pop(interrupt.id, None)
        self._note_rollback(task, error)
        task.answered = []
        if self.inp.parent is not None:
            self.live.untold.append(" ".join(error.split()))

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
        run.values = rollback.put_back(run.values, undo)
        self.live.state_bytes = json_size(run.values)
        line = " ".join(error.split())
        for task in [t for t in run.tasks if _key(t) in undo.tasks]:
            runner = self.live.runners.pop(id(task), None) if task is not failed else None
            if runner is not None:  # it ran on the change: stop it (what its runner raises now is ignored)
                self.live.stopped.add(id(task))
                runner.cancel()
            if undo.kind == "edit":
                task.result = None
                task.interrupts = list(undo.asked.get(_key(task), []))
                for interrupt in task.interrupts:
                    run.retired.pop(interrupt.id, None)
            elif task.answered:
                self._roll_back(task, error)
        reason = rollback.rollback_reason(undo, error)
        run.refused.append(
            Refusal(
                identity=undo.identity, at=workflow.now(), reason=reason, request_id=undo.request_id, rolled_back=True
            )
        )
        del run.refused[:-KEEP_REFUSALS]
        asked = [i for t in run.tasks if _key(t) in undo.tasks for i in t.interrupts]
        self._note(
            "rollback",
            undo.identity,
            {undo.kind: clip(undo.written), "error": line},
            asked[0].id if asked else None,
            ",".join(undo.tasks),
            undo.request_id,
        )
        if undo.update_id is not None:
            self.live.rolled_back.setdefault(undo.update_id, reason)  # an answer's own line, if put back too
            _trim(self.live.rolled_back, KEEP_REFUSALS)
        if self.inp.parent is not None:
            self.live.untold.append(line)
        self._checkpoint("update", writes={"__rollback__": undo.before})

    def _note_rollback(self, task: PendingTask, error: str) -> None:
        """Record each of the task's answers as put back: on `refused`, in the decisions, for its waiting caller.
        A quorum question is put back with no votes: each earlier vote is recorded as put back too."""
        line = " ".join(error.split())
        for answer in task.answered:
            asked = answer.interrupt
            given = next((d.value for d in reversed(self.state.decisions) if d.interrupt_id == asked.id), None)
            reason = shorten(
                f"answer {shorten(given, 80)} to interrupt {asked.id} (node '{asked.node}') "
                f"was rolled back, the question is pending again: {line}",
                600,
            )
            self._put_back(task, answer.identity, answer.request_id, asked.id, given, line, reason)
            if answer.update_id is not None:  # kept for a caller that waits; one that did not is never told
                self.live.rolled_back[answer.update_id] = reason
                _trim(self.live.rolled_back, KEEP_REFUSALS)
            for vote in asked.votes[:-1]:  # the last is this answer's own
                dropped = shorten(
                    f"vote {shorten(vote.value, 80)} to interrupt {asked.id} (node '{asked.node}') was put back with "
                    f"the answer by {answer.identity} that closed its quorum, the question is pending again with no "
                    f"votes: vote again; {line}",
                    600,
                )
                self._put_back(
                    task, vote.identity, self._vote_request_id(asked, vote), asked.id, vote.value, line, dropped
                )

    def _vote_request_id(self, asked: Interrupt, vote: Vote) -> str | None:
        """The request id a vote came with: a resend of it would be taken as done, so say it was put back."""
        return next(
            (
                d.request_id
                for d in reversed(self.state.decisions)
                if d.kind == "resume" and d.interrupt_id == asked.id and d.identity == vote.identity
            ),
            None,
        )

    def _void_votes(self, identity: str, now: datetime) -> None:
        """A decision changed the state under this run's open quorum questions: the votes given on the old
        state stop counting (what N people approved must be what runs). Each is put back and recorded; the
        question stays pending with the same id and no votes. State only: no command, so no patch."""
        line = f"{identity} changed the state at {_when(now)}; vote again on the new state"
        for task in self.state.tasks:
            if id(task) in self.live.children:  # a subgraph's question is about the subgraph's own state
                continue
            for asked in [i for i in task.interrupts if i.quorum is not None and i.votes]:
                _replace_in(task, dataclasses.replace(asked, votes=[]))
                for vote in asked.votes:
                    why = shorten(
                        f"vote {shorten(vote.value, 80)} to interrupt {asked.id} (node '{asked.node}') was withdrawn, "
                        f"the question is pending again with no votes: {line}",
                        600,
                    )
                    self._put_back(
                        task, vote.identity, self._vote_request_id(asked, vote), asked.id, vote.value, line, why
                    )

    def _put_back(
        self,
        task: PendingTask,
        identity: str,
        request_id: str | None,
        interrupt_id: str,
        given: Any,
        line: str,
        why: str,
    ) -> None:
        """One answer put back: on `refused` (for `hitl state`, the inbox) and a `rollback` decision."""
        self.state.refused.append(
            Refusal(identity=identity, at=workflow.now(), reason=why, request_id=request_id, rolled_back=True)
        )
        del self.state.refused[:-KEEP_REFUSALS]
        self._note("rollback", identity, {"answer": given, "error": line}, interrupt_id, task.node, request_id)

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
        """Record a person's decision: who and which request (from `req`), when, at which step,
        and what (clipped for the records; the whole value stays in Temporal's history)."""
        self._log(
            Decision(
                kind=kind,
                identity=req.identity,
                at=workflow.now(),
                step=self.state.step,
                value=clip(value),
                request_id=req.request_id,
                **fields,
            )
        )

    def _note(
        self,
        kind: DecisionKind,
        identity: str,
        value: Any,
        interrupt_id: str | None,
        node: str,
        request_id: str | None = None,
    ) -> None:
        """Record what happened to one question without a request of its own to name (a timer fired, an
        answer was put back): `_record`'s twin, the value kept whole."""
        self._log(
            Decision(
                kind=kind,
                identity=identity,
                at=workflow.now(),
                step=self.state.step,
                value=value,
                interrupt_id=interrupt_id,
                node=node,
                request_id=request_id,
            )
        )

    def _log(self, decision: Decision) -> None:
        """Add a decision to the run's records (the newest few for `get_state`, all in the next checkpoint)."""
        run = self.state
        decision = self._seal(decision)
        owes = decision.kind in ("resume", "update_state", "goto", "deadline")  # decisions about what runs
        run.audit_owed = run.audit_owed or (decision.hash is not None and owes)
        run.decisions.append(decision)
        del run.decisions[:-KEEP_DECISIONS]
        run.unrecorded.append(decision)

    def _seal(self, record: Decision) -> Decision:
        """Link a record into the run's hash chain (hitl/_audit.py). Records only, no commands: so no patch,
        and a run from before the chain seals its records too when it replays."""
        run = self.state
        sealed = seal(record, run.audit_seq, run.audit_head)
        run.audit_seq, run.audit_head = run.audit_seq + 1, sealed.hash
        return sealed

    def _ran_after_decision(self, ran: list[PendingTask], writes: dict[str, Any]) -> list[Decision]:
        """The chain's record of what actually ran on what was decided: the step's nodes and writes."""
        run = self.state
        if not run.audit_owed:
            return []
        run.audit_owed = False
        executed = Decision(
            kind="executed",
            identity="run",
            at=workflow.now(),
            step=run.step,
            value=clip(writes),
            node=",".join(t.node for t in ran),
        )
        return [self._seal(executed)]

    def _patch(self, before: dict[str, Any], written: dict[str, Any]) -> Any:
        """An edit as RFC 6902 JSON Patch over the keys it wrote (clipped for the record)."""
        old = {k: before[k] for k in written if k in before}
        new = {k: self.state.values[k] for k in written if k in self.state.values}
        return clip(json_patch(old, new))

    def _remember(self, req: Request) -> None:
        """Keep the request id with what it decided, so a reuse for another decision is refused."""
        if req.request_id:
            self.state.requests[req.request_id] = f"{request_digest(req)} {req.identity} at {_when(workflow.now())}"
            _trim(self.state.requests, KEEP_REQUEST_IDS)

    def _retire(self, interrupt_id: str, reason: str) -> None:
        """Remember why a question is no longer pending, to tell whoever answers it late."""
        self.state.retired[interrupt_id] = reason
        _trim(self.state.retired, KEEP_RETIRED)

    def _retire_all(self, reason: str) -> None:
        for interrupt in self._interrupts():
            self._retire(interrupt.id, reason)

    def _refuse(self, req: ResumeRequest, reason: str) -> None:
        """A signalled decision that does not fit: recorded on the run, never applied, never silent."""
        workflow.logger.warning("refused a decision sent as a signal by %s: %s", req.identity, reason)
        self.state.refused.append(
            Refusal(identity=req.identity, at=workflow.now(), reason=reason, request_id=req.request_id)
        )
        del self.state.refused[:-KEEP_REFUSALS]

    def _guard_with(self, interrupts: list[Interrupt]) -> None:
        """A limited question guards the run from now on (see workflows/checks.py)."""
        for interrupt in interrupts:
            if interrupt.reviewers and interrupt.reviewers not in self.state.guard:
                self.state.guard.append(list(interrupt.reviewers))

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
        out: list[Checkpoint] = []
        budget = PAGE_BYTES
        for checkpoint, size in zip(
            reversed(self.state.checkpoints), reversed(self.live.checkpoint_bytes), strict=False
        ):
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
        source: Literal["input", "loop", "update", "fork"],
        writes: dict[str, Any] | None = None,
        audit: list[Decision] | None = None,
    ) -> None:
        """Record the state after a step; older state copies give way to a memory budget."""
        run, live = self.state, self.live
        live.updated_at = workflow.now()
        run.checkpoints.append(
            Checkpoint(
                step=run.step,
                values=dict(run.values),
                next=topology.step_names(run.next, run.sends),
                sends=[Send(node=s.node, arg=s.arg) for s in run.sends],
                source=source,
                created_at=live.updated_at,
                writes={k: clip(v) for k, v in writes.items()} if writes is not None else None,
                decisions=run.unrecorded,
                seq=run.checkpoints[-1].seq + 1 if run.checkpoints else 0,
                audit=audit or [],
                audit_head=run.audit_head,
            )
        )
        live.checkpoint_bytes.append(live.state_bytes)
        del run.checkpoints[:-KEEP_CHECKPOINTS]
        del live.checkpoint_bytes[:-KEEP_CHECKPOINTS]
        kept = 0
        for back in range(2, min(len(run.checkpoints), len(live.checkpoint_bytes)) + 1):
            checkpoint = run.checkpoints[-back]
            if checkpoint.values is None:
                continue
            kept += live.checkpoint_bytes[-back]
            if kept > CHECKPOINT_VALUES_BYTES:
                run.checkpoints[-back] = dataclasses.replace(checkpoint, values=None, sends=[])
        run.unrecorded = []


async def _rejecting(work: Coroutine[Any, Any, T]) -> T:
    """A state write that fails while a decision is applied refuses that decision (its caller sees why)."""
    try:
        return await work
    except _StepFailed as e:
        raise ApplicationError(str(e), type="DecisionRejected") from None


def _key(task: PendingTask) -> str:
    """A task's place in its step: its node, or its node and Send index for a task made by Send."""
    return topology.task_key(task.node, task.push)


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


def _replace_in(task: PendingTask, changed: Interrupt) -> Interrupt:
    """Put a changed copy of one of the task's questions in its place (questions are frozen values)."""
    task.interrupts = [changed if i.id == changed.id else i for i in task.interrupts]
    return changed


def _vote_json(vote: Vote) -> dict[str, Any]:
    """A vote as the node's activity receives it (interrupt() turns it back into a Vote)."""
    return {"identity": vote.identity, "value": vote.value, "at": vote.at.isoformat() if vote.at else None}


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


def _not_started(error: BaseException) -> str:
    """Why a subgraph's run could not start, in words."""
    if isinstance(error, WorkflowAlreadyStartedError):
        return "a run with that id exists already (started by someone else); the subgraph cannot run"
    return _cause(error)


def _seconds(value: float | None) -> timedelta | None:
    return timedelta(seconds=value) if value else None
