"""A front-end served from another origin (as Agent Inbox is) drives `hitl serve --cors-origin` in a real
browser (Debian's chromium under Playwright): `fetch` with a bearer token searches threads, reads a
thread's state and answers its question; the same page from an origin not listed is stopped by the
browser's CORS check, and its answer never reaches the run; and a listed page gets nowhere with the
signed-in person's cookie instead of a token."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

import hitl
from hitl.server import free_port
from hitl.web import Settings, TokenAuth, create_app
from hitl.web.testing import CHROMIUM, running
from tests.web_fixtures import TOKENS

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"needs {CHROMIUM} (apt-get install chromium)")
playwright_api = pytest.importorskip("playwright.async_api")

FRONT_END = """
async ({api, thread}) => {
  const headers = {"Authorization": "Bearer tok-alice", "Content-Type": "application/json"};
  const post = async (path, body) => {
    const r = await fetch(api + path, {method: "POST", headers, body: JSON.stringify(body)});
    return {status: r.status, body: await r.json(), location: r.headers.get("Content-Location")};
  };
  const found = await post("/threads/search", {status: "interrupted", ids: [thread]});
  const state = await fetch(api + `/threads/${thread}/state`, {headers}).then(r => r.json());
  const answered = await post(`/threads/${thread}/runs/wait`,
    {assistant_id: "approval", input: {}, command: {resume: "approve"}, on_disconnect: "cancel"});
  return {found, state, answered};
}
"""
BLOCKED = """
async ({api, thread}) => {
  const headers = {"Authorization": "Bearer tok-alice", "Content-Type": "application/json"};
  const tries = [
    fetch(api + "/threads/search", {method: "POST", headers, body: JSON.stringify({ids: [thread]})}),
    fetch(api + `/threads/${thread}/state`, {headers}),
    fetch(api + `/threads/${thread}/runs/wait`, {method: "POST", headers,
      body: JSON.stringify({assistant_id: "approval", command: {resume: "approve"}})}),
  ];
  return Promise.all(tries.map(t => t.then(r => `status ${r.status}`, e => `${e.name}: ${e.message}`)));
}
"""


def front_end_page() -> FastAPI:
    page = FastAPI()

    @page.get("/")
    async def index() -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>front-end</title><p>a front-end on its own origin</p>")

    return page


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def origins() -> AsyncIterator[tuple[str, str]]:
    """Two origins serving the same front-end page: the first is listed, the second is not."""
    async with running(front_end_page()) as listed, running(front_end_page()) as other:
        yield listed, other


async def paused_thread(api: str) -> str:
    async with httpx.AsyncClient(base_url=api, headers={"Authorization": "Bearer tok-alice"}, timeout=60) as http:
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        out = await http.post(
            f"/threads/{thread}/runs/wait", json={"assistant_id": "approval", "input": {"topic": "t"}}
        )
        assert out.json()["__interrupt__"], out.text
    return str(thread)


async def from_origin(
    client: hitl.Client, browser: Any, listed: str, page_origin: str, script: str, cookie: str | None = None
) -> tuple[Any, hitl.StateSnapshot]:
    """Serve the API with `listed` allowed, pause a thread, run `script` in a page on `page_origin` (signed in
    to the API's own pages with `cookie`, if given): what the script saw, and the run's state afterwards."""
    app = create_app(client, TokenAuth(TOKENS), settings=Settings(cors_origins=(listed,)))
    async with running(app, port=free_port()) as api:
        thread = await paused_thread(api)
        context = await browser.new_context()
        if cookie:
            await context.add_cookies([{"name": "hitl_token", "value": cookie, "url": api}])
        page = await context.new_page()
        await page.goto(page_origin + "/")
        seen = await page.evaluate(script, {"api": api, "thread": thread})
        await context.close()
        state = await client.get_run(thread).get_state()
    return seen, state


async def test_listed_origin_searches_reads_and_answers(
    client: hitl.Client, browser: Any, origins: tuple[str, str]
) -> None:
    listed, _ = origins
    seen, state = await from_origin(client, browser, listed, listed, FRONT_END)
    assert seen["found"]["status"] == 200
    assert [t["thread_id"] for t in seen["found"]["body"]] == [state.run_id]
    assert seen["state"]["next"] == ["review"] and seen["state"]["interrupts"]
    assert seen["answered"]["status"] == 200, seen["answered"]
    assert seen["answered"]["body"]["status"] == "published"


async def test_origin_not_listed_is_blocked_by_the_browser(
    client: hitl.Client, browser: Any, origins: tuple[str, str]
) -> None:
    listed, other = origins
    outcomes, state = await from_origin(client, browser, listed, other, BLOCKED)
    assert outcomes == ["TypeError: Failed to fetch"] * 3
    assert state.status == "interrupted"  # the preflight failed: the answer was never sent


WITH_COOKIE = """
async ({api, thread}) => {
  const answer = JSON.stringify({assistant_id: "approval", command: {resume: "approve"}});
  const tries = [
    // preflighted (JSON): the preflight has no Allow-Credentials, so the browser never sends it
    fetch(api + `/threads/${thread}/runs/wait`,
      {method: "POST", credentials: "include", headers: {"Content-Type": "application/json"}, body: answer}),
    // no preflight (text/plain): sent with the cookie, refused by the Guard, and unreadable to the page
    fetch(api + `/threads/${thread}/runs/wait`,
      {method: "POST", credentials: "include", headers: {"Content-Type": "text/plain"}, body: answer}),
  ];
  return Promise.all(tries.map(t => t.then(r => `status ${r.status}`, e => `${e.name}: ${e.message}`)));
}
"""


async def test_a_listed_origin_cannot_write_with_the_signed_in_cookie(
    client: hitl.Client, browser: Any, origins: tuple[str, str]
) -> None:
    """The person is signed in to the inbox (cookie); a listed page's cookie-carrying writes get nowhere."""
    listed, _ = origins
    outcomes, state = await from_origin(client, browser, listed, listed, WITH_COOKIE, cookie="tok-alice")
    assert outcomes == ["TypeError: Failed to fetch"] * 2
    assert state.status == "interrupted" and not [d for d in state.decisions if d.kind == "resume"]
