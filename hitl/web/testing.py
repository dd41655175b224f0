"""Serve the app on a free local port inside the current event loop (tests, screenshots, bench).

In-loop, so the app shares the caller's Temporal connection and worker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from hitl.server import free_port
from hitl.web.serve import serving


@asynccontextmanager
async def running(app: FastAPI, host: str = "127.0.0.1", port: int | None = None) -> AsyncIterator[str]:
    """Yield the base URL while uvicorn serves `app` on a free port; stop it on exit."""
    async with serving(app, host, port or free_port()) as url:
        yield url.replace("localhost", host)


CHROMIUM = "/usr/bin/chromium"
"""Debian's chromium (`apt-get install chromium`); Playwright never downloads a browser here."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


async def launch_chromium(playwright: Any) -> Any:
    """The system chromium under Playwright (async API), offline and quiet."""
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
