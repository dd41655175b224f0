"""Liveness and readiness, for a load balancer or Kubernetes: what `hitl serve` answers at `/livez` and
`/readyz`, and `hitl worker --health HOST:PORT` on a port of its own.

Liveness is "this process's event loop answers" (a probe that fails restarts the process); readiness is
"this process should get work": Temporal answers its health check, and the process is not draining after
SIGTERM. A worker takes no requests from a load balancer, so its readiness tells a rollout and an operator
that it serves; a web server's takes it out of the load balancer while it drains. The worker's endpoint is
plain asyncio: no web framework is loaded into a worker for two routes.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from http import HTTPStatus

import temporalio.client

CHECK_SECONDS = 5.0
"""How long a readiness probe waits for Temporal's health check before calling it unreachable."""


@dataclass
class Health:
    """One process's readiness: its Temporal connection, whether it serves yet (a worker: once it polls its
    task queue) and whether it drains (set once SIGTERM came)."""

    temporal: temporalio.client.Client
    serving: bool = True
    draining: bool = False

    async def not_ready(self) -> str | None:
        """Why this process should get no work now, in one line; None when it is ready."""
        if self.draining:
            return "draining: this process got SIGTERM and is shutting down"
        if not self.serving:
            return "starting: the worker does not poll its task queue yet"
        address = self.temporal.service_client.config.target_host
        try:
            healthy = await asyncio.wait_for(self.temporal.service_client.check_health(), CHECK_SECONDS)
        except Exception as e:  # any failure to reach it: an RPC error, a timeout, a closed connection
            return f"Temporal at {address} does not answer its health check ({type(e).__name__}: {e})"
        return None if healthy else f"Temporal at {address} says it is not serving"


async def answer(health: Health, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One HTTP/1.0-style exchange: GET /livez or /readyz (HEAD too), 200 or 503 with a JSON line, then close."""
    try:
        request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), CHECK_SECONDS)
        method, _, rest = request.decode("latin-1").partition(" ")
        path = rest.partition(" ")[0].partition("?")[0]
        status, body = 200, dict[str, object](ok=True)
        if path == "/readyz":
            why = await health.not_ready()
            if why is not None:
                status, body = 503, {"ok": False, "reason": why}
        elif path != "/livez":
            status, body = 404, {"ok": False, "reason": "this port answers GET /livez and GET /readyz only"}
        data = (json.dumps(body) + "\n").encode()
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + (b"" if method == "HEAD" else data))
        await writer.drain()
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass  # a probe that sent nothing usable, or went away: nothing to answer
    finally:
        writer.close()


async def serve(health: Health, host: str, port: int) -> asyncio.Server:
    """Answer /livez and /readyz on host:port until the returned server is closed."""
    return await asyncio.start_server(lambda r, w: answer(health, r, w), host, port)
