"""Who is asking. Identity comes from a credential, never from a form field.

Three modes, one per deployment:

* `TokenAuth`: bearer tokens from a file or `HITL_WEB_TOKENS` (token -> identity,
  roles, and `view` for a view-only credential: it reads, never decides). Browsers sign in once at /login; the token then rides in an HttpOnly,
  SameSite=Strict cookie.
* `HeaderAuth`: a trusted reverse proxy (oauth2-proxy, Pomerium, ...) has
  authenticated the user and says who in a header, roles in a second one.
  Only safe when nothing but the proxy can reach the server.
* `NoAuth`: local development only; everyone is the OS user. Shown loudly on
  every page and in the log.

CSRF, the flash message and the server key: hitl/web/session.py. Cookies are
named by `cookie_name`: `__Host-`-prefixed over https, so no other host (a sibling
subdomain) can plant them.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from fastapi import Request

from hitl.client.client import default_identity, held, person
from hitl.protocol.policy import identity_refused, roles_refused
from hitl.types import InvalidInputError
from hitl.web.errors import NotAuthenticated

TOKEN_COOKIE = "hitl_token"


@dataclass(frozen=True)
class Identity:
    """A person (or service) deciding, and the roles `interrupt(..., reviewers=["role:x"])` checks."""

    name: str
    roles: tuple[str, ...] = field(default_factory=tuple)
    view_only: bool = False
    """A credential that reads and never decides (hitl/web/scope.py refuses its every change with 403)."""


class Auth(Protocol):
    mode: str
    """"token", "header" or "none": what the pages say about how you are signed in."""

    def identify(self, request: Request) -> Identity:
        """The caller, or NotAuthenticated with one line saying what to send."""
        ...


class NoAuth:
    """Everyone is the OS user running the server. For `hitl dev` on a laptop only."""

    mode = "none"

    def __init__(self, identity: str | None = None, roles: tuple[str, ...] = ()) -> None:
        self.identity = Identity(
            person(identity, "--identity") if identity else default_identity(), tuple(held(roles, "--roles"))
        )

    def identify(self, request: Request) -> Identity:
        return self.identity


class TokenAuth:
    """Bearer tokens: `Authorization: Bearer <token>` (or `X-Api-Key: <token>`, as LangGraph's SDKs and Agent
    Inbox send it), or the sign-in cookie for browsers."""

    mode = "token"

    def __init__(self, tokens: dict[str, Identity]) -> None:
        if not tokens:
            raise InvalidInputError("token auth needs at least one token; see `hitl serve --help`")
        self.tokens = dict(tokens)

    def lookup(self, token: str) -> Identity | None:
        found = None
        for known, who in self.tokens.items():  # compare against every token: no early exit to time
            if hmac.compare_digest(known.encode(), token.encode()):
                found = who
        return found

    def identify(self, request: Request) -> Identity:
        token = bearer(request) or request.cookies.get(cookie_name(request, TOKEN_COOKIE))
        if not token:
            raise NotAuthenticated(
                "sign in: send 'Authorization: Bearer <token>' or 'X-Api-Key: <token>' (browsers: open /login)"
            )
        who = self.lookup(token)
        if who is None:
            raise NotAuthenticated("the bearer token is not known to this server")
        return who

    @classmethod
    def from_file(cls, path: str | Path) -> TokenAuth:
        """A JSON object `{"<token>": {"identity": "alice", "roles": ["finance"], "view": false}}`."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise InvalidInputError(f"cannot read tokens file {path}: {e}") from None
        if not isinstance(data, dict):
            raise InvalidInputError(f"tokens file {path} must be a JSON object of token -> {{identity, roles}}")
        tokens = {}
        for token, entry in data.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("identity"), str):
                raise InvalidInputError(f'tokens file {path}: each token needs {{"identity": "name", "roles": [...]}}')
            if not isinstance(entry.get("view", False), bool):
                raise InvalidInputError(
                    f"tokens file {path}: 'view' of {entry['identity']}'s token must be true (view-only) or false"
                )
            person(entry["identity"], f"tokens file {path}: identity")
            roles = held(entry.get("roles") or [], f"tokens file {path}: roles of {entry['identity']}")
            tokens[token] = Identity(entry["identity"], tuple(roles), entry.get("view", False))
        return cls(tokens)

    @classmethod
    def from_env(cls, text: str) -> TokenAuth:
        """`HITL_WEB_TOKENS="tok1=alice:finance,ops;tok2=bob;tok3=dana::view"` (`:view` last: view-only)."""
        tokens = {}
        shape = "HITL_WEB_TOKENS takes 'token=identity[:role,role][:view];...'"
        for item in filter(None, (p.strip() for p in text.split(";"))):
            token, _, who = item.partition("=")
            name, _, rest = who.partition(":")
            roles, _, flag = rest.partition(":")
            if not token or not name or flag.strip() not in ("", "view"):
                raise InvalidInputError(shape if not flag.strip() else f"{shape}; got flag '{flag.strip()}'")
            listed = held([r.strip() for r in roles.split(",") if r.strip()], "HITL_WEB_TOKENS: roles")
            tokens[token.strip()] = Identity(
                person(name.strip(), "HITL_WEB_TOKENS: identity"), tuple(listed), flag.strip() == "view"
            )
        return cls(tokens)


class HeaderAuth:
    """Identity set by a trusted reverse proxy, e.g. X-Forwarded-User / X-Forwarded-Groups."""

    mode = "header"

    def __init__(self, user_header: str, roles_header: str | None = None, view_role: str | None = None) -> None:
        self.user_header, self.roles_header, self.view_role = user_header, roles_header, view_role
        """`view_role`: whoever the proxy says holds it signs in view-only (reads, never decides)."""

    def identify(self, request: Request) -> Identity:
        name = request.headers.get(self.user_header, "").strip()
        if not name:
            raise NotAuthenticated(
                f"no {self.user_header} header: this server trusts its reverse proxy to say who you are"
            )
        refused = identity_refused(name, f"the {self.user_header} header's identity")
        if refused:
            raise NotAuthenticated(f"{refused}; this server refuses it")
        roles = request.headers.get(self.roles_header, "") if self.roles_header else ""
        given = tuple(r.strip() for r in roles.replace(";", ",").split(",") if r.strip())
        refused = roles_refused(given, f"the {self.roles_header} header")
        if refused:
            raise NotAuthenticated(f"{refused}; this server refuses it")
        return Identity(name, given, view_only=self.view_role is not None and self.view_role in given)


def from_options(
    *,
    no_auth: bool,
    tokens_file: str | None,
    trust_header: str | None,
    roles_header: str | None,
    identity: str | None = None,
    view_role: str | None = None,
) -> Auth:
    """The auth mode `hitl serve` options (or the environment) ask for; exactly one."""
    env_tokens = os.environ.get("HITL_WEB_TOKENS")
    chosen = [
        m for m, on in (("--no-auth", no_auth), ("--tokens", tokens_file), ("--trust-header", trust_header)) if on
    ]
    if len(chosen) > 1:
        raise InvalidInputError(f"choose one way to authenticate; got {' and '.join(chosen)}")
    if view_role is not None and not (trust_header and roles_header):
        raise InvalidInputError(
            "--view-role takes --trust-header and --roles-header (the proxy says who holds the role); "
            "tokens mark view-only credentials themselves (\"view\": true, or ':view' in HITL_WEB_TOKENS)"
        )
    if no_auth:
        return NoAuth(identity)
    if tokens_file:
        return TokenAuth.from_file(tokens_file)
    if trust_header:
        return HeaderAuth(trust_header, roles_header, view_role)
    if env_tokens:
        return TokenAuth.from_env(env_tokens)
    raise InvalidInputError(
        "no way to tell who is deciding: pass --tokens FILE, set HITL_WEB_TOKENS, pass --trust-header HEADER "
        "behind a proxy, or --no-auth for local development"
    )


API_KEY_HEADER = "x-api-key"
"""LangGraph's SDKs send their `apiKey` option here, and Agent Inbox its "LangSmith API key" setting: the
same token as `Authorization: Bearer`, so those front-ends sign in by having hitl's token as their key."""


def bearer(request: Request) -> str | None:
    return api_token(request.headers)


def api_token(headers: Mapping[str, str]) -> str | None:
    """The token an API client sent: `Authorization: Bearer <token>`, else `X-Api-Key: <token>`. A blank
    one is none. Like a bearer token, an API key is no ambient credential: a page of another origin can send
    it only after a CORS preflight this server allowed (hitl/web/cors.py)."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get(API_KEY_HEADER, "").strip() or None


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_name(request: Request, base: str) -> str:
    """`__Host-<base>` over https (the browser then refuses it from any other host, and without
    Secure and Path=/), plain `<base>` over http, where no prefix is accepted."""
    return f"__Host-{base}" if secure(request) else base


def set_cookie(name: str, value: str, *, https: bool, max_age: int | None = None) -> str:
    """A Set-Cookie value for hitl's own cookies: HttpOnly, SameSite=Strict, Path=/, Secure over https."""
    cookie = f"{'__Host-' if https else ''}{name}={value}; Path=/; SameSite=Strict; HttpOnly"
    if https:
        cookie += "; Secure"
    return cookie if max_age is None else f"{cookie}; Max-Age={max_age}"
