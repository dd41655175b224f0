"""Fixtures of the web tests: the app served by uvicorn on a free port, in the
session's event loop, against the session's real dev server and worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio

import hitl
from hitl.web import Identity, Settings, TokenAuth, create_app
from hitl.web.testing import running

TOKENS = {
    "tok-alice": Identity("alice", ("finance",)),
    "tok-bob": Identity("bob", ()),
    "tok-carol": Identity("carol", ("finance", "ops")),
}


@dataclass
class Served:
    url: str
    client: hitl.Client

    def http(self, token: str | None = "tok-alice", **kwargs: object) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=60, **kwargs)  # type: ignore[arg-type]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def served(client: hitl.Client) -> AsyncIterator[Served]:
    app = create_app(client, TokenAuth(TOKENS), settings=Settings(poll_seconds=0.2))
    async with running(app) as url:
        yield Served(url, client)
