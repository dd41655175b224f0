"""Where a browser says a request comes from: the one check refusing writes made by another origin's page
(the `Guard` in hitl/web/app.py for every write method, and the GET routes that change a run, such as a
rejoined stream with `cancel_on_disconnect`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hitl.web.auth import api_token


def cross_origin(scope: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """Why a write comes from a page of another origin, or None. Browsers send `Sec-Fetch-Site`
    (all current ones) or at least `Origin` on a POST; clients that are not browsers send neither.
    Behind a proxy that rewrites Host, only the `Origin` fallback (old browsers) depends on Host.
    `headers` are keyed in lower case."""
    if api_token(headers):  # as auth.bearer reads it: a blank token is no credential
        return None
    site = headers.get("sec-fetch-site")
    origin = headers.get("origin")
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
