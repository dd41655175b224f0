"""Static checks of the functional API's types (`from hitl import entrypoint, task`), run by mypy, never by pytest.

A task's future carries the function's return type, awaited or read with `.result()`; an entrypoint is a
compiled graph. Nothing below is called.
"""

from __future__ import annotations

from datetime import timedelta

from typing_extensions import assert_type

from hitl import CompiledGraph, entrypoint, task
from hitl.functional import Task, TaskFuture


@task
def double(x: int) -> int:
    return x * 2


@task(timeout=timedelta(seconds=30))
def shout(text: str) -> str:
    return text.upper()


@task
async def fetch(url: str) -> bytes:
    return b""


@entrypoint()
def flow(x: int, *, previous: int | None = None) -> entrypoint.final[int, int]:
    return entrypoint.final(value=double(x).result(), save=x)


async def futures_carry_the_result_type() -> None:
    assert_type(double, Task[int])
    assert_type(double(1), TaskFuture[int])
    assert_type(double(1).result(), int)
    assert_type(await double(1), int)
    assert_type(await fetch("x"), bytes)
    graph: CompiledGraph = flow  # an entrypoint is a compiled graph: served, started and read as one
    assert graph
