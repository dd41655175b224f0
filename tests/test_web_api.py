"""The HTTP API against the real dev server: search and paging, fresh threads,
who decides (tokens, proxy headers, no-auth), idempotency, CSRF, the live feed."""

from __future__ import annotations

import asyncio
import json
import operator
import threading
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio
from typing_extensions import TypedDict  # typing's has no JSON Schema before Python 3.12

import hitl
from hitl import END, START, StateGraph, interrupt
from hitl.types import InvalidInputError
from hitl.web import HeaderAuth, NoAuth, Settings, TokenAuth, create_app, search
from hitl.web.api import MAX_HELD
from hitl.web.session import load_secret
from hitl.web.testing import running
from tests.helpers import event_count, wait_for
from tests.web_fixtures import TOKENS, Served, csrf_of, refusal, refusal_code


@pytest.fixture(scope="module")
def served(own_served: Served) -> Served:
    """The app in this module's own namespace: its searches on metadata read every thread listed, so in the
    session's namespace they would read every run of every module that ran before (conftest.py)."""
    return own_served


async def paused(client: hitl.Client, graph: str = "approval", n: int = 1, **input: object) -> list[hitl.Run]:
    runs = [await client.start(graph, dict(input) or {"topic": "tea"}) for _ in range(n)]
    for r in runs:
        await wait_for(r, "interrupted")
    return runs


async def visible(http: httpx.AsyncClient, ids: list[str], status: str = "interrupted") -> None:
    """Wait until the visibility store lists the runs (it trails the runs a little)."""
    for _ in range(100):
        n = (await http.post("/threads/count", json={"status": status, "metadata": {}})).json()
        found = await http.post(
            "/threads/search", json={"ids": ids, "status": status, "limit": len(ids), "select": ["thread_id"]}
        )
        if len(found.json()) == len(ids) and n >= len(ids):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"runs {ids} never became visible as {status}")


async def test_search_filters_by_status_graph_and_node(served: Served) -> None:
    [a] = await paused(served.client, "approval")
    [b] = await paused(served.client, "tool_review", messages=[{"role": "user", "content": "Please refund order 42."}])
    async with served.http() as http:
        await visible(http, [a.run_id, b.run_id])
        by_graph = (
            await http.post(
                "/threads/search",
                json={"status": "interrupted", "metadata": {"graph_id": "tool_review"}, "limit": 1000},
            )
        ).json()
        assert b.run_id in {t["thread_id"] for t in by_graph} and a.run_id not in {t["thread_id"] for t in by_graph}
        by_node = (
            await http.post(
                "/threads/search", json={"status": "interrupted", "metadata": {"node": "review"}, "limit": 1000}
            )
        ).json()
        assert a.run_id in {t["thread_id"] for t in by_node} and b.run_id not in {t["thread_id"] for t in by_node}
        thread = next(t for t in by_node if t["thread_id"] == a.run_id)
        assert thread["values"]["topic"] == "tea" and list(thread["interrupts"].values())[0][0]["value"]["question"]
        await served.client.get_run(a.run_id).resume("approve")
        await visible(http, [a.run_id], status="idle")
        assert (await http.get(f"/threads/{a.run_id}")).json()["status"] == "idle"


async def test_search_pages_and_sorts_by_waiting_since(served: Served) -> None:
    runs = await paused(served.client, "approval", n=5)
    waited = {r.run_id: (await r.get_state()).paused_at for r in runs}
    ids = sorted(waited, key=lambda i: (waited[i], i))
    async with served.http() as http:
        await visible(http, ids)
        body = {
            "status": "interrupted",
            "ids": ids,
            "sort_by": "updated_at",
            "sort_order": "asc",
            "select": ["thread_id", "updated_at"],
        }
        pages = [(await http.post("/threads/search", json={**body, "limit": 2, "offset": o})).json() for o in (0, 2, 4)]
        listed = [t["thread_id"] for p in pages for t in p]
        assert listed == ids and [len(p) for p in pages] == [2, 2, 1]
        newest = (await http.post("/threads/search", json={**body, "sort_order": "desc", "limit": 2})).json()
        assert [t["thread_id"] for t in newest] == ids[::-1][:2]
        assert (await http.post("/threads/count", json={"status": "interrupted"})).json() >= 5


@pytest.mark.parametrize("descending", [False, True])
async def test_bisected_pages_match_a_full_sort(served: Served, descending: bool) -> None:
    """The window search used beyond 1,000 matches, forced on a dozen runs."""
    runs = await paused(served.client, "approval", n=12)
    f = search.Filter(status="interrupted", ids=[r.run_id for r in runs])
    async with served.http() as http:
        await visible(http, f.ids)
    temporal = served.client.temporal
    everything = (await search.page(temporal, f, limit=100, descending=descending)).items
    assert len(everything) == 12
    for offset, limit in [(0, 5), (5, 5), (10, 5), (3, 1), (11, 1), (0, 12)]:
        got = await search.page(temporal, f, offset=offset, limit=limit, descending=descending, small=0, slack=1)
        assert [x.pending.run_id for x in got.items] == [x.pending.run_id for x in everything[offset : offset + limit]]
        assert got.total == 12


async def test_a_created_thread_is_idle_until_a_run_starts_on_it(served: Served) -> None:
    async with served.http() as http:
        thread = (await http.post("/threads", json={"metadata": {"graph_id": "approval"}})).json()
        tid = thread["thread_id"]
        assert (await http.get(f"/threads/{tid}")).json()["status"] == "idle"
        assert (await http.get(f"/threads/{tid}/state")).json()["values"] == {}
        assert (await http.post(f"/threads/{tid}/history", json={})).json() == []
        out = (
            await http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "approval", "input": {"topic": "tea"}})
        ).json()
        assert out["__interrupt__"][0]["value"]["question"] == "Publish this draft?"
        again = await http.post("/threads", json={"thread_id": tid})
        assert again.status_code == 409 and "exists already" in again.json()["detail"]
        reused = await http.post("/threads", json={"thread_id": tid, "if_exists": "do_nothing"})
        assert reused.json()["status"] == "interrupted"


async def test_same_idempotency_key_decides_once(served: Served) -> None:
    [run] = await paused(served.client, "validate_input", name="Ada")
    key = uuid.uuid4().hex
    body = {"assistant_id": "validate_input", "command": {"resume": 36}}
    async with served.http() as http:
        first, second = await asyncio.gather(
            http.post(f"/threads/{run.run_id}/runs", json=body, headers={"Idempotency-Key": key}),
            http.post(f"/threads/{run.run_id}/runs", json=body, headers={"Idempotency-Key": key}),
        )
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    state = await wait_for(run, "interrupted")
    assert [d.value for d in state.decisions if d.kind == "resume"] == [36]


async def test_update_state_as_node_records_who_and_which_node(served: Served) -> None:
    [run] = await paused(served.client, "edit_state")
    async with served.http("tok-carol") as http:
        response = await http.post(
            f"/threads/{run.run_id}/state", json={"values": {"draft": "Better."}, "as_node": "generate"}
        )
    assert response.status_code == 200
    [edit] = [d for d in (await run.get_state()).decisions if d.kind == "update_state"]
    assert (edit.identity, edit.node, edit.value) == ("carol", "generate", {"draft": "Better."})


async def test_identity_cannot_be_claimed_in_the_body(served: Served) -> None:
    [run] = await paused(served.client, "guarded", draft="x")
    async with served.http("tok-bob") as http:
        forged = await http.post(
            f"/threads/{run.run_id}/runs/wait",
            json={"assistant_id": "guarded", "command": {"resume": "ok"}, "identity": "alice"},
        )
    assert forged.status_code == 422 and "'identity'" in forged.json()["detail"]


async def test_trusted_proxy_headers_carry_identity_and_roles(client: hitl.Client) -> None:
    app = create_app(client, HeaderAuth("X-Forwarded-User", "X-Forwarded-Groups"))
    [run] = await paused(client, "guarded", draft="x")
    async with running(app) as url, httpx.AsyncClient(base_url=url) as http:
        missing = await http.post(
            f"/threads/{run.run_id}/runs/wait", json={"assistant_id": "guarded", "command": {"resume": "ok"}}
        )
        assert missing.status_code == 401 and "X-Forwarded-User" in missing.json()["detail"]
        headers = {"X-Forwarded-User": "dave", "X-Forwarded-Groups": "ops"}
        refused = await http.post(
            f"/threads/{run.run_id}/runs/wait",
            json={"assistant_id": "guarded", "command": {"resume": "ok"}},
            headers=headers,
        )
        assert refused.status_code == 409 and "'dave' may not answer" in refused.json()["detail"]
        headers["X-Forwarded-Groups"] = "ops, finance"
        ok = await http.post(
            f"/threads/{run.run_id}/runs/wait",
            json={"assistant_id": "guarded", "command": {"resume": "ok"}},
            headers=headers,
        )
        assert ok.status_code == 200
    [decision] = [d for d in (await run.get_state()).decisions if d.kind == "resume"]
    assert decision.identity == "dave"


async def test_a_roles_header_is_trusted_only_when_named(client: hitl.Client) -> None:
    """A proxy that sets only the user header passes a caller's own X-Forwarded-Groups through."""
    import argparse

    from hitl.web.serve import add_options, build_app, describe

    parser = argparse.ArgumentParser()
    add_options(parser)
    app = build_app(client, parser.parse_args(["--trust-header", "X-Forwarded-User"]))
    assert describe(app).endswith("X-Forwarded-User, no roles (no --roles-header)")
    [run] = await paused(client, "guarded", draft="x")
    async with running(app) as url, httpx.AsyncClient(base_url=url) as http:
        spoofed = await http.post(
            f"/threads/{run.run_id}/runs/wait",
            json={"assistant_id": "guarded", "command": {"resume": "ok"}},
            headers={"X-Forwarded-User": "mallory", "X-Forwarded-Groups": "finance"},
        )
    assert spoofed.status_code == 409 and "'mallory' may not answer" in spoofed.json()["detail"]
    named = build_app(client, parser.parse_args(["--trust-header", "X-U", "--roles-header", "X-G"]))
    assert "roles from X-G (the proxy must set or strip both)" in describe(named)


async def test_no_auth_is_loud(client: hitl.Client) -> None:
    app = create_app(client, NoAuth("devuser"))
    async with running(app) as url, httpx.AsyncClient(base_url=url) as http:
        page = await http.get("/", headers={"accept": "text/html"})
    assert page.status_code == 200 and "No authentication." in page.text and "devuser" in page.text


async def test_forms_need_the_sessions_csrf_token(served: Served) -> None:
    [run] = await paused(served.client, "approval")
    iid = (await run.get_state()).interrupts[0].id
    before = await event_count(served.client, run.run_id)
    async with served.http(None, follow_redirects=False) as browser:
        browser.cookies.set("hitl_token", "tok-alice")
        page = await browser.get(f"/runs/{run.run_id}", headers={"accept": "text/html"})
        csrf = csrf_of(page.text)
        form = {"interrupt_id": iid, "request_id": uuid.uuid4().hex, "v": json.dumps("approve")}
        forged = await browser.post(f"/ui/runs/{run.run_id}/answer", data={**form, "csrf": "guess"})
        assert forged.status_code == 303 and "CSRF" in refusal(forged)
        planted = browser.cookies["hitl_csrf"]  # the nonce itself is no token (the old double-submit was)
        assert "CSRF" in refusal(await browser.post(f"/ui/runs/{run.run_id}/answer", data={**form, "csrf": planted}))
        assert await event_count(served.client, run.run_id) == before
        ok = await browser.post(f"/ui/runs/{run.run_id}/answer", data={**form, "csrf": csrf})
        assert ok.status_code == 303 and ok.headers["location"].endswith("?done=answered")
    assert (await run.result())["status"] == "published"


async def test_a_json_answer_from_the_form_keeps_the_read_check_and_a_stale_one_writes_nothing(served: Served) -> None:
    """The answer form reads no state for a JSON answer, only the run's indexed graph: a run bob may not read
    is refused exactly as an id no run has, and an answer to a question no longer waiting is refused by the
    run itself; neither writes anything to the run's history."""
    private = await served.client.start("payment_private", {"draft": f"form-{uuid.uuid4().hex[:8]}"})
    await wait_for(private, "interrupted")
    [run] = await paused(served.client, "approval")
    hidden_iid = (await private.get_state()).interrupts[0].id
    before = {r.run_id: await event_count(served.client, r.run_id) for r in (private, run)}
    async with served.http(None, follow_redirects=False) as bob, served.http(None, follow_redirects=False) as alice:
        bob.cookies.set("hitl_token", "tok-bob")
        alice.cookies.set("hitl_token", "tok-alice")
        form = {"mode": "json", "json": json.dumps("approve"), "interrupt_id": hidden_iid}
        bobs = {**form, "csrf": csrf_of((await bob.get("/", headers={"accept": "text/html"})).text)}
        hidden = await bob.post(f"/ui/runs/{private.run_id}/answer", data=bobs)
        unknown = await bob.post("/ui/runs/no-run-has-this-id/answer", data=bobs)
        assert (refusal_code(hidden), refusal(hidden).replace(private.run_id, "ID")) == (
            refusal_code(unknown),
            refusal(unknown).replace("no-run-has-this-id", "ID"),
        )
        assert refusal_code(hidden) == 404, refusal(hidden)
        alices = {**form, "interrupt_id": "not-this-question"}
        alices["csrf"] = csrf_of((await alice.get(f"/runs/{run.run_id}", headers={"accept": "text/html"})).text)
        stale = await alice.post(f"/ui/runs/{run.run_id}/answer", data=alices)
        assert "not-this-question" in refusal(stale), refusal(stale)
    assert {r.run_id: await event_count(served.client, r.run_id) for r in (private, run)} == before
    await run.cancel()


async def test_a_csrf_token_fits_only_the_session_it_was_made_for(served: Served) -> None:
    """Cookies ignore ports: a sibling page can plant the nonce cookie, but no token made for another
    session (or no session) fits alice's, even with that session's own nonce planted."""
    [run] = await paused(served.client, "approval")
    iid = (await run.get_state()).interrupts[0].id
    before = await event_count(served.client, run.run_id)
    form = {"interrupt_id": iid, "request_id": uuid.uuid4().hex, "v": json.dumps("approve")}
    async with served.http(None, follow_redirects=False) as bob, served.http(None, follow_redirects=False) as nobody:
        bob.cookies.set("hitl_token", "tok-bob")
        bobs = csrf_of((await bob.get(f"/runs/{run.run_id}", headers={"accept": "text/html"})).text)
        anonymous = csrf_of((await nobody.get("/login")).text)
        async with served.http(None, follow_redirects=False) as alice:
            alice.cookies.set("hitl_token", "tok-alice")
            for planted, token in ((bob.cookies["hitl_csrf"], bobs), (nobody.cookies["hitl_csrf"], anonymous)):
                alice.cookies.set("hitl_csrf", planted)
                refused = await alice.post(f"/ui/runs/{run.run_id}/answer", data={**form, "csrf": token})
                assert "CSRF" in refusal(refused), refused.headers
            alice.cookies.set("hitl_csrf", "short")
            short = await alice.post(f"/ui/runs/{run.run_id}/answer", data={**form, "csrf": "short"})
            assert "CSRF" in refusal(short)
    assert await event_count(served.client, run.run_id) == before
    await run.cancel()


async def test_replicas_sharing_hitl_web_secret_accept_each_others_forms(client: hitl.Client) -> None:
    """A form rendered by one replica posts to another when both have the same secret; with a key
    made per process (no HITL_WEB_SECRET), it is refused as stale, writing nothing."""
    [run] = await paused(client, "approval")
    iid = (await run.get_state()).interrupts[0].id
    before = await event_count(client, run.run_id)
    shared = Settings(secret=b"s" * 32)
    apps = [create_app(client, TokenAuth(TOKENS), settings=s) for s in (shared, shared, Settings())]
    async with running(apps[0]) as one, running(apps[1]) as two, running(apps[2]) as own:
        async with httpx.AsyncClient(base_url=one, follow_redirects=False) as browser:
            browser.cookies.set("hitl_token", "tok-alice")
            csrf = csrf_of((await browser.get(f"/runs/{run.run_id}", headers={"accept": "text/html"})).text)
            form = {"interrupt_id": iid, "request_id": uuid.uuid4().hex, "v": json.dumps("approve"), "csrf": csrf}
            stale = await browser.post(f"{own}/ui/runs/{run.run_id}/answer", data=form)
            assert "CSRF" in refusal(stale)
            assert await event_count(client, run.run_id) == before
            taken = await browser.post(f"{two}/ui/runs/{run.run_id}/answer", data=form)
            assert taken.headers["location"].endswith("?done=answered"), taken.headers
    assert (await run.result())["status"] == "published"
    with pytest.raises(InvalidInputError, match="HITL_WEB_SECRET is 5 bytes; use at least 16"):
        load_secret({"HITL_WEB_SECRET": "short"})
    assert load_secret({"HITL_WEB_SECRET": "k" * 16}) == b"k" * 16


async def test_over_https_the_session_cookies_are_host_prefixed(served: Served) -> None:
    """`__Host-` cookies are Secure, Path=/ and host-only: no sibling subdomain can plant them; an
    unprefixed one (anyone's over http) is ignored. (The proxy in front says https: X-Forwarded-Proto.)"""
    https = {"x-forwarded-proto": "https", "accept": "text/html"}
    async with served.http(None, follow_redirects=False) as browser:
        login = await browser.get("/login", headers=https)
        [nonce] = [c for c in login.headers.get_list("set-cookie") if c.startswith("__Host-hitl_csrf=")]
        assert "; Secure" in nonce and "; Path=/" in nonce and "HttpOnly" in nonce and "Domain" not in nonce
        value = nonce.split(";")[0].split("=", 1)[1]
        csrf = csrf_of(login.text)
        jar = {"cookie": f"__Host-hitl_csrf={value}", "x-forwarded-proto": "https"}
        signed = await browser.post("/ui/login", data={"csrf": csrf, "token": "tok-bob", "next": "/"}, headers=jar)
        [token] = [c for c in signed.headers.get_list("set-cookie") if c.startswith("__Host-hitl_token=")]
        assert token.startswith("__Host-hitl_token=tok-bob;") and "; Secure" in token, signed.headers
        plain = {"cookie": f"hitl_csrf={value}", "x-forwarded-proto": "https"}
        ignored = await browser.post("/ui/login", data={"csrf": csrf, "token": "tok-bob", "next": "/"}, headers=plain)
        assert "CSRF" in refusal(ignored)
        inbox = await browser.get("/", headers={**https, "cookie": "__Host-hitl_token=tok-bob"})
        assert inbox.status_code == 200 and 'data-testid="identity">bob<' in inbox.text


async def test_a_refusal_flash_shows_once_on_its_own_page_and_session_only(served: Served) -> None:
    """The flash carries a refusal to the page it was made for: not to another page, not to another
    session (a planted cookie), not after tampering; and it is cleared once shown."""
    [one, two] = await paused(served.client, "approval", 2)
    browser, csrf = await browser_session(served, "tok-alice", one.run_id)
    bob, _ = await browser_session(served, "tok-bob", one.run_id)
    try:
        refused = await browser.post(f"/ui/runs/{one.run_id}/fork", data={"csrf": csrf, "step": "99"})
        flash = next(c for c in refused.headers.get_list("set-cookie") if c.startswith("hitl_flash="))
        value = flash.split(";")[0].split("=", 1)[1]
        assert "Max-Age=60" in flash and "HttpOnly" in flash and refused.headers["location"] == f"/runs/{one.run_id}"
        html = {"accept": "text/html"}
        elsewhere = await browser.get(f"/runs/{two.run_id}", headers=html)
        assert "no checkpoint at step 99" not in elsewhere.text and "hitl_flash" not in elsewhere.headers.get(
            "set-cookie", ""
        )
        bob.cookies.set("hitl_flash", value)  # planted in another session's browser
        assert "no checkpoint at step 99" not in (await bob.get(f"/runs/{one.run_id}", headers=html)).text
        body, sig = value.split(".")
        browser.cookies.delete("hitl_flash")
        browser.cookies.set("hitl_flash", f"{body}.{sig[::-1]}")
        assert "no checkpoint at step 99" not in (await browser.get(f"/runs/{one.run_id}", headers=html)).text
        browser.cookies.delete("hitl_flash")
        browser.cookies.set("hitl_flash", value)
        shown = await browser.get(f"/runs/{one.run_id}", headers=html)
        assert "no checkpoint at step 99" in shown.text and "hitl_flash=; " in shown.headers["set-cookie"]
    finally:
        await browser.aclose()
        await bob.aclose()
    await one.cancel()
    await two.cancel()


async def test_writes_from_another_origin_are_refused_before_any_route(served: Served) -> None:
    """What browsers say about where a request comes from: a sibling origin's page is refused on every write
    (forms, /ui/api, the LangGraph API), the server's own pages and clients that are not browsers are not."""
    [run] = await paused(served.client, "approval")
    before = await event_count(served.client, run.run_id)
    sibling = served.url.rsplit(":", 1)[0] + ":1"
    resume = {"assistant_id": "approval", "command": {"resume": "approve"}}
    async with served.http(None, follow_redirects=False) as browser:
        browser.cookies.set("hitl_token", "tok-alice")
        page = await browser.get(f"/runs/{run.run_id}", headers={"accept": "text/html"})
        csrf = csrf_of(page.text)
        for headers in ({"sec-fetch-site": "same-site", "origin": sibling}, {"origin": sibling}, {"origin": "null"}):
            for path, kwargs in (
                (f"/ui/runs/{run.run_id}/cancel", {"data": {"csrf": csrf}}),
                (f"/threads/{run.run_id}/runs/wait", {"json": resume}),
                ("/ui/api/diff", {"json": {"before": 1, "after": 2}}),
            ):
                refused = await browser.post(path, headers=headers, **kwargs)  # type: ignore[arg-type]
                assert refused.status_code == 403 and "is refused" in refused.json()["detail"], (path, headers)
        # JSON only where JSON is read: a no-preflight text/plain body never reaches a JSON route.
        for path in (f"/threads/{run.run_id}/runs/wait", "/ui/api/check"):
            plain = await browser.post(path, content=json.dumps(resume), headers={"content-type": "text/plain"})
            assert plain.status_code == 415, path
        formed = await browser.post("/ui/api/check", data={"run_id": run.run_id})
        assert formed.status_code == 415
        untyped = await browser.post(f"/threads/{run.run_id}/runs/wait", content=json.dumps(resume).encode())
        assert untyped.status_code == 415  # FastAPI would read JSON from a body with no type: never reached
        assert await event_count(served.client, run.run_id) == before
        same = {"sec-fetch-site": "same-origin", "origin": served.url}
        shown = await browser.post("/ui/api/diff", json={"before": 1, "after": 2}, headers=same)
        assert shown.status_code == 200 and "diff" in shown.text
    async with served.http("tok-alice") as api:  # a bearer token: no ambient credential, whatever it says
        done = await api.post(f"/threads/{run.run_id}/runs/wait", json=resume, headers={"origin": sibling})
        assert done.status_code == 200, done.text
    assert (await run.result())["status"] == "published"


async def test_thread_stream_reports_resumed_and_ended(served: Served) -> None:
    [run] = await paused(served.client, "approval")
    events: list[str] = []

    async def listen() -> None:
        async with served.http() as http, http.stream("GET", f"/threads/{run.run_id}/stream") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    events.append(line[7:])
                    if line == "event: paused":
                        await served.client.get_run(run.run_id).resume("reject")

    await asyncio.wait_for(listen(), 30)
    assert events[0] == "paused" and events[-2:] == ["ended", "end"]


async def test_openapi_and_health(served: Served) -> None:
    async with served.http(None) as http:
        assert (await http.get("/ok")).json() == {"ok": True}
        assert (await http.get("/livez")).json() == {"ok": True}  # no sign-in: probes carry none
        assert (await http.get("/readyz")).json() == {"ok": True}  # Temporal answers, not draining
        spec = (await http.get("/openapi.json")).json()
        assert "/threads/{thread_id}/runs/wait" in spec["paths"] and "/ui/runs/{run_id}/answer" not in spec["paths"]
        docs = await http.get("/docs", headers={"accept": "text/html"})
        assert docs.status_code == 200 and "/threads/{thread_id}/runs/wait" in docs.text
        assert "cdn" not in docs.text.lower() and '<script src="http' not in docs.text


async def browser_session(served: Served, token: str, run_id: str) -> tuple[httpx.AsyncClient, str]:
    """An httpx client holding a signed-in browser's cookies, and the page's CSRF token."""
    browser = served.http(None, follow_redirects=False)
    browser.cookies.set("hitl_token", token)
    page = await browser.get(f"/runs/{run_id}", headers={"accept": "text/html"})
    return browser, csrf_of(page.text)


async def test_fork_and_cancel_from_the_page(served: Served) -> None:
    [run] = await paused(served.client, "approval")
    await run.resume("reject")
    browser, csrf = await browser_session(served, "tok-alice", run.run_id)
    try:
        forked = await browser.post(f"/ui/runs/{run.run_id}/fork", data={"csrf": csrf, "step": "1"})
        assert forked.status_code == 303, forked.text
        new_id = forked.headers["location"].split("/runs/", 1)[1].split("?")[0]
        fork = served.client.get_run(new_id)
        state = await wait_for(fork, "interrupted")  # back at the question of step 1
        assert state.values["topic"] == "tea" and state.interrupts[0].node == "review"
        bad = await browser.post(f"/ui/runs/{run.run_id}/fork", data={"csrf": csrf, "step": "99"})
        assert "no checkpoint at step 99" in refusal(bad)
        cancelled = await browser.post(f"/ui/runs/{new_id}/cancel", data={"csrf": csrf})
        assert cancelled.headers["location"].endswith("?done=cancelled")
    finally:
        await browser.aclose()
    await wait_for(fork, "cancelled")


async def test_signing_in_with_a_token(served: Served) -> None:
    async with served.http(None, follow_redirects=False) as browser:
        bounced = await browser.get("/", headers={"accept": "text/html"})
        assert bounced.status_code == 303 and bounced.headers["location"].startswith("/login")
        login = await browser.get("/login?next=/runs/x")
        csrf = csrf_of(login.text)
        assert 'name="token"' in login.text
        wrong = await browser.post("/ui/login", data={"csrf": csrf, "token": "nope", "next": "/"})
        assert "not known" in refusal(wrong) and "hitl_token" not in browser.cookies
        shown = await browser.get(wrong.headers["location"], headers={"accept": "text/html"})
        assert "that token is not known to this server" in shown.text
        offsite = await browser.post("/ui/login", data={"csrf": csrf, "token": "tok-bob", "next": "//evil.example"})
        assert offsite.headers["location"] == "/" and browser.cookies["hitl_token"] == "tok-bob"
        inbox = await browser.get("/", headers={"accept": "text/html"})
        assert inbox.status_code == 200 and 'data-testid="identity">bob<' in inbox.text


async def test_a_run_encrypted_for_another_key_does_not_break_listings(served: Served) -> None:
    import dataclasses
    import secrets

    import temporalio.client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from hitl.payloads.codec import EncryptionCodec
    from tests import graphs

    converter = dataclasses.replace(
        pydantic_data_converter, payload_codec=EncryptionCodec({"k": secrets.token_bytes(32)}, "k")
    )
    temporal = await temporalio.client.Client.connect(
        served.client.temporal.service_client.config.target_host,
        namespace=served.client.temporal.namespace,
        data_converter=converter,
    )
    secret = hitl.Client(temporal, task_queue="web-encrypted", graphs=graphs.GRAPHS)
    async with secret.worker():
        run = await secret.start("review", {"draft": "classified"})
        await wait_for(run, "interrupted")
        async with served.http() as http:
            await visible(http, [run.run_id])
            found = await http.post("/threads/search", json={"status": "interrupted", "ids": [run.run_id]})
            assert (
                found.status_code == 200
                and found.json()[0]["status"] == "interrupted"
                and "values" not in found.json()[0]
            )
            inbox = await http.get("/?graph=review", headers={"accept": "text/html"})
            assert inbox.status_code == 200 and "(encrypted)" in inbox.text
            mine = await http.get("/?graph=review&mine=true", headers={"accept": "text/html"})
            assert mine.status_code == 200
            state = await http.get(f"/threads/{run.run_id}/state")
            assert state.status_code == 503 and "payloads are encrypted (key 'k'" in state.json()["detail"]
        await run.cancel()


async def test_parallel_questions_each_get_a_card_and_are_answered_one_by_one(served: Served) -> None:
    run = await served.client.start("parallel", {})
    state = await wait_for(run, "interrupted")
    assert len(state.interrupts) == 2
    async with served.http() as http:
        thread = (await http.get(f"/threads/{run.run_id}")).json()
        assert sorted(len(v) for v in thread["interrupts"].values()) == [1, 1]  # keyed by task: one per node
        tasks = (await http.get(f"/threads/{run.run_id}/state")).json()["tasks"]
        assert sorted(t["name"] for t in tasks if t["interrupts"]) == ["left", "right"]
    browser, csrf = await browser_session(served, "tok-alice", run.run_id)
    try:
        page = await browser.get(f"/runs/{run.run_id}", headers={"accept": "text/html"})
        assert page.text.count('class="card question"') == 2
        first = state.interrupts[0]
        answered = await browser.post(
            f"/ui/runs/{run.run_id}/answer",
            data={"csrf": csrf, "interrupt_id": first.id, "request_id": uuid.uuid4().hex, "v": json.dumps("yes")},
        )
        assert answered.headers["location"].endswith("?done=answered")
        again = await browser.post(
            f"/ui/runs/{run.run_id}/answer",
            data={"csrf": csrf, "interrupt_id": first.id, "request_id": uuid.uuid4().hex, "v": json.dumps("no")},
        )
        assert "no longer waiting" in refusal(again) or "unknown interrupt" in refusal(again)
        left = await wait_for(run, "interrupted")
        assert [i.id for i in left.interrupts] == [state.interrupts[1].id]
        shown = await browser.get(again.headers["location"], headers={"accept": "text/html"})
        assert "alice</b> answered this question first" in shown.text
    finally:
        await browser.aclose()
    await run.cancel()


async def test_i_may_decide_is_filtered_server_side(served: Served) -> None:
    """Who may answer is a search attribute: the filter pages through every waiting run, not one page."""
    assert await served.client.reviewers_indexed()
    limited = await paused(served.client, "payment", n=2, draft="pay 1M")  # reviewers alice, role:finance
    [open_run] = await paused(served.client, "approval")
    ids = [r.run_id for r in [*limited, open_run]]
    theirs = search.Filter(ids=ids, may_decide=("bob",))
    ours = search.Filter(ids=ids, may_decide=("dave", "role:finance"))
    for _ in range(100):
        counts = (
            await search.count(served.client.temporal, theirs.query()),
            await search.count(served.client.temporal, ours.query()),
        )
        if counts == (1, 3):
            break
        await asyncio.sleep(0.1)
    assert counts == (1, 3), "bob may decide only the open question; a finance role holder all three"
    async with served.http("tok-bob") as http:
        # newest first: runs other tests left waiting may fill the first page oldest-first
        page = await http.get("/?mine=true&order=newest", headers={"accept": "text/html"})
    assert open_run.run_id in page.text and not any(r.run_id in page.text for r in limited)
    for run in limited:
        await run.cancel(identity="alice")
    await open_run.cancel()


async def test_a_refused_decision_on_runs_stream_is_one_line_and_writes_nothing(served: Served) -> None:
    [run] = await paused(served.client, "approval")
    before = await event_count(served.client, run.run_id)
    async with served.http() as http:
        refused = await http.post(
            f"/threads/{run.run_id}/runs/stream", json={"assistant_id": "approval", "command": {"resume": "maybe"}}
        )
        assert refused.status_code == 409 and "'maybe' is not one of" in refused.json()["detail"]
        nobody = await http.post(
            f"/threads/{run.run_id}/runs/stream",
            json={"assistant_id": "approval", "command": {"resume": "approve"}},
            headers={"Authorization": "Bearer wrong"},
        )
        assert nobody.status_code == 401
    assert await event_count(served.client, run.run_id) == before
    assert (await served.client.get_run(run.run_id).get_state()).status == "interrupted"


async def test_ids_with_url_characters_stay_whole_in_links_and_forms(served: Served) -> None:
    """A run id holding '?', '#' or '%' is one path segment everywhere the pages put it."""
    run_id = f"odd?x=1#frag%2e-{uuid.uuid4().hex[:6]}"
    run = await served.client.start("approval", {"topic": "tea"}, run_id=run_id)
    [question] = (await wait_for(run, "interrupted")).interrupts
    seg = quote(run_id, safe="")
    browser, csrf = await browser_session(served, "tok-alice", seg)
    try:
        page = await browser.get(f"/runs/{seg}", headers={"accept": "text/html"})
        assert page.status_code == 200 and f'action="/ui/runs/{seg}/answer"' in page.text, page.text[:400]
        assert f'data-stream="/threads/{seg}/stream"' in page.text
        answered = await browser.post(
            f"/ui/runs/{seg}/answer",
            data={"csrf": csrf, "mode": "json", "json": '"approve"', "interrupt_id": question.id},
        )
        assert answered.status_code == 303 and answered.headers["location"].startswith(f"/runs/{seg}?done="), answered
    finally:
        await browser.aclose()
    assert (await run.result())["topic"] == "tea"  # the answer reached the run the id names
    with pytest.raises(hitl.InvalidInputError, match="contains '/'; a new run id may not"):
        await served.client.start("approval", {"topic": "tea"}, run_id="../../x")


async def test_a_declared_guard_refuses_skipping_the_question_before_it_is_asked(served: Served) -> None:
    """The reported bypass: pause before `approve` with interrupt_before, then goto `pay` as a non-reviewer."""
    tid = f"skip-{uuid.uuid4().hex[:8]}"
    async with served.http("tok-bob") as http:
        started = await http.post(
            f"/threads/{tid}/runs/wait",
            json={"assistant_id": "payment", "input": {"draft": "pay 1M to bob"}, "interrupt_before": ["approve"]},
        )
        assert started.status_code == 200, started.text
        run = served.client.get_run(tid)
        before = await event_count(served.client, tid)
        goto = await http.post(
            f"/threads/{tid}/runs/wait", json={"assistant_id": "payment", "command": {"goto": "pay"}}
        )
        assert goto.status_code == 409 and "'bob' may not redirect it with goto" in goto.json()["detail"]
        as_node = await http.post(f"/threads/{tid}/state", json={"values": {}, "as_node": "approve"})
        assert as_node.status_code == 409 and "'bob' may not edit its state" in as_node.json()["detail"]
        update = await http.post(
            f"/threads/{tid}/runs/wait",
            json={"assistant_id": "payment", "command": {"update": {"paid": "pay 1M to bob"}}},
        )
        assert update.status_code == 409 and "'bob' may not change its state" in update.json()["detail"]
        assert await event_count(served.client, tid) == before, "a refused decision wrote to the run's history"
        asked = await http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "payment"})  # plain continue
        assert asked.status_code == 200 and asked.json()["__interrupt__"]
    async with served.http("tok-alice") as http:
        rejected = await http.post(
            f"/threads/{tid}/runs/wait", json={"assistant_id": "payment", "command": {"resume": "reject"}}
        )
        assert rejected.status_code == 200, rejected.text
    final = await run.get_state()
    assert final.status == "completed" and "paid" not in final.values
    assert [(d.kind, d.identity) for d in final.decisions] == [("resume", "bob"), ("resume", "alice")]


async def test_forking_an_approved_payment_from_the_page_takes_the_guard(served: Served) -> None:
    """A fork from before `pay` would pay again: bob (no finance role) is refused, and nothing starts."""
    [run] = await paused(served.client, "payment", draft="pay 1M")
    await run.resume("approve", identity="alice")
    before_pay = next(c.step for c in await run.get_state_history() if c.next == ["pay"])
    known = {r.run_id for r in await served.client.list_runs(limit=1000)}
    browser, csrf = await browser_session(served, "tok-bob", run.run_id)
    try:
        refused = await browser.post(f"/ui/runs/{run.run_id}/fork", data={"csrf": csrf, "step": str(before_pay)})
        assert "may not fork it" in refusal(refused), refused.headers
    finally:
        await browser.aclose()
    forks = {r.run_id for r in await served.client.list_runs(limit=1000)} - known
    assert not any(f.startswith(f"{run.run_id}-fork") for f in forks)


# ------------------------------------------------------------------ a thread's runs (LangGraph's runs API)

GATES: dict[str, threading.Event] = {}
"""The gated graph's gates, by the key a run's input names: its first node holds until the test sets it."""


class GateState(TypedDict, total=False):
    key: str
    log: Annotated[list[str], operator.add]


def _hold(state: GateState) -> dict[str, Any]:
    GATES[state["key"]].wait(60)
    return {"log": ["held"]}


def _ask(state: GateState) -> dict[str, Any]:
    return {"log": [f"answer={interrupt('go on?')}"]}


_gated = StateGraph(GateState)
_gated.add_node("hold", _hold)
_gated.add_node("ask", _ask)
_gated.add_edge(START, "hold")
_gated.add_edge("hold", "ask")
_gated.add_edge("ask", END)
web_gated = _gated.compile(name="web_gated")

_gated_after = StateGraph(GateState)
_gated_after.add_node("ask", _ask)
_gated_after.add_node("hold", _hold)
_gated_after.add_edge(START, "ask")
_gated_after.add_edge("ask", "hold")
_gated_after.add_edge("hold", END)
web_gated_after = _gated_after.compile(name="web_gated_after")
"""Asks first, then holds: a run busy with the step after its answer for as long as the test wants."""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gated(client: hitl.Client) -> AsyncIterator[Served]:
    """`hitl serve` for the gated graph, on its own task queue with its own worker (in this process)."""
    ours = hitl.Client(client.temporal, task_queue="hitl-web-gated", graphs=[web_gated, web_gated_after])
    async with ours.worker(), running(create_app(ours, TokenAuth(TOKENS), settings=Settings(poll_seconds=0.2))) as url:
        yield Served(url, ours)


async def held(http: httpx.AsyncClient) -> tuple[str, str, threading.Event]:
    """A thread running its first node until the returned gate is set: (thread id, start's run id, gate)."""
    key = uuid.uuid4().hex
    GATES[key] = gate = threading.Event()
    started = await http.post("/runs", json={"assistant_id": "web_gated", "input": {"key": key}})
    assert started.status_code == 200, started.text
    return started.json()["thread_id"], started.json()["run_id"], gate


async def until_signalled(client: hitl.Client, run_id: str) -> None:
    """Until the run's history holds a decision sent as a signal (what `enqueue` sends a busy thread)."""
    handle = client.temporal.get_workflow_handle(run_id)
    for _ in range(600):
        async for event in handle.fetch_history_events():
            if event.workflow_execution_signaled_event_attributes.signal_name == "resume_signal":
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} was sent no decision as a signal")


async def test_the_same_idempotency_key_while_the_run_works_on_after_the_answer_gets_the_answer(
    gated: Served,
) -> None:
    """A retry that arrives after the run took the first request and is busy with the next step gets the first
    request's answer: not a busy thread's 409 (the inbox and SDKs retry on a dropped connection), not a second
    decision. Two requests sent at once under one key met this whenever the first was applied before the
    second read the thread."""
    key, request = uuid.uuid4().hex, uuid.uuid4().hex
    GATES[key] = gate = threading.Event()
    async with gated.http() as http:
        start = await http.post("/runs/wait", json={"assistant_id": "web_gated_after", "input": {"key": key}})
        assert start.status_code == 200 and "__interrupt__" in start.json(), start.text
        tid = start.headers["content-location"].split("/")[2]  # /threads/{tid}/runs/{run_id}
        body = {"assistant_id": "web_gated_after", "command": {"resume": "yes"}}
        try:
            first = await http.post(f"/threads/{tid}/runs", json=body, headers={"Idempotency-Key": request})
            assert first.status_code == 200, first.text
            run = gated.client.get_run(tid)
            for _ in range(600):
                if (await run.get_state()).status == "running":
                    break
                await asyncio.sleep(0.05)
            again = await http.post(f"/threads/{tid}/runs", json=body, headers={"Idempotency-Key": request})
            assert again.status_code == 200, again.text
            assert again.json()["run_id"] == first.json()["run_id"] == request
        finally:
            gate.set()
        state = await run.wait()
    assert state.status == "completed"
    assert [d.value for d in state.decisions if d.kind == "resume"] == ["yes"]


def run_of(response: httpx.Response) -> str:
    """The run id a run request's Content-Location names (`/threads/{id}/runs/{run_id}`)."""
    location = response.headers["content-location"]
    assert location.startswith("/threads/") and "/runs/" in location, location
    return location.rsplit("/", 1)[1]


async def test_a_threads_runs_are_its_start_and_each_answer_with_the_ids_their_requests_named(served: Served) -> None:
    async with served.http() as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        first = await http.post(
            f"/threads/{tid}/runs/wait", json={"assistant_id": "approval", "input": {"topic": "tea"}}
        )
        assert first.status_code == 200 and "__interrupt__" in first.json()
        answer = await http.post(
            f"/threads/{tid}/runs/wait", json={"assistant_id": "approval", "command": {"resume": "approve"}}
        )
        assert answer.status_code == 200 and answer.json()["status"] == "published"
        runs = (await http.get(f"/threads/{tid}/runs")).json()
        assert [r["run_id"] for r in runs] == [run_of(answer), run_of(first)]  # newest first
        assert [r["status"] for r in runs] == ["success", "success"]
        assert all(r["thread_id"] == tid and r["metadata"]["graph_id"] == "approval" for r in runs)
        assert all(r["metadata"]["assistant_id"] == "approval" for r in runs)
        got = (await http.get(f"/threads/{tid}/runs/{run_of(answer)}")).json()
        assert got == runs[0]
        assert (await http.get(f"/threads/{tid}/runs", params={"status": "error"})).json() == []
        assert [
            r["run_id"] for r in (await http.get(f"/threads/{tid}/runs", params={"limit": 1, "offset": 1})).json()
        ] == [run_of(first)]
        joined = (await http.get(f"/threads/{tid}/runs/{run_of(first)}/join")).json()
        assert joined["status"] == "published"
        unknown = await http.get(f"/threads/{tid}/runs/{uuid.uuid4()}")
        assert unknown.status_code == 404 and "has no run" in unknown.json()["detail"]
        assert "__error__" in (await http.get(f"/threads/{tid}/runs/{uuid.uuid4()}/join")).json()
        assert (await http.get(f"/threads/{uuid.uuid4()}/runs")).status_code == 404


async def test_a_background_run_is_found_by_the_id_its_record_and_content_location_name(served: Served) -> None:
    async with served.http() as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        created = await http.post(f"/threads/{tid}/runs", json={"assistant_id": "approval", "input": {"topic": "jam"}})
        record = created.json()
        assert record["status"] == "pending" and run_of(created) == record["run_id"]
        assert record["metadata"] == {"graph_id": "approval", "assistant_id": "approval"}
        joined = (await http.get(f"/threads/{tid}/runs/{record['run_id']}/join")).json()
        assert joined["__interrupt__"][0]["value"]["question"] == "Publish this draft?"
        answered = await http.post(
            f"/threads/{tid}/runs", json={"assistant_id": "approval", "command": {"resume": "reject"}}
        )
        assert answered.json()["kwargs"]["command"] == {"resume": "reject"}
        joined = (await http.get(f"/threads/{tid}/runs/{answered.json()['run_id']}/join")).json()
        assert joined["status"] == "rejected"
        assert (await http.get(f"/threads/{tid}/runs/{answered.json()['run_id']}")).json()["status"] == "success"


async def test_runs_are_read_from_temporal_so_every_replica_lists_the_same(served: Served) -> None:
    [run] = await paused(served.client)
    async with served.http() as http:
        answered = await http.post(
            f"/threads/{run.run_id}/runs/wait",
            json={"assistant_id": "approval", "command": {"resume": "approve"}},
            headers={"Idempotency-Key": "replica-key-" + uuid.uuid4().hex},
        )
        assert run_of(answered).startswith("replica-key-")  # the caller's key names the run it made
        mine = (await http.get(f"/threads/{run.run_id}/runs")).json()
    replica = create_app(served.client, TokenAuth(TOKENS), settings=Settings(poll_seconds=0.2))
    async with (
        running(replica) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer tok-alice"}) as other,
    ):
        assert (await other.get(f"/threads/{run.run_id}/runs")).json() == mine
    assert [r["run_id"] for r in mine][0] == run_of(answered)


async def test_a_resume_naming_the_head_checkpoint_is_taken_and_an_older_one_refused_naming_the_head(
    served: Served,
) -> None:
    [run] = await paused(served.client)
    async with served.http() as http:
        state = (await http.get(f"/threads/{run.run_id}/state")).json()
        before = await event_count(served.client, run.run_id)
        body = {"assistant_id": "approval", "command": {"resume": "approve"}}
        stale = await http.post(f"/threads/{run.run_id}/runs/wait", json={**body, "checkpoint_id": "0"})
        assert stale.status_code == 409, stale.text
        assert f"is at checkpoint '{state['checkpoint_id']}', not '0'" in stale.json()["detail"]
        assert await event_count(served.client, run.run_id) == before  # a refused answer writes nothing
        taken = await http.post(f"/threads/{run.run_id}/runs/wait", json={**body, "checkpoint": state["checkpoint"]})
        assert taken.status_code == 200 and taken.json()["status"] == "published", taken.text


async def test_an_answer_to_a_busy_thread_waits_only_when_enqueued(gated: Served) -> None:
    async with gated.http() as http:
        tid, start, gate = await held(http)
        assert [r["status"] for r in (await http.get(f"/threads/{tid}/runs")).json()] == ["running"]
        body = {"assistant_id": "web_gated", "command": {"resume": "yes"}}
        before = await event_count(gated.client, tid)
        for strategy in (None, "reject", "interrupt", "rollback"):
            refused = await http.post(f"/threads/{tid}/runs", json={**body, "multitask_strategy": strategy})
            assert refused.status_code == 409 and "is running a step" in refused.json()["detail"], strategy
            assert "'enqueue'" in refused.json()["detail"]
        assert await event_count(gated.client, tid) == before
        queued = await http.post(f"/threads/{tid}/runs", json={**body, "multitask_strategy": "enqueue"})
        assert queued.status_code == 200 and queued.json()["status"] == "pending"
        assert queued.json()["multitask_strategy"] == "enqueue"
        assert (await gated.client.get_run(tid).get_state()).status == "running"  # it went while the node ran
        gate.set()
        done = (await http.get(f"/threads/{tid}/runs/{run_of(queued)}/join")).json()
        assert done["log"] == ["held", "answer=yes"]
        runs = (await http.get(f"/threads/{tid}/runs")).json()
        assert [(r["run_id"], r["status"]) for r in runs] == [(run_of(queued), "success"), (start, "success")]


async def test_a_busy_thread_holds_at_most_ten_enqueued_answers(gated: Served) -> None:
    """Each enqueued answer is a signal in the run's history, applied or refused at its next pause: without a
    bound anyone who may answer could grow a busy run's history to Temporal's 50 MB, where Temporal ends it.
    Past `MAX_HELD` one more is refused before it is sent (nothing written); the run goes on as ever."""
    async with gated.http() as http:
        tid, _, gate = await held(http)
        body = {"assistant_id": "web_gated", "command": {"resume": "yes"}, "multitask_strategy": "enqueue"}
        for _ in range(MAX_HELD):
            assert (await http.post(f"/threads/{tid}/runs", json=body)).status_code == 200
        run = gated.client.get_run(tid)
        for _ in range(600):  # the run takes each signal in a workflow task of its own
            if (await run.get_state()).held == MAX_HELD:
                break
            await asyncio.sleep(0.05)
        before = await event_count(gated.client, tid)
        refused = await http.post(f"/threads/{tid}/runs", json=body)
        assert refused.status_code == 409, refused.text
        assert f"already holds {MAX_HELD} answers" in refused.json()["detail"]
        assert await event_count(gated.client, tid) == before
        gate.set()
        state = await wait_for(run, "completed")
        assert state.values["log"] == ["held", "answer=yes"] and state.held == 0
        assert len(state.refused) == MAX_HELD - 1  # the rest came after the one question: refused, on record


async def test_a_busy_threads_enqueued_answer_waited_for_returns_the_end(gated: Served) -> None:
    async with gated.http() as http:
        tid, _, gate = await held(http)
        body = {"assistant_id": "web_gated", "command": {"resume": "ok"}, "multitask_strategy": "enqueue"}
        waiting = asyncio.ensure_future(http.post(f"/threads/{tid}/runs/wait", json=body))
        await until_signalled(gated.client, tid)  # the answer is held by the run: now let the node finish
        gate.set()
        out = await waiting
        assert out.status_code == 200 and out.json()["log"] == ["held", "answer=ok"], out.text


async def test_schemas_give_the_state_as_input_and_output_and_each_key_optional_in_the_state(gated: Served) -> None:
    async with gated.http() as http:
        schemas = (await http.get("/assistants/web_gated/schemas")).json()
    assert schemas["input_schema"] == schemas["output_schema"]
    assert schemas["input_schema"]["title"] == "GateState" and set(schemas["input_schema"]["properties"]) == {
        "key",
        "log",
    }
    assert schemas["state_schema"]["properties"]["log"] == {
        "default": None,
        "items": {"type": "string"},
        "title": "Log",
        "type": "array",
    }
    assert schemas["config_schema"] == {} and schemas["context_schema"] is None


async def test_cancel_ends_a_running_run_and_finds_nothing_to_cancel_after(gated: Served) -> None:
    async with gated.http() as http:
        tid, start, gate = await held(http)
        try:
            rollback = await http.post(f"/threads/{tid}/runs/{start}/cancel", params={"action": "rollback"})
            assert rollback.status_code == 422 and "rollback" in rollback.json()["detail"]
            async with gated.http("tok-dana") as dana:  # view-only: reads, never cancels
                assert (await dana.get(f"/threads/{tid}/runs/{start}")).json()["status"] == "running"
                refused = await dana.post(f"/threads/{tid}/runs/{start}/cancel")
                assert refused.status_code == 403 and "view-only" in refused.json()["detail"]
            cancelled = await http.post(f"/threads/{tid}/runs/{start}/cancel", params={"wait": True})
            assert cancelled.status_code == 200 and cancelled.json() == {}
            assert (await http.get(f"/threads/{tid}/runs/{start}")).json()["status"] == "interrupted"
            again = await http.post(f"/threads/{tid}/runs/{start}/cancel")
            assert again.status_code == 404 and "no pending or running run" in again.json()["detail"]
        finally:
            gate.set()


async def test_runs_of_a_run_the_caller_may_not_read_are_unknown_to_them(served: Served) -> None:
    run = await served.client.start("payment_private", {"draft": f"runs-{uuid.uuid4().hex[:8]}"})
    await wait_for(run, "interrupted")
    async with served.http() as alice:
        [start] = (await alice.get(f"/threads/{run.run_id}/runs")).json()
    unknown = uuid.uuid4()
    async with served.http("tok-bob") as bob:
        for path in (f"/threads/{run.run_id}/runs", f"/threads/{run.run_id}/runs/{start['run_id']}"):
            hidden, never = await bob.get(path), await bob.get(path.replace(run.run_id, str(unknown)))
            assert hidden.status_code == never.status_code == 404, path
            assert hidden.json()["detail"].replace(run.run_id, "X") == never.json()["detail"].replace(str(unknown), "X")
        joined = (await bob.get(f"/threads/{run.run_id}/runs/{start['run_id']}/join")).json()
        assert list(joined) == ["detail"] or "__error__" in joined
        refused = await bob.post(f"/threads/{run.run_id}/runs/{start['run_id']}/cancel")
        assert refused.status_code == 404
    assert (await run.get_state()).status == "interrupted"


async def test_assistants_graph_schemas_and_info(served: Served) -> None:
    async with served.http() as http:
        graph = (await http.get("/assistants/parent/graph")).json()
        assert [n["id"] for n in graph["nodes"]] == ["__start__", "prep", "team", "after", "__end__"]
        assert {(e["source"], e["target"]) for e in graph["edges"]} == {
            ("__start__", "prep"),
            ("prep", "team"),
            ("team", "after"),
            ("after", "__end__"),
        }
        xray = (await http.get("/assistants/parent/graph", params={"xray": "true"})).json()
        assert [n["id"] for n in xray["nodes"]] == ["__start__", "prep", "after", "__end__", "team:prepare", "team:ask"]
        assert {(e["source"], e["target"]) for e in xray["edges"]} >= {("prep", "team:prepare"), ("team:ask", "after")}
        bad = await http.get("/assistants/parent/graph", params={"xray": "deep"})
        assert bad.status_code == 422 and "xray 'deep'" in bad.json()["detail"]
        schemas = (await http.get("/assistants/approval/schemas")).json()
        assert schemas["graph_id"] == "approval" and schemas["state_schema"]["title"] == "approval_state"
        assert set(schemas["state_schema"]["properties"]) == {"topic", "draft", "status"}
        assert (await http.get("/info")).json()["flags"]["assistants"] is True
    async with served.http("tok-bob") as bob:  # a graph bob may not read is unknown to him
        assert (await bob.get("/assistants/payment_private/graph")).status_code == 422
        assert (await bob.get("/assistants/payment_open/graph")).status_code == 200
        assert (await bob.get("/assistants/payment_private/schemas")).status_code == 422


async def test_a_run_is_never_deleted_and_deleting_an_unknown_one_is_404(served: Served) -> None:
    [run] = await paused(served.client)
    async with served.http() as http:
        [start] = (await http.get(f"/threads/{run.run_id}/runs")).json()
        before = await event_count(served.client, run.run_id)
        refused = await http.delete(f"/threads/{run.run_id}/runs/{start['run_id']}")
        assert refused.status_code == 422 and "cannot be deleted" in refused.json()["detail"], refused.text
        assert (await http.delete(f"/threads/{run.run_id}/runs/{uuid.uuid4()}")).status_code == 404
        async with served.http("tok-dana") as dana:
            assert (await dana.delete(f"/threads/{run.run_id}/runs/{start['run_id']}")).status_code == 403
        assert (await http.get(f"/threads/{run.run_id}/runs")).json() == [start]
    assert await event_count(served.client, run.run_id) == before
