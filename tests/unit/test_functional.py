"""The functional API's build-time checks: what cannot work is refused where it is written, in one line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hitl import GraphValidationError, HitlError, entrypoint, task
from hitl.functional import FunctionalGraph


@task
def double(x: int) -> int:
    return x * 2


def test_an_entrypoint_is_a_graph_of_one_node_named_after_it() -> None:
    @entrypoint()
    def flow(inputs: dict[str, Any], *, previous: Any = None) -> Any:
        return double(inputs["x"]).result()

    assert isinstance(flow, FunctionalGraph) and flow.name == "flow"
    spec = flow.spec()
    assert [n.name for n in spec.nodes] == ["flow"] and sorted(spec.channels) == ["input", "previous", "value"]
    assert flow.validate_input({"x": 1}) == {"input": {"x": 1}}
    assert flow.validate_input("any JSON") == {"input": "any JSON"}
    assert entrypoint(name="renamed")(flow.func).name == "renamed"  # type: ignore[attr-defined]


def _two(a: int, b: int) -> int:
    return a + b


def _store(a: int, *, store: Any) -> int:
    return a


def _gen(a: int) -> Iterator[int]:
    yield a


def _previous_first(previous: int) -> int:
    return previous


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (_two, "must take the input as its one positional parameter"),
        (_previous_first, "must take the input as its one positional parameter"),
        (_store, "takes keyword parameter(s) ['store']; an entrypoint gets only previous, writer, runtime, config"),
        (_gen, "is a generator; an entrypoint returns its value"),
    ],
)
def test_an_entrypoint_that_cannot_work_is_refused_at_build_time(fn: Any, message: str) -> None:
    with pytest.raises(GraphValidationError) as e:
        entrypoint()(fn)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_options_are_checked_as_compile_s_are() -> None:
    with pytest.raises(GraphValidationError, match="unknown option 'retry'; did you mean 'retry_policy'"):
        entrypoint(retry=3)
    with pytest.raises(GraphValidationError, match="unknown option 'retries'"):
        task(retries=3)
    with pytest.warns(UserWarning, match="hitl ignores LangGraph's option 'checkpointer'"):
        entrypoint(checkpointer=object())


def test_a_task_that_cannot_work_is_refused_at_build_time() -> None:
    with pytest.raises(GraphValidationError, match="is a generator; a task returns its result"):
        task(_gen)
    with pytest.raises(GraphValidationError, match="retry_policy takes a temporalio.common.RetryPolicy"):
        task(retry_policy=object())(_two)  # type: ignore[arg-type]


def test_a_task_called_outside_an_entrypoint_says_where_to_call_it() -> None:
    with pytest.raises(HitlError, match="task 'double' was called outside an entrypoint; call it inside an"):
        double(1)
    assert double.func(2) == 4  # the function itself, run directly


async def test_an_entrypoint_starts_only_on_workers_that_run_task_calls() -> None:
    """A worker from before `hitl-task-calls` would take the body's task calls for an update writing nothing."""
    from hitl import Client, NoWorkerError
    from hitl.protocol.patches import RUN_PATCHES, TASK_CALLS

    @entrypoint()
    def flow(x: int) -> int:
        return double(x).result()

    client = Client.__new__(Client)  # no connection: refused before any call
    client.task_queue = "q"
    older = [p for p in RUN_PATCHES if p != TASK_CALLS]
    with pytest.raises(NoWorkerError, match=r"predate entrypoints' @task calls \(patch hitl-task-calls\)"):
        await client._run_input(
            flow, flow.spec(), {}, interrupt_before=None, interrupt_after=None, max_history_events=10, patches=older
        )
