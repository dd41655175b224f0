"""The functional API: `@entrypoint()` and `@task`, LangGraph's `langgraph.func` on hitl's runs.

An `@entrypoint()` function compiles to a graph of one node, named after the function, whose body is the
function: it runs in that node's activity, on a worker, never in the workflow. A `@task` call inside it returns
a future; the first `.result()` (or `await`) of a task not run yet stops the body and hands the run every task
call made so far that has not run: the run runs each as an activity of its own (`hitl.task`, with the task's
retry policy and timeout; side by side), records how it ended, and runs the body again **from the top**. On
that run the recorded calls (matched by call order, as `interrupt()` answers are) resolve at once to their
recorded results. An `interrupt()` in the body pauses the run as in any node; on resume the body runs again
from the top, its tasks returning what they returned before.

So the body must make the same calls in the same order on every run (LangGraph asks this of an entrypoint
too): side effects go in tasks, which run once, and the body itself only composes them. It runs once per
resume and once per batch of tasks, so keep it cheap (docs/functional-api.md).

The run's state is a dict of three channels: `input` (what the run was started with), `value` (what the body
returned, `entrypoint.final(value=)`), `previous` (what the thread's next turn gets as `previous`:
`entrypoint.final(save=)`, else the return value).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypedDict, TypeVar, cast, overload

import temporalio.common

from hitl import _interrupt, runtime
from hitl.graph import CompiledGraph, StateGraph, _check_options, _retry_spec
from hitl.protocol.wire import TaskCall, TaskOutcome
from hitl.state import to_json
from hitl.types import END, START, GraphValidationError, HitlError

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")


class TaskFailed(HitlError):
    """A `@task` call failed for good (after its retries): raised by `.result()` in the entrypoint's body."""


class EntrypointState(TypedDict, total=False):
    """An entrypoint's run state: what it was started with, what it returned, what its next turn gets."""

    input: Any
    value: Any
    previous: Any


_TASKS: dict[str, Task[Any]] = {}
"""Every `@task` defined in this process, by `module:qualname`: the task activity finds its function here."""


class TaskFuture(Generic[T]):
    """What calling a `@task` returns in an entrypoint: `.result()` (or `await`) gives the task's result."""

    def __init__(self, name: str, index: int, outcome: TaskOutcome | None, scope: Any) -> None:
        self._name, self._index, self._outcome, self._scope = name, index, outcome, scope

    def done(self) -> bool:
        return self._outcome is not None

    def result(self, timeout: float | None = None) -> T:
        """The task's result: run it (with every other task called and not run so far) if it has not run."""
        if self._outcome is None:
            raise _interrupt.TasksRequested(list(self._scope.asked))
        if self._outcome.error is not None:
            raise TaskFailed(f"task '{self._name}' (call #{self._index}) failed: {self._outcome.error}")
        return cast(T, self._outcome.value)

    def __await__(self) -> Generator[Any, None, T]:
        return self.result()
        yield  # noqa: B901 - a generator that never yields: awaiting it returns at once


class Task(Generic[T]):
    """A `@task` function: called in an entrypoint, it runs as an activity of its own, once."""

    def __init__(
        self,
        fn: Callable[..., T | Awaitable[T]],
        *,
        name: str | None,
        retry_policy: temporalio.common.RetryPolicy | None,
        timeout: timedelta | None,
    ) -> None:
        where = f"@task {getattr(fn, '__name__', fn)!r}"
        if not callable(fn):
            raise GraphValidationError(f"{where}: {fn!r} is not callable; decorate a function")
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            raise GraphValidationError(f"{where} is a generator; a task returns its result (return, not yield)")
        if retry_policy is not None and not isinstance(retry_policy, temporalio.common.RetryPolicy):
            raise GraphValidationError(
                f"{where}: retry_policy takes a temporalio.common.RetryPolicy (as add_node does); "
                f"got {type(retry_policy).__name__}"
            )
        self.func = fn
        self.name = name or fn.__name__
        self.ref = f"{fn.__module__}:{fn.__qualname__}"
        self.retry = _retry_spec(retry_policy)
        self.timeout = timeout or timedelta(minutes=5)
        functools.update_wrapper(self, fn)
        _TASKS[self.ref] = self

    def __call__(self, *args: Any, **kwargs: Any) -> TaskFuture[T]:
        scope = _interrupt.current_scope()
        if scope is None:
            inside = _interrupt.current_task()
            if inside is not None:
                raise HitlError(
                    f"task '{self.name}' was called inside task '{inside}'; hitl runs each task as an activity, "
                    "and a task cannot start another: call both from the entrypoint"
                )
            raise HitlError(
                f"task '{self.name}' was called outside an entrypoint; call it inside an @entrypoint() function "
                f"(or a graph node), or call {self.name}.func(...) to run the function itself"
            )
        index = scope.tasks
        scope.tasks += 1
        if index < len(scope.done):
            return TaskFuture(self.name, index, scope.done[index], scope)
        what = f"the arguments of task '{self.name}'"
        scope.asked.append(
            TaskCall(
                name=self.name,
                ref=self.ref,
                index=index,
                args=to_json(list(args), what=what),
                kwargs=to_json(dict(kwargs), what=what),
                start_to_close_s=self.timeout.total_seconds(),
                retry=self.retry,
            )
        )
        return TaskFuture(self.name, index, None, scope)

    async def run(self, call: TaskCall) -> Any:
        """Run the function for one call (in the task activity): its result as JSON."""
        token = _interrupt.task_scope(self.name)
        try:
            if inspect.iscoroutinefunction(self.func):
                out = await self.func(*call.args, **call.kwargs)
            else:
                out = await asyncio.to_thread(contextvars.copy_context().run, self.func, *call.args, **call.kwargs)
        finally:
            _interrupt.leave_task(token)
        return to_json(out, what=f"the result of task '{self.name}'")


def task_named(ref: str) -> Task[Any] | None:
    return _TASKS.get(ref)


@overload
def task(__func: Callable[..., Awaitable[T]]) -> Task[T]: ...
@overload
def task(__func: Callable[..., T]) -> Task[T]: ...
@overload
def task(
    __func: None = None,
    *,
    name: str | None = None,
    retry_policy: temporalio.common.RetryPolicy | None = None,
    timeout: timedelta | None = None,
    **options: Any,
) -> Callable[[Callable[..., Any]], Task[Any]]: ...
def task(
    __func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    retry_policy: temporalio.common.RetryPolicy | None = None,
    timeout: timedelta | None = None,
    **options: Any,
) -> Task[Any] | Callable[[Callable[..., Any]], Task[Any]]:
    """`@task` or `@task(retry_policy=..., timeout=...)`: a function an entrypoint calls, run as a Temporal
    activity of its own (default: 3 attempts, 5 minutes), once per call: its arguments and result travel as
    JSON. LangGraph's `cache_policy` is accepted with a warning (results are not cached)."""
    _check_options(
        "@task", options, ["name", "retry_policy", "timeout"], {"cache_policy": "task results are not cached"}
    )

    def wrap(fn: Callable[..., Any]) -> Task[Any]:
        return Task(fn, name=name, retry_policy=retry_policy, timeout=timeout)

    return wrap(__func) if __func is not None else wrap


class FunctionalGraph(CompiledGraph):
    """An entrypoint compiled: a graph of one node running the function. Its input is anything JSON; the
    run's state holds it as `input`."""

    def validate_input(self, data: Any) -> dict[str, Any]:
        return self.schema.validate_input({"input": to_json(data, what=f"the input of entrypoint '{self.name}'")})


_INJECTED = ("previous", "writer", "runtime", "config")


class entrypoint:  # noqa: N801 - LangGraph's spelling
    """`@entrypoint()`: compile a function into a graph hitl runs (LangGraph's `langgraph.func.entrypoint`).

    The function takes the run's input as its one positional parameter, and may take `previous` (what the
    thread's previous turn saved), `writer`, `runtime` and `config` by keyword. `name` names the graph
    (default: the function's name); `retry_policy` and `timeout` are those of the body's activity; `guard`,
    `readers` and `notify` are `StateGraph.compile()`'s. LangGraph's `checkpointer`, `store` and `cache` are
    accepted with a warning (Temporal's event history is the checkpoint).
    """

    @dataclass(frozen=True)
    class final(Generic[R, S]):  # noqa: N801 - LangGraph's spelling
        """`entrypoint.final(value=, save=)`: return `value`, and save `save` for the thread's next turn."""

        value: R
        save: S

    def __init__(
        self,
        checkpointer: Any = None,
        *,
        name: str | None = None,
        retry_policy: temporalio.common.RetryPolicy | None = None,
        timeout: timedelta | None = None,
        guard: list[str] | None = None,
        readers: list[str] | None = None,
        notify: Callable[..., Any] | None = None,
        **options: Any,
    ) -> None:
        _check_options(
            "@entrypoint()",
            {"checkpointer": checkpointer, **options},
            ["name", "retry_policy", "timeout", "guard", "readers", "notify"],
            {
                "checkpointer": "Temporal's event history is the checkpoint",
                "store": "there is no long-term store",
                "cache": "task results are not cached",
                "cache_policy": "results are not cached",
                "context_schema": "the run's context is passed as is",
            },
        )
        self.name, self.retry_policy, self.timeout = name, retry_policy, timeout
        self.guard, self.readers, self.notify = guard, readers, notify

    def __call__(self, fn: Callable[..., Any]) -> FunctionalGraph:
        name = self.name or getattr(fn, "__name__", None)
        where = f"@entrypoint() {name!r}"
        if not callable(fn) or not isinstance(name, str):
            raise GraphValidationError(f"{where}: decorate a function; got {fn!r}")
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            raise GraphValidationError(f"{where} is a generator; an entrypoint returns its value (return, not yield)")
        params = list(inspect.signature(fn).parameters.values())
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(positional) != 1 or positional[0].name in _INJECTED:
            raise GraphValidationError(
                f"{where} must take the input as its one positional parameter (then, by keyword, any of "
                f"{', '.join(_INJECTED)}); it takes {[p.name for p in positional]}"
            )
        extra = [p.name for p in params if p.kind is p.KEYWORD_ONLY and p.name not in _INJECTED]
        if extra:
            raise GraphValidationError(
                f"{where} takes keyword parameter(s) {extra}; an entrypoint gets only {', '.join(_INJECTED)}"
            )
        wanted = {p.name for p in params[1:]}
        builder = StateGraph(EntrypointState)
        builder.add_node(name, _body(fn, wanted), retry_policy=self.retry_policy, timeout=self.timeout)
        builder.add_edge(START, name)
        builder.add_edge(name, END)
        compiled = builder.compile(name=name, guard=self.guard, readers=self.readers, notify=self.notify)
        graph = FunctionalGraph.__new__(FunctionalGraph)
        graph.__dict__.update(compiled.__dict__)
        graph.func = fn  # type: ignore[attr-defined]
        return graph


def _body(fn: Callable[..., Any], wanted: set[str]) -> Callable[..., Any]:
    """The node running the entrypoint's function on the run's state: what it returns as `value` and
    `previous` (`entrypoint.final` splits them)."""

    def arguments(state: dict[str, Any], config: dict[str, Any] | None) -> dict[str, Any]:
        given: dict[str, Any] = {
            "previous": state.get("previous"),
            "writer": runtime.get_stream_writer() if "writer" in wanted else None,
            "runtime": runtime.get_runtime() if "runtime" in wanted else None,
            "config": config,
        }
        return {k: v for k, v in given.items() if k in wanted}

    def written(out: Any) -> dict[str, Any]:
        if isinstance(out, entrypoint.final):
            return {"value": out.value, "previous": out.save}
        return {"value": out, "previous": out}

    if inspect.iscoroutinefunction(fn):

        async def run_async(state: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
            return written(await fn(state.get("input"), **arguments(state, config)))

        return run_async

    def run(state: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        out = fn(state.get("input"), **arguments(state, config))
        if inspect.isawaitable(out):
            raise HitlError(
                f"entrypoint '{getattr(fn, '__name__', fn)}' returned an awaitable; make the function async"
            )
        return written(out)

    return run


__all__ = ["EntrypointState", "FunctionalGraph", "Task", "TaskFailed", "TaskFuture", "entrypoint", "task"]
