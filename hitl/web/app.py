"""Assemble the ASGI app: routers, error handlers, and the request guard."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from fastapi import Depends, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import hitl
from hitl import catalog
from hitl._whole import whole_number
from hitl.client import tracing
from hitl.graph import CompiledGraph
from hitl.protocol import finite
from hitl.protocol.limits import over_depth, too_deep
from hitl.types import InvalidInputError
from hitl.web import (
    api,
    apidocs,
    assist,
    bulk,
    claims,
    cors,
    decide,
    errors,
    events,
    link_page,
    pages,
    rendering,
    runs,
    session,
    signin,
    stats_page,
    thread_api,
)
from hitl.web.auth import Auth, NoAuth, TokenAuth
from hitl.web.context import Settings, Web
from hitl.web.observe import Counts, Observe
from hitl.web.origin import Trust, cross_origin

log = logging.getLogger("hitl.web")
HERE = Path(__file__).parent
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def create_app(
    client: hitl.Client,
    auth: Auth,
    *,
    graphs: Sequence[CompiledGraph] | None = None,
    settings: Settings | None = None,
) -> FastAPI:
    """The review inbox and the LangGraph-shaped API, talking to Temporal through `client`.

    `graphs` are the graphs served (default: the client's, else the catalog).
    The app keeps no state between requests.
    """
    served = list(graphs) if graphs is not None else served_graphs(client)
    app = FastAPI(
        title="hitl",
        summary="Human-in-the-loop graphs on Temporal: LangGraph-Server-shaped API and review inbox",
        version="0.1.0",
        docs_url=None,  # pages.api_docs renders /docs without a CDN
        redoc_url=None,
        dependencies=[Depends(finite_json_body)],
    )
    settings = settings or Settings()
    if isinstance(auth, NoAuth) and "*" in settings.cors_origins:
        raise InvalidInputError(
            "--cors-origin '*' with --no-auth would let any website's pages read every run here (no sign-in "
            "stops them); name the front-end's origin instead, e.g. --cors-origin http://localhost:3000"
        )
    key = settings.secret or session.load_secret(warn=not isinstance(auth, NoAuth))
    app.state.web = Web(client, auth, {g.name: g for g in served}, settings, key)
    errors.install(app, rendering.error_page, session.refusal_redirect)
    app.include_router(api.public)
    app.include_router(api.router)
    app.include_router(thread_api.router)
    app.include_router(events.router)
    app.include_router(runs.router)
    for ui in (pages, decide, claims, bulk, link_page, assist, signin, apidocs, stats_page):
        app.include_router(ui.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    trust = Trust(isinstance(auth, TokenAuth), tuple(o for o in settings.cors_origins if o != "*"))
    app.state.web.trust = trust
    app.add_middleware(Guard, max_body=app.state.web.settings.max_body_bytes, trust=trust)
    cors.install(app, settings.cors_origins)  # outermost but for Observe, around the Guard's refusals
    counts = _metrics(app, client, served) if settings.metrics else None
    if tracing.enabled() or counts is not None:
        app.add_middleware(Observe, trace=tracing.enabled(), metrics=counts)  # outermost: it sees every status
    if isinstance(auth, NoAuth):
        log.warning(
            "hitl web: NO AUTHENTICATION - anyone who can reach this server decides as '%s'", auth.identity.name
        )
    return app


def _metrics(app: FastAPI, client: hitl.Client, served: Sequence[CompiledGraph]) -> Counts:
    """/metrics: Prometheus' text format, unauthenticated as scrapers are (counts and graph and node names only)."""
    from hitl.web.metrics import Metrics

    metrics = app.state.metrics = Metrics(client, served)

    @app.get("/metrics", include_in_schema=False)
    async def scrape() -> Response:
        return Response(await metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return metrics


OFF_LOOP_BYTES = 64_000
"""JSON bodies larger than this are checked in a worker thread (a parse costs about 50 ms per MB here)."""


async def finite_json_body(request: Request) -> None:
    """Refuse a JSON body holding NaN, Infinity or a number too large for a float (1e999): Python's json,
    which FastAPI parsed the body with, reads them, and they would pass a schema's bounds (hitl/protocol/finite.py).
    The body is cached on the request, so this reads it again without receiving it again."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return
    body = await request.body()
    if not body:
        return
    try:
        if len(body) > OFF_LOOP_BYTES:  # a parse of up to 2 MB: in a thread, so no body holds the event loop
            await asyncio.to_thread(finite.loads, body, "the request body")
        else:
            finite.loads(body, "the request body")
    except json.JSONDecodeError:
        return  # FastAPI has answered a malformed body already; a route that reads it raw says so itself
    except ValueError as e:
        raise InvalidInputError(str(e)) from None


def served_graphs(client: hitl.Client) -> list[CompiledGraph]:
    known = client._graphs  # the graphs the client was given; else the catalog  # noqa: SLF001
    return list(known.values()) if known is not None else list(catalog.by_name().values())


class Guard:
    """Checks every request before a route sees it, and adds the security headers and the session's
    cookies on the way out.

    * Bodies are capped (Content-Length, and counted while streaming): 413.
    * Writes come from this server's own pages or from clients that are not browsers: a browser says
      where a request comes from (`Sec-Fetch-Site`, else `Origin`), and a page of any other origin,
      a sibling port of the same host included, is refused: 403. Bearer-token (or X-Api-Key) requests
      carry no ambient credential and are let through where tokens are the sign-in (else only from an
      origin listed by name: hitl/web/origin.py `Trust`).
    * Writes say what they send: forms under /ui/, JSON under /ui/api/ and elsewhere: 415. No route
      reads JSON from a body that does not say it is JSON (a cross-origin `text/plain` post).
    * JSON bodies nest at most MAX_JSON_DEPTH levels, counted on the raw bytes before any parser: 422.
    """

    def __init__(self, app: ASGIApp, max_body: int, trust: Trust) -> None:
        self.app, self.max_body, self.trust = app, max_body, trust

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = message.setdefault("headers", [])
                extra.extend(SECURITY_HEADERS)
                extra.extend(session.outgoing_cookies(scope))
            await send(message)

        refusal = self.refuse(scope, headers)
        if refusal:
            return await errors.problem(*refusal)(scope, receive, send_with_headers)
        seen = 0
        json_body: list[bytes] | None = [] if content_type(headers) == "application/json" else None

        async def capped() -> Message:
            nonlocal seen
            message = await receive()
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_body:
                raise errors.WebError(413, f"the request body is larger than {self.max_body:,} bytes")
            if json_body is not None:  # the whole body, before the route's parser is handed its last part
                json_body.append(chunk)
                if not message.get("more_body") and too_deep(b"".join(json_body), "the request body", text=True):
                    raise errors.WebError(422, over_depth("the request body"))
            return message

        await self.app(scope, capped, send_with_headers)

    def refuse(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        raw_length = headers.get("content-length", "")
        length = whole_number(raw_length)
        if length is not None and length > self.max_body:
            return 413, f"the request body is {length:,} bytes; the limit is {self.max_body:,}"
        if scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            return None
        elsewhere = cross_origin(scope, headers, self.trust)
        if elsewhere:
            return 403, elsewhere
        kind = content_type(headers)
        empty = raw_length in ("", "0") and "transfer-encoding" not in headers
        if scope["path"].startswith("/ui/api/"):
            if kind != "application/json":
                return 415, f"this endpoint takes application/json; got {kind or 'no content type'}"
        elif scope["path"].startswith("/ui/"):
            if kind not in FORM_TYPES:
                return 415, f"this endpoint takes a form ({' or '.join(FORM_TYPES)}); got {kind or 'no content type'}"
        elif not (kind == "application/json" or (empty and not kind)):
            return 415, f"this endpoint takes application/json; got {kind or 'no content type'}"
        return None


def content_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


CSP = "; ".join(
    (
        "default-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
"""No inline script or style anywhere (app.js and app.css are the pages' only code and style)."""
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
