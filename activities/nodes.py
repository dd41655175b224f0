"""Run one graph node, router or custom reducer, as a Temporal activity.

Each node runs as an activity whose type is `<graph>.<node>` (one dynamic
activity serves them all), so the Temporal Web UI names the node that ran. A
node's activity returns only its update and where to go next, never the whole
state. Mistakes in the graph (bad return value, unknown key) fail at once
without retries; exceptions from the user's code are retried per the node's
retry policy.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from temporalio import activity
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from hitl import runtime
from hitl._interrupt import (
    GraphCallRequested,
    GraphInterrupt,
    TasksRequested,
    caught_stop,
    node_scope,
    reset_scope,
    unrun_tasks,
)
from hitl.client import tracing
from hitl.functional import task_named
from hitl.graph import CompiledGraph, Node
from hitl.prebuilt.ledger import Ledger, keeping
from hitl.protocol.limits import MAX_STATE_BYTES, too_large
from hitl.protocol.wire import (
    NOTIFY_ACTIVITY,
    REDUCE_ACTIVITY,
    ROUTE_ACTIVITY,
    TASK_ACTIVITY,
    GraphCall,
    NodeResult,
    NodeTask,
    Notified,
    NotifyTask,
    ReduceTask,
    Route,
    RouteTask,
    SendPacket,
    TaskRun,
    ToParent,
)
from hitl.state import to_json
from hitl.types import END, Command, HitlError, InvalidInputError, Runtime, Send


def _span(name: str, graph: str, node: str, step: int) -> AbstractContextManager[Any]:
    """The trace span of one activity a run's node step makes (the node's run, or a `@task` call of its body)."""
    return tracing.span(name, hitl_graph=graph, hitl_node=node, hitl_step=step, hitl_run_id=activity.info().workflow_id)


@contextmanager
def _graph_mistakes_fail_at_once() -> Iterator[None]:
    """A mistake in the graph (HitlError) will not mend itself: fail without retries."""
    try:
        yield
    except HitlError as e:
        raise ApplicationError(str(e), type=type(e).__name__, non_retryable=True) from None


class GraphActivities:
    """The activities for a set of compiled graphs, looked up by graph name."""

    def __init__(self, graphs: Sequence[CompiledGraph]) -> None:
        self.graphs = {sub.name: sub for g in graphs for sub in g.with_subgraphs()}
        self.warned_unguarded: set[str] = set()

    def all(self) -> list[Callable[..., Any]]:
        return [self.run_node, self.route, self.reduce, self.notify, self.run_task]

    @activity.defn(dynamic=True)
    async def run_node(self, args: Sequence[RawValue]) -> NodeResult:
        task = activity.payload_converter().from_payload(args[0].payload, NodeTask)
        graph = self._graph(task.graph)
        node = graph.nodes.get(task.node)
        if node is None:
            raise ApplicationError(
                f"node '{task.node}' is no longer in graph '{task.graph}' on this worker "
                f"(nodes: {list(graph.nodes)}); the run was started with a graph that had it",
                type="NodeNotFound",
                non_retryable=True,
            )
        with (
            _span(f"hitl.node:{task.graph}.{task.node}", task.graph, task.node, task.step) as span,
            _graph_mistakes_fail_at_once(),
        ):
            result = await self._call(graph, node, task)
            if span is not None and result.interrupt is not None:
                span.set_attribute("hitl.interrupted", True)
            return result

    @activity.defn(name=ROUTE_ACTIVITY)
    async def route(self, task: RouteTask) -> list[Route]:
        graph = self._graph(task.graph)
        with _graph_mistakes_fail_at_once():
            return graph.route(task.node, task.state)

    @activity.defn(name=REDUCE_ACTIVITY)
    async def reduce(self, task: ReduceTask) -> dict[str, Any]:
        schema = self._graph(task.graph).schema
        values = dict(task.values)
        with _graph_mistakes_fail_at_once():
            for write in task.writes:
                values = schema.apply(values, write)
        return values

    @activity.defn(name=TASK_ACTIVITY)
    async def run_task(self, run: TaskRun) -> Any:
        """One `@task` call of an entrypoint's body (hitl/functional.py): its result, as JSON. Its exceptions
        are retried per the task's retry policy; the body gets the last one's line (`TaskFailed`)."""
        task = task_named(run.call.ref)
        if task is None:
            raise ApplicationError(
                f"task '{run.call.name}' ({run.call.ref}) called by node '{run.node}' of graph '{run.graph}' is not "
                "defined on this worker: serve the module that defines it (a task defined inside a function exists "
                "only once that function ran)",
                type="TaskNotFound",
                non_retryable=True,
            )
        with (
            _span(f"hitl.task:{run.graph}.{run.node}.{run.call.name}", run.graph, run.node, run.step),
            _graph_mistakes_fail_at_once(),
        ):
            return await task.run(run.call)

    @activity.defn(name=NOTIFY_ACTIVITY)
    async def notify(self, task: NotifyTask) -> Notified | None:
        """Run the graph's notify hook with a ledger of what it sent, kept in this activity's heartbeat: a
        retry (the workflow allows 3 attempts) skips what an earlier attempt sent (hitl/prebuilt/ledger.py).
        What the hook reports (`Notified`) goes back to the run's decision log."""
        hook = self._graph(task.graph).notify
        if hook is None:
            return None
        details = activity.info().heartbeat_details
        earlier = details[0] if details and isinstance(details[0], list) else []
        loop, context = asyncio.get_running_loop(), contextvars.copy_context()

        def save(keys: list[str]) -> None:  # from the hook's thread too: heartbeats belong on the loop
            loop.call_soon_threadsafe(activity.heartbeat, keys, context=context)

        with keeping(Ledger(earlier, save)):
            result = (
                await asyncio.to_thread(contextvars.copy_context().run, hook, task.snapshot)
                if not inspect.iscoroutinefunction(hook)
                else await hook(task.snapshot)
            )
            if inspect.isawaitable(result):
                result = await result
        return result if isinstance(result, Notified) else None

    @staticmethod
    def _to_parent(node: str, command: Command) -> ToParent:
        """A node's `Command(graph=Command.PARENT, ...)`, checked here as far as a subgraph can: the parent
        checks its goto and keys against its own graph (workflows/calls.py)."""
        where = f"node '{node}' returned Command(graph={command.graph!r})"
        if command.graph != Command.PARENT:
            raise HitlError(f"{where}; graph takes Command.PARENT only (the graph running this one as a node)")
        targets = [command.goto] if isinstance(command.goto, (str, Send)) else list(command.goto or [])
        if any(isinstance(t, Send) for t in targets):
            raise HitlError(f"{where} with a Send; to the parent, goto takes node names only")
        update = to_json(command.update or {}, what=f"node '{node}' update for its parent")
        refused = too_large(update, MAX_STATE_BYTES, f"the update node '{node}' hands its parent")
        if refused:
            raise HitlError(refused)
        return ToParent(update=update, goto=[str(t) for t in targets])

    def _graph_call(self, node: str, gc: GraphCallRequested, context: Any) -> GraphCall:
        """A node's call of a compiled graph, for its run to start: the graph's topology as captured now. The
        graph's nodes run on this task queue's workers, so each must serve it (found there by name). Its run
        carries the caller's `context`: one its `context_schema` cannot take is said here, naming the call
        (its nodes would otherwise fail saying the run's context no longer fits)."""
        if gc.graph.name not in self.graphs:
            raise HitlError(
                f"node '{node}' called graph '{gc.graph.name}' with invoke(), which this worker does not serve: "
                "pass it to the worker with the graphs it serves (found by itself only when the node's function "
                "refers to it by a global or closure variable)"
            )
        try:
            self.graphs[gc.graph.name].check_context(context)
        except InvalidInputError as e:
            raise HitlError(
                f"node '{node}' called graph '{gc.graph.name}', which cannot take the calling run's context (a "
                f"called graph runs with its caller's): {e}"
            ) from None
        spec = dataclasses.replace(self.graphs[gc.graph.name].spec(), interrupt_before=[], interrupt_after=[])
        return GraphCall(graph=spec, input=gc.input, index=gc.index)

    def _warn_unguarded(self, graph: CompiledGraph, node: str, reviewers: list[str]) -> None:
        """A limited question in a graph that declared no guard: say once what that leaves open."""
        if graph.guard is not None or graph.name in self.warned_unguarded:
            return
        self.warned_unguarded.add(graph.name)
        activity.logger.warning(
            "graph '%s': node '%s' asks a question limited to %s, but the graph declares no guard, so until a run "
            "asks it anyone may skip it (goto, edit state, cancel, fork); declare who may override its runs with "
            "compile(guard=%r)",
            graph.name,
            node,
            reviewers,
            reviewers,
        )

    def _graph(self, name: str) -> CompiledGraph:
        try:
            return self.graphs[name]
        except KeyError:
            raise ApplicationError(
                f"graph '{name}' is not served by this worker (it serves {sorted(self.graphs)})",
                type="UnknownGraph",
                non_retryable=True,
            ) from None

    async def _call(self, graph: CompiledGraph, node: Node, task: NodeTask) -> NodeResult:
        # A task made by Send gets its arg, as LangGraph passes it: as sent (here, as JSON).
        if task.send is not None:
            state = task.send.arg
        elif node.input is not None:  # as LangGraph: just the keys of the node's input schema
            state = node.input.node_input({k: v for k, v in task.state.items() if k in node.input.channels})
        else:
            state = graph.schema.node_input(task.state)
        args: list[Any] = [state]
        if node.wants_config:
            info = activity.info()
            args.append(
                {
                    "configurable": {"thread_id": info.workflow_id},
                    "metadata": {"langgraph_node": node.name, "langgraph_step": task.step},
                }
            )
        writer = runtime.Recorder(node.name, task.step)
        scope = Runtime(context=graph.context_of(task.context), stream_writer=writer)
        kwargs = {name: scope if name == "runtime" else writer for name in node.inject}
        token, entered = node_scope(node.name, task.resumes, task.called, task.done), runtime.enter(scope)
        unrun = []
        try:
            if inspect.iscoroutinefunction(node.fn):
                output = await node.fn(*args, **kwargs)
            else:
                output = await asyncio.to_thread(node.fn, *args, **kwargs)
                if inspect.isawaitable(output):
                    output = await output
            if caught := caught_stop():
                raise HitlError(caught)
            unrun = unrun_tasks()  # a body that caught `TasksRequested` still hands its tasks over here
        except TasksRequested as tr:
            return NodeResult(tasks=tr.calls, custom=writer.written())
        except GraphInterrupt as gi:  # tasks called and not waited on run after the answer, as LangGraph's do
            if gi.request.reviewers:
                self._warn_unguarded(graph, node.name, gi.request.reviewers)
            local = node.reruns_locally  # decided here, so the choice is in the history whatever the graph becomes
            asked = dataclasses.replace(gi.request, rerun_local=True) if local else gi.request
            return NodeResult(interrupt=asked, custom=writer.written())
        except GraphCallRequested as gc:
            return NodeResult(call=self._graph_call(node.name, gc, task.context), custom=writer.written())
        finally:
            runtime.leave(entered)
            reset_scope(token)
        if unrun:  # the node returned without waiting on some of its tasks: they run, then the node again
            return NodeResult(tasks=unrun, custom=writer.written())

        goto: list[str] = []
        sends: list[SendPacket] = []
        if isinstance(output, Command):
            if output.resume is not None:
                raise HitlError(f"node '{node.name}' returned Command(resume=...); resume is for callers, not nodes")
            if output.graph is not None:
                return NodeResult(to_parent=self._to_parent(node.name, output), custom=writer.written())
            targets = [output.goto] if isinstance(output.goto, (str, Send)) else list(output.goto or [])
            for target in targets:
                if isinstance(target, Send):
                    sends.append(graph.packet(target, where=f"node '{node.name}' Command(goto=...)"))
                else:
                    goto.append(target)
            output = output.update
        writes = graph.schema.check_update(output if output is not None else {}, node=node.name)
        refused = too_large(writes, MAX_STATE_BYTES, f"the update of node '{node.name}'")
        if refused:
            raise HitlError(refused)
        for target in goto:
            if target != END and target not in graph.nodes:
                raise HitlError(
                    f"node '{node.name}' returned Command(goto={target!r}); goto must name a node "
                    f"({', '.join(graph.nodes)}) or END"
                )
        if node.name in graph.branches:
            # LangGraph routes on the state as this node sees it: before the step
            # plus its own writes (not its parallel siblings').
            for route in graph.route(node.name, graph.schema.apply(task.state, writes)):
                if isinstance(route, SendPacket):
                    sends.append(route)
                else:
                    goto.append(route)
        graph.check_sends(sends, where=f"node '{node.name}'")
        return NodeResult(
            writes=to_json(writes, what=f"node '{node.name}' update"), goto=goto, sends=sends, custom=writer.written()
        )
