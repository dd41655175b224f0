"""Live streams of `hitl serve` as a hostile or unlucky caller meets them: a cap on the streams one
identity holds open, a 404 for a thread no run uses, and an `error` event (never a silent close) when
the run disappears or Temporal goes away under an open stream (a dev server of the test's own)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest

import hitl
from hitl.web import Settings, TokenAuth, create_app
from hitl.web.testing import running
from tests.helpers import event_count, wait_for
from tests.web_fixtures import TOKENS, Served, own_temporal, sse_parts


def as_(url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


async def paused(client: hitl.Client) -> hitl.Run:
    run = await client.start("approval", {"topic": "tea"})
    await wait_for(run, "interrupted")
    return run


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """(event, data) pairs of an SSE response, as they come."""
    name = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield name, line[6:]


async def test_open_streams_are_capped_per_identity_and_a_closed_one_frees_its_place(client: hitl.Client) -> None:
    app = create_app(client, TokenAuth(TOKENS), settings=Settings(poll_seconds=0.2, max_streams=2))
    run = await paused(client)
    path = f"/threads/{run.run_id}/stream"
    async with running(app) as url, as_(url, "tok-alice") as alice, as_(url, "tok-bob") as bob:
        async with AsyncExitStack() as open_streams:
            readers = []  # kept: a reader dropped would close its stream
            for _ in range(2):
                response = await open_streams.enter_async_context(alice.stream("GET", path))
                assert response.status_code == 200
                readers.append(events(response))
                assert (await anext(readers[-1]))[0] == "paused"  # open and serving
            third = await alice.get(path)
            assert third.status_code == 429, third.text
            detail = third.json()["detail"]
            assert "\n" not in detail and "'alice' already has 2 live streams open" in detail
            assert "--max-streams 2" in detail
            # runs/stream is a stream too: refused before the decision is sent, nothing written.
            before = await event_count(client, run.run_id)
            answer = await alice.post(
                f"/threads/{run.run_id}/runs/stream", json={"assistant_id": "approval", "command": {"resume": "reject"}}
            )
            assert answer.status_code == 429 and "live streams" in answer.json()["detail"]
            assert await event_count(client, run.run_id) == before
            assert (await run.get_state()).status == "interrupted"
            async with bob.stream("GET", path) as other:  # the cap is per identity
                assert other.status_code == 200
        # Both of alice's streams closed: their places are free again (once the server sees them go).
        for _ in range(100):
            async with alice.stream("GET", path) as again:
                if again.status_code == 200:
                    break
            await asyncio.sleep(0.1)
        assert again.status_code == 200
    await run.resume("reject")


async def test_a_stream_on_a_thread_no_run_uses_is_404_and_holds_no_place(client: hitl.Client) -> None:
    app = create_app(client, TokenAuth(TOKENS), settings=Settings(max_streams=1))
    async with running(app) as url, as_(url, "tok-alice") as alice:
        for _ in range(3):  # more than the cap: a refused stream never held a place
            missing = await alice.get(f"/threads/nothing-{uuid.uuid4().hex[:8]}/stream")
            assert missing.status_code == 404, missing.text
            assert "no run 'nothing-" in missing.json()["detail"]
        run = await paused(client)
        async with alice.stream("GET", f"/threads/{run.run_id}/stream") as response:
            assert response.status_code == 200
    await run.resume("reject")


async def test_a_stream_whose_run_is_deleted_ends_with_an_error_event(client: hitl.Client) -> None:
    app = create_app(client, TokenAuth(TOKENS))
    run = await paused(client)
    seen: list[tuple[str, str]] = []
    async with running(app) as url, as_(url, "tok-alice") as alice:

        async def listen() -> None:
            async with alice.stream("GET", f"/threads/{run.run_id}/stream") as response:
                async for name, data in events(response):
                    seen.append((name, data))
                    if name == "paused":
                        await client.temporal.workflow_service.delete_workflow_execution(
                            DeleteWorkflowExecutionRequest(
                                namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=run.run_id)
                            )
                        )

        await asyncio.wait_for(listen(), 60)
    names = [n for n, _ in seen]
    assert names[0] == "paused" and names[-1] in ("error", "end"), seen
    if names[-1] == "error":  # gone before the stream read its end: the error says so
        error = json.loads(seen[-1][1])
        assert set(error) == {"error", "message"} and run.run_id in error["message"], error
    else:  # read the termination first: an end, never a silent close
        assert "ended" in names, seen


@pytest.mark.server
async def test_streams_end_with_an_error_event_when_temporal_goes_away(tmp_path: Path) -> None:
    """A dev server of this test's own is stopped under an open thread stream and the inbox's feed:
    each ends with `event: error` and LangGraph's `{"error", "message"}` after its retries."""
    async with (
        own_temporal(tmp_path, "streams-lost", stopped=True) as (server, client, url),
        as_(url, "tok-alice") as alice,
    ):
        async with AsyncExitStack() as stack:
            async with client.worker():
                run = await client.start("review", {"draft": "d"})
                await wait_for(run, "interrupted")
                thread = await stack.enter_async_context(alice.stream("GET", f"/threads/{run.run_id}/stream"))
                inbox = await stack.enter_async_context(alice.stream("GET", "/ui/inbox/stream"))
                thread_events = events(thread)
                assert (await anext(thread_events))[0] == "paused"
            await asyncio.to_thread(server.stop)
            stopped = time.monotonic()
            last_thread = [e async for e in thread_events]
            last_inbox = [e async for e in events(inbox)]
            print(f"streams ended {time.monotonic() - stopped:.1f}s after the server stopped")
    for last in (last_thread, last_inbox):
        assert last and last[-1][0] == "error", last
        error = json.loads(last[-1][1])
        assert set(error) == {"error", "message"} and "cannot reach Temporal" in error["message"], error


async def test_a_run_stream_rejoined_with_last_event_id_sends_what_followed(served: Served) -> None:
    """The SDK's join_stream: the run's id from Content-Location, then GET .../runs/{run_id}/stream with
    Last-Event-ID sends the parts after that event, the same ids and data (rebuilt from the run's history),
    for a start and for an answer; `stream_mode` picks the modes, ids unchanged (without it: `values`, a
    LangGraph run's default). The ids are the thread's run ids (runs.list; an answer's is its Idempotency-Key)."""
    async with as_(served.url, "tok-alice") as alice:
        thread = (await alice.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": "approval", "input": {"topic": "tea"}, "stream_mode": ["values", "updates", "tasks"]}
        answer = {"assistant_id": "approval", "input": {}, "command": {"resume": "reject"}, "stream_mode": "updates"}
        key = str(uuid.uuid4())
        run_ids = []
        for request in (body, answer):
            headers = {"Idempotency-Key": key} if request is answer else {}
            async with alice.stream(
                "POST", f"/threads/{thread}/runs/stream", json=request, headers=headers
            ) as response:
                assert response.status_code == 200
                location = response.headers["content-location"]
                first = await sse_parts(response)
            assert location.startswith(f"/threads/{thread}/runs/") and first[0][1] == "metadata"
            run_id = location.rsplit("/", 1)[1]
            run_ids.append(run_id)
            assert json.loads(first[0][2])["run_id"] == run_id
            ids = [i for i, _, _ in first]
            assert all(ids) and len(set(ids)) == len(ids), ids
            join = f"/threads/{thread}/runs/{run_id}/stream"
            modes = {"stream_mode": request["stream_mode"]}
            async with alice.stream("GET", join, params=modes, headers={"Last-Event-ID": ids[1]}) as again:
                assert again.status_code == 200 and again.headers["content-location"] == location
                assert await sse_parts(again) == first[2:]
            async with alice.stream("GET", join, params=modes) as whole:  # modes named: no metadata, as LangGraph
                assert await sse_parts(whole) == first[1:]
            if request is body:  # fewer modes than the request streamed: the same ids for the same parts
                async with alice.stream("GET", join) as values:
                    assert await sse_parts(values) == [p for p in first if p[1] in ("metadata", "values")]
        listed = (await alice.get(f"/threads/{thread}/runs")).json()
        assert [r["run_id"] for r in listed] == [key, run_ids[0]] == run_ids[::-1], listed
        async with alice.stream(
            "GET", join, params={"stream_mode": "updates"}, headers={"Last-Event-ID": "0-0"}
        ) as some:
            assert await sse_parts(some) == [p for p in first if p[1] == "updates"]
        unknown = f"/threads/{thread}/runs/{uuid.uuid4()}/stream"
        async with alice.stream("GET", unknown) as missing:
            ((_, name, data),) = await sse_parts(missing)
        assert name == "error" and "has no run" in json.loads(data)["message"]
        bad = await alice.get(join, headers={"Last-Event-ID": "yesterday"})
        assert bad.status_code == 422 and "is not an event id" in bad.json()["detail"]
    async with as_(served.url, "tok-dana") as dana:  # view-only: may rejoin to read, not cancel by leaving
        async with dana.stream("GET", join, params=modes, headers={"Last-Event-ID": ids[-2]}) as read:
            assert await sse_parts(read) == first[-1:]
        refused = await dana.get(join, params={"cancel_on_disconnect": "true"})
        assert refused.status_code == 403 and "view-only" in refused.json()["detail"]


async def test_on_disconnect_cancel_cancels_the_run_when_its_client_goes_away(served: Served) -> None:
    """`on_disconnect: cancel` (useStream's and Agent Inbox's choice): a client gone before the run paused or
    ended cancels it, recorded as the caller's decision; with `continue` the run goes on to its question."""
    async with as_(served.url, "tok-alice") as alice:
        runs = {}
        for mode in ("cancel", "continue"):
            thread = (await alice.post("/threads", json={})).json()["thread_id"]
            body = {"assistant_id": "slow_work", "input": {}, "stream_mode": "updates", "on_disconnect": mode}
            async with alice.stream("POST", f"/threads/{thread}/runs/stream", json=body) as response:
                assert response.status_code == 200
                location = response.headers["content-location"]
                async for line in response.aiter_lines():
                    if line.startswith("event: metadata"):
                        break  # and go away while `work` runs
            runs[mode] = served.client.get_run(thread)
        cancelled = await wait_for(runs["cancel"], "cancelled")
        assert cancelled.decisions[-1].kind == "cancel" and cancelled.decisions[-1].identity == "alice", cancelled
        # The run left running is rejoined after the event last seen (useStream's reconnect), to its question.
        again = {"stream_mode": "updates"}
        async with alice.stream(
            "GET", f"{location}/stream", params=again, headers={"Last-Event-ID": "1-0"}
        ) as rejoined:
            rest = [(name, json.loads(data)) for _, name, data in await sse_parts(rejoined)]
        assert rest[0] == ("updates", {"work": {"log": ["worked"]}}), rest
        assert [name for name, _ in rest] == ["updates", "updates"] and "__interrupt__" in rest[1][1], rest
        assert (await runs["continue"].get_state()).status == "interrupted"
        await runs["continue"].resume("fine")


async def test_messages_modes_send_each_message_a_node_wrote_with_its_metadata(served: Served) -> None:
    """`messages-tuple` (event `messages`, `[message, metadata]`) and `messages` (`messages/metadata`,
    `messages/complete`): each message a node wrote, whole, when the node finished, before its update."""
    async with as_(served.url, "tok-alice") as alice:
        thread = (await alice.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": "chat_turn", "input": {}, "stream_mode": ["messages-tuple", "messages", "updates"]}
        async with alice.stream("POST", f"/threads/{thread}/runs/stream", json=body) as response:
            found = [(name, json.loads(data)) for _, name, data in await sse_parts(response)]
        answer = {**body, "input": {}, "command": {"resume": "yes"}}
        async with alice.stream("POST", f"/threads/{thread}/runs/stream", json=answer) as response:
            after = [(name, json.loads(data)) for _, name, data in await sse_parts(response)]
    names = [name for name, _ in found]
    assert names == ["metadata", "messages", "messages/metadata", "messages/complete", "updates", "updates"], names
    message, meta = found[1][1]
    # As stored: an add_messages key keeps a role dict as LangChain serializes it (hitl/messages.py).
    assert (message["type"], message["content"], message["id"]) == ("ai", "hello", "m-1"), message
    assert meta["langgraph_node"] == "greet" and meta["langgraph_step"] == 1 and meta["thread_id"] == thread
    assert meta["langgraph_path"] == ["__pregel_pull", "greet"] and meta["graph_id"] == "chat_turn"
    assert found[2][1] == {"m-1": {"metadata": meta}} and found[3][1] == [message]
    assert [n for n, _ in after] == ["metadata", "messages", "messages/metadata", "messages/complete", "updates"]
    assert after[1][1][0]["content"] == "yes" and after[1][1][1]["langgraph_node"] == "ask"


async def test_a_next_turn_streams_its_own_parts_from_its_input_in_every_mode_and_rejoins(served: Served) -> None:
    """New input on a finished thread: its stream starts at LangGraph's input checkpoint of that run (the state
    before the input, `__start__` next) and sends none of the thread's earlier steps, in every mode; its run id
    (Content-Location) is the thread's newest run and rejoins with Last-Event-ID."""
    modes = ["values", "updates", "checkpoints", "events", "tasks", "debug"]
    async with as_(served.url, "tok-alice") as alice:
        thread = (await alice.post("/threads", json={})).json()["thread_id"]
        await alice.post(f"/threads/{thread}/runs/wait", json={"assistant_id": "approval", "input": {"topic": "tea"}})
        await alice.post(
            f"/threads/{thread}/runs/wait", json={"assistant_id": "approval", "command": {"resume": "approve"}}
        )
        before = (await alice.get(f"/threads/{thread}/state")).json()
        body = {"assistant_id": "approval", "input": {"topic": "coffee"}, "stream_mode": modes}
        async with alice.stream("POST", f"/threads/{thread}/runs/stream", json=body) as response:
            assert response.status_code == 200
            run_id = response.headers["content-location"].rsplit("/", 1)[1]
            first = await sse_parts(response)
        listed = (await alice.get(f"/threads/{thread}/runs")).json()
        join = f"/threads/{thread}/runs/{run_id}/stream"
        kept = ["values", "updates", "checkpoints", "tasks"]  # `debug` and `events` carry the time they are sent
        rejoin = alice.stream("GET", join, params={"stream_mode": kept}, headers={"Last-Event-ID": first[1][0]})
        async with rejoin as again:
            rejoined = await sse_parts(again)
    parts = [(name, json.loads(data)) for _, name, data in first]
    assert listed[0]["run_id"] == run_id and len(listed) == 3  # the start, the answer, this turn
    assert parts[1] == ("events", parts[1][1]) and parts[1][1]["data"] == {"input": {"topic": "coffee"}}
    name, opening = parts[2]
    assert name == "checkpoints" and opening["next"] == ["__start__"] and opening["values"] == before["values"]
    values = [data for name, data in parts if name == "values"]
    assert values[0] == {**before["values"], "topic": "coffee"}  # from its input on
    steps = [data["step"] for name, data in parts if name == "debug"]
    assert min(steps) >= before["metadata"]["step"]  # nothing of the thread's earlier steps
    assert [data["name"] for name, data in parts if name == "tasks" and "result" in data] == ["write_draft", "review"]
    assert rejoined == [p for p in first[2:] if p[1] in kept]


async def streamed_answer(
    http: httpx.AsyncClient, thread: str, graph: str, answer: Any, modes: list[str]
) -> tuple[str, list[tuple[str, str, str]]]:
    """One answer streamed in its own request: its run id (its Idempotency-Key) and its parts."""
    key = str(uuid.uuid4())
    body = {"assistant_id": graph, "input": {}, "command": {"resume": answer}, "stream_mode": modes}
    async with http.stream(
        "POST", f"/threads/{thread}/runs/stream", json=body, headers={"Idempotency-Key": key}
    ) as response:
        assert response.status_code == 200
        return key, await sse_parts(response)


async def rejoined(http: httpx.AsyncClient, thread: str, run_id: str, modes: list[str]) -> list[tuple[str, str, str]]:
    async with http.stream("GET", f"/threads/{thread}/runs/{run_id}/stream", params={"stream_mode": modes}) as again:
        return await sse_parts(again)


def updates(found: list[tuple[str, str, str]]) -> list[Any]:
    return [json.loads(data) for _, name, data in found if name == "updates"]


@pytest.mark.parametrize(
    ("graph", "given", "answers", "last"),
    [
        ("two_questions", {}, ["bob", 7], [{"ask": {"name": "bob", "age": 7}}]),
        (
            "parallel",
            {},
            None,
            [
                {"left": {"answers": ["left=ok:0"]}},
                {"quiet": {"answers": ["quiet"]}},
                {"right": {"answers": ["right=ok:1"]}},
            ],
        ),
        (
            "send_review",
            {"subjects": ["cats", "dogs"]},
            None,
            [
                {"joke": {"jokes": ["cats:ok:0"]}},
                {"joke": {"jokes": ["dogs:ok:1"]}},
                {"pick": {"best": "cats:ok:0", "log": ["pick:2"]}},
            ],
        ),
    ],
)
async def test_each_answer_streams_what_it_set_off_and_its_rejoin_the_same(
    served: Served, graph: str, given: dict[str, Any], answers: list[Any] | None, last: list[Any]
) -> None:
    """Answers to one step sent one request each (a node asking twice; parallel nodes; Send-mapped tasks):
    each answer's stream starts after the answers before it, so the first reports the question still
    waiting and the last what it set off (the step's updates, the run's end), not the question it answered;
    its rejoin sends the same parts with the same ids, then and after the run ended."""
    modes = ["values", "updates"]
    async with as_(served.url, "tok-alice") as alice:
        thread = (await alice.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": graph, "input": given, "stream_mode": modes}
        async with alice.stream("POST", f"/threads/{thread}/runs/stream", json=body) as response:
            await sse_parts(response)
        if answers is None:  # the step's questions, each answered alone by its id
            asked = (await alice.get(f"/threads/{thread}/state")).json()["interrupts"]
            answers = [{i["id"]: f"ok:{n}"} for n, i in enumerate(sorted(asked, key=lambda i: json.dumps(i["value"])))]
        live = []
        for answer in answers:
            run_id, found = await streamed_answer(alice, thread, graph, answer, modes)
            assert await rejoined(alice, thread, run_id, modes) == found[1:]  # useStream's reconnect, at once
            live.append((run_id, found))
            waiting = (await alice.get(f"/threads/{thread}/state")).json()["interrupts"]
            if waiting:  # the stream ends on the questions still waiting, the ones answered next
                (interrupted,) = updates(found)
                asked = interrupted["__interrupt__"]
                assert [(i["id"], i["value"]) for i in asked] == [(i["id"], i["value"]) for i in waiting], found
        assert len(live) == len(answers) and not waiting
        last_id, final = live[-1]
        assert updates(final) == last, final
        ended = json.loads(final[-1][2])
        assert final[-1][1] == "values" and "__interrupt__" not in ended, final
        state = (await alice.get(f"/threads/{thread}/state")).json()
        assert state["next"] == [] and ended == state["values"], state
        assert await rejoined(alice, thread, last_id, modes) == final[1:]  # rebuilt after the end: the same


async def test_one_request_answering_a_steps_questions_streams_to_what_they_set_off(served: Served) -> None:
    """Both parallel questions answered in one request (`{interrupt_id: answer}`): one answer, so its stream
    goes on through the step to the run's end, not stopping between its two decisions; its rejoin the same."""
    modes = ["values", "updates"]
    async with as_(served.url, "tok-alice") as alice:
        thread = (await alice.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": "parallel", "input": {}, "stream_mode": modes}
        async with alice.stream("POST", f"/threads/{thread}/runs/stream", json=body) as response:
            await sse_parts(response)
        asked = (await alice.get(f"/threads/{thread}/state")).json()["interrupts"]
        by_node = {i["value"].rsplit(" ", 1)[1]: i["id"] for i in asked}
        answer = {by_node["left"]: "L", by_node["right"]: "R"}
        run_id, found = await streamed_answer(alice, thread, "parallel", answer, modes)
        assert updates(found) == [
            {"left": {"answers": ["left=L"]}},
            {"quiet": {"answers": ["quiet"]}},
            {"right": {"answers": ["right=R"]}},
        ], found
        assert await rejoined(alice, thread, run_id, modes) == found[1:]


async def test_join_with_cancel_on_disconnect_cancels_the_run_when_its_client_goes_away(served: Served) -> None:
    """`runs.join` with `cancel_on_disconnect`: a client gone before the run paused or ended cancels it, as
    the caller; without it the run goes on to its question. A view-only caller may join, not ask for that."""
    async with as_(served.url, "tok-alice") as alice:
        runs = {}
        for cancel in (True, False):
            thread = (await alice.post("/threads", json={})).json()["thread_id"]
            created = await alice.post(f"/threads/{thread}/runs", json={"assistant_id": "slow_work", "input": {}})
            join = f"/threads/{thread}/runs/{created.json()['run_id']}/join"
            params = {"cancel_on_disconnect": "true"} if cancel else {}
            with pytest.raises(TimeoutError):  # gone while `work` runs (it takes 3 s)
                await asyncio.wait_for(alice.get(join, params=params), 1.0)
            runs[cancel] = served.client.get_run(thread)
        cancelled = await wait_for(runs[True], "cancelled")
        assert cancelled.decisions[-1].kind == "cancel" and cancelled.decisions[-1].identity == "alice", cancelled
        assert (await wait_for(runs[False], "interrupted")).status == "interrupted"
        joined = await alice.get(join)  # the run left going: a join waits for its question, as before
        assert joined.status_code == 200 and "__interrupt__" in joined.json(), joined.text
    async with as_(served.url, "tok-dana") as dana:
        refused = await dana.get(join, params={"cancel_on_disconnect": "true"})
        assert refused.status_code == 403 and "view-only" in refused.json()["detail"], refused.text
        assert (await dana.get(join)).status_code == 200
    await runs[False].resume("fine")


async def test_a_run_stream_in_custom_mode_sends_what_nodes_wrote_and_the_run_gets_its_context(
    served: Served,
) -> None:
    """`stream_mode: "custom"` on runs/stream: each value a node wrote with its stream writer, as written, before
    the pause it asked in; the answer's stream has what the node wrote when it ran again. `context` on the run
    that starts the thread reaches the node (`runtime.context`); one that does not fit is refused in one line."""
    async with as_(served.url, "tok-alice") as alice:
        thread = (await alice.post("/threads", json={})).json()["thread_id"]
        bad = await alice.post(
            f"/threads/{thread}/runs", json={"assistant_id": "stream_progress", "input": {}, "context": {"who": 1}}
        )
        assert bad.status_code == 422 and "\n" not in bad.json()["detail"], bad.text
        assert "context_schema Who: user: Field required" in bad.json()["detail"]
        start = {"assistant_id": "stream_progress", "input": {}, "context": {"user": "ada"}}
        parts = []
        for body, modes in (
            (start, ["custom", "updates"]),
            ({"assistant_id": "stream_progress", "command": {"resume": "yes"}}, ["custom", "values"]),
        ):
            async with alice.stream(
                "POST", f"/threads/{thread}/runs/stream", json={**body, "stream_mode": modes}
            ) as response:
                assert response.status_code == 200, await response.aread()
                parts.append([(name, json.loads(data)) for _, name, data in await sse_parts(response)][1:])
        started = {"progress": "started", "for": "ada"}
        assert parts[0][0] == ("custom", started)
        assert parts[0][1][0] == "updates" and "__interrupt__" in parts[0][1][1]
        assert [p for p in parts[1] if p[0] == "custom"] == [
            ("custom", started),
            ("custom", {"progress": "answered yes"}),
        ]
        assert parts[1][-1] == ("values", {"trail": ["ada:yes"]})
