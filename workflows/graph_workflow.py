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
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError, CancelledError, FailureError

with workflow.unsafe.imports_passed_through():
    from hitl.protocol import topology
    from hitl.protocol.limits import json_size, step_input_refused
    from hitl.protocol.patches import (
        ANSWER_ROLLBACK,
        CANCEL_RACE,
        CHILD_FAILURES,
        EDIT_ROLLBACK,
        HELD_SIGNALS,
        NOTHING_NEXT_ENDS,
        STEP_INPUTS,
        THREAD_TURNS,
    )
    from hitl.protocol.reducers import initial_values
    from hitl.protocol.wire import (
        TO_PARENT,
        WORKFLOW_NAME,
        CancelRequest,
        ChildPaused,
        ClaimRequest,
        GraphSpec,
        HistoryPage,
        PendingTask,
        Phase,
        ResumeRequest,
        Route,
        RunInput,
        RunState,
        UpdateStateRequest,
    )
    from hitl.types import Checkpoint, Decision, Interrupt, StateSnapshot
    from hitl.workflows import attributes, calls, checks, decisions, turns
    from hitl.workflows.core import answers, lifecycle, records, rollback, steps, subgraphs, timers
    from hitl.workflows.core.effects import Effect, Notify, Publish, Reindex
    from hitl.workflows.execution import Execution
    from hitl.workflows.failures import Cancelled, StepFailed, Surfaced, cause, rejecting


@workflow.defn(name=WORKFLOW_NAME)
class GraphWorkflow:
    """Walks one run's graph. `self.state` is the run; `self.live` this execution's bookkeeping."""

    @workflow.init
    def __init__(self, inp: RunInput) -> None:
        self.inp = inp
        self.spec = inp.graph
        self.before = inp.interrupt_before if inp.interrupt_before is not None else inp.graph.interrupt_before
        self.after = inp.interrupt_after if inp.interrupt_after is not None else inp.graph.interrupt_after
        self.live = Execution(updated_at=workflow.now())
        if inp.carry is None:
            declared = [list(inp.graph.guard)] if inp.graph.guard else []  # compile(guard=): guarded from the start
            fork = inp.fork
            self.state = RunState(
                created_at=workflow.now(), guard=declared, audit_head=fork.audit_head if fork else None
            )
        else:
            self.state = inp.carry
            self.live.restore(self.state)

    def _patched(self, patch_id: str) -> bool:
        """`workflow.patched`, except for a patch the run has from its start (`RunInput.patches`): taken as
        applied with no marker written. Runs from before that field carry none and replay as recorded."""
        return patch_id in self.inp.patches or workflow.patched(patch_id)

    # ----------------------------------------------------------------- the run

    @workflow.run
    async def run(self, inp: RunInput) -> dict[str, Any]:
        ended = Phase.COMPLETED
        watching = asyncio.create_task(self.live.until(lambda: False))  # noqa: F841 - always a condition: `watch`
        try:
            if inp.carry is None:
                await self._begin(inp)
            while self.state.next or self.state.sends:
                if self.live.history_full(self.state, inp.max_history_events):
                    await self.live.hand_over(self.state, inp)
                await self._superstep()
        except StepFailed as e:
            ended, self.live.error = Phase.FAILED, str(e)
        except Cancelled:
            self.live.drop_tasks(self.state)
            ended, self.live.error = Phase.CANCELLED, self.live.cancelled_by
        except (asyncio.CancelledError, CancelledError):
            self._finish(Phase.CANCELLED)
            raise
        self._finish(ended)
        await self.live.until(workflow.all_handlers_finished)
        if self.state.phase is Phase.FAILED:
            raise ApplicationError(self.live.error or "run failed", type="RunFailed", non_retryable=True)
        if self.state.phase is Phase.CANCELLED:
            raise ApplicationError(self.live.error or "run cancelled", type="RunCancelled", non_retryable=True)
        return self.state.values if self.live.to_parent is None else {TO_PARENT: self.live.to_parent}

    async def _begin(self, inp: RunInput) -> None:
        run = self.state
        if inp.fork is not None:
            if inp.fork.history and self._patched(THREAD_TURNS):  # a thread's next turn carries its checkpoints
                self.live.checkpoint_bytes = lifecycle.carry(run, inp.fork.history)
            lifecycle.fork(run, inp.fork, inp.identity, inp.input, workflow.now())
            self.live.state_bytes = json_size(run.values)
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

    # ------------------------------------------------------------- the step

    async def _superstep(self) -> None:
        """Run the pending step to its end, pausing as often as people are asked."""
        run = self.state
        if isinstance(self.live.failure, Surfaced):  # a subgraph's run failed or was lost while the run waited
            raise self.live.failure
        if run.phase is not Phase.RESUMED and topology.matches(self.before, topology.step_names(run.next, run.sends)):
            await self._pause(Phase.BEFORE)
            return
        if run.phase is not Phase.RESUMED and not self.live.still_racing(self._patched):
            self.live.released_by = None  # the step a decision released is done: cancels are plain again
        run.phase = Phase.RUNNING
        for task in steps.lay_out(run):
            self.live.stop(task)
        self._start_tasks()
        await self.live.tasks_settled(self.state)
        if any(t.result is None for t in run.tasks):
            run.undo = None  # the nodes a change sent to run again asked again: the change stands
            await self._pause(Phase.ASKING)
            return
        if self.live.hands_up(run, has_parent=self.inp.parent is not None):
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
        refused = step_input_refused(run.step, [self.live.input_bytes(self.state, t) for t in starting])
        if refused and self._patched(STEP_INPUTS):
            raise StepFailed(refused)  # one line, where Temporal would terminate the run
        # Local re-runs starting together would share one workflow task's completion (the server takes 4 MB):
        # then each goes as an activity, its result in an event of its own.
        crowded = sum(t.rerun_local for t in starting) > 1
        for task in starting:
            self.live.runners[id(task)] = asyncio.create_task(self._run_task(task, crowded))

    async def _write_step(self, writes: dict[str, Any]) -> bool:
        """Apply the step's writes. Should they fail, a change or the answers that led to them are put back
        (False: the run waits again); without any, the step fails."""
        try:
            await self._write(list(writes.values()))
        except StepFailed as e:
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
                raise Surfaced(f"node '{steps.key(task)}' failed at step {self.state.step}: {cause(e)}") from None
        except StepFailed as e:
            self._task_failed(task, e)
        except Exception as e:  # a bug: raised by the run (its workflow task fails, and is retried once fixed)
            if id(task) not in self.live.runners or not self._patched(CHILD_FAILURES):
                raise  # a dropped task's; or a run from before the patch, which lost it
            self.live.crash = self.live.crash or e
        finally:
            self.live.runners.pop(id(task), None)
            self.live.children.pop(id(task), None)
            self.live.stopped.pop(id(task), None)

    def _task_failed(self, task: PendingTask, e: StepFailed) -> None:
        """A task of the step failed for good: the change or the answers it ran on are put back, or the step
        fails; nothing when the task was dropped (goto, as_node, a change put back) while it ran."""
        if id(task) in self.live.stopped or (isinstance(e, Surfaced) and id(task) not in self.live.runners):
            return
        if self._puts_back_change(task):
            self._put_back_change(str(e), failed=task)
        elif self._rolls_back(task):
            self._roll_back(task, str(e))
        else:
            self.live.failure = self.live.failure or e

    async def _execute(self, task: PendingTask, local_rerun: bool) -> None:
        await calls.run_node_and_calls(
            self.inp, self.state, task, self.live, local_rerun=local_rerun, patched=self._patched
        )

    async def _run_subgraph(self, task: PendingTask, spec: GraphSpec) -> None:
        live = self.live
        live.released_within_task = False
        await calls.run_subgraph(
            self.inp, self.state, task, spec, children=live.children, surfaced=live.surfaced, patched=self._patched
        )

    @workflow.signal(name="child_paused")
    def child_paused(self, msg: ChildPaused) -> None:
        tasks = [t for t in self.state.tasks if self.live.children.get(id(t)) == msg.child_id]
        self.live.tell_callers(subgraphs.reported(self.state, msg, tasks, self.live.passed_down, workflow.now()))

    @workflow.signal(dynamic=True)
    def unknown_signal(self, name: str, args: Sequence[RawValue]) -> None:
        """A signal no other handler takes (anyone may send a run one) is dropped here, not buffered: a buffered
        one wakes nothing, so its activation would ask no condition and no `watch`, and a copy a query ran ahead
        right after it would go unseen (`Execution.watch`, docs/durability.md)."""

    async def _write(self, writes: list[dict[str, Any]]) -> None:
        """Apply writes through the reducers (`calls.reduce`)."""
        self.state.values, self.live.state_bytes = await calls.reduce(
            self.spec, self.state.values, writes, self.state.step
        )

    async def _route(self, node: str) -> list[Route]:
        return await calls.route(self.spec, node, self.state.values)

    async def _signal_child(self, node: str, child_id: str, req: ResumeRequest) -> None:
        """Pass answers down to a subgraph's run; one out of reach fails the step (`calls.signal_child`)."""
        failed = await calls.signal_child(node, child_id, req, self.state.step, self.live.surfaced)
        self.live.failure = self.live.failure or failed

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
            live.released(run)
            or bool(run.held)
            or live.cancelled_by is not None
            or live.claim_changes != live.claims_seen
            or isinstance(live.failure, Surfaced)
        )
        while not live.released(run):
            if live.cancelled_by is not None:
                raise Cancelled()
            if isinstance(live.failure, Surfaced):  # a subgraph's run failed or was lost: the step fails now
                raise live.failure
            if run.held:
                await self._apply_held()
                continue
            live.claims_seen = live.claim_changes  # a claim made meanwhile sets a timer of its own
            due = timers.next_due(run, live.children)
            if due.at is None:
                await self.live.until(woken)
                continue
            try:
                # A durable Temporal timer: it fires even if every worker was down then.
                await self.live.until(woken, timeout=max(due.at - workflow.now(), timedelta(0)))
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

    async def _report_pause(self) -> None:
        """Tell whoever waits: the parent run (for a subgraph) and the graph's notify hook."""
        if self.inp.parent is not None and self.state.phase is Phase.ASKING:
            await self._tell_parent(self._interrupts())
        if self.spec.notify:
            asyncio.create_task(self._notify())

    async def _tell_parent(self, interrupts: list[Interrupt], going_on: bool = False) -> None:
        assert self.inp.parent is not None
        asking = bool(interrupts) and not going_on
        untold, self.live.untold = (self.live.untold, []) if asking else ([], self.live.untold)
        await calls.tell_parent(self.inp.parent, interrupts, untold, going_on)

    async def _notify(self) -> None:
        await calls.notify(self.spec.name, self.get_state(), self.state, self._patched)

    def _finish(self, ended: Phase) -> None:
        """The run ended: refuse what is still held, tell waiting callers, publish the end."""
        was, refused = lifecycle.finish(self.state, ended)
        for req, reason in refused:
            self._refuse(req, reason)
        self.live.updated_at = workflow.now()
        self.live.stops += 1
        self._publish(ended_in=was if was.paused else None)

    def _reindex(self) -> None:
        """Who may decide or who holds what changed while the run stays paused: index it again, where indexed."""
        if attributes.indexes_who(self.inp):
            self._publish()

    def _publish(self, ended_in: Phase | None = None) -> None:
        """Keep the run findable (`attributes.publish`)."""
        live = self.live
        live.summary = attributes.publish(
            self.inp,
            self.state,
            paused_at=live.paused_at,
            ended_in=ended_in,
            written=live.attributes,
            summary=live.summary,
            starter=self.inp.starter,
            patched=self._patched,
        )

    # ------------------------------------------------------------- decisions (they take turns: turns.py)

    @workflow.update(name="resume")
    async def resume(self, req: ResumeRequest) -> StateSnapshot:
        stops = self.live.stops
        if await turns.take_turn(self.live.turn, self._view, req, checks.check_resume, self._apply_resume) and req.wait:
            await self.live.until(lambda: self.live.stops > stops)
        return self._told()

    @resume.validator
    def _validate_resume(self, req: ResumeRequest) -> None:
        turns.validate(self._view, self.inp.parent, req, checks.check_resume)

    @workflow.signal(name="resume_signal")
    async def resume_signal(self, req: ResumeRequest) -> None:
        """For senders that must not wait: held until the run pauses, then applied or refused visibly."""
        if self._patched(HELD_SIGNALS):
            turns.hold(self.state.held, req)
            return
        # Runs from before the patch replay as they ran: wait for no decision being applied, check, apply.
        await self.live.until(lambda: not self.live.turn.locked())
        async with self.live.turn:
            try:
                checks.check_resume(self._view(), checks.as_recorded(req))
            except ApplicationError as e:
                self._refuse(req, e.message)
                return
            await rejecting(self._apply_resume(req))

    async def _apply_held(self) -> None:
        """Apply the oldest decision that came as a signal, or record why it was refused."""
        req = self.state.held.pop(0)
        try:
            turns.check_held(self._view, req, self._patched)
            await turns.take_turn(self.live.turn, self._view, req, checks.check_resume, self._apply_resume)
        except ApplicationError as e:
            self._refuse(req, e.message)

    @workflow.update(name="update_state")
    async def update_state(self, req: UpdateStateRequest) -> StateSnapshot:
        stops = self.live.stops
        if await turns.take_turn(self.live.turn, self._view, req, checks.check_edit, self._apply_edit):
            await self.live.until(lambda: self.live.stops > stops)
        return self._told()

    def _told(self) -> StateSnapshot:
        """The snapshot a waiting caller gets: with why its decision was put back in `error`, if it was."""
        update = workflow.current_update_info()
        rolled_back = self.live.rolled_back.pop(update.id, None) if update is not None else None
        snapshot = self.get_state()
        return dataclasses.replace(snapshot, error=rolled_back) if rolled_back else snapshot

    @update_state.validator
    def _validate_update_state(self, req: UpdateStateRequest) -> None:
        turns.validate(self._view, self.inp.parent, req, checks.check_edit)

    @workflow.update(name="claim")
    async def claim(self, req: ClaimRequest) -> StateSnapshot:
        """Claim, release or delegate a pending question: it changes who may answer, not what runs."""
        await turns.take_turn(self.live.turn, self._view, req, checks.check_claim, self._apply_claim)
        return self.get_state()

    @claim.validator
    def _validate_claim(self, req: ClaimRequest) -> None:
        turns.validate(self._view, self.inp.parent, req, checks.check_claim)

    @workflow.update(name="cancel")
    async def cancel(self, req: CancelRequest) -> StateSnapshot:
        if await turns.take_turn(self.live.turn, self._view, req, self._check_cancel_in_turn, self._apply_cancel):
            await self.live.until(lambda: self.state.phase is Phase.CANCELLED)
        return self.get_state()

    @cancel.validator
    def _validate_cancel(self, req: CancelRequest) -> None:
        turns.validate(self._view, self.inp.parent, req, self._check_cancel_up_front)

    def _check_cancel_up_front(self, view: checks.RunView, req: CancelRequest) -> None:
        turns.check_cancel(view, req, racing_with=self.live.released_by, step=self.state.step)  # never replays

    def _check_cancel_in_turn(self, view: checks.RunView, req: CancelRequest) -> None:
        racing = self.live.released_by is not None and self._patched(CANCEL_RACE)
        turns.check_cancel(view, req, racing_with=self.live.released_by if racing else None, step=self.state.step)

    async def _apply_resume(self, req: ResumeRequest) -> bool:
        return await decisions.resume(self, req)

    async def _apply_claim(self, req: ClaimRequest) -> bool:
        return await decisions.claim(self, req)

    async def _apply_edit(self, req: UpdateStateRequest) -> bool:
        return await decisions.edit(self, req)

    async def _apply_cancel(self, req: CancelRequest) -> bool:
        return await decisions.cancel(self, req)

    def _rolls_back(self, task: PendingTask) -> bool:
        """Does this task's failure put people's answers back? Only for a node re-run on answers given to it
        (a subgraph's run puts its own answers back; a subgraph that failed for good fails the run)."""
        return bool(task.answered) and self.spec.node(task.node).subgraph is None and self._patched(ANSWER_ROLLBACK)

    def _roll_back(self, task: PendingTask, error: str) -> None:
        """The node run again because of people's answers failed for good: put them back (`answers.roll_back`)."""
        self.live.tell_callers(answers.roll_back(self.state, task, error, workflow.now()))
        if self.inp.parent is not None:
            self.live.untold.append(" ".join(error.split()))

    def _puts_back_change(self, task: PendingTask) -> bool:
        """Did this task run again because of a change of state (an edit, an answer's update) it may put back?"""
        undo = self.state.undo
        return undo is not None and steps.key(task) in undo.tasks and self._patched(EDIT_ROLLBACK)

    def _put_back_change(self, error: str, failed: PendingTask | None = None) -> None:
        """A node run again because of a person's change of state failed for good (`failed`), or the step's
        writes did: the state goes back to before the change (`rollback.put_back_change`), and every node it sent
        to run again is stopped and waits on its questions again."""
        run = self.state
        undo, run.undo = run.undo, None
        assert undo is not None
        self.live.stop_reruns(run, undo.tasks, failed)
        done = rollback.put_back_change(run, undo, error, workflow.now())
        self.live.state_bytes = json_size(run.values)
        self.live.tell_put_back(undo, done, error, parent=self.inp.parent is not None)
        self._checkpoint("update", writes={"__rollback__": undo.before})

    def _view(self) -> checks.RunView:
        cancelled = self.live.cancel_final
        return checks.view_of(self.spec, self.state, cancelled=cancelled, starter=self.inp.starter, now=workflow.now())

    def _refuse(self, req: ResumeRequest, reason: str) -> None:
        """A signalled decision that does not fit: recorded on the run, never applied, never silent."""
        workflow.logger.warning("refused a decision sent as a signal by %s: %s", req.identity, reason)
        records.refuse(self.state, req.identity, req.request_id, reason, workflow.now())

    # ------------------------------------------------------------- reading

    @workflow.query(name="get_state")
    def get_state(self) -> StateSnapshot:
        live = self.live
        return records.snapshot(
            self.state,
            run_id=workflow.info().workflow_id,
            graph=self.spec.name,
            updated_at=live.updated_at,
            paused_at=live.paused_at,
            error=live.error,
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
        return records.started_with(self.inp, self.before, self.after)

    def _interrupts(self) -> list[Interrupt]:
        return records.pending(self.state)

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
