"""The Temporal calls a run makes: its nodes as activities, a subgraph as a child run, user reducers and
routers as hitl's own short activities, the notify hook, and the signals between a subgraph's run and its
parent. Each Temporal failure comes back as one line (`failures.py`).

Called by the workflow only (they issue commands: changing one changes how runs in flight replay). A call
that depends on a patch is handed the workflow's `patched` and asks it exactly where the workflow always did.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    FailureError,
)
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from hitl.protocol import topology
    from hitl.protocol.limits import HISTORY_BUDGET_BYTES, MAX_PAYLOAD_BYTES, MAX_STATE_BYTES, json_size, over_limit
    from hitl.protocol.patches import (
        CALL_BUDGET,
        CHILD_FAILURES,
        LOCAL_RERUN,
        NOTIFY_RECORDS,
        SUBGRAPH_IDS,
        TASK_CALLS,
    )
    from hitl.protocol.reducers import WriteConflict, apply_builtin_writes
    from hitl.protocol.wire import (
        NOTIFY_ACTIVITY,
        REDUCE_ACTIVITY,
        ROUTE_ACTIVITY,
        TASK_ACTIVITY,
        WORKFLOW_NAME,
        ChildPaused,
        GraphCall,
        GraphSpec,
        NodeResult,
        NodeSpec,
        NodeTask,
        Notified,
        NotifyTask,
        ParentRef,
        PendingTask,
        ReduceTask,
        ResumeRequest,
        Route,
        RouteTask,
        RunInput,
        RunState,
        TaskCall,
        TaskOutcome,
        TaskRun,
        retry_policy_kwargs,
    )
    from hitl.types import Interrupt, StateSnapshot
    from hitl.workflows.core import records, steps, subgraphs
    from hitl.workflows.execution import Execution
    from hitl.workflows.failures import StepFailed, Surfaced, cause, not_started

Patched = Callable[[str], bool]
Handover = GraphCall | list[TaskCall]
"""What a node's run hands the run to do before it runs again: a graph it called, or `@task` calls."""


async def run_node(
    spec: GraphSpec,
    run: RunState,
    task: PendingTask,
    *,
    input_bytes: int,
    local_rerun: bool,
    patched: Patched,
    context: Any = None,
) -> tuple[bool, Handover | None]:
    """Run `task`'s node as an activity: its result settles the task, or its question is asked (`steps.ask`),
    or the graph it called (`run_call`) or the `@task` calls it waits on (`run_tasks`) are returned for the run. True when it ran as a local activity
    (a marker in the history, which the reported length lags). `context` (the run's, as JSON) only travels to
    the node; what the node streamed stays in the history, not the run."""
    node = spec.node(task.node)
    send = run.sends[task.push] if task.push is not None else None
    arg = NodeTask(
        graph=spec.name,
        node=task.node,
        step=run.step,
        state=_node_input(node, run.values),
        resumes=list(task.resumes),
        send=send,
        context=context,
        called=list(task.called),
        done=list(task.done),
    )
    if input_bytes > MAX_PAYLOAD_BYTES * 0.95:
        what = f"the input of node '{task.node}' (state and answers)"
        raise StepFailed(over_limit(input_bytes, int(MAX_PAYLOAD_BYTES * 0.95), what))
    options: dict[str, Any] = {
        "start_to_close_timeout": timedelta(seconds=node.start_to_close_s),
        "schedule_to_close_timeout": _seconds(node.schedule_to_close_s),
        "retry_policy": RetryPolicy(**retry_policy_kwargs(node.retry)),
        "result_type": NodeResult,
        "summary": f"node {task.node} (step {run.step})"
        if send is None
        else f"node {steps.key(task)} (step {run.step}, Send)",
    }
    activity_type = f"{spec.name}.{task.node}"
    local = False
    try:
        if node.local or (local_rerun and patched(LOCAL_RERUN)):
            result = await workflow.execute_local_activity(activity_type, arg, **options)
            local = True
        else:
            result = await workflow.execute_activity(
                activity_type, arg, heartbeat_timeout=_seconds(node.heartbeat_s), **options
            )
    except (ActivityError, ApplicationError, TemporalTimeoutError) as e:
        # A local activity's timeout comes wrapped (ActivityError) live but bare on replay: both fail the
        # step, for every run. Its other failures come bare both ways: runs from before the patch hung there.
        if isinstance(e, ApplicationError) and not patched(LOCAL_RERUN):
            raise
        raise StepFailed(f"node '{steps.key(task)}' failed at step {run.step}: {cause(e)}") from None
    if result.custom is not None:
        result = dataclasses.replace(result, custom=None)  # the stream reads it from history; the run keeps none
    if result.call is not None:
        return local, result.call
    if result.tasks:
        return local, list(result.tasks)
    if result.interrupt is None:
        task.result = result
        return local, None
    interrupt_id = topology.interrupt_id(
        workflow.info().workflow_id, run.step, task.node, result.interrupt.index, task.push
    )
    steps.ask(run, task, result.interrupt, interrupt_id, workflow.now())
    return local, None


async def run_node_and_calls(
    inp: RunInput, run: RunState, task: PendingTask, live: Execution, *, local_rerun: bool, patched: Patched
) -> None:
    """Run `task`'s node (`run_node`) until it settles: each graph it calls on the way (`subgraph.invoke()`) runs
    as a run of its own (`run_call`), each batch of `@task` calls as activities (`run_tasks`), and the node runs
    again with how they ended."""
    while True:
        ran_local, handover = await run_node(
            inp.graph,
            run,
            task,
            input_bytes=live.input_bytes(run, task),
            local_rerun=local_rerun,
            patched=patched,
            context=inp.context,
        )
        if ran_local:
            live.markers_since += 1
        else:
            live.released_within_task = False
        if handover is None:
            return
        if isinstance(handover, GraphCall):
            await run_call(inp, run, task, handover, live)
        elif patched(TASK_CALLS):
            await run_tasks(inp.graph.name, run, task, handover)
        else:  # never recorded: a history from before the patch holds no node result with task calls
            raise StepFailed(f"node '{steps.key(task)}' called @task functions, which this run predates")
        _within_budget(task, patched)


def _within_budget(task: PendingTask, patched: Patched) -> None:
    """Before the node runs again with what its calls returned: fail the step in one line once the history is
    past HISTORY_BUDGET_BYTES, rather than be terminated by Temporal at 50 MiB a few calls later."""
    size = workflow.info().get_current_history_size()
    if size > HISTORY_BUDGET_BYTES and patched(CALL_BUDGET):
        made = len(task.called) + len(task.done)
        raise StepFailed(
            f"node '{steps.key(task)}' made {made} graph and @task calls, and running it again with what they "
            f"returned has filled the run's history to {size / 2**20:.0f} MiB (Temporal ends a run at 50 MiB): each "
            "run of the node carries every earlier call's result, so make fewer or smaller calls per node (split "
            "the work over nodes or Send tasks, or return less from each call)"
        )


async def run_tasks(graph: str, run: RunState, task: PendingTask, calls: list[TaskCall]) -> None:
    """The `@task` calls `task`'s node (an entrypoint's body) waits on, each an activity of its own, side by
    side; how each ended is recorded on the task, in call order, for the node's next run (`steps.tasks_ended`)."""
    step = run.step
    outcomes = await asyncio.gather(*(_run_task(graph, steps.key(task), step, call) for call in calls))
    steps.tasks_ended(task, list(outcomes))


async def _run_task(graph: str, node: str, step: int, call: TaskCall) -> TaskOutcome:
    """One `@task` call as an activity (`TASK_ACTIVITY`) with the task's timeout and retry policy: its result,
    or the line saying why it failed for good (the body's `.result()` raises it)."""
    try:
        value = await workflow.execute_activity(
            TASK_ACTIVITY,
            TaskRun(graph=graph, node=node, step=step, call=call),
            start_to_close_timeout=timedelta(seconds=call.start_to_close_s),
            retry_policy=RetryPolicy(**retry_policy_kwargs(call.retry)),
            summary=f"task {call.name} #{call.index} (node {node}, step {step})",
        )
    except ActivityError as e:
        return TaskOutcome(error=cause(e))
    return TaskOutcome(value=value)


async def run_call(inp: RunInput, run: RunState, task: PendingTask, call: GraphCall, live: Execution) -> None:
    """A graph `task`'s node called runs as a child run under an id nobody else can start
    (`topology.call_run_id`), its questions surfacing in `inp`'s run as a subgraph node's do (`live.children`);
    how it ended is recorded on the task for the node's next run (`subgraphs.call_ended`)."""
    step = run.step
    child_id = topology.call_run_id(
        workflow.info().workflow_id, steps.key(task), step, call.index, workflow.uuid4().hex[:12]
    )
    live.children[id(task)], task.answered = child_id, []  # the answers so far led the node to this call
    live.surfaced.add(child_id)
    where = f"graph '{call.graph.name}' called by node '{steps.key(task)}' at step {step}"
    try:
        handle = await workflow.start_child_workflow(
            WORKFLOW_NAME,
            _child_input(inp, call.graph, call.input, task.node),
            id=child_id,
            result_type=dict,
            static_summary=f"{where} (call #{call.index})",
        )
    except (FailureError, RuntimeError) as e:  # not started: its id is taken, or Temporal refused it
        raise Surfaced(f"{where} could not start its run '{child_id}': {not_started(e)}") from None
    final: dict[str, Any] | None = None
    error: str | None = None
    try:
        final = await handle
    except ChildWorkflowError as e:
        error = cause(e)
    live.children.pop(id(task), None)  # the node's next run asks questions of its own
    subgraphs.call_ended(task, call, final, error)


async def run_subgraph(
    inp: RunInput,
    run: RunState,
    task: PendingTask,
    sub: GraphSpec,
    *,
    children: dict[int, str],
    surfaced: set[str],
    patched: Patched,
) -> None:
    """A compiled graph used as a node runs as a child workflow; its questions surface in `inp`'s run (the
    child's `child_paused` signals). Its run id goes into `children` as soon as it is known, and into
    `surfaced` when the run started under CHILD_FAILURES (a failure to start or reach it fails the step)."""
    parent, step = workflow.info().workflow_id, run.step
    if patched(SUBGRAPH_IDS):
        child_id = topology.subgraph_run_id(parent, task.node, step, workflow.uuid4().hex[:12])
    else:
        child_id = f"{parent}.{task.node}.{step}"
    children[id(task)] = child_id
    surfacing = patched(CHILD_FAILURES)
    if surfacing:
        surfaced.add(child_id)
    shared = {k: v for k, v in run.values.items() if k in sub.channels}
    try:
        handle = await workflow.start_child_workflow(
            WORKFLOW_NAME,
            _child_input(inp, sub, shared, task.node),
            id=child_id,
            result_type=dict,
            static_summary=f"subgraph {sub.name}",
        )
    except (FailureError, RuntimeError) as e:  # not started: its id is taken, or Temporal refused it
        if not surfacing:
            raise  # runs from before the patch lost this (the parent stayed running)
        raise Surfaced(
            f"subgraph '{task.node}' could not start its run '{child_id}' at step {step}: {not_started(e)}"
        ) from None
    try:
        final = await handle
    except ChildWorkflowError as e:
        failed = Surfaced if surfacing else StepFailed
        raise failed(f"subgraph '{task.node}' failed at step {run.step}: {cause(e)}") from None
    task.interrupts = []
    task.result, why = subgraphs.result_of(inp.graph, task.node, sub, final)
    if why is not None:
        raise StepFailed(f"{why} (step {run.step})")


async def reduce(
    spec: GraphSpec, values: dict[str, Any], writes: list[dict[str, Any]], step: int
) -> tuple[dict[str, Any], int]:
    """The state after `writes` and its size: built-in reducers here, user reducers in an activity; refused
    past the state's size limit."""
    try:
        values, owed = apply_builtin_writes(spec.channels, values, writes)
    except WriteConflict as e:
        raise StepFailed(str(e)) from None
    if owed:
        try:
            values = await workflow.execute_activity(
                REDUCE_ACTIVITY,
                ReduceTask(graph=spec.name, values=values, writes=owed),
                **_helper(timedelta(minutes=1)),
                result_type=dict,
            )
        except ActivityError as e:
            raise StepFailed(f"a reducer failed: {cause(e)}") from None
    size = json_size(values)
    if size > MAX_STATE_BYTES:
        raise StepFailed(over_limit(size, MAX_STATE_BYTES, f"the state after step {step}"))
    return values, size


async def route(spec: GraphSpec, node: str, values: dict[str, Any]) -> list[Route]:
    """Where `node`'s router sends the run (an activity: routers are user code)."""
    try:
        targets: list[Route] = await workflow.execute_activity(
            ROUTE_ACTIVITY,
            RouteTask(graph=spec.name, node=node, state=values),
            **_helper(timedelta(minutes=1)),
            result_type=list[Route],
        )
    except ActivityError as e:
        raise StepFailed(f"router of '{node}' failed: {cause(e)}") from None
    return targets


async def notify(graph: str, snapshot: StateSnapshot, run: RunState, patched: Patched) -> None:
    """Run the graph's notify hook and, under NOTIFY_RECORDS, record in the run's decision log what it reports
    it sent (hitl's email and Slack hooks do; older notify activities report nothing) or the line saying why
    it failed. A failed notification never blocks or fails the run."""
    outcome: Notified | str | None
    try:
        outcome = await workflow.execute_activity(
            NOTIFY_ACTIVITY,
            NotifyTask(graph=graph, snapshot=snapshot),
            **_helper(timedelta(seconds=30)),
            result_type=Notified | None,  # type: ignore[arg-type]
        )
    except ActivityError as e:
        workflow.logger.warning("notify hook of graph %s failed: %s", graph, cause(e))
        outcome = cause(e)
    if patched(NOTIFY_RECORDS):  # runs from before it keep their decision logs and chains as they were
        records.notified(run, outcome, workflow.now())


async def signal_child(node: str, child_id: str, req: ResumeRequest, step: int, surfaced: set[str]) -> Surfaced | None:
    """Pass answers down to a subgraph's run. Should that run be out of reach (it ended meanwhile, or was
    terminated), the step's failure, one line naming it: it cannot go on without the run (CHILD_FAILURES,
    known from when that run was started, `surfaced`: no patch is asked from a handler)."""
    try:
        await workflow.get_external_workflow_handle(child_id).signal("resume_signal", req)
    except FailureError as e:
        if child_id not in surfaced:
            raise
        return Surfaced(f"subgraph '{node}' could not be reached at its run '{child_id}' (step {step}): {cause(e)}")
    return None


async def tell_parent(parent: ParentRef, interrupts: list[Interrupt], untold: list[str], going_on: bool) -> None:
    """A subgraph's run tells its parent run which questions are pending (and which answers were put back)."""
    await workflow.get_external_workflow_handle(parent.run_id).signal(
        "child_paused",
        ChildPaused(child_id=workflow.info().workflow_id, interrupts=interrupts, rolled_back=untold, going_on=going_on),
    )


def passed_down(req: ResumeRequest, answers: dict[str, Any]) -> ResumeRequest:
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


def _child_input(inp: RunInput, sub: GraphSpec, given: dict[str, Any], node: str) -> RunInput:
    """The input of a subgraph's run (or of a graph a node called): the calling run's person, patches and
    context, no breakpoints, and this run as its parent (where its questions are asked)."""
    return RunInput(
        graph=sub,
        input=given,
        identity=inp.identity,
        interrupt_before=[],
        interrupt_after=[],
        parent=ParentRef(run_id=workflow.info().workflow_id, node=node),
        requester=inp.requester,
        patches=list(inp.patches),
        context=inp.context,
    )


def _node_input(node: NodeSpec, values: dict[str, Any]) -> dict[str, Any]:
    """The state a node's activity gets: only the keys it reads, unless a router reads after it."""
    if node.reads is None or node.has_router:
        return values
    return {k: v for k, v in values.items() if k in node.reads}


def _helper(timeout: timedelta) -> dict[str, Any]:
    """Options of hitl's own short activities (route, reduce, notify): user code, but brief."""
    return {"start_to_close_timeout": timeout, "retry_policy": RetryPolicy(maximum_attempts=3)}


def _seconds(value: float | None) -> timedelta | None:
    return timedelta(seconds=value) if value else None
