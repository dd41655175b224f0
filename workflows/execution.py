"""What belongs to one execution of a run only (`Execution`): what runs the step's tasks, the turn decisions
take, what waiting callers are told, and the caches of sizes and of what was last published; and the hand-over
to the next execution (continue-as-new), which carries the run's state (`RunState`) and none of this:
`restore` rebuilds it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from hitl.protocol.limits import MAX_PAYLOAD_BYTES, json_size
    from hitl.protocol.patches import LOCAL_RACE
    from hitl.protocol.wire import RAN_AHEAD, PendingTask, RunInput, RunState, ToParent, Undo
    from hitl.workflows import checks
    from hitl.workflows.core import records, steps
    from hitl.workflows.core.rollback import PutBack
    from hitl.workflows.failures import Cancelled, RanAhead, StepFailed


@dataclass(kw_only=True)
class Execution:
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
    to_parent: ToParent | None = None
    """What a node's `Command.PARENT` hands the graph running this run as a subgraph: the run's result."""
    failure: StepFailed | None = None
    """What failed the step; a `Surfaced` one fails it even while the run waits."""
    cancelled_by: str | None = None
    cancel_final: bool = False
    """A cancel was applied (under the CANCEL_RACE patch): decisions are checked as to a cancelled run."""
    released_by: str | None = None
    """Who released the pause, while the step it released runs: a cancel then is refused (it raced that
    decision, or would cut it short halfway; it may cancel once the run moves on or pauses)."""
    released_within_task: bool = False
    """Since the decision released the pause, every task the run ran ran inside the workflow task (local
    activities): a cancel that reached Temporal meanwhile has not reached the run yet (LOCAL_RACE)."""
    error: str | None = None
    updated_at: datetime
    paused_at: datetime | None = None
    history_length: int = 0
    """The history length last reported by Temporal, and the local-activity markers written since."""
    markers_since: int = 0
    seen: tuple[int, datetime] | None = None
    """The history length and clock of the last activation `watch` saw."""
    summary: str = ""
    """The pending-questions memo as last written (written again only when it changes)."""
    attributes: dict[str, Any] = field(default_factory=dict)
    """The search attributes as this execution last wrote them, by name (see `attributes.publish`)."""
    state_bytes: int = 0
    checkpoint_bytes: list[int] = field(default_factory=list)
    rolled_back: dict[str, str] = field(default_factory=dict)
    """Why an update's answer was put back, by update id, for its waiting caller (see `tell_callers`)."""
    untold: list[str] = field(default_factory=list)
    """Errors that put answers back since a subgraph's run last told its parent it paused."""
    claim_changes: int = 0
    """Claims taken, released or handed on; the pause sets its claim timer again when this moves."""
    claims_seen: int = 0
    surfaced: set[str] = field(default_factory=set)
    """Subgraph runs started under the CHILD_FAILURES patch: a signal to one that fails fails the step."""
    stopped: dict[int, PendingTask] = field(default_factory=dict)
    """Tasks whose re-run was stopped because a change of state they ran on was put back (EDIT_ROLLBACK), by
    id(): what their cancelled runner raises is not the step's failure. The task is kept, so that no new task
    object takes its id while it is listed here (which would silently drop that task's failure)."""
    crash: Exception | None = None
    """An error a step's task raised that is not a Temporal failure (a bug): the run raises it, so its
    workflow task fails and is retried (under the CHILD_FAILURES patch; before: lost with the task)."""
    passed_down: set[str] = field(default_factory=set)
    """Questions of subgraphs this run answered and passed down, until the subgraph's report leaves them out:
    a subgraph that pauses again before it applies them reports them still pending, and this run must not
    offer them again."""

    def released(self, run: RunState) -> bool:
        """The pause is over: no longer paused, and the decision that released it is fully applied."""
        return not run.phase.paused and not self.turn.locked()

    def still_racing(self, patched: Callable[[str], bool]) -> bool:
        """The step a decision released ran inside the workflow task that applied it (a local re-run): a cancel
        that reached Temporal meanwhile reaches the run only in the next task, while this step runs, and raced
        that decision all the same (LOCAL_RACE). A task run outside (an activity) lets such a cancel in first."""
        return self.released_by is not None and self.released_within_task and patched(LOCAL_RACE)

    async def tasks_settled(self, run: RunState) -> None:
        """Wait until every task of the step is done or asking; raise what ended the step instead."""
        await self.until(
            lambda: (
                self.failure is not None
                or self.cancelled_by is not None
                or self.crash is not None
                or all(t.settled for t in run.tasks)
            )
        )
        if self.crash is not None:
            raise self.crash
        if self.cancelled_by is not None:
            raise Cancelled()
        if self.failure is not None:
            raise self.failure

    def stop(self, task: PendingTask) -> None:
        """Cancel what runs a dropped task and forget it at once (a runner cancelled before it started
        never reaches its own clean-up)."""
        runner = self.runners.pop(id(task), None)
        self.children.pop(id(task), None)
        if runner is not None:
            runner.cancel()

    def drop_tasks(self, run: RunState) -> None:
        """The paused step is replaced (goto, update_state as_node): stop what still runs."""
        for task in run.tasks:
            self.stop(task)
        run.tasks = []

    def input_bytes(self, run: RunState, task: PendingTask) -> int:
        """About what a node's activity gets for `task`: the state, its answers, its Send's arg and how the graphs
        and `@task` calls it made ended."""
        send = run.sends[task.push] if task.push is not None else None
        called = json_size([dataclasses.asdict(c) for c in task.called]) if task.called else 0
        done = json_size([dataclasses.asdict(d) for d in task.done]) if task.done else 0
        return self.state_bytes + json_size(task.resumes) + (json_size(send.arg) if send else 0) + called + done

    def tell_callers(self, told: list[tuple[str, str]]) -> None:
        """Keep why each update's answer was put back, for its waiting caller (the newest few)."""
        for update_id, reason in told:
            self.rolled_back[update_id] = reason
            records.trim(self.rolled_back, records.KEEP_REFUSALS)

    def stop_reruns(self, run: RunState, keys: list[str], failed: PendingTask | None) -> None:
        """Stop the tasks a change that is put back sent to run again (`keys`; `failed` ended by itself): they
        ran on the change (what their runners raise now is ignored)."""
        for task in [t for t in run.tasks if steps.key(t) in keys and t is not failed]:
            runner = self.runners.pop(id(task), None)
            if runner is not None:
                self.stopped[id(task)] = task
                runner.cancel()

    def tell_put_back(self, undo: Undo, done: PutBack, error: str, *, parent: bool) -> None:
        """Keep why a change (and the answers with it) was put back: for the waiting callers, and for the
        parent run (`parent`: a subgraph's run tells it once for the change and once per answer put back)."""
        self.tell_callers(done.told)
        if undo.update_id is not None:
            self.rolled_back.setdefault(undo.update_id, done.reason)  # an answer's own line, if put back too
            records.trim(self.rolled_back, records.KEEP_REFUSALS)
        if parent:
            self.untold += [" ".join(error.split())] * (done.answers_put_back + 1)

    def history_full(self, run: RunState, max_events: int) -> bool:
        """Time for a fresh history? Only between steps, with nothing in flight.

        Local activities finish inside one workflow task, so the reported length
        lags: add the markers written since it last moved.
        """
        info = workflow.info()
        length = info.get_current_history_length()
        if length != self.history_length:
            self.history_length, self.markers_since = length, 0
        full = length + self.markers_since >= max_events or info.is_continue_as_new_suggested()
        return full and all(id(t) not in self.runners for t in run.tasks)

    def hands_up(self, run: RunState, *, has_parent: bool) -> bool:
        """A node's `Command.PARENT` ends a subgraph's run: the step's writes stay unapplied and what goes up is
        the run's result (`GraphWorkflow.run`), which the parent checks and applies (workflows/calls.py)."""
        up, why = steps.handed_up(run)
        if why or (up and not has_parent):
            raise StepFailed(
                why
                or f"a node returned Command(graph=Command.PARENT) at step {run.step}, but this run is no "
                "subgraph's: there is no parent graph to hand it to"
            )
        if up:
            self.to_parent, run.next, run.sends = up, [], []
        return up is not None

    def watch(self) -> bool:
        """Fail a copy of the run that a query ran ahead of its history (`checks.ran_ahead`), so that none of it
        is kept: asked first by every condition the run waits on (`until`), so that no waiter is woken before.
        Never in a replayed task: a copy run ahead takes events no task took, so it is never replaying, and a
        recorded task may read the clock of the one before it (Core's clock never goes back, and a task started
        by a host whose clock reads behind shows the same), which must replay."""
        before, self.seen = self.seen, (workflow.info().get_current_history_length(), workflow.now())
        if before is not None and not workflow.unsafe.is_replaying() and checks.ran_ahead(before, self.seen):
            raise RanAhead(
                f"{RAN_AHEAD}: its history went from {before[0]} to {self.seen[0]} events under the clock "
                f"{before[1].isoformat()} of its last workflow task; the next workflow task replays it"
            )
        return False

    async def until(self, predicate: Callable[[], bool], timeout: timedelta | None = None) -> None:
        """`workflow.wait_condition`, watched: the one way this workflow waits on a condition. Temporal asks the
        conditions in turn after each activation; should one that became true be asked before `watch`, its waiter
        would be left queued and run in the query's own activation (docs/durability.md)."""
        await workflow.wait_condition(lambda: self.watch() or predicate(), timeout=timeout)

    def restore(self, run: RunState) -> None:
        """Rebuild what is derived from a carried state: the newest checkpoint's values, the size caches."""
        if run.checkpoints and run.checkpoints[-1].values is None:
            run.checkpoints[-1] = dataclasses.replace(run.checkpoints[-1], values=dict(run.values))
        self.state_bytes = json_size(run.values)
        self.checkpoint_bytes = [0] * (len(run.checkpoints) - 1) + [self.state_bytes] if run.checkpoints else []

    async def hand_over(self, run: RunState, inp: RunInput) -> None:
        """Continue as new, carrying the run's state (`RunState.carried`).

        Checkpoints travel without their state copies (the newest one is the
        current state), so the carry stays well under Temporal's payload limit;
        should it not, the run stays in this history a while longer.
        """
        if json_size(dataclasses.asdict(run.carried())) > MAX_PAYLOAD_BYTES * 0.9:
            workflow.logger.warning("run %s stays in its history: its carry is too large", workflow.info().workflow_id)
            return
        self.stops += 1  # waiting resume() calls return now; clients poll on
        await self.until(workflow.all_handlers_finished)
        workflow.continue_as_new(dataclasses.replace(inp, input={}, fork=None, carry=run.carried()))
