"""The runs API and Agent Inbox's shapes as someone not allowed meets them: ending a guarded run with
"Mark as Resolved" or a run cancel, and one caller's Idempotency-Key squatting another's run id."""

from __future__ import annotations

import uuid

import httpx

from hitl.web.run_records import start_run_id
from tests.helpers import event_count, wait_for
from tests.web_fixtures import Served


async def test_mark_as_resolved_and_a_run_cancel_take_the_guard(served: Served) -> None:
    """Agent Inbox's "Mark as Resolved" (`update_state` as `__end__`) ends the run: an override, as an edit
    or a cancel is. Someone off the guard is refused, a view-only credential too; nothing is written."""
    run = await served.client.start("guarded", {"draft": "pay 100"})
    await wait_for(run, "interrupted")
    before = await event_count(served.client, run.run_id)
    resolve = {"values": None, "as_node": "__end__"}
    cancel = f"/threads/{run.run_id}/runs/{start_run_id(run.run_id)}/cancel"
    async with served.http("tok-bob") as bob, served.http("tok-dana") as dana:
        refused = await bob.post(f"/threads/{run.run_id}/state", json=resolve)
        assert refused.status_code == 409 and "bob" in refused.json()["detail"], refused.text
        assert "\n" not in refused.json()["detail"]
        stopped = await bob.post(cancel)  # a paused thread's run has finished (LangGraph): nothing to cancel
        assert stopped.status_code == 404, stopped.text
        for attempt in (dana.post(f"/threads/{run.run_id}/state", json=resolve), dana.post(cancel)):
            assert (await attempt).status_code == 403
    assert await event_count(served.client, run.run_id) == before
    assert (await run.get_state()).status == "interrupted"
    async with served.http("tok-alice") as alice:  # on the guard: resolved
        assert (await alice.post(f"/threads/{run.run_id}/state", json=resolve)).status_code == 200
    assert (await run.get_state()).status == "completed"


async def test_an_idempotency_key_naming_another_run_of_the_thread_is_refused(served: Served) -> None:
    """A decision's LangGraph run id is its request id (the Idempotency-Key); one sent without (hitl's own
    page, CLI or client) gets an id derived from its record, which the runs list shows. Reusing it, or the
    start's id, would merge a second person's answer into that run: refused before anything is sent. A key
    another caller's answer went under is refused by the run itself (a different decision)."""
    run = await served.client.start("draft_review", {"draft": "hello"})
    await wait_for(run, "interrupted")
    await run.resume("ok")  # alice's client: no request id
    await wait_for(run, "interrupted")
    thread = run.run_id
    confirm = {"assistant_id": "draft_review", "command": {"resume": "fine"}}
    async with served.http("tok-bob") as bob:
        listed = [r["run_id"] for r in (await bob.get(f"/threads/{thread}/runs")).json()]
        assert len(listed) == 2 and listed[1] == start_run_id(thread), listed
        before = await event_count(served.client, thread)
        for squatted in listed:
            refused = await bob.post(f"/threads/{thread}/runs", json=confirm, headers={"Idempotency-Key": squatted})
            assert refused.status_code == 422, refused.text
            detail = refused.json()["detail"]
            assert "already the id of another run" in detail and "\n" not in detail
        assert await event_count(served.client, thread) == before
        assert [r["run_id"] for r in (await bob.get(f"/threads/{thread}/runs")).json()] == listed
        async with served.http("tok-alice") as alice:
            taken = await alice.post(f"/threads/{thread}/runs/wait", json=confirm, headers={"Idempotency-Key": "k-1"})
            assert taken.status_code == 200, taken.text
    state = await run.get_state()
    assert state.status == "completed" and [d.identity for d in state.decisions][-1] == "alice"


async def test_the_runs_api_and_the_bulk_preview_answer_an_unreadable_run_as_an_unknown_id(served: Served) -> None:
    """bob may not read a `payment_private` run: its runs (list, get, join, cancel, delete, the stream rejoin
    with `cancel_on_disconnect`) and a bulk preview naming it answer exactly as for an id no run has."""
    run = await served.client.start("payment_private", {"draft": "pay 5"})
    await wait_for(run, "interrupted")
    unknown = f"payment_private-{uuid.uuid4().hex[:12]}"
    before = await event_count(served.client, run.run_id)

    def normal(response: httpx.Response, thread: str) -> tuple[int, str]:
        return response.status_code, response.text.replace(start_run_id(thread), "RUN").replace(thread, "ID")

    routes = [
        ("GET", "/threads/{id}/runs"),
        ("GET", "/threads/{id}/runs/{run}"),
        ("GET", "/threads/{id}/runs/{run}/join"),
        ("POST", "/threads/{id}/runs/{run}/cancel"),
        ("DELETE", "/threads/{id}/runs/{run}"),
        ("GET", "/threads/{id}/runs/{run}/stream?cancel_on_disconnect=true&stream_subgraphs=true"),
    ]
    async with served.http("tok-bob") as bob:
        for method, path in routes:
            said = []
            for thread in (run.run_id, unknown):
                url = path.format(id=thread, run=start_run_id(thread))
                said.append(normal(await bob.request(method, url), thread))
            assert said[0] == said[1] and said[0][0] == 404, (method, path, said)
        shown = []
        for thread in (run.run_id, unknown):
            body = {"runs": [thread], "value": '"approve"', "batch_id": "hostile-preview"}
            preview = await bob.post("/ui/api/batch/preview", json=body)
            shown.append((preview.status_code, preview.text.replace(thread, "ID")))
        assert shown[0] == shown[1] and "pay 5" not in shown[0][1], shown
    assert await event_count(served.client, run.run_id) == before
    await run.cancel(identity="alice")


async def test_deleting_a_guarded_thread_takes_the_guard(served: Served) -> None:
    """DELETE /threads/{id} ends the run and drops its history, audit trail included: an override, as a
    cancel is. bob (who may read the run but is off its guard) is refused and the run is untouched;
    dana (view-only) gets 403; alice (on the guard) deletes it."""
    run = await served.client.start("guarded", {"draft": "pay 7"})
    await wait_for(run, "interrupted")
    before = await event_count(served.client, run.run_id)
    async with served.http("tok-bob") as bob, served.http("tok-dana") as dana, served.http("tok-alice") as alice:
        refused = await bob.delete(f"/threads/{run.run_id}")
        assert refused.status_code == 409, refused.text
        detail = refused.json()["detail"]
        assert "'bob' may not delete it" in detail and "was not deleted" in detail and "\n" not in detail
        assert (await dana.delete(f"/threads/{run.run_id}")).status_code == 403
        assert await event_count(served.client, run.run_id) == before
        assert (await run.get_state()).status == "interrupted"
        assert (await alice.delete(f"/threads/{run.run_id}")).status_code == 204
        assert (await alice.get(f"/threads/{run.run_id}")).status_code == 404
