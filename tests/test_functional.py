"""The functional API (`from hitl import entrypoint, task`): one source (tests/compat/functional.py.txt) runs under
LangGraph 1.2 (in process, InMemorySaver) and under hitl (the session's dev server) with only the import line
changed, driven with the same answers; what a person saw at each pause, the status, the final value and which
tasks ran (a task whose result was recorded never runs again) must be the same."""

from __future__ import annotations

import asyncio
import json
import types
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import hitl
from hitl.client.turns import next_turn
from tests.compat import load_source
from tests.helpers import cli, event_count, one_line_error, wait_for
from tests.web_fixtures import Served, sse_parts

pytest.importorskip("langgraph", reason="the test extra installs langgraph")

SOURCE = (Path(__file__).parent / "compat" / "functional.py.txt").read_text()
LANGGRAPH_IMPORT = "from langgraph.func import entrypoint, task; from langgraph.types import interrupt"
HITL_IMPORT = "from hitl import entrypoint, task, interrupt"
QUEUE = "hitl-functional"
ENTRYPOINTS = ["review", "two_questions", "counter", "caught", "async_flow", "fire_and_forget", "ask_after_calling"]


def load(import_line: str, name: str) -> types.ModuleType:
    return load_source(SOURCE, {LANGGRAPH_IMPORT: import_line}, name)


@dataclass
class Case:
    id: str
    entry: str
    input: Any
    answers: list[Any] = field(default_factory=list)
    turns: list[Any] = field(default_factory=list)
    """Inputs of the thread's next turns (each after the one before completed): `previous` carries over."""


CASES = [
    Case("approve", "review", {"x": 3}, ["yes"]),
    Case("reject", "review", {"x": 1}, ["no"]),
    Case("two_questions", "two_questions", "cats", ["hello", "world"]),
    Case("previous", "counter", 2, turns=[5, 1]),
    Case("task_failure", "caught", 3),
    Case("async", "async_flow", {"x": 4}, ["ok"]),
    Case("not_waited_on", "fire_and_forget", 7),
    Case("called_before_asking", "ask_after_calling", 5, ["fine"]),
]


def seen(status: str, interrupts: list[Any], next_nodes: Any) -> dict[str, Any]:
    return {"status": status, "questions": [i.value for i in interrupts], "next": list(next_nodes)}


async def run_langgraph(case: Case) -> tuple[list[dict[str, Any]], list[Any], list[Any]]:
    """What a person saw at each pause and each turn's end, each turn's final value, and which tasks ran."""
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command

    module = load(LANGGRAPH_IMPORT, "lg_functional")
    app = getattr(module, case.entry)
    app.checkpointer = InMemorySaver()
    config = {"configurable": {"thread_id": case.id}}
    pauses: list[dict[str, Any]] = []
    finals: list[Any] = []
    answers = iter(case.answers)
    for given in [case.input, *case.turns]:
        await app.ainvoke(given, config)
        while (state := await app.aget_state(config)).interrupts:
            pauses.append(seen("interrupted", list(state.interrupts), state.next))
            await app.ainvoke(Command(resume=next(answers)), config)
        pauses.append(seen("completed", [], state.next))
        finals.append(state.values)
    return pauses, finals, module.RAN


async def run_hitl(client: hitl.Client, module: types.ModuleType, case: Case) -> tuple[list[dict[str, Any]], list[Any]]:
    pauses: list[dict[str, Any]] = []
    finals: list[Any] = []
    answers = iter(case.answers)
    run = await client.start(case.entry, case.input)
    for n, given in enumerate([case.input, *case.turns]):
        if n > 0:  # the thread's next turn: `previous` is what the turn before saved
            run = await next_turn(client, run.run_id, given)
        snap = await wait_for(run, "interrupted", "completed")
        while snap.status == "interrupted":
            pauses.append(seen(snap.status, snap.interrupts, snap.next))
            snap = await run.resume(next(answers))
            snap = await wait_for(run, "interrupted", "completed")
        pauses.append(seen(snap.status, [], snap.next))
        finals.append(snap.values["value"])
    return pauses, finals


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def functional(client: hitl.Client) -> AsyncIterator[tuple[hitl.Client, types.ModuleType]]:
    """A worker serving every entrypoint of the hitl side of the source."""
    module = load(HITL_IMPORT, "hitl_functional")
    other = hitl.Client(
        client.temporal, task_queue=QUEUE, graphs=[getattr(module, e) for e in ENTRYPOINTS], identity="tester"
    )
    async with other.worker():
        yield other, module


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_same_pauses_values_and_task_runs_as_langgraph(
    functional: tuple[hitl.Client, types.ModuleType], case: Case
) -> None:
    client, module = functional
    expected_pauses, expected_finals, expected_ran = await run_langgraph(case)
    module.RAN.clear()
    pauses, finals = await run_hitl(client, module, case)
    assert pauses == expected_pauses
    assert finals == expected_finals
    assert sorted(module.RAN) == sorted(expected_ran)  # tasks side by side may finish in either order


def update_of(chunk: dict[str, Any]) -> tuple[str, Any]:
    """An "updates" chunk, comparable across both: a question by its value (ids differ)."""
    [(name, update)] = chunk.items()
    if name == "__interrupt__":
        return name, [i.value for i in update]
    return name, update


async def stream_langgraph(case: Case) -> list[tuple[str, Any]]:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command

    app = getattr(load(LANGGRAPH_IMPORT, "lg_functional"), case.entry)
    app.checkpointer = InMemorySaver()
    config = {"configurable": {"thread_id": case.id}}
    out: list[tuple[str, Any]] = []
    given: Any = case.input
    for answer in [*case.answers, None]:
        out += [update_of(c) async for c in app.astream(given, config, stream_mode="updates")]
        given = Command(resume=answer)
    return out


STREAM_CASES = [c for c in CASES if not c.turns]


@pytest.mark.parametrize("case", STREAM_CASES, ids=[c.id for c in STREAM_CASES])
async def test_same_update_chunks_as_langgraph(functional: tuple[hitl.Client, types.ModuleType], case: Case) -> None:
    """Each task's result streams as `{task: result}`, the body's end as `{entrypoint: value}`, and each
    question as `{"__interrupt__": ...}`, in LangGraph's order (tasks side by side in either order)."""
    client, module = functional
    expected = await stream_langgraph(case)
    run = await client.start(case.entry, case.input)
    answers = iter(case.answers)
    streamed: list[tuple[str, Any]] = []
    async for chunk in run.astream("updates", since=0):  # followed live, answered as each question comes
        streamed.append(update_of(chunk))
        if streamed[-1][0] == "__interrupt__":
            await run.resume(next(answers))
    side_by_side = case.entry in ("review", "fire_and_forget")  # two first tasks side by side: either ends first
    assert streamed == expected or (side_by_side and streamed == [expected[1], expected[0], *expected[2:]])


async def test_state_and_history_hold_the_value_the_input_and_what_the_next_turn_gets(
    functional: tuple[hitl.Client, types.ModuleType],
) -> None:
    client, _ = functional
    run = await client.start("counter", 2)
    await run.result()
    state = await run.get_state()
    assert state.values == {"input": 2, "value": 40, "previous": 4}  # LangGraph's values: 40
    history = await run.get_state_history()
    assert [(c.source, c.next) for c in history] == [("loop", []), ("input", ["counter"])]
    assert history[0].values == state.values and history[1].values == {"input": 2}


# ------------------------------------------------------------------ as any graph: CLI, HTTP API, quorum, deadline


async def test_an_entrypoint_end_to_end_through_the_cli(client: hitl.Client) -> None:
    run_id = f"fn-cli-{uuid.uuid4().hex[:8]}"
    started = await cli(
        client, "start", "fn_review", "--input", '{"topic": "cats"}', "--id", run_id, "--wait", "--json"
    )
    assert started.code == 0, started.err
    state = started.json()
    assert state["status"] == "interrupted" and state["next"] == ["fn_review"]  # type: ignore[index]
    assert state["interrupts"][0]["value"]["draft"] == "A short note about cats."  # type: ignore[index]
    refused = await cli(client, "resume", run_id, "--value", '"maybe"')
    assert "does not fit its schema: 'maybe' is not one of ['yes', 'no']" in one_line_error(refused)
    resumed = await cli(client, "resume", run_id, "--value", '"yes"', "--json")
    assert resumed.code == 0, resumed.err
    assert resumed.json()["status"] == "completed"  # type: ignore[index]
    result = json.loads((await cli(client, "result", run_id)).out)
    assert result["value"] == {"status": "published: A short note about cats."}
    assert result["input"] == {"topic": "cats"} and result["previous"] == result["value"]


async def test_an_entrypoint_through_the_http_api(served: Served) -> None:
    async with served.http() as http:
        tid = (await http.post("/threads", json={"metadata": {"graph_id": "fn_review"}})).json()["thread_id"]
        asked = (
            await http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "fn_review", "input": {"topic": "tea"}})
        ).json()
        assert asked["__interrupt__"][0]["value"]["draft"] == "A short note about tea."
        done = (
            await http.post(
                f"/threads/{tid}/runs/wait", json={"assistant_id": "fn_review", "command": {"resume": "no"}}
            )
        ).json()
        assert done["value"] == {"status": "rejected"}
        state = (await http.get(f"/threads/{tid}/state")).json()
        assert state["values"]["value"] == {"status": "rejected"} and state["next"] == []


async def test_an_entrypoint_streams_its_tasks_through_the_http_api(served: Served) -> None:
    """The SSE stream of `POST /threads/{id}/runs/stream` carries each task's result as `{task: result}`."""
    async with served.http() as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        parts = []
        for body in (
            {"assistant_id": "fn_review", "input": {"topic": "hail"}, "stream_mode": "updates"},
            {"assistant_id": "fn_review", "command": {"resume": "yes"}, "stream_mode": "updates"},
        ):
            async with http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as response:
                assert response.status_code == 200
                parts += [json.loads(data) for _, event, data in await sse_parts(response) if event == "updates"]
    note = "A short note about hail."
    assert [next(iter(p)) for p in parts] == ["draft", "__interrupt__", "publish", "fn_review"]
    assert parts[0] == {"draft": note} and parts[2] == {"publish": f"published: {note}"}
    assert parts[3] == {"fn_review": {"status": f"published: {note}"}}


async def test_a_task_s_retry_policy_runs_it_again(client: hitl.Client) -> None:
    run = await client.start("fn_flaky", "once")
    assert (await run.result())["value"] == "ok on attempt 2"


async def test_an_entrypoint_s_question_takes_a_quorum(client: hitl.Client) -> None:
    run = await client.start("fn_quorum", "budget")
    await wait_for(run, "interrupted")
    with pytest.raises(hitl.DecisionRejectedError, match="started this run"):
        await run.resume("approve")  # the starter may not vote, as on any graph's quorum
    state = await run.resume("approve", identity="alice")
    assert state.status == "interrupted"  # one vote of two: still asking, the draft task not run again
    await run.resume("approve", identity="bob")
    done = await wait_for(run, "completed")
    assert done.values["value"] == {
        "votes": [["alice", "approve"], ["bob", "approve"]],
        "text": "A short note about budget.",
    }


async def test_an_entrypoint_s_question_answered_by_its_deadline(client: hitl.Client) -> None:
    run = await client.start("fn_deadline", "rain")
    await wait_for(run, "interrupted")
    await run.result()  # the run ends once the deadline's durable timer fired
    done = await run.get_state()
    assert done.values["value"] == {"answer": "auto-approved", "status": "published: A short note about rain."}
    assert [d.kind for d in done.decisions if d.kind == "deadline"] == ["deadline"]


async def test_an_entrypoint_s_question_is_claimed_released_and_widened_as_a_graph_s(client: hitl.Client) -> None:
    """Claims and escalation reach an entrypoint's question as a node's: a holder keeps the others of its role
    out (their answer refused, nothing written), a release lets them in, the ladder widens it to the boss."""
    run = await client.start("fn_claimed", "contract")
    await wait_for(run, "interrupted")
    held = await run.claim(identity="ann", roles=["legal"])
    assert held.interrupts[0].claimed_by == "ann"
    before = await event_count(client, run.run_id)
    with pytest.raises(hitl.DecisionRejectedError, match="ann"):
        await run.resume("yes", identity="bob", roles=["legal"])
    assert await event_count(client, run.run_id) == before  # refused: nothing written
    await run.release(identity="ann", roles=["legal"])
    for _ in range(200):  # the ladder's step, 2 s after it asked
        state = await run.get_state()
        if any(d.kind == "escalate" for d in state.decisions):
            break
        await asyncio.sleep(0.05)
    assert "boss" in state.interrupts[0].reviewers, state.interrupts[0]
    await run.resume("yes", identity="boss")
    done = await wait_for(run, "completed")
    assert done.values["value"] == {"answer": "yes", "status": "published: A short note about contract."}
    assert [(d.kind, d.identity) for d in done.decisions if d.kind in ("claim", "release", "resume")] == [
        ("claim", "ann"),
        ("release", "ann"),
        ("resume", "boss"),
    ]


async def test_interrupt_inside_a_task_fails_the_run_in_one_line(client: hitl.Client) -> None:
    run = await client.start("fn_asks_in_task", 1)
    failed = await wait_for(run, "failed", timeout=60)
    assert failed.error is not None and "interrupt() was called inside @task 'ask_inside'" in failed.error


async def test_a_graph_node_may_call_tasks_too(client: hitl.Client) -> None:
    run = await client.start("task_in_node", {"topic": "fog"})
    asked = await wait_for(run, "interrupted")
    assert asked.interrupts[0].value == {"draft": "A short note about fog."}
    await run.resume("yes")
    assert (await run.result())["status"] == "published: A short note about fog."
