"""Watching a run (`Run.events()`, `Run.astream()`, `hitl watch`) on a real dev server.

Each test reads the stream a person or a program would read and checks the
order and completeness of what it says: every node's update, the state after
each step, every pause with its questions, every decision with who made it,
and the end, across continue-as-new and encryption, for streams opened at the
start, mid-run and after the end.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import hitl
from hitl.client.stream import RunEvent
from hitl.types import Interrupt, InvalidInputError, RunNotFoundError
from tests import graphs
from tests.helpers import ROOT, TASK_QUEUE, cli, encrypted_client, one_line_error, wait_for

TIMEOUT = 60


async def collect(events: AsyncIterator[Any], timeout: float = TIMEOUT) -> list[Any]:
    async def read() -> list[Any]:
        return [e async for e in events]

    return await asyncio.wait_for(read(), timeout)


def kinds(events: list[RunEvent]) -> list[str]:
    return [e.kind if e.kind != "node" else f"node:{e.node}" for e in events]


async def test_a_chain_streams_each_node_and_each_step_in_order(client: hitl.Client) -> None:
    run = await client.start("chain", {"text": ""})
    events = await collect(run.events(since=0))
    assert kinds(events) == [
        "values",
        "node:a",
        "values",
        "node:b",
        "values",
        "node:c",
        "values",
        "completed",
    ]
    assert [e.update for e in events if e.kind == "node"] == [
        {"text": "a", "trail": ["a"]},
        {"text": "ab", "trail": ["b"]},
        {"text": "abc", "trail": ["c"]},
    ]
    assert [e.seq for e in events if e.kind == "values"] == [0, 1, 2, 3]
    assert [e.source for e in events if e.kind == "values"] == ["input", "loop", "loop", "loop"]
    assert events[-1].values == {"text": "abc", "trail": ["a", "b", "c"]}
    assert events[-1].status == "completed"


async def test_a_parallel_step_reports_each_node_before_the_joined_state(client: hitl.Client) -> None:
    run = await client.start("fan_join", {})
    events = await collect(run.events(since=0))
    assert kinds(events) == [
        "values",
        "node:a",
        "values",
        "node:b",
        "node:c",
        "values",
        "node:b2",
        "values",
        "node:d",
        "values",
        "completed",
    ]
    step2 = [e for e in events if e.step == 2]
    assert [(e.node, e.update) for e in step2 if e.kind == "node"] == [
        ("b", {"log": ["b"], "total": 10}),
        ("c", {"log": ["c"], "total": 1000}),
    ]
    assert events[-1].values is not None and events[-1].values["joined"] == 1111


async def test_a_pause_and_a_resume_by_identity_stream_live(client: hitl.Client) -> None:
    run = await client.start("review", {"draft": "tea"})
    seen: list[RunEvent] = []

    async def watch() -> None:
        async for event in run.events(since=0):
            seen.append(event)
            if event.kind == "paused":
                await run.resume("approve", identity="alice", wait=False)

    await asyncio.wait_for(watch(), TIMEOUT)
    assert kinds(seen) == [
        "values",
        "node:write",
        "values",
        "paused",
        "decision",
        "node:review",
        "values",
        "node:publish",
        "values",
        "completed",
    ]
    paused, decision = seen[3], seen[4]
    [asked] = paused.interrupts
    assert asked.node == "review" and asked.value == {"draft": "tea"} and paused.next == ["review"]
    assert decision.decision is not None
    assert (decision.decision.identity, decision.decision.kind, decision.decision.value) == (
        "alice",
        "resume",
        "approve",
    )
    assert decision.decision.interrupt_id == asked.id
    assert seen[5].update == {"log": ["review:approve:tea"]}


async def test_a_stream_opened_on_a_paused_run_shows_it_then_waits(client: hitl.Client) -> None:
    run = await client.start("review", {"draft": "tea"})
    paused_state = await wait_for(run, "interrupted")
    events = run.events()
    first = [await asyncio.wait_for(anext(events), TIMEOUT) for _ in range(2)]
    assert kinds(first) == ["values", "paused"]
    assert first[0].values == paused_state.values and first[0].source is None
    assert [i.id for i in first[1].interrupts] == [i.id for i in paused_state.interrupts]
    waiting = asyncio.ensure_future(anext(events))
    await asyncio.sleep(2)
    assert not waiting.done(), "a stream on a paused run must wait, not end"
    await run.resume("reject", identity="bob", wait=False)
    rest = [await asyncio.wait_for(waiting, TIMEOUT)] + await collect(events)
    assert kinds(rest) == ["decision", "node:review", "values", "node:discard", "values", "completed"]
    assert rest[0].decision is not None and rest[0].decision.identity == "bob"


async def test_an_idle_paused_run_costs_no_queries(client: hitl.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    run = await client.start("review", {"draft": "tea"})
    await wait_for(run, "interrupted")
    queries: list[str] = []
    original = hitl.Run._query

    async def counting(self: hitl.Run, name: str, *args: Any, **kwargs: Any) -> Any:
        queries.append(name)
        return await original(self, name, *args, **kwargs)

    monkeypatch.setattr(hitl.Run, "_query", counting)
    events = run.events()
    assert kinds([await anext(events), await anext(events)]) == ["values", "paused"]
    waiting = asyncio.ensure_future(anext(events))
    await asyncio.sleep(1)  # the history's first page arrives and wakes one reading
    settled = len(queries)
    await asyncio.sleep(4)
    assert len(queries) == settled, f"queries while nothing happened: {queries[settled:]}"
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    await events.aclose()  # type: ignore[attr-defined]


async def test_until_pause_ends_at_the_pause_and_replays_past_ones(client: hitl.Client) -> None:
    run = await client.start("review_breaks", {"draft": "tea"})
    first = await collect(run.events(since=0, until_pause=True))
    assert kinds(first) == ["values", "node:write", "values", "paused"]
    assert first[-1].breakpoint == "after" and first[-1].interrupts == []
    await run.resume(identity="carol")  # continue from the breakpoint: the question comes next
    await run.update_state({"draft": "coffee"}, identity="zed")  # withdraws the question: asked again
    await run.resume("approve", identity="dave")  # then the breakpoint before publish
    await run.resume(identity="erin")
    replay = await collect(run.events(since=0))
    assert kinds(replay) == [
        "values",
        "node:write",
        "values",
        "paused",  # after write (rebuilt from the record: this stream opened later)
        "decision",
        "decision",  # the edit
        "values",
        "paused",  # the question asked again about the edit
        "decision",
        "node:review",
        "values",
        "paused",  # before publish
        "decision",
        "node:publish",
        "values",
        "completed",
    ]
    asked = replay[7].interrupts
    assert [(i.node, i.value) for i in asked] == [("review", {"draft": "coffee"})]
    assert [e.decision.identity for e in replay if e.decision] == ["carol", "zed", "dave", "erin"]
    assert replay[11].next == ["publish"]
    assert replay[-1].values is not None and replay[-1].values["status"] == "published"


async def test_a_stream_opened_after_the_end_shows_the_end(client: hitl.Client) -> None:
    run = await client.start("chain", {"text": ""})
    final = await run.result()
    events = await collect(run.events())
    assert kinds(events) == ["values", "completed"]
    assert events[0].values == final == events[1].values


async def test_a_stream_opened_mid_run_follows_it(client: hitl.Client, tmp_path: Path) -> None:
    marker = tmp_path / "slow-started"
    run = await client.start("slow", {"marker": str(marker)})
    for _ in range(300):
        if marker.exists():
            break
        await asyncio.sleep(0.1)
    assert marker.exists(), "the slow node never started"
    events = await collect(run.events())  # opened while the slow node runs (it takes 3 s)
    assert kinds(events) == ["values", "node:slow", "values", "node:after", "values", "completed"]
    assert events[0].status == "running" and events[0].values == {"marker": str(marker), "done": []}
    assert events[-1].values is not None and events[-1].values["done"] == ["slow", "after"]


async def test_a_failed_run_ends_its_stream_with_the_reason(client: hitl.Client) -> None:
    run = await client.start("flaky", {"key": uuid.uuid4().hex})
    events = await collect(run.events(since=0))
    assert kinds(events) == ["values", "failed"]
    assert events[-1].error is not None and "node 'flaky' failed" in events[-1].error
    assert events[-1].status == "failed"


async def test_a_stream_follows_continue_as_new(client: hitl.Client) -> None:
    run = await client.start("long_loop", {"i": 0, "limit": 120, "every": 40}, max_history_events=120)
    answered: list[str] = []
    seen: list[RunEvent] = []

    async def watch() -> None:
        async for event in run.events(since=0):
            seen.append(event)
            if event.kind == "paused":
                [asked] = event.interrupts
                answered.append(asked.id)
                await run.resume(f"ok{len(answered)}", identity="frank", wait=False)

    await asyncio.wait_for(watch(), TIMEOUT)
    generations = [
        w async for w in client.temporal.list_workflows(f'WorkflowId = "{run.run_id}"')
    ]  # one execution per history
    assert len(generations) > 1, "the run was meant to continue as new at least once"
    nodes = [e for e in seen if e.kind == "node"]
    assert [e.update["i"] for e in nodes] == list(range(1, 121))
    assert len(answered) == 2 and len(set(answered)) == 2
    assert [e.decision.value for e in seen if e.decision] == ["ok1", "ok2"]
    assert seen[-1].kind == "completed" and seen[-1].values is not None
    assert seen[-1].values["approvals"] == ["40:ok1", "80:ok2"]


async def test_an_encrypted_run_streams_through_the_codec(client: hitl.Client) -> None:
    key = secrets.token_bytes(32)
    queue = f"hitl-stream-{uuid.uuid4().hex[:8]}"
    owner = await encrypted_client(client, {"k1": key}, "k1", queue, identity="owner")
    async with owner.worker(graphs=graphs.GRAPHS):
        run = await owner.start("review", {"draft": "top secret draft"})
        seen: list[RunEvent] = []
        async for event in run.events(since=0):
            seen.append(event)
            if event.kind == "paused":
                assert event.interrupts[0].value == {"draft": "top secret draft"}
                await run.resume("approve", identity="owner", wait=False)
        assert seen[-1].kind == "completed"
        assert seen[-1].values is not None and seen[-1].values["status"] == "published"
    raw = client.temporal.get_workflow_handle(run.run_id)
    history = b"".join([e.SerializeToString() async for e in raw.fetch_history_events()])
    assert b"top secret" not in history


async def test_langgraph_chunks_of_a_run(client: hitl.Client) -> None:
    run = await client.start("review", {"draft": "tea"})
    got: list[Any] = []
    async for mode, chunk in run.astream(["updates", "values"], since=0):
        got.append((mode, chunk))
        if mode == "updates" and "__interrupt__" in chunk:
            await run.resume("approve", wait=False)
    [interrupt] = got[3][1]["__interrupt__"]
    assert isinstance(interrupt, Interrupt) and interrupt.value == {"draft": "tea"}
    assert got == [
        ("values", {"draft": "tea", "log": []}),
        ("updates", {"write": {"draft": "tea", "log": ["write"]}}),
        ("values", {"draft": "tea", "log": ["write"]}),
        ("updates", {"__interrupt__": (interrupt,)}),
        ("values", {"draft": "tea", "log": ["write"], "__interrupt__": (interrupt,)}),
        ("updates", {"review": {"log": ["review:approve:tea"]}}),
        ("values", {"draft": "tea", "log": ["write", "review:approve:tea"]}),
        ("updates", {"publish": {"status": "published", "log": ["publish"]}}),
        ("values", {"draft": "tea", "log": ["write", "review:approve:tea", "publish"], "status": "published"}),
    ]
    # Replayed after the end, a question is rebuilt from the decision that answered it (id and value).
    only_updates = await collect(run.astream(since=0))
    assert plain(only_updates) == plain([c for m, c in got if m == "updates"])
    only_values = await collect(run.astream("values", since=0))
    assert plain(only_values) == plain([c for m, c in got if m == "values"])


def plain(chunks: list[Any]) -> list[Any]:
    """Chunks with each Interrupt as (id, value)."""
    return [
        {k: [(i.id, i.value) for i in v] if k == "__interrupt__" else v for k, v in chunk.items()} for chunk in chunks
    ]


async def test_bad_stream_modes_and_unknown_runs_are_refused(client: hitl.Client) -> None:
    run = client.get_run(f"nobody-{uuid.uuid4().hex[:8]}")
    for bad in ("messages", ["updates", "debug"], []):
        with pytest.raises(InvalidInputError, match="stream_mode"):
            run.astream(bad)  # type: ignore[arg-type]
    with pytest.raises(RunNotFoundError, match=f"no run '{run.run_id}'"):
        await collect(run.events())


# ----------------------------------------------------------------- the CLI


async def test_watch_prints_a_line_per_event_and_exits_by_outcome(client: hitl.Client) -> None:
    done = await client.start("chain", {"text": ""})
    await done.result()
    shown = await cli(client, "watch", done.run_id, "--since", "0")
    assert shown.code == 0, shown
    lines = shown.out.strip().splitlines()
    assert len(lines) == 8 and "node" in lines[1] and "a:" in lines[1] and "completed" in lines[-1]
    as_json = await cli(client, "watch", done.run_id, "--since", "0", "--json")
    records = [json.loads(line) for line in as_json.out.strip().splitlines()]
    assert [r["kind"] for r in records] == ["values", "node", "values", "node", "values", "node", "values", "completed"]
    failed = await client.start("flaky", {"key": uuid.uuid4().hex})
    bad = await cli(client, "watch", failed.run_id)
    assert bad.code == 1 and "node 'flaky' failed" in bad.out and f"run '{failed.run_id}'" in bad.err
    missing = one_line_error(await cli(client, "watch", "no-such-run-xyz"))
    assert "no run 'no-such-run-xyz'" in missing


async def test_watch_waits_while_paused_or_stops_there(client: hitl.Client) -> None:
    run = await client.start("review", {"draft": "tea"})
    await wait_for(run, "interrupted")
    stopped = await cli(client, "watch", run.run_id, "--until-pause")
    assert stopped.code == 0 and "paused" in stopped.out.splitlines()[-1] and "review" in stopped.out
    address = client.temporal.service_client.config.target_host
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "starter.py"), "watch", run.run_id, "--json", "--address", address,
        "--task-queue", TASK_QUEUE, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    first = [json.loads(await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)) for _ in range(2)]
    assert [r["kind"] for r in first] == ["values", "paused"]
    await run.resume("approve", identity="gina", wait=False)
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    records = [json.loads(line) for line in out.decode().splitlines()]
    assert records[0]["kind"] == "decision" and records[0]["decision"]["identity"] == "gina"
    assert records[-1]["kind"] == "completed" and proc.returncode == 0, err


async def test_watch_stops_cleanly_on_ctrl_c_and_a_closed_pipe(client: hitl.Client) -> None:
    run = await client.start("review", {"draft": "tea"})
    await wait_for(run, "interrupted")
    address = client.temporal.service_client.config.target_host
    args = [sys.executable, str(ROOT / "starter.py"), "watch", run.run_id, "--address", address]
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    for _ in range(2):
        await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)
    proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    assert proc.returncode == 130 and b"Traceback" not in err, err
    # The reader goes away while the run is paused; the next event meets the closed pipe.
    again = await client.start("review", {"draft": "tea"})
    await wait_for(again, "interrupted")
    args[3] = again.run_id
    reader = await asyncio.to_thread(subprocess.Popen, args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    for _ in range(2):
        await asyncio.wait_for(asyncio.to_thread(reader.stdout.readline), TIMEOUT)
    reader.stdout.close()
    await again.resume("approve", wait=False)
    code = await asyncio.wait_for(asyncio.to_thread(reader.wait), TIMEOUT)
    err = reader.stderr.read()
    assert code == 141 and b"Traceback" not in err and b"Broken pipe" not in err, err


async def test_watch_with_custom_prints_what_nodes_wrote_before_their_pause_and_update(client: hitl.Client) -> None:
    run = await client.start("stream_progress", {}, context={"user": "ada"})
    await wait_for(run, "interrupted")
    await run.resume("yes")
    await wait_for(run, "completed")
    shown = await cli(client, "watch", run.run_id, "--since", "0", "--json", "--custom")
    assert shown.code == 0, shown
    records = [json.loads(line) for line in shown.out.strip().splitlines()]
    kinds = [r["kind"] for r in records]
    assert kinds == ["values", "custom", "paused", "decision", "custom", "custom", "node", "values", "completed"]
    started = {"progress": "started", "for": "ada"}  # written again: the node runs again from its top
    assert [r["update"] for r in records if r["kind"] == "custom"] == [started, started, {"progress": "answered yes"}]
    assert {r["node"] for r in records if r["kind"] == "custom"} == {"work"}
    plain = await cli(client, "watch", run.run_id, "--since", "0", "--json")
    assert "custom" not in [json.loads(line)["kind"] for line in plain.out.strip().splitlines()]
    people = await cli(client, "watch", run.run_id, "--since", "0", "--custom")
    assert 'custom    work: {"progress": "started", "for": "ada"}' in people.out


async def test_custom_events_of_an_encrypted_run_stream_through_the_codec(client: hitl.Client) -> None:
    key = secrets.token_bytes(32)
    queue = f"hitl-stream-{uuid.uuid4().hex[:8]}"
    owner = await encrypted_client(client, {"k1": key}, "k1", queue, identity="owner")
    async with owner.worker(graphs=graphs.GRAPHS):
        run = await owner.start("stream_progress", {}, context={"user": "secret agent"})
        got = []
        async for chunk in run.astream("custom", since=0):
            got.append(chunk)
            if len(got) == 1:
                await run.resume("yes", wait=False)
        started = {"progress": "started", "for": "secret agent"}
        assert got == [started, started, {"progress": "answered yes"}]
    raw = client.temporal.get_workflow_handle(run.run_id)
    history = b"".join([e.SerializeToString() async for e in raw.fetch_history_events()])
    assert b"secret agent" not in history
