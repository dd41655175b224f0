"""Signing a browser in with a bearer token (TokenAuth), and out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hitl.web.auth import TOKEN_COOKIE, TokenAuth, secure, set_cookie
from hitl.web.context import web
from hitl.web.errors import WebError
from hitl.web.rendering import render
from hitl.web.session import check_csrf, take_flash

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/") -> HTMLResponse:
    """The sign-in form; a refused sign-in's reason comes from the flash, never from the URL."""
    flash = take_flash(request)
    return render(request, "login.html", next=safe_next(next), error=flash.error if flash else None)


@router.post("/ui/login")
async def login(request: Request) -> Response:
    request.scope["hitl_return_to"] = "/login"
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    check_csrf(request, fields.get("csrf"))
    auth = web(request).auth
    if not isinstance(auth, TokenAuth):
        raise WebError(400, f"this server signs people in by {auth.mode}, not with tokens")
    token = fields.get("token", "").strip()
    if auth.lookup(token) is None:
        raise WebError(403, "that token is not known to this server")
    response = RedirectResponse(safe_next(fields.get("next", "/")), status_code=303)
    response.headers.append("set-cookie", set_cookie(TOKEN_COOKIE, token, https=secure(request)))
    return response


@router.post("/ui/logout")
async def logout(request: Request) -> Response:
    request.scope["hitl_return_to"] = "/login"
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    response = RedirectResponse("/login", status_code=303)
    response.headers.append("set-cookie", set_cookie(TOKEN_COOKIE, "", https=secure(request), max_age=0))
    return response


def safe_next(target: str) -> str:
    """Only same-site paths: a login link must not bounce anyone elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else "/"
