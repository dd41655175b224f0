"""Threads as LangGraph Server has them (hitl/web/threads.py, thread_api.py, history.py), against the real dev
server: history from the input checkpoint with the pending question on its newest entry; threads stored before
their first run (in Temporal: a second replica reads them), 404 for an id never created, metadata, search by
metadata and values, copy, delete, and read scoping on each."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from hitl.web import TokenAuth, create_app
from hitl.web.testing import running
from tests.helpers import subgraph_run_id, wait_for
from tests.web_fixtures import TOKENS, Served


@pytest.fixture(scope="module")
def served(own_served: Served) -> Served:
    """The app in this module's own namespace: its searches on metadata and values read every thread listed, so
    in the session's namespace they would read every run of every module that ran before (conftest.py)."""
    return own_served


PRIVATE = "payment_private"  # readers: alice (tests/trust_graphs.py)

TOPIC = {"topic": "tea"}


async def test_history_starts_at_the_input_checkpoint_and_its_newest_entry_asks(served: Served) -> None:
    async with served.http() as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        out = await http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "approval", "input": TOPIC})
        [question] = out.json()["__interrupt__"]
        history = (await http.post(f"/threads/{tid}/history", json={})).json()
        state = (await http.get(f"/threads/{tid}/state")).json()
        at_input = (await http.get(f"/threads/{tid}/state/-1")).json()
    assert [h["checkpoint_id"] for h in history] == ["1", "0", "-1"]
    assert [h["next"] for h in history] == [["review"], ["write_draft"], ["__start__"]]
    newest, first, start = history
    assert newest["interrupts"] == [{"id": question["id"], "value": question["value"]}]
    assert [(t["name"], [i["id"] for i in t["interrupts"]]) for t in newest["tasks"]] == [("review", [question["id"]])]
    assert first["tasks"][0]["result"] == {"draft": "A short announcement about tea."}  # what write_draft wrote
    assert first["metadata"]["source"] == "loop" and first["parent_checkpoint_id"] == "-1"
    assert start["values"] == {} and start["parent_checkpoint"] is None
    assert start["metadata"]["source"] == "input" and start["tasks"][0]["result"] == TOPIC
    assert at_input == start
    assert state["parent_checkpoint_id"] == "0" and state["tasks"] == newest["tasks"]


async def test_a_created_thread_is_stored_in_temporal_and_an_unknown_id_is_404(served: Served) -> None:
    """Created on one replica, read on another: the record lives in Temporal, not in the web server."""
    other = create_app(served.client, TokenAuth(TOKENS))
    async with served.http() as http, running(other) as url:
        made = (await http.post("/threads", json={"metadata": {"team": "tea", "graph_id": "approval"}})).json()
        tid = made["thread_id"]
        assert made["status"] == "idle" and made["values"] is None
        assert made["metadata"] == {"team": "tea", "graph_id": "approval", "assistant_id": "approval"}
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer tok-alice"}) as replica:
            seen = (await replica.get(f"/threads/{tid}")).json()
            assert seen == made
            assert (await replica.get(f"/threads/{tid}/state")).json()["values"] == {}
            assert (await replica.post(f"/threads/{tid}/history", json={})).json() == []
        unknown = str(uuid.uuid4())
        for method, path in [("GET", "/threads/{}"), ("GET", "/threads/{}/state"), ("POST", "/threads/{}/history")]:
            response = await http.request(method, path.format(unknown), json={} if method == "POST" else None)
            assert response.status_code == 404, path
            assert (
                response.json()["detail"]
                == f"thread '{unknown}' not found; create it with POST /threads or start a run on it"
            )
        again = await http.post("/threads", json={"thread_id": tid})
        assert again.status_code == 409 and "exists already" in again.json()["detail"]
        assert (await http.post("/threads", json={"thread_id": tid, "if_exists": "do_nothing"})).json() == made


async def test_a_thread_keeps_its_metadata_through_updates_and_its_first_run(served: Served) -> None:
    async with served.http() as http:
        tid = (await http.post("/threads", json={"metadata": {"team": "tea"}})).json()["thread_id"]
        patched = (await http.patch(f"/threads/{tid}", json={"metadata": {"owner": "alice"}})).json()
        assert patched["metadata"] == {"team": "tea", "owner": "alice"}
        await visible_as(http, {"team": "tea", "owner": "alice"}, tid, "idle")
        out = await http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "approval", "input": TOPIC})
        assert out.json()["__interrupt__"]
        thread = (await http.get(f"/threads/{tid}")).json()
        assert thread["status"] == "interrupted" and thread["created_at"] == patched["created_at"]
        assert thread["metadata"] == {
            "team": "tea",
            "owner": "alice",
            "graph_id": "approval",
            "assistant_id": "approval",
        }
        await visible_as(http, {"owner": "alice"}, tid, "interrupted")  # one thread: the record is gone
        fixed = await http.patch(f"/threads/{tid}", json={"metadata": {"owner": "bob"}})
        assert fixed.status_code == 409 and "metadata is fixed" in fixed.json()["detail"]


async def visible_as(http: httpx.AsyncClient, metadata: dict[str, Any], tid: str, status: str) -> None:
    """Until search and count find the thread, once, by its metadata (the visibility store trails a little)."""
    for _ in range(100):
        found = (await http.post("/threads/search", json={"metadata": metadata, "limit": 1000})).json()
        counted = (await http.post("/threads/count", json={"metadata": metadata})).json()
        mine = [t for t in found if t["thread_id"] == tid]
        if mine and mine[0]["status"] == status:
            assert len(mine) == 1 and counted == len(found)
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"thread {tid} never listed as {status} by metadata {metadata}")


async def test_search_filters_on_values_and_lists_threads_before_their_runs(served: Served) -> None:
    mark = uuid.uuid4().hex
    async with served.http() as http:
        idle = (await http.post("/threads", json={"metadata": {"mark": mark}})).json()["thread_id"]
        ran = (await http.post("/threads", json={"metadata": {"mark": mark}})).json()["thread_id"]
        await http.post(f"/threads/{ran}/runs/wait", json={"assistant_id": "approval", "input": {"topic": mark}})
        for _ in range(100):
            both = (await http.post("/threads/search", json={"metadata": {"mark": mark}})).json()
            if {t["thread_id"]: t["status"] for t in both} == {idle: "idle", ran: "interrupted"}:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"search never listed both threads: {both}")
        by_value = (await http.post("/threads/search", json={"values": {"topic": mark}})).json()
        assert [t["thread_id"] for t in by_value] == [ran]
        assert (await http.post("/threads/count", json={"metadata": {"mark": mark}, "status": "idle"})).json() == 1
        listed = await http.post(
            "/threads/search", json={"ids": [idle], "status": "idle", "select": ["thread_id", "metadata"]}
        )
        assert listed.json() == [{"thread_id": idle, "metadata": {"mark": mark}}]


async def test_copy_and_delete_a_thread(served: Served) -> None:
    async with served.http() as http:
        tid = (await http.post("/threads", json={"metadata": {"k": 1}})).json()["thread_id"]
        copy = (await http.post(f"/threads/{tid}/copy")).json()
        assert copy["thread_id"] != tid and copy["metadata"] == {"k": 1} and copy["status"] == "idle"
        await http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "approval", "input": TOPIC})
        ran = (await http.post(f"/threads/{tid}/copy")).json()
        assert ran["metadata"]["k"] == 1 and ran["values"]["topic"] == "tea"
        assert (await http.delete(f"/threads/{tid}")).status_code == 204
        assert (await http.get(f"/threads/{tid}")).status_code == 404
        assert (await http.delete(f"/threads/{copy['thread_id']}")).status_code == 204
        assert (await http.get(f"/threads/{copy['thread_id']}")).status_code == 404
        assert (await http.delete(f"/threads/{copy['thread_id']}")).status_code == 404


async def test_another_user_cannot_read_change_copy_or_delete_a_private_thread(served: Served) -> None:
    """A thread of a graph bob may not read answers bob as an id never created, on every thread route."""
    async with served.http("tok-alice") as alice, served.http("tok-bob") as bob:
        tid = (await alice.post("/threads", json={"graph_id": PRIVATE, "metadata": {"k": 1}})).json()["thread_id"]
        unknown = str(uuid.uuid4())
        for method, path, body in [
            ("GET", "/threads/{}", None),
            ("PATCH", "/threads/{}", {"metadata": {"k": 2}}),
            ("POST", "/threads/{}/copy", None),
            ("DELETE", "/threads/{}", None),
            ("GET", "/threads/{}/state", None),
            ("POST", "/threads/{}/history", {}),
        ]:
            hidden = await bob.request(method, path.format(tid), json=body)
            none = await bob.request(method, path.format(unknown), json=body)
            assert hidden.status_code == none.status_code == 404, (method, path)
            assert hidden.json()["detail"].replace(tid, "ID") == none.json()["detail"].replace(unknown, "ID")
        assert tid not in {t["thread_id"] for t in (await bob.post("/threads/search", json={"ids": [tid]})).json()}
        assert (await alice.get(f"/threads/{tid}")).json()["metadata"]["k"] == 1  # unchanged, still there
        public = (await alice.post("/threads", json={"graph_id": "approval"})).json()["thread_id"]
        async with served.http("tok-dana") as dana:  # may read, never change
            assert (await dana.get(f"/threads/{public}")).status_code == 200
            assert (await dana.delete(f"/threads/{public}")).status_code == 403
            assert (await dana.patch(f"/threads/{public}", json={"metadata": {"k": 2}})).status_code == 403
            assert (await dana.post("/threads", json={})).status_code == 403


async def test_new_input_on_a_finished_thread_is_its_next_turn(served: Served) -> None:
    """As LangGraph: the next run with input goes on from the thread's state; history continues the thread's."""
    approve = {"assistant_id": "approval", "command": {"resume": "approve"}}
    async with served.http() as http:
        tid = (await http.post("/threads", json={"metadata": {"chat": "yes"}})).json()["thread_id"]
        await http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "approval", "input": TOPIC})
        first = (await http.post(f"/threads/{tid}/runs/wait", json=approve)).json()
        assert first["status"] == "published"
        turn = await http.post(
            f"/threads/{tid}/runs/wait", json={"assistant_id": "approval", "input": {"topic": "coffee"}}
        )
        assert turn.status_code == 200, turn.text
        asked = turn.json()
        assert asked["draft"] == "A short announcement about coffee." and asked["__interrupt__"]
        thread = (await http.get(f"/threads/{tid}")).json()
        assert thread["status"] == "interrupted" and thread["metadata"]["chat"] == "yes"
        history = (await http.post(f"/threads/{tid}/history", json={"limit": 100})).json()
        steps = [h["metadata"]["step"] for h in history]
        assert steps == sorted(steps, reverse=True) and steps[-1] == -1  # one history, back to the first input
        assert any(h["values"].get("topic") == "tea" for h in history)  # the first turn's checkpoints
        starts = [h["tasks"][0]["result"] for h in history if h["next"] == ["__start__"]]
        assert starts == [{"topic": "coffee"}, TOPIC]  # each run's input checkpoint, as LangGraph lists them
        assert history[0]["tasks"][0]["interrupts"][0]["id"] == asked["__interrupt__"][0]["id"]
        for _ in range(100):  # one thread, listed once (the first turn's execution is gone)
            found = (await http.post("/threads/search", json={"ids": [tid]})).json()
            if [t["status"] for t in found] == ["interrupted"]:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the thread is not listed once as interrupted: {found}")
        done = (await http.post(f"/threads/{tid}/runs/wait", json=approve)).json()
        assert done["topic"] == "coffee" and done["status"] == "published"
        audit = (await http.get(f"/threads/{tid}/audit")).json()
        assert audit["verified"] and [r["kind"] for r in audit["records"]].count("resume") == 2


async def test_a_next_turn_too_large_to_start_is_refused_in_one_line_and_starts_nothing(served: Served) -> None:
    """A turn's start carries its input and the thread's state whole, one Temporal payload: past 2 MB it is
    refused (422, as any input too large) before anything starts, the thread left as it was; one that fits
    still starts."""
    big = {"assistant_id": "chain", "input": {"text": "x" * 999_900}}  # each fits the 1 MB state; both do not fit 2 MB
    async with served.http() as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        first = await http.post(f"/threads/{tid}/runs/wait", json=big)
        assert first.status_code == 200, first.text[:300]
        runs = (await http.get(f"/threads/{tid}/runs")).json()
        refused = await http.post(f"/threads/{tid}/runs/wait", json=big)
        assert refused.status_code == 422, refused.text[:300]
        detail = refused.json()["detail"]
        assert detail.startswith(f"thread '{tid}''s next turn") and "hitl takes at most 2.0 MB" in detail, detail
        assert "\n" not in detail
        assert (await http.get(f"/threads/{tid}/runs")).json() == runs
        thread = (await http.get(f"/threads/{tid}")).json()
        assert thread["status"] == "idle" and thread["values"]["text"] == "x" * 999_900 + "abc"
        small = await http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "chain", "input": {"text": "y"}})
        assert small.status_code == 200 and small.json()["text"] == "yabc", small.text[:300]


async def test_a_next_turn_is_a_run_of_the_thread_listed_got_and_joined_by_the_id_its_request_named(
    served: Served,
) -> None:
    """LangGraph lists a thread's next turn as one more run: the start, the answer, the turn (newest first)."""
    approve = {"assistant_id": "approval", "command": {"resume": "approve"}}
    async with served.http() as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        await http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "approval", "input": TOPIC})
        await http.post(f"/threads/{tid}/runs/wait", json=approve, headers={"Idempotency-Key": "answer-1"})
        before = (await http.get(f"/threads/{tid}/runs")).json()
        made = await http.post(f"/threads/{tid}/runs", json={"assistant_id": "approval", "input": {"topic": "coffee"}})
        assert made.status_code == 200, made.text
        run_id = made.json()["run_id"]
        assert made.json()["kwargs"]["input"] == {"topic": "coffee"}
        joined = (await http.get(f"/threads/{tid}/runs/{run_id}/join")).json()
        assert joined["draft"] == "A short announcement about coffee." and joined["__interrupt__"]
        runs = (await http.get(f"/threads/{tid}/runs")).json()
        got = (await http.get(f"/threads/{tid}/runs/{run_id}")).json()
        waited = await http.post(f"/threads/{tid}/runs/wait", json=approve)
        after = (await http.get(f"/threads/{tid}/runs")).json()
    assert [r["run_id"] for r in runs] == [run_id, *[r["run_id"] for r in before]]
    assert [r["status"] for r in runs] == ["success", "success", "success"]
    assert runs[-1]["created_at"] == before[-1]["created_at"]  # the first run still started when it did
    assert got["status"] == "success" and got["kwargs"]["input"] == {"topic": "coffee"}
    assert [r["run_id"] for r in after][1:] == [r["run_id"] for r in runs]
    assert waited.headers["content-location"].endswith(f"/runs/{after[0]['run_id']}")


async def test_bad_thread_requests_are_refused_with_one_line_and_store_nothing(served: Served) -> None:
    tid = str(uuid.uuid4())
    async with served.http() as http:
        big = await http.post("/threads", json={"thread_id": tid, "metadata": {"blob": "x" * 20_000}})
        assert big.status_code == 422 and "thread metadata" in big.json()["detail"]
        assert (await http.get(f"/threads/{tid}")).status_code == 404
        made = (await http.post("/threads", json={})).json()["thread_id"]
        ttl = await http.patch(f"/threads/{made}", json={"ttl": {"days": 1}})
        assert ttl.status_code == 422 and "'ttl'" in ttl.text
        wrong = await http.post(f"/threads/{made}/runs/wait", json={"assistant_id": "nope", "input": TOPIC})
        assert wrong.status_code == 422
        bad = await http.post(f"/threads/{made}/runs/wait", json={"assistant_id": "approval", "input": {"nope": 1}})
        assert bad.status_code == 422, bad.text
        assert (await http.get(f"/threads/{made}")).json()["status"] == "idle"  # the record is still there


async def test_a_subgraphs_run_is_no_thread_to_delete_or_give_a_next_turn(served: Served) -> None:
    """A subgraph's run is waited on by its parent, under the parent's guard: deleting it (or starting a turn on
    it) would end the parent's step by a route the parent's guard never sees. Refused, and nothing changes."""
    run = await served.client.start("parent", {"topic": "sub"})
    await wait_for(run, "interrupted")
    child = await subgraph_run_id(served.client, run.run_id)
    async with served.http() as http:
        deleted = await http.delete(f"/threads/{child}")
        assert deleted.status_code == 409 and "subgraph's run" in deleted.json()["detail"], deleted.text
        assert (await served.client.get_run(child).get_state()).status == "interrupted"
        await run.resume("yes")  # the subgraph's run completes; the parent goes on
        assert (await served.client.get_run(child).get_state()).status == "completed"
        turned = await http.post(f"/threads/{child}/runs/wait", json={"assistant_id": "child", "input": {}})
    assert turned.status_code == 409 and "subgraph's run" in turned.json()["detail"], turned.text
