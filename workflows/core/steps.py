"""The pending step's tasks: laid out from the step's nodes and Sends, and the run moved on once they ran."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from hitl.protocol import topology
from hitl.protocol.wire import GraphSpec, InterruptRequest, PendingTask, RunState, TaskOutcome, ToParent
from hitl.types import Decision, Interrupt
from hitl.workflows.core import records


def key(task: PendingTask) -> str:
    """A task's place in its step: its node, or its node and Send index for a task made by Send."""
    return topology.task_key(task.node, task.push)


def lay_out(run: RunState) -> list[PendingTask]:
    """Give the pending step a task for each of its nodes and Sends, and return the tasks no longer in it (the
    caller stops what runs them). Tasks still in the step stay (a goto added nodes to a waiting step); a step
    made anew (goto of old runs, as_node) had its tasks dropped already."""
    keys = topology.step_keys(run.next, run.sends)
    if [key(t) for t in run.tasks] == keys:
        return []
    kept = {key(t): t for t in run.tasks if key(t) in keys}
    dropped = [t for t in run.tasks if key(t) not in kept]
    pushed = [PendingTask(node=s.node, push=i) for i, s in enumerate(run.sends)]
    run.tasks = [kept.get(n) or PendingTask(node=n) for n in run.next] + [kept.get(key(t)) or t for t in pushed]
    return dropped


def writes_of(tasks: list[PendingTask]) -> dict[str, Any]:
    """What the step's tasks wrote, by task."""
    return {key(t): t.result.writes for t in tasks if t.result and t.result.writes}


def advance(run: RunState, spec: GraphSpec, writes: dict[str, Any], now: datetime) -> tuple[list[str], list[Decision]]:
    """The step ran and its writes are applied: schedule what its nodes lead to (edges, routes, Sends) and
    count the step. Returns the nodes that ran and the audit chain's record of them (if a decision owed one)."""
    ran, run.tasks, run.undo = run.tasks, [], None
    routed = [g for t in ran if t.result for g in t.result.goto]
    nodes = [t.node for t in ran]
    run.next = topology.successors(spec, nodes, routed, run.barriers)
    run.sends = [s for t in ran if t.result for s in t.result.sends]
    audit = records.executed(run, nodes, writes, now)
    run.step += 1
    return nodes, audit


def ask(run: RunState, task: PendingTask, asked: InterruptRequest, interrupt_id: str, now: datetime) -> Interrupt:
    """The task's node asked a person (`asked`, what its run returned): the task waits on that question, its
    deadline and escalation steps timed from `now`; the answers so far led the node on, so they stand."""
    interrupt = Interrupt(
        id=interrupt_id,
        value=asked.value,
        node=task.node,
        step=run.step,
        index=asked.index,
        schema=asked.schema,
        reviewers=asked.reviewers,
        deadline=now + timedelta(seconds=asked.timeout_s) if asked.timeout_s else None,
        quorum=asked.quorum,
        escalation=[dataclasses.replace(s, due=now + timedelta(seconds=s.after_s)) for s in asked.escalation],
        title=asked.title,
        summary=asked.summary,
    )
    task.interrupts = [interrupt]
    task.rerun_local = asked.rerun_local
    task.answered = []
    task.defaults[interrupt.id] = asked
    records.guard_with(run, [interrupt])
    return interrupt


def handed_up(run: RunState) -> tuple[ToParent | None, str | None]:
    """What the step's nodes hand the graph running this one as a subgraph (`Command.PARENT`), in task order
    (None when no node did), or why it cannot be handed up: two nodes writing one key."""
    ups = [t.result.to_parent for t in run.tasks if t.result is not None and t.result.to_parent is not None]
    if not ups:
        return None, None
    update: dict[str, Any] = {}
    goto: list[str] = []
    for up in ups:
        both = sorted(set(update) & set(up.update))
        if both:
            return None, f"two nodes of step {run.step} hand their parent an update of {both}; one may"
        update.update(up.update)
        goto += [g for g in up.goto if g not in goto]
    return ToParent(update=update, goto=goto), None


def tasks_ended(task: PendingTask, outcomes: list[TaskOutcome]) -> None:
    """The `@task` calls the task's node (an entrypoint's body) waited on ended, as `outcomes` (in call order):
    its next run gets them. The answers so far led the node to run them, so they stand."""
    task.done.extend(outcomes)
    task.answered = []
