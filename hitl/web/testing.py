"""Serve the app on a free local port inside the current event loop (tests, screenshots, bench).

In-loop, so the app shares the caller's Temporal connection and worker.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def running(app: FastAPI, host: str = "127.0.0.1", port: int | None = None) -> AsyncIterator[str]:
    """Yield the base URL while uvicorn serves `app`; stop it on exit."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why it could not start
        await asyncio.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        server.force_exit = True  # do not wait for open event streams to end
        await asyncio.wait_for(task, 10)


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


async def launch_chromium(playwright: object) -> object:
    """The system chromium under Playwright (async API), offline and quiet."""
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)  # type: ignore[attr-defined]
