"""Assemble the ASGI app: routers, error handlers, and the request guard."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import hitl
from hitl import _finite as finite
from hitl import catalog
from hitl.graph import CompiledGraph
from hitl.types import InvalidInputError
from hitl.web import api, apidocs, assist, bulk, claims, decide, errors, events, link, pages, rendering, signin
from hitl.web.auth import CSRF_COOKIE, Auth, NoAuth
from hitl.web.context import Settings, Web

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
    app.state.web = Web(client, auth, {g.name: g for g in served}, settings or Settings())
    errors.install(app, rendering.error_page)
    app.include_router(api.public)
    app.include_router(api.router)
    app.include_router(events.router)
    for ui in (pages, decide, claims, bulk, link, assist, signin, apidocs):
        app.include_router(ui.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(Guard, max_body=app.state.web.settings.max_body_bytes)
    if isinstance(auth, NoAuth):
        log.warning(
            "hitl web: NO AUTHENTICATION - anyone who can reach this server decides as '%s'", auth.identity.name
        )
    return app


async def finite_json_body(request: Request) -> None:
    """Refuse a JSON body holding NaN, Infinity or a number too large for a float (1e999): Python's json,
    which FastAPI parsed the body with, reads them, and they would pass a schema's bounds (hitl/_finite.py).
    The body is cached on the request, so this reads it again without receiving it again."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return
    body = await request.body()
    if not body:
        return
    try:
        finite.loads(body, "the request body")
    except json.JSONDecodeError:
        return  # FastAPI has answered a malformed body already; a route that reads it raw says so itself
    except ValueError as e:
        raise InvalidInputError(str(e)) from None


def served_graphs(client: hitl.Client) -> list[CompiledGraph]:
    known = client._graphs  # the graphs the client was given; else the catalog  # noqa: SLF001
    return list(known.values()) if known is not None else list(catalog.by_name().values())


class Guard:
    """Checks every request before a route sees it, and sets the CSRF cookie on the way out.

    * Bodies are capped (Content-Length, and counted while streaming): 413.
    * Writes say what they send: forms only under /ui/, JSON elsewhere: 415.
      (That also keeps JSON routes safe from cross-site forms: see auth.py.)
    """

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self.refuse(scope, headers)
        if refusal:
            return await errors.problem(*refusal)(scope, receive, send)
        seen = 0

        async def capped() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise errors.WebError(413, f"the request body is larger than {self.max_body:,} bytes")
            return message

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and scope.get("hitl_new_csrf"):
                cookie = f"{CSRF_COOKIE}={scope['hitl_new_csrf']}; Path=/; SameSite=Strict; HttpOnly"
                if scope.get("scheme") == "https":
                    cookie += "; Secure"
                message.setdefault("headers", []).append((b"set-cookie", cookie.encode()))
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(SECURITY_HEADERS)
            await send(message)

        await self.app(scope, capped, send_with_cookie)

    def refuse(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            return 413, f"the request body is {int(length):,} bytes; the limit is {self.max_body:,}"
        if scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            return None
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        empty = length in ("", "0") and "transfer-encoding" not in headers
        if scope["path"].startswith("/ui/"):
            if kind not in FORM_TYPES and not (kind == "application/json" and scope["path"].startswith("/ui/api/")):
                return 415, f"this endpoint takes a form ({' or '.join(FORM_TYPES)}); got {kind or 'no content type'}"
        elif not (kind == "application/json" or (empty and not kind)):
            return 415, f"this endpoint takes application/json; got {kind or 'no content type'}"
        return None


SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
