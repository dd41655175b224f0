"""Cross-origin access for front-ends served elsewhere (Agent Inbox, LangGraph's JS SDK in a web app).

Off unless the operator names origins (`hitl serve --cors-origin`, HITL_CORS_ORIGINS). Starlette's
CORSMiddleware answers preflights and labels responses; what it allows is decided here:

* Only the listed origins (or `*`, any origin) get `Access-Control-Allow-Origin`; the rest get no
  Access-Control-Allow-Origin at all (a browser then hides the response, or refuses to send after its preflight).
* `Access-Control-Allow-Credentials` is never sent, so a browser never sends cookies cross-origin on
  a request it had to preflight, nor shows a page the answer to one it sent with cookies. A cross-origin
  front-end authenticates with a bearer token (`Authorization: Bearer ...`): that is no ambient
  credential, so another page cannot borrow it (and the Guard lets bearer writes through). Browser
  cookies stay for this server's own pages: the Guard still refuses a cookie-authenticated write
  from any other origin, listed or not.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message, Send

from hitl.types import InvalidInputError

ENV = "HITL_CORS_ORIGINS"
"""Comma-separated origins, added to any --cors-origin options."""

ALLOW_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
ALLOW_HEADERS = [
    "Authorization",
    "Content-Type",
    "Accept",
    "Last-Event-ID",  # the SDK's stream reconnect (joinStream)
    "X-Api-Key",  # the SDK's apiKey option (Agent Inbox's "LangSmith API key")
    "X-Auth-Scheme",
    "X-Request-Id",
    "Idempotency-Key",
    "Cache-Control",
]
"""The headers LangGraph's JS and Python SDKs send (beyond the CORS-safelisted ones)."""
EXPOSE_HEADERS = ["Content-Location", "Location", "X-Pagination-Total", "X-Pagination-Next", "Retry-After"]
"""The response headers the SDKs read: a run's id from Content-Location, pagination cursors."""
MAX_AGE = 600


def origins(given: Iterable[str] | None = None, env: str | None = None) -> tuple[str, ...]:
    """The allowed origins from the options and the environment, checked; () allows none."""
    raw = list(given or []) + (env if env is not None else os.environ.get(ENV, "")).split(",")
    return tuple(dict.fromkeys(check_origin(o.strip()) for o in raw if o.strip()))


def check_origin(origin: str) -> str:
    """`scheme://host[:port]` exactly as a browser sends it in `Origin` (no path, no trailing slash), or `*`."""
    if origin == "*":
        return origin
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or origin != f"{parts.scheme}://{parts.netloc}":
        raise InvalidInputError(
            f"CORS origin {origin!r} is not an origin: give scheme://host[:port] with no path or trailing slash "
            "(e.g. http://localhost:3000), or * for any origin"
        )
    return origin


def install(app: FastAPI, allowed: tuple[str, ...]) -> None:
    """Outermost, so refusals (401, 403, 413) carry the headers too and a front-end can read why."""
    if not allowed:
        return  # nothing allowed by default: preflights stay 405 and responses carry no CORS headers
    app.add_middleware(
        ListedOriginsOnly,
        allow_origins=list(allowed),
        allow_credentials=False,
        allow_methods=ALLOW_METHODS,
        allow_headers=ALLOW_HEADERS,
        expose_headers=EXPOSE_HEADERS,
        max_age=MAX_AGE,
        # A listed page on the internet (a hosted Agent Inbox) may call a server on this machine or network:
        # Chromium asks first with Access-Control-Request-Private-Network (what LangGraph's server answers too).
        allow_private_network=True,
    )


class ListedOriginsOnly(CORSMiddleware):
    """Starlette's CORS, except that a request from an origin not listed gets no Access-Control-* header
    at all (Starlette labels such responses with its method and header lists too), only `Vary: Origin`."""

    def preflight_response(self, request_headers: Headers) -> Response:
        origin = request_headers["origin"]
        if not self.is_allowed_origin(origin=origin):
            return PlainTextResponse(
                f"Disallowed CORS origin: {origin} is not among the origins this server allows "
                f"(hitl serve --cors-origin, {ENV})",
                status_code=400,
                headers={"Vary": "Origin"},
            )
        return super().preflight_response(request_headers)

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("origin")
        if message["type"] != "http.response.start" or origin is None or self.is_allowed_origin(origin=origin):
            return await super().send(message, send, request_headers)
        message.setdefault("headers", [])
        headers = MutableHeaders(scope=message)
        headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
        await send(message)
