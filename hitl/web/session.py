"""What a browser session carries besides its sign-in: the CSRF token and the flash message.

Both are signed (HMAC-SHA256) under the server's key and bound to the session:
who is signed in and how (for tokens, a hash of the sign-in credential itself),
plus a random per-browser nonce kept in the `hitl_csrf` cookie. A page on
another port of the same host can plant that cookie (cookies ignore ports, and
SameSite counts it as the same site), but cannot make a token that fits
someone else's session: the server never shows one for a session it is not
serving. The fetch-metadata check in app.py's Guard refuses such a page's
writes before any of this is asked.

The key comes from `HITL_WEB_SECRET` (at least 16 bytes). Without it each
process makes its own at start, so a token or flash made by one replica (or
before a restart) fails on another: a form then asks to reload. Give every
replica the same secret.

The flash replaces free text in URLs: a refusal after a form post travels
back to the page in a short-lived signed cookie, shown once on the page it was
made for. A link cannot make a page show a message of its author's choosing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from hitl.types import InvalidInputError
from hitl.web.auth import TOKEN_COOKIE, TokenAuth, bearer, cookie_name, secure, set_cookie
from hitl.web.context import caller, web
from hitl.web.errors import NotAuthenticated, WebError, one_line

log = logging.getLogger("hitl.web")
SECRET_ENV = "HITL_WEB_SECRET"
MIN_SECRET_BYTES = 16
CSRF_COOKIE = "hitl_csrf"
"""The per-browser nonce (not the token: forms carry the token, derived from the nonce and the session)."""
FLASH_COOKIE = "hitl_flash"
FLASH_SECONDS = 60
"""How long a refusal waits for the page it redirects to (the redirect is followed at once)."""
NONCE_CHARS = 32
TYPED_BYTES = 1536
"""At most this much of what a refused form held comes back with the flash (as compact JSON), so the cookie
stays well under browsers' 4 kB: the page shows the answer as typed instead of an empty form."""
FLASH_BYTES = 3800
"""Most characters of the flash cookie's value (browsers keep a cookie's name and value up to 4,096 bytes)."""
NOT_TYPED = frozenset({"csrf", "request_id", "interrupt_id", "version", "base"})
"""Fields a form carries for the server, not typed by the person (the page renders them afresh)."""


def load_secret(environ: dict[str, str] | None = None, *, warn: bool = True) -> bytes:
    """The server key from HITL_WEB_SECRET; else one made for this process only (logged when `warn`:
    `hitl dev` without authentication runs one process on a laptop, where that is what it wants)."""
    text = (os.environ if environ is None else environ).get(SECRET_ENV, "")
    if not text:
        if warn:
            log.warning(
                "hitl web: %s is not set; forms and refusal messages are signed with a key made for this "
                "process, so they fail across replicas and restarts (set the same %s on every replica)",
                SECRET_ENV,
                SECRET_ENV,
            )
        return secrets.token_bytes(32)
    if len(text.encode()) < MIN_SECRET_BYTES:
        raise InvalidInputError(
            f"{SECRET_ENV} is {len(text.encode())} bytes; use at least {MIN_SECRET_BYTES} random bytes "
            '(e.g. python -c "import secrets; print(secrets.token_urlsafe(32))")'
        )
    return text.encode()


def sign(request: Request, purpose: str, *parts: str) -> str:
    """HMAC of `parts` under the server key, for `purpose`, bound to this browser session."""
    message = "\0".join((purpose, binding(request), nonce(request), *parts)).encode()
    digest = hmac.new(web(request).key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def binding(request: Request) -> str:
    """Whose session this is: the auth mode and identity, and for tokens a hash of the credential
    (signing out or another token makes older forms stale). Nobody signed in: "anonymous"."""
    auth = web(request).auth
    try:
        who = caller(request)
    except NotAuthenticated:
        return "anonymous"
    parts = [auth.mode, who.name]
    if isinstance(auth, TokenAuth):
        credential = bearer(request) or request.cookies.get(cookie_name(request, TOKEN_COOKIE)) or ""
        parts.append(hashlib.sha256(credential.encode()).hexdigest())
    return "\0".join(parts)


def nonce(request: Request) -> str:
    """This browser's nonce: its cookie's, or a fresh one the response sets (app.py's Guard)."""
    existing = request.cookies.get(cookie_name(request, CSRF_COOKIE))
    if existing and len(existing) >= NONCE_CHARS:
        return existing
    made: str | None = request.scope.get("hitl_new_csrf")
    if made is None:
        made = request.scope["hitl_new_csrf"] = secrets.token_urlsafe(NONCE_CHARS)
    return made


# ------------------------------------------------------------------ CSRF


def csrf_token(request: Request) -> str:
    """The token this session's forms carry."""
    return sign(request, "csrf")


def check_csrf(request: Request, submitted: str | None) -> None:
    """A browser form must carry its session's token: no other page can make one."""
    if bearer(request):
        return  # API clients with bearer tokens carry no ambient credential
    cookie = request.cookies.get(cookie_name(request, CSRF_COOKIE)) or ""
    if (
        len(cookie) < NONCE_CHARS
        or not submitted
        or not hmac.compare_digest(csrf_token(request).encode(), submitted.encode())
    ):
        raise WebError(403, "the form's CSRF token is missing or stale; reload the page and try again")


# ------------------------------------------------------------------ flash


@dataclass(frozen=True)
class Flash:
    """A refusal to show once, on the page it was made for."""

    error: str
    code: int
    extra: dict[str, str] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)
    """The refused form's fields as typed (`keep_typed`), for the page to show again."""
    typed_cut: bool = False
    """Some of what was typed was too long to carry back (`TYPED_BYTES`)."""


def keep_typed(request: Request, fields: dict[str, str]) -> None:
    """Carry what the person typed into a form back with its refusal, if one comes (signed with the flash);
    fields are kept in order while they fit in `TYPED_BYTES`, the rest dropped (`Flash.typed_cut`)."""
    kept: dict[str, str] = {}
    size, cut = 2, False
    for name, text in fields.items():
        if name in NOT_TYPED:
            continue
        cost = len(json.dumps({name: text}, separators=(",", ":"), ensure_ascii=False).encode())
        if size + cost > TYPED_BYTES:
            cut = True
            continue
        kept[name], size = text, size + cost
    request.scope["hitl_flash_typed"] = (kept, cut)


def refusal_redirect(request: Request, status: int, detail: str) -> Response:
    """Back to the page the form was on (each form route names it), the reason in a signed flash."""
    path = request.scope.get("hitl_return_to") or "/"
    extra: dict[str, Any] = request.scope.get("hitl_flash_extra") or {}
    payload: dict[str, Any] = {
        "p": unquote(path.partition("?")[0]),  # the page it is for; its query (a filter) is the redirect's
        "e": one_line(detail),
        "c": status,
        "x": extra,
        "t": int(time.time()) + FLASH_SECONDS,
    }
    typed, cut = request.scope.get("hitl_flash_typed") or ({}, False)
    if typed or cut:
        payload["f"], payload["k"] = typed, cut
    response = RedirectResponse(path, status_code=303)
    value = flash_value(request, payload)
    response.headers.append("set-cookie", set_cookie(FLASH_COOKIE, value, https=secure(request), max_age=FLASH_SECONDS))
    return response


def flash_value(request: Request, payload: dict[str, Any]) -> str:
    """The signed flash cookie's value, at most `FLASH_BYTES`: a browser drops a larger cookie, and the page
    would show no reason at all. What the form held gives way first (the typed fields, then the kept extras,
    longest first), the reason last (shortened)."""
    while True:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        body = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
        value = f"{body}.{sign(request, 'flash', body)}"
        extra: dict[str, Any] = payload["x"]
        if len(value) <= FLASH_BYTES:
            return value
        if payload.get("f"):
            payload["f"], payload["k"] = {}, True
        elif any(extra.values()):
            extra[max(extra, key=lambda k: len(str(extra[k])))] = ""
        elif len(payload["e"]) > 100:
            payload["e"] = payload["e"][: len(payload["e"]) // 2] + "…"
        else:
            return value  # only the page's own path is this long: the browser may drop it


def take_flash(request: Request) -> Flash | None:
    """The refusal waiting for this page, if one made for this session and path is; the response clears it."""
    raw = request.cookies.get(cookie_name(request, FLASH_COOKIE))
    if not raw:
        return None
    request.scope["hitl_clear_flash"] = True  # unless it waits for another page (below)
    body, _, signature = raw.partition(".")
    if not hmac.compare_digest(sign(request, "flash", body).encode(), signature.encode()):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    if data.get("t", 0) < time.time():
        return None
    if data.get("p") != request.url.path:
        request.scope["hitl_clear_flash"] = False
        return None
    typed = data.get("f") if isinstance(data.get("f"), dict) else {}
    return Flash(
        str(data.get("e", "")),
        int(data.get("c", 0)),
        {str(k): str(v) for k, v in data.get("x", {}).items()},
        {str(k): str(v) for k, v in typed.items()},
        bool(data.get("k")),
    )


def outgoing_cookies(request_scope: MutableMapping[str, Any]) -> list[tuple[bytes, bytes]]:
    """The cookies a response sets for the session: a new nonce, a flash shown and cleared."""
    https = request_scope.get("scheme") == "https"
    out = []
    if request_scope.get("hitl_new_csrf"):
        out.append(set_cookie(CSRF_COOKIE, request_scope["hitl_new_csrf"], https=https))
    if request_scope.get("hitl_clear_flash"):
        out.append(set_cookie(FLASH_COOKIE, "", https=https, max_age=0))
    return [(b"set-cookie", c.encode()) for c in out]
