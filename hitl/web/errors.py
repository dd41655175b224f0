"""Every refusal the web app gives, in one place: one JSON line `{"detail": "..."}`.

hitl's own errors (HitlError subclasses) are translated here and nowhere else,
so a route never needs a try/except to turn a refused decision into a 409. A
request from a browser form gets the same refusal shown inline on the page it
came from instead (a redirect back, the one-line reason in a signed flash cookie).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

import temporalio.service
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from hitl._temporal_errors import rpc_error
from hitl.types import (
    DecisionRejectedError,
    GraphValidationError,
    HitlError,
    InvalidInputError,
    InvalidUpdateError,
    RunAlreadyExistsError,
    RunFailedError,
    RunNotFoundError,
    UnknownGraphError,
)

log = logging.getLogger("hitl.web")

HITL_STATUS: list[tuple[type[HitlError], int]] = [
    (RunNotFoundError, 404),
    (DecisionRejectedError, 409),
    (RunAlreadyExistsError, 409),
    (RunFailedError, 409),
    (InvalidInputError, 422),
    (UnknownGraphError, 422),
    (GraphValidationError, 400),
    (InvalidUpdateError, 400),
]
"""Most specific first. A bare HitlError is the Temporal service or a worker
being unreachable (that is all `hitl.Client` raises it for): 503."""


class WebError(HTTPException):
    """A refusal decided by the web layer itself (auth, CSRF, unsupported field)."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, detail, headers)


class NotAuthenticated(WebError):
    def __init__(self, detail: str) -> None:
        super().__init__(401, detail, {"WWW-Authenticate": "Bearer"})


def status_of(error: HitlError) -> int:
    for kind, status in HITL_STATUS:
        if isinstance(error, kind):
            return status
    return 503


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one response shape of every refusal."""
    return JSONResponse({"detail": one_line(detail)}, status_code=status, headers=headers)


def one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= 600 else line[:599] + "…"


def describe_validation(exc: RequestValidationError) -> tuple[int, str]:
    """The first thing wrong with a request, as one line naming where."""
    errors = exc.errors()
    if not errors:
        return 422, "the request does not fit"
    first = errors[0]
    kind = first.get("type", "")
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    where = ".".join(loc)
    if kind == "json_invalid":
        reason = first.get("ctx", {}).get("error", "malformed")
        return 400, f"the request body is not valid JSON ({reason})"
    if kind == "missing" and not loc:
        return 422, "the request needs a JSON body"
    if kind == "extra_forbidden":
        return 422, f"field '{where}' is not supported by hitl's LangGraph-compatible API"
    if kind in ("model_attributes_type", "dict_type") and not loc:
        return 422, "the request body must be a JSON object"
    message = str(first.get("msg", "does not fit")).removeprefix("Value error, ")
    return 422, f"{where}: {message}" if where else message


def wants_page(request: Request) -> bool:
    """A browser form post (under /ui/) gets its refusal shown on the page it came from."""
    path = request.url.path
    return path.startswith("/ui/") and not path.startswith("/ui/api/") and request.method == "POST"


HtmlError = Callable[[Request, int, str], Awaitable[Response]]
BackToPage = Callable[[Request, int, str], Response]


def install(app: FastAPI, html_error: HtmlError, back_to_page: BackToPage) -> None:
    """Register the handlers: hitl errors, request validation, HTTP errors.

    `html_error` renders a refusal as a page, for browsers asking for one; `back_to_page` sends a
    form's refusal back to the page the form was on (hitl/web/session.py: a signed flash, never
    text in the URL)."""

    async def respond(request: Request, status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
        browser = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if wants_page(request) and status != 401:
            return back_to_page(request, status, detail)
        if status == 401 and (browser or wants_page(request)):
            return RedirectResponse(f"/login?{urlencode({'next': request.url.path})}", status_code=303)
        if browser and not request.url.path.startswith(
            ("/threads", "/assistants", "/ok", "/livez", "/readyz", "/docs", "/hitl/")
        ):
            return await html_error(request, status, one_line(detail))
        return problem(status, detail, headers)

    @app.exception_handler(HitlError)
    async def hitl_error(request: Request, exc: HitlError) -> Response:
        return await respond(request, status_of(exc), str(exc))

    @app.exception_handler(temporalio.service.RPCError)
    async def temporal_error(request: Request, exc: temporalio.service.RPCError) -> Response:
        """A Temporal call no route translated (a search, a count): its cause in one line, 503 like every
        Temporal failure hitl's client reports (hitl/_temporal_errors.py names the causes)."""
        return await respond(request, 503, str(rpc_error(request.app.state.web.base.temporal, exc)))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        status, detail = describe_validation(exc)
        return await respond(request, status, detail)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such endpoint: {request.method} {request.url.path}"
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return await respond(request, exc.status_code, detail, getattr(exc, "headers", None))
