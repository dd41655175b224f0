"""A run's runtime context (`client.start(..., context=)`, nodes taking `runtime: Runtime[Ctx]`): checked where
the run starts, and the run's for good: across continue-as-new, in its forks and its thread's next turns.
Parity with LangGraph on the same graph source is in tests/test_langgraph_compat.py."""

from __future__ import annotations

import operator
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, TypedDict

import pytest
import pytest_asyncio

import hitl
from hitl.client.turns import next_turn


@dataclass
class Ctx:
    user: str
    limit: int = 3


class S(TypedDict, total=False):
    i: int
    seen: Annotated[list[str], operator.add]


def count(state: S, runtime: hitl.Runtime[Ctx]) -> dict:
    """Counts up to the context's limit, noting whose context it ran with at each step."""
    return {"i": state.get("i", 0) + 1, "seen": [f"{runtime.context.user}:{runtime.context.limit}"]}


def loop() -> hitl.CompiledGraph:
    """count until i reaches 6, pausing after each step: long enough to continue as new."""
    b = hitl.StateGraph(S, context_schema=Ctx)
    b.add_node("count", count)
    b.add_edge(hitl.START, "count")
    b.add_conditional_edges("count", lambda s: "count" if s.get("i", 0) < 6 else hitl.END)
    return b.compile(name="context_loop", interrupt_after=["count"])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ctx_client(client: hitl.Client) -> AsyncIterator[hitl.Client]:
    other = hitl.Client(client.temporal, task_queue="hitl-context", graphs=[loop()], identity="tester")
    async with other.worker():
        yield other


async def drive(run: hitl.Run) -> hitl.StateSnapshot:
    """Continue at each breakpoint until the run ends."""
    state = await run.wait(timeout=60)
    while state.status == "interrupted":
        await run.resume(wait=False)
        state = await run.wait(timeout=60)
    return state


async def test_the_context_reaches_every_node_across_continue_as_new(ctx_client: hitl.Client) -> None:
    run = await ctx_client.start("context_loop", {}, context=Ctx(user="ada", limit=9), max_history_events=40)
    final = await drive(run)
    assert final.status == "completed"
    assert final.values["seen"] == ["ada:9"] * 6
    runs = [w async for w in ctx_client.temporal.list_workflows(f"WorkflowId = '{run.run_id}'")]
    assert len(runs) > 1, "the run continued as new at least once"


async def test_a_fork_and_a_next_turn_keep_the_context(ctx_client: hitl.Client) -> None:
    run = await ctx_client.start("context_loop", {}, context={"user": "bob"})
    final = await drive(run)
    assert final.values["seen"] == ["bob:3"] * 6
    fork = await ctx_client.fork(run.run_id, 2)
    assert (await drive(fork)).values["seen"][-1] == "bob:3"
    turn = await next_turn(ctx_client, run.run_id, {"i": 4})
    assert (await drive(turn)).values["seen"][-2:] == ["bob:3", "bob:3"]
    other = await next_turn(ctx_client, run.run_id, {"i": 5}, context=Ctx(user="cy"))
    assert (await drive(other)).values["seen"][-1] == "cy:3"


@pytest.mark.parametrize(
    "context, message",
    [
        ({"limit": 2}, r"^context does not fit graph 'context_loop''s context_schema Ctx: user: Field required; "),
        ({"user": "ada", "limit": "many"}, r"context_schema Ctx: limit: Input should be a valid integer"),
        ("ada", r"context_schema Ctx: Input should be a dictionary or an instance of Ctx; give a Ctx or a dict"),
        ({"user": "x" * 70_000}, r"^context is 70.0 kB; hitl takes at most 64.0 kB there"),
    ],
)
async def test_a_context_that_does_not_fit_is_refused_in_one_line_before_anything_starts(
    ctx_client: hitl.Client, context: object, message: str
) -> None:
    with pytest.raises(hitl.InvalidInputError, match=message) as refused:
        await ctx_client.start("context_loop", {}, context=context, run_id="context-refused")
    assert "\n" not in str(refused.value)
    with pytest.raises(hitl.RunNotFoundError):
        await ctx_client.get_run("context-refused").get_state()
