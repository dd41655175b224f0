"""Fixtures of the web tests: the app served by uvicorn on a free port, in the
session's event loop, against the session's real dev server and worker; and
Debian's chromium under Playwright for the browser tests (`browser`, `open_as`)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
import temporalio.client
import temporalio.service

import hitl
from hitl.server import DevServer
from hitl.web import Identity, Settings, TokenAuth, create_app
from hitl.web.testing import launch_chromium, running
from tests.helpers import start_dev_server

TOKENS = {
    "tok-alice": Identity("alice", ("finance",)),
    "tok-bob": Identity("bob", ()),
    "tok-carol": Identity("carol", ("finance", "ops")),
    "tok-dana": Identity("dana", ("finance",), view_only=True),  # may read, never decide (test_web_scope)
}


@dataclass
class Served:
    url: str
    client: hitl.Client

    def http(self, token: str | None = "tok-alice", **kwargs: object) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=60, **kwargs)  # type: ignore[arg-type]


@asynccontextmanager
async def serving(client: hitl.Client) -> AsyncIterator[Served]:
    """The app with the test tokens on uvicorn, against `client`."""
    app = create_app(client, TokenAuth(TOKENS), settings=Settings(poll_seconds=0.2))
    async with running(app) as url:
        yield Served(url, client)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def served(client: hitl.Client) -> AsyncIterator[Served]:
    async with serving(client) as s:
        yield s


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def own_served(own_client: hitl.Client) -> AsyncIterator[Served]:
    """As `served`, against the module's own namespace and worker (`own_client` in conftest.py)."""
    async with serving(own_client) as s:
        yield s


CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry (derived from the session: not the cookie's value)."""
    found = CSRF_FIELD.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def flash_of(response: httpx.Response) -> dict[str, Any]:
    """The signed flash cookie a refused form post carries back to its page ({} when the post was not
    refused): `e` the one-line reason, `c` the status. Read without checking the signature: the server does."""
    set_cookies = response.headers.get_list("set-cookie")
    flash = next((c.split(";")[0].split("=", 1)[1] for c in set_cookies if re.match("(__Host-)?hitl_flash=.", c)), "")
    if not flash:
        return {}
    body = flash.split(".", 1)[0]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def refusal(response: httpx.Response) -> str:
    """The one-line reason a refused form post carries back to its page ('' when it was not refused)."""
    return str(flash_of(response).get("e", ""))


def refusal_code(response: httpx.Response) -> int | None:
    """The HTTP status of a refused form post's reason, as its page will show it (None when not refused)."""
    code = flash_of(response).get("c")
    return int(code) if code is not None else None


BROWSER_TIMEOUT = 90_000
# (Was 30 s. Twice in six full runs a click whose form POST the run refused waited over 30 s for its page:
# not reproduced alone; an open finding in the closing note. What a test asserts is unchanged.)
"""Long enough for a decision whose workflow task Temporal hands out again: a run evicted from a busy worker's
cache with a task buffered waits out the 10 s workflow-task timeout (seen once in a full suite run)."""


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    """Chromium for the process's browser tests, launched at the first (Playwright is imported here: modules
    skip before asking). Each page gets a browser context of its own (cookies, storage, cache), so test files
    share no state through it, and the process launches chromium and Playwright's driver (~1 CPU-s) once."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await launch_chromium(p)
        yield b
        await b.close()


@pytest_asyncio.fixture(loop_scope="session")
async def open_as(browser: Any, served: Served) -> AsyncIterator[Any]:
    """`await open_as("tok-alice", path, width=...)`: a signed-in page in its own browser context
    (`open_as(None, path)`: nobody signed in, as someone following a link from an email)."""
    contexts = []

    async def open_page(token: str | None, path: str, width: int = 1200) -> Any:
        context = await browser.new_context(viewport={"width": width, "height": 900})
        context.set_default_timeout(BROWSER_TIMEOUT)
        if token:
            await context.add_cookies([{"name": "hitl_token", "value": token, "url": served.url}])
        contexts.append(context)
        page = await context.new_page()
        await page.goto(path if path.startswith("http") else served.url + path)
        return page

    yield open_page
    for c in contexts:
        await c.close()


STOPPED_RETRY_SECONDS = 3.0
"""How long a call to a dev server a test has stopped is retried (own_temporal)."""


@asynccontextmanager
async def own_temporal(
    tmp_path: Path, task_queue: str, known: list[hitl.CompiledGraph] | None = None, *, stopped: bool = False
) -> AsyncIterator[tuple[DevServer, hitl.Client, str]]:
    """A dev server of the test's own (the test may stop it: the session's server stays up), a client of it
    serving no worker, and `hitl serve` in front with the test tokens: (server, client, the app's URL).
    `known`: the graphs client and app know (default: tests.graphs.GRAPHS). `stopped`: the test stops the
    server, and the client retries each call on an unreachable server for STOPPED_RETRY_SECONDS, not the
    Temporal SDK's 10 s (hitl's own retries on top are the same)."""
    from tests import graphs

    server = await asyncio.to_thread(start_dev_server, tmp_path / "data")
    try:
        known = graphs.GRAPHS if known is None else known
        client = await hitl.connect(server.address, task_queue=task_queue, graphs=known, identity="ops")
        if stopped:
            retry = temporalio.service.RetryConfig(max_elapsed_time_millis=int(STOPPED_RETRY_SECONDS * 1000))
            temporal = await temporalio.client.Client.connect(
                server.address, data_converter=client.temporal.data_converter, retry_config=retry
            )
            client = hitl.Client(temporal, task_queue=task_queue, graphs=known, identity="ops")
        app = create_app(client, TokenAuth(TOKENS), settings=Settings(poll_seconds=1.0))
        async with running(app) as url:
            yield server, client, url
    finally:
        await asyncio.to_thread(server.stop)


async def sse_parts(response: httpx.Response) -> list[tuple[str, str, str]]:
    """(id, event, data) of every event of an SSE response, read to its close."""
    out, fields = [], {}
    async for line in response.aiter_lines():
        if not line:
            if "event" in fields:
                out.append((fields.get("id", ""), fields["event"], fields.get("data", "")))
            fields = {}
        elif ":" in line and not line.startswith(":"):
            key, _, value = line.partition(":")
            fields[key] = value.removeprefix(" ")
    return out
