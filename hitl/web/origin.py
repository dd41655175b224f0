"""Where a browser says a request comes from: the one check refusing writes made by another origin's page
(the `Guard` in hitl/web/app.py for every write method, and the GET routes that change a run, such as a
rejoined stream with `cancel_on_disconnect`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hitl.web.auth import api_token


@dataclass(frozen=True)
class Trust:
    """What lets a write from another origin's page through: an API token, when this server's sign-in is by
    token (`tokens`: it is then the credential, which no page holds ambiently), and under any sign-in
    (`--no-auth`, `--trust-header`, where a token is no credential) a page of an origin listed by name in
    `--cors-origin` that sends one (Agent Inbox sends its key), never one let in by `*` alone."""

    tokens: bool = True
    listed: tuple[str, ...] = ()


def cross_origin(scope: Mapping[str, Any], headers: Mapping[str, str], trust: Trust) -> str | None:
    """Why a write comes from a page of another origin, or None. Browsers send `Sec-Fetch-Site`
    (all current ones) or at least `Origin` on a POST; clients that are not browsers send neither.
    Behind a proxy that rewrites Host, only the `Origin` fallback (old browsers) depends on Host.
    `headers` are keyed in lower case."""
    site = headers.get("sec-fetch-site")
    origin = headers.get("origin")
    if api_token(headers) and (trust.tokens or origin in trust.listed):  # a blank token is none (auth.bearer)
        return None
    if site is not None:
        if site in ("same-origin", "none"):
            return None
        came = f" ({origin})" if origin else ""
        return (
            f"a write from another site's or origin's page{came} is refused (Sec-Fetch-Site: {site}); "
            "use this server's own pages, or an API client with a bearer token"
        )
    own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
    if origin is not None and origin != own:
        return (
            f"a write from the page of another origin ({origin}) is refused; this server is {own}: "
            "use its own pages, or an API client with a bearer token"
        )
    return None
