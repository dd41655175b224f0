"""What `hitl serve` tells tracing and metrics about its HTTP requests; installed only when either is on.

A request that changes something (any method but GET, HEAD, OPTIONS: answers, claims, cancels, edits,
starts) is one span, current while the route runs, so Temporal's client spans (the update it sends)
are its children and the run's decision span links to it. Every request is counted by route template,
method and status when metrics are on (hitl/web/metrics.py).
"""

from __future__ import annotations

from typing import Any, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hitl.client import tracing


class Counts(Protocol):
    """What counts requests (hitl/web/metrics.py)."""

    def request(self, method: str, route: str, status: int) -> None: ...


READING = frozenset({"GET", "HEAD", "OPTIONS"})
COUNTED = READING | {"POST", "PUT", "PATCH", "DELETE"}
"""Methods counted (and spans named) by name; any other is the caller's pick (uvicorn passes some 40), named
`other`, so an unauthenticated caller cannot add time series to `/metrics` or span names at will."""


def method_of(scope: Scope) -> str:
    return scope["method"] if scope["method"] in COUNTED else "other"


def route_of(scope: Scope) -> str:
    """The route template that served the request (`/threads/{thread_id}/runs`), never the raw path (which
    would make a label per run); `unmatched` when no route took it."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else "unmatched"


class Observe:
    """ASGI middleware: a span per changing request (tracing on), a count per request (metrics on)."""

    def __init__(self, app: ASGIApp, *, trace: bool, metrics: Counts | None) -> None:
        self.app, self.trace, self.metrics = app, trace, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        method = method_of(scope)
        try:
            if self.trace and method not in READING:
                await self._traced(scope, receive, sending, status)
            else:
                await self.app(scope, receive, sending)
        finally:
            if self.metrics is not None:
                self.metrics.request(method, route_of(scope), status["code"])

    async def _traced(self, scope: Scope, receive: Receive, send: Send, status: dict[str, int]) -> None:
        method = method_of(scope)
        with tracing.span(f"hitl.http {method}", http_request_method=method) as span:
            assert span is not None
            try:
                await self.app(scope, receive, send)
            finally:
                route = route_of(scope)
                span.update_name(f"hitl.http {method} {route}")
                attributes: dict[str, Any] = {"http.route": route, "http.response.status_code": status["code"]}
                span.set_attributes(attributes)
