"""Read scoping in `hitl serve` (hitl/web/scope.py): a graph's `readers`, and view-only credentials.

`payment_private` is compiled with readers=["alice"]: to bob (and carol, though her role may answer
its question) a run of it must look exactly like an id no run has, on every route, and must be
left out of every list, count and live feed. dana signs in view-only: she reads, and every change
she sends is refused with 403 and writes nothing to the run's history.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypedDict

import httpx
import pytest

import hitl
from hitl import START, StateGraph
from hitl.client import signed_links as links
from hitl.protocol.policy import may_read
from hitl.types import GraphValidationError, InvalidInputError
from hitl.web.auth import Identity, TokenAuth
from hitl.web.readers import rules
from hitl.web.testing import running
from tests.helpers import event_count, wait_for
from tests.web_fixtures import Served, refusal, refusal_code

PRIVATE = "payment_private"
KEY = "test-scope-link-key-" + "y" * 24
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
STAMPS = ("created_at", "updated_at", "state_updated_at")


async def started(client: hitl.Client, graph: str = PRIVATE) -> hitl.Run:
    run = await client.start(graph, {"draft": f"scope-{uuid.uuid4().hex[:8]}"})
    await wait_for(run, "interrupted")
    return run


def normal(response: httpx.Response, run_id: str) -> tuple[int, Any]:
    """A response with the run's id (and the times a fresh thread is stamped with) taken out."""
    text = response.text.replace(run_id, "ID")
    location = response.headers.get("location", "").replace(run_id, "ID")
    location += " " + refusal(response).replace(run_id, "ID")  # the reason a refused form carries back
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = re.sub(r'name="csrf" value="[^"]*"|data-version="[^"]*"', "", text)
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in STAMPS}
    return response.status_code, (body, location)


READS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/threads/{id}", None),
    ("GET", "/threads/{id}/state", None),
    ("GET", "/threads/{id}/state/1", None),
    ("POST", "/threads/{id}/history", {}),
    ("GET", "/threads/{id}/audit", None),
    ("GET", "/runs/{id}", None),
    ("POST", "/ui/api/preview", {"run_id": "{id}", "interrupt_id": "x", "fields": {}}),
    ("POST", "/threads/{id}/runs/wait", {"assistant_id": PRIVATE, "command": {"resume": "approve"}}),
    ("POST", "/threads/{id}/runs", {"assistant_id": PRIVATE, "command": {"resume": "approve"}}),
    ("POST", "/threads/{id}/state", {"values": {"draft": "pay 2M"}}),
    ("POST", "/threads/{id}/claim", {"action": "claim", "interrupt_id": "x"}),
]


def filled(body: Any, run_id: str) -> Any:
    return json.loads(json.dumps(body).replace("{id}", run_id)) if body is not None else None


async def test_a_run_bob_may_not_read_answers_as_an_unknown_id_on_every_route(served: Served) -> None:
    run = await started(served.client)
    unknown = f"{PRIVATE}-{uuid.uuid4().hex[:12]}"
    before = await event_count(served.client, run.run_id)
    async with served.http("tok-bob") as bob, served.http("tok-alice") as alice:
        for method, path, body in READS:
            hidden = await bob.request(method, path.format(id=run.run_id), json=filled(body, run.run_id))
            none = await bob.request(method, path.format(id=unknown), json=filled(body, unknown))
            assert normal(hidden, run.run_id) == normal(none, unknown), f"{method} {path} tells bob the run exists"
        for page in (f"/runs/{run.run_id}", f"/threads/{run.run_id}/audit"):  # as the browser asks
            hidden = await bob.get(page, headers={"accept": "text/html"})
            none = await bob.get(page.replace(run.run_id, unknown), headers={"accept": "text/html"})
            assert hidden.status_code == 404 and normal(hidden, run.run_id) == normal(none, unknown)
        for action in ("answer", "continue", "state", "fork", "cancel", "claim"):  # the run page's forms
            form = {"interrupt_id": "x", "v": '"approve"', "values": "{}", "step": "1", "action": "claim"}
            hidden = await bob.post(f"/ui/runs/{run.run_id}/{action}", data=form, headers=FORM)
            none = await bob.post(f"/ui/runs/{unknown}/{action}", data=form, headers=FORM)
            assert hidden.status_code == 303 and refusal_code(hidden) == 404, action
            assert normal(hidden, run.run_id) == normal(none, unknown), action
        batch = {"run_ids": [run.run_id, unknown], "value": "approve", "batch_id": "scope-bob"}
        [hidden_result, unknown_result] = (await bob.post("/hitl/batch/resume", json=batch)).json()["results"]
        assert hidden_result["outcome"] == unknown_result["outcome"] == "refused"
        assert hidden_result["reason"].replace(run.run_id, "ID") == unknown_result["reason"].replace(unknown, "ID")
        # alice may read it: the same routes answer her
        assert (await alice.get(f"/threads/{run.run_id}/state")).json()["values"]["draft"].startswith("scope-")
        assert (await alice.get(f"/runs/{run.run_id}")).status_code == 200
        assert (await alice.get(f"/threads/{run.run_id}/audit")).status_code == 200
    assert await event_count(served.client, run.run_id) == before, "a refused request wrote to the run's history"


async def first_events(http: httpx.AsyncClient, path: str, seconds: float) -> list[str]:
    """The SSE event names a feed sends within `seconds` (the first one, or none)."""
    names: list[str] = []

    async def read() -> None:
        async with http.stream("GET", path) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    names.append(line[7:])
                    return

    try:
        await asyncio.wait_for(read(), seconds)
    except TimeoutError:
        pass
    return names


async def test_bob_cannot_follow_a_private_run_and_the_sdk_sees_no_such_thread(served: Served) -> None:
    from langgraph_sdk import get_client
    from langgraph_sdk.errors import NotFoundError

    run = await started(served.client)
    unknown = f"{PRIVATE}-{uuid.uuid4().hex[:12]}"
    async with served.http("tok-bob") as bob, served.http("tok-alice") as alice:
        assert await first_events(alice, f"/threads/{run.run_id}/stream", 30) == ["paused"]
        # to bob the run does not exist: its feed answers as a thread no run uses does, 404, the same body
        hidden = await bob.get(f"/threads/{run.run_id}/stream")
        none = await bob.get(f"/threads/{unknown}/stream")
        assert hidden.status_code == 404 and normal(hidden, run.run_id) == normal(none, unknown)
    lg = get_client(url=served.url, headers={"Authorization": "Bearer tok-bob"})
    for read in (lg.threads.get, lg.threads.get_state, lg.threads.get_history):  # as an id never created
        with pytest.raises(NotFoundError, match="not found"):
            await read(run.run_id)  # type: ignore[operator]
    assert run.run_id not in {t["thread_id"] for t in await lg.threads.search(status="interrupted", limit=1000)}


async def test_lists_counts_and_the_inbox_leave_out_runs_bob_may_not_read(served: Served) -> None:
    run = await started(served.client)
    query = {"status": "interrupted", "metadata": {"graph_id": PRIVATE}}
    async with served.http("tok-bob") as bob, served.http("tok-alice") as alice:
        for _ in range(100):  # the visibility store trails the run a little
            if (await alice.post("/threads/count", json=query)).json() >= 1:
                break
            await asyncio.sleep(0.1)
        assert (await alice.post("/threads/count", json=query)).json() >= 1
        assert (await bob.post("/threads/count", json=query)).json() == 0
        found = await bob.post("/threads/search", json={"ids": [run.run_id], "status": None, "limit": 10})
        assert found.status_code == 200 and found.json() == []
        assert [t["thread_id"] for t in (await alice.post("/threads/search", json={"ids": [run.run_id]})).json()] == [
            run.run_id
        ]
        waiting = {"status": "interrupted", "metadata": {}}
        everyone, bobs = (await alice.post("/threads/count", json=waiting)).json(), None
        bobs = (await bob.post("/threads/count", json=waiting)).json()
        assert everyone > bobs
        inbox = await bob.get("/", params={"graph": PRIVATE})
        assert run.run_id not in inbox.text and f'data-graph="{PRIVATE}"' not in inbox.text
        whole = await bob.get("/")
        assert run.run_id not in whole.text and f'data-graph="{PRIVATE}"' not in whole.text
        assert re.search(r'data-testid="total">(\d+)<', whole.text)[1] == str(bobs)  # type: ignore[index]
        assert run.run_id in (await alice.get("/", params={"graph": PRIVATE})).text
        assert PRIVATE not in {a["assistant_id"] for a in (await bob.get("/assistants")).json()}
        assert (await bob.get(f"/assistants/{PRIVATE}")).status_code == 422
        assert (await alice.get(f"/assistants/{PRIVATE}")).status_code == 200
        # bob cannot start it either (a graph he may not read is one he does not know)
        start = await bob.post("/runs/wait", json={"assistant_id": PRIVATE, "input": {"draft": "x"}})
        assert start.status_code == 422 and f"unknown graph '{PRIVATE}'" in start.json()["detail"]
        assert PRIVATE not in start.json()["detail"].split("known graphs:")[1]
        # a batch over filters reaches only the runs he may read
        dry = {"graph": PRIVATE, "value": "approve", "dry_run": True}
        assert (await bob.post("/hitl/batch/resume", json=dry)).json()["results"] == []
        assert run.run_id in {
            r["thread_id"] for r in (await alice.post("/hitl/batch/resume", json=dry)).json()["results"]
        }


async def changed(http: httpx.AsyncClient) -> dict[str, Any]:
    """The inbox feed's first `changed` event."""
    async with http.stream("GET", "/ui/inbox/stream") as response:
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "changed":
                found: dict[str, Any] = json.loads(line[6:])
                return found
    raise AssertionError("the inbox feed ended")


async def test_the_inbox_feed_counts_only_runs_bob_may_read(served: Served) -> None:
    await started(served.client)  # one private run waiting all along
    async with served.http("tok-bob") as bob, served.http("tok-alice") as alice:
        waiting = {"status": "interrupted", "metadata": {}}
        for _ in range(100):
            if (await alice.post("/threads/count", json=waiting)).json() > (
                await bob.post("/threads/count", json=waiting)
            ).json():
                break
            await asyncio.sleep(0.1)
        mine = (await bob.post("/threads/count", json=waiting)).json()
        feed = asyncio.ensure_future(changed(bob))
        await asyncio.sleep(1.5)  # the feed has counted once (it counts every second): what follows is a change
        await started(served.client)  # a private run pauses: nothing bob may see changed
        await started(served.client, "payment_open")  # a run he may read pauses
        event = await asyncio.wait_for(feed, 60)
    # his first change is the run he may read, counted among his: the private ones never were
    assert event == {"waiting": mine + 1}


async def test_a_view_only_token_reads_but_every_change_is_refused_and_writes_nothing(served: Served) -> None:
    run = await started(served.client, "payment_open")  # dana's role may answer it: only view-only stops her
    iid = (await run.get_state()).interrupts[0].id
    before = await event_count(served.client, run.run_id)
    async with served.http("tok-dana") as dana:
        assert (await dana.get(f"/threads/{run.run_id}/state")).status_code == 200
        page = await dana.get(f"/runs/{run.run_id}")
        assert page.status_code == 200 and 'data-testid="view-only"' in page.text
        assert "/answer" not in page.text and "/cancel" not in page.text and "/fork" not in page.text
        inbox = await dana.get("/")
        assert inbox.status_code == 200 and 'data-testid="bulk"' not in inbox.text and 'name="run"' not in inbox.text
        changes: list[tuple[str, dict[str, Any]]] = [
            (
                f"/threads/{run.run_id}/runs/wait",
                {"assistant_id": "payment_open", "command": {"resume": "approve"}},
            ),
            (f"/threads/{run.run_id}/runs", {"assistant_id": "payment_open", "command": {"resume": "approve"}}),
            (
                f"/threads/{run.run_id}/runs/stream",
                {"assistant_id": "payment_open", "command": {"resume": "approve"}},
            ),
            (f"/threads/{run.run_id}/state", {"values": {"draft": "pay 2M"}}),
            (f"/threads/{run.run_id}/claim", {"action": "claim", "interrupt_id": iid}),
            ("/hitl/batch/resume", {"run_ids": [run.run_id], "value": "approve"}),
            ("/hitl/batch/resume", {"graph": "payment_open", "value": "approve"}),
            ("/runs/wait", {"assistant_id": "payment_open", "input": {"draft": "new"}}),
            ("/runs", {"assistant_id": "payment_open", "input": {"draft": "new"}}),
            ("/runs/stream", {"assistant_id": "payment_open", "input": {"draft": "new"}}),
        ]
        for path, body in changes:
            refused = await dana.post(path, json=body)
            assert refused.status_code == 403, path
            assert "view-only" in refused.json()["detail"] and "\n" not in refused.json()["detail"], path
        form = {"interrupt_id": iid, "v": '"approve"', "values": '{"draft": "x"}', "base": "{}", "step": "1"}
        for action in ("answer", "continue", "state", "fork", "cancel", "claim"):
            refused = await dana.post(f"/ui/runs/{run.run_id}/{action}", data={**form, "action": "claim"}, headers=FORM)
            assert refused.status_code == 303 and refusal_code(refused) == 403, action
        refused = await dana.post("/ui/batch", data={"run": run.run_id, "value": '"approve"'}, headers=FORM)
        assert refused.status_code == 303 and refusal_code(refused) == 403
    assert await event_count(served.client, run.run_id) == before
    snapshot = await run.get_state()
    assert snapshot.status == "interrupted" and not snapshot.decisions


async def test_a_graph_without_readers_is_read_by_anyone_signed_in(served: Served) -> None:
    run = await started(served.client, "payment_open")
    async with served.http("tok-bob") as bob:
        assert (await bob.get(f"/threads/{run.run_id}/state")).json()["values"]["draft"].startswith("scope-")
        assert (await bob.get(f"/runs/{run.run_id}")).status_code == 200
        assert [t["thread_id"] for t in (await bob.post("/threads/search", json={"ids": [run.run_id]})).json()] == [
            run.run_id
        ]


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HITL_LINK_KEY", KEY)


async def test_a_link_shows_its_run_only_to_a_recipient_who_may_read_it(served: Served, keyed: None) -> None:
    run = await started(served.client)
    iid = (await run.get_state()).interrupts[0].id
    expires = datetime.now(timezone.utc) + timedelta(hours=1)

    def url(run_id: str, who: str, roles: tuple[str, ...]) -> str:
        link = links.Link(run_id, iid, who, roles, expires, uuid.uuid4().hex)
        return f"/link/{links.sign(link, KEY.encode())}"

    unknown = f"{PRIVATE}-{uuid.uuid4().hex[:12]}"
    async with httpx.AsyncClient(base_url=served.url, timeout=60) as browser:
        # carol's role may answer the question, but she may not read the run: her link is to a gone run
        hidden = await browser.get(url(run.run_id, "carol", ("finance",)))
        gone = await browser.get(url(unknown, "carol", ("finance",)))
        assert hidden.status_code == gone.status_code == 404
        assert normal(hidden, run.run_id) == normal(gone, unknown)
        assert "scope-" not in hidden.text
        mine = await browser.get(url(run.run_id, "alice", ()))
        assert mine.status_code == 200 and iid in mine.text


def test_a_subgraph_is_read_by_whoever_every_graph_around_it_allows() -> None:
    class S(TypedDict, total=False):
        x: str

    child_b = StateGraph(S)
    child_b.add_node("ask", lambda s: {"x": "y"})
    child_b.add_edge(START, "ask")
    child = child_b.compile(name="scope_child", readers=["role:finance"])
    parent_b = StateGraph(S)
    parent_b.add_node("team", child)
    parent_b.add_edge(START, "team")
    parent = parent_b.compile(name="scope_parent", readers=["alice"])
    open_parent = parent_b.compile(name="scope_open_parent")
    found = rules([parent, open_parent, child])
    assert found == {  # a run shows its subgraph's questions: the subgraph's readers apply to it too
        "scope_parent": [["alice"], ["role:finance"]],
        "scope_child": [["alice"], ["role:finance"]],
        "scope_open_parent": [["role:finance"]],
    }
    assert may_read(found["scope_child"], "alice", ["finance"]) and not may_read(found["scope_child"], "alice", [])
    assert not may_read(found["scope_open_parent"], "bob", []) and may_read(
        found["scope_open_parent"], "bob", ["finance"]
    )
    with pytest.raises(GraphValidationError, match=r"readers is empty \(nobody could see a run\)"):
        child_b.compile(name="scope_bad", readers=[])


def test_tokens_mark_a_view_only_credential_in_the_file_and_the_environment(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(
        json.dumps({"t1": {"identity": "dana", "roles": ["finance"], "view": True}, "t2": {"identity": "bob"}})
    )
    assert TokenAuth.from_file(tokens).tokens == {
        "t1": Identity("dana", ("finance",), view_only=True),
        "t2": Identity("bob", (), view_only=False),
    }
    assert TokenAuth.from_env("t1=dana:finance,ops:view; t2=erin::view; t3=bob").tokens == {
        "t1": Identity("dana", ("finance", "ops"), view_only=True),
        "t2": Identity("erin", (), view_only=True),
        "t3": Identity("bob", (), view_only=False),
    }
    with pytest.raises(InvalidInputError, match=r"^HITL_WEB_TOKENS takes .*\[:view\].*; got flag 'admin'$"):
        TokenAuth.from_env("t1=dana:finance:admin")
    tokens.write_text(json.dumps({"t1": {"identity": "dana", "view": "yes"}}))
    with pytest.raises(InvalidInputError, match=r"'view' of dana's token must be true \(view-only\) or false"):
        TokenAuth.from_file(tokens)


async def test_a_private_run_no_worker_serves_is_still_an_unknown_id_to_bob(served: Served) -> None:
    """The read rule needs neither a worker nor the run's key: the graph is read from its search attribute."""
    from hitl.protocol.wire import RunInput
    from tests.trust_graphs import payment_private

    nobody = hitl.Client(served.client.temporal, task_queue=f"nobody-{uuid.uuid4().hex[:8]}", identity="tester")
    run_id = f"{PRIVATE}-stranded-{uuid.uuid4().hex[:8]}"
    spec = RunInput(graph=payment_private.spec(), input={"draft": "x"}, identity="tester", search_attributes=True)
    await nobody._start(spec, run_id)  # noqa: SLF001 - no worker polls this queue: the run never takes a step
    unknown = f"{PRIVATE}-{uuid.uuid4().hex[:12]}"
    try:
        async with served.http("tok-bob") as bob:
            for method, path, body in READS[:6]:
                hidden = await bob.request(method, path.format(id=run_id), json=filled(body, run_id))
                none = await bob.request(method, path.format(id=unknown), json=filled(body, unknown))
                assert normal(hidden, run_id) == normal(none, unknown), f"{method} {path} tells bob the run exists"
    finally:
        await served.client.temporal.get_workflow_handle(run_id).terminate("test over")


async def test_behind_a_proxy_a_view_role_reads_and_is_refused_every_change(served: Served) -> None:
    import argparse

    from hitl.web.serve import add_options, build_app, describe

    parser = argparse.ArgumentParser()
    add_options(parser)
    with pytest.raises(InvalidInputError, match=r"^--view-role takes --trust-header and --roles-header"):
        build_app(served.client, parser.parse_args(["--trust-header", "X-U", "--view-role", "viewer"]))
    app = build_app(
        served.client, parser.parse_args(["--trust-header", "X-U", "--roles-header", "X-G", "--view-role", "viewer"])
    )
    assert describe(app).endswith("; role viewer signs in view-only")
    run = await started(served.client, "payment_open")
    before = await event_count(served.client, run.run_id)
    command = {"assistant_id": "payment_open", "command": {"resume": "approve"}}
    async with running(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        viewer = {"X-U": "erin", "X-G": "finance, viewer"}
        assert (await http.get(f"/threads/{run.run_id}/state", headers=viewer)).status_code == 200
        refused = await http.post(f"/threads/{run.run_id}/runs/wait", json=command, headers=viewer)
        assert refused.status_code == 403 and "'erin' is signed in view-only" in refused.json()["detail"]
        assert await event_count(served.client, run.run_id) == before
        decided = await http.post(
            f"/threads/{run.run_id}/runs/wait", json=command, headers={"X-U": "erin", "X-G": "finance"}
        )
        assert decided.status_code == 200


ROLE_NAMED = "starts with 'role:', which names a role on reviewer lists, not a person"


async def test_behind_a_proxy_a_user_named_like_a_role_is_refused_and_writes_nothing(served: Served) -> None:
    """`X-User: role:finance` (no roles header) once answered `payment`'s question limited to
    ["alice", "role:finance"], and overrode its guard, as the finance role: now 401, one line, on every route."""
    import argparse

    from hitl.web.serve import add_options, build_app

    parser = argparse.ArgumentParser()
    add_options(parser)
    app = build_app(served.client, parser.parse_args(["--trust-header", "X-User", "--roles-header", "X-Groups"]))
    run = await started(served.client, "payment")
    before = await event_count(served.client, run.run_id)
    async with running(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        as_role = {"X-User": "role:finance"}
        command = {"assistant_id": "payment", "command": {"resume": "approve"}}
        for method, path, body in [
            ("POST", f"/threads/{run.run_id}/runs/wait", command),
            ("POST", f"/threads/{run.run_id}/state", {"values": {"draft": "pay 2M"}}),
            ("GET", f"/threads/{run.run_id}/state", None),
        ]:
            refused = await http.request(method, path, json=body, headers=as_role)
            assert refused.status_code == 401, (path, refused.text)
            detail = refused.json()["detail"]
            assert "\n" not in detail and f"the X-User header's identity 'role:finance' {ROLE_NAMED}" in detail
        assert (await http.get(f"/threads/{run.run_id}/state", headers={"X-User": "erin"})).status_code == 200
    assert await event_count(served.client, run.run_id) == before, "a refused identity wrote to the run's history"
    assert (await run.get_state()).status == "interrupted"


def test_tokens_and_no_auth_refuse_an_identity_named_like_a_role_at_load(tmp_path: Path) -> None:
    from hitl.web.auth import NoAuth

    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"t1": {"identity": "alice"}, "t2": {"identity": "role:finance"}}))
    with pytest.raises(InvalidInputError, match=f"^tokens file {tokens}: identity 'role:finance' {ROLE_NAMED}"):
        TokenAuth.from_file(tokens)
    # HITL_WEB_TOKENS cannot name one: ':' ends the identity there (identity "role", role "x")
    assert TokenAuth.from_env("t2=role:x").tokens == {"t2": Identity("role", ("x",))}
    with pytest.raises(InvalidInputError, match=f"^--identity 'role:x' {ROLE_NAMED}"):
        NoAuth("role:x")


async def test_a_subgraphs_readers_keep_its_questions_from_a_public_parent(served: Served) -> None:
    """`pub_parent` declares no readers, but runs `priv_child` (readers alice), whose question its runs show
    and answer: to bob a run of it is an unknown id on every route, and its graph one he cannot start.
    The reverse holds as before: `priv_parent` (readers alice) keeps its public subgraph's run from bob."""
    from tests.helpers import subgraph_run_id

    run = await served.client.start("pub_parent", {"topic": "t"})
    await wait_for(run, "interrupted")
    unknown = f"pub_parent-{uuid.uuid4().hex[:12]}"
    before = await event_count(served.client, run.run_id)
    async with served.http("tok-bob") as bob, served.http("tok-alice") as alice:
        resume = {"assistant_id": "pub_parent", "command": {"resume": "bob says yes"}}
        for method, path, body in [*READS, ("POST", "/threads/{id}/runs/wait", resume)]:
            hidden = await bob.request(method, path.format(id=run.run_id), json=filled(body, run.run_id))
            none = await bob.request(method, path.format(id=unknown), json=filled(body, unknown))
            assert normal(hidden, run.run_id) == normal(none, unknown), f"{method} {path} tells bob the run exists"
        start = await bob.post(
            f"/threads/{unknown}/runs/wait", json={"assistant_id": "pub_parent", "input": {"topic": "t"}}
        )
        assert start.status_code == 422 and "unknown graph 'pub_parent'" in start.json()["detail"]
        assert "pub_parent" not in {a["assistant_id"] for a in (await bob.get("/assistants")).json()}
        listed = await bob.post("/threads/search", json={"metadata": {"graph_id": "pub_parent"}, "limit": 100})
        assert run.run_id not in listed.text
        assert await event_count(served.client, run.run_id) == before, "bob's requests wrote to the run's history"
        # alice may read both graphs: she sees the subgraph's question on the parent and answers it there
        state = (await alice.get(f"/threads/{run.run_id}/state")).json()
        assert [i["value"] for t in state["tasks"] for i in t["interrupts"]] == ["private budget for t?"]
        assert (
            run.run_id
            in (await alice.post("/threads/search", json={"metadata": {"graph_id": "pub_parent"}, "limit": 100})).text
        )
        answered = await alice.post(f"/threads/{run.run_id}/runs/wait", json={**resume, "command": {"resume": "ok"}})
        assert answered.status_code == 200 and answered.json()["answer"] == "ok"

    private = await served.client.start("priv_parent", {"topic": "u"})
    await wait_for(private, "interrupted")
    child = await subgraph_run_id(served.client, private.run_id)
    async with served.http("tok-bob") as bob, served.http("tok-alice") as alice:
        for run_id in (private.run_id, child):
            none = await bob.get(f"/threads/{unknown}/state")
            assert normal(await bob.get(f"/threads/{run_id}/state"), run_id) == normal(none, unknown)
            assert (await alice.get(f"/threads/{run_id}/state")).json()["values"]["topic"] == "u"


async def test_a_batch_tells_bob_nothing_of_a_private_run_whose_worker_is_down(served: Served) -> None:
    """The batch's reachability check (is a worker polling the run's queue?) once ran before the read rule, so a
    private run with no live worker came back `unreachable`, naming its queue, where an unknown id is refused."""
    from tests.graphs import SERVED

    queue = f"scope-{uuid.uuid4().hex[:8]}"
    alone = hitl.Client(served.client.temporal, task_queue=queue, graphs=SERVED, identity="alice")
    async with alone.worker():
        run = await started(alone)
    unknown = f"{PRIVATE}-{uuid.uuid4().hex[:12]}"
    async with served.http("tok-bob") as bob:
        batch = {"run_ids": [run.run_id, unknown], "value": "approve", "batch_id": "scope-dead", "dry_run": True}
        [hidden, none] = (await bob.post("/hitl/batch/resume", json=batch)).json()["results"]
    assert hidden["outcome"] == none["outcome"] == "refused", (hidden, none)
    assert hidden["reason"].replace(run.run_id, "ID") == none["reason"].replace(unknown, "ID")
    await served.client.temporal.get_workflow_handle(run.run_id).terminate(reason="test cleanup")


async def test_a_blank_bearer_token_is_no_pass_past_the_origin_check(served: Served) -> None:
    """A write from another origin carrying `Authorization: Bearer <blank>` and the sign-in cookie: the Guard
    once let any "Bearer " through, and the blank token then fell back to the cookie."""
    headers = [
        (b"Authorization", b"Bearer \xa0"),  # a non-breaking space, which str.strip() removes
        (b"Cookie", b"hitl_token=tok-alice"),
        (b"Sec-Fetch-Site", b"cross-site"),
        (b"Origin", b"http://evil.example"),
    ]
    async with httpx.AsyncClient(base_url=served.url, timeout=60) as anyone:
        refused = await anyone.post("/threads/search", json={}, headers=headers)
    assert refused.status_code == 403, refused.text
