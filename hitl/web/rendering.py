"""Pages rendered from the Jinja templates, with what every page shows (who, how signed in, CSRF).

No template holds inline script, style or event handlers: every page is served under
app.py's Content-Security-Policy (`default-src 'self'`), so app.js and app.css are all that run."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from hitl.protocol import finite
from hitl.web.context import web
from hitl.web.prose import markdown
from hitl.web.session import csrf_token

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["seg"] = lambda value: quote(str(value), safe="")
"""`{{ run_id|seg }}`: an id as one URL path segment, so '?', '#' or '%' in it cannot cut or redirect a link."""
templates.env.filters["markdown"] = markdown
"""`{{ text|markdown }}`: an agent's Markdown as safe HTML (hitl/web/prose.py)."""
templates.env.policies["json.dumps_function"] = finite.dumps
"""`{{ value|tojson }}` writes strict JSON: a NaN recorded before hitl refused it shows as "NaN", never as a bare
token a page's script could not read back."""


def compile_templates() -> None:
    """Compile every template now (`hitl serve` does before it listens): Jinja compiles one on first use, which
    cost a fresh process's first inbox page ~115 ms of CPU (the inbox, its base, body, row and macros)."""
    for name in templates.env.list_templates(extensions=["html"]):
        templates.env.get_template(name)


def shown_to(request: Request) -> dict[str, Any]:
    """What every page shows besides its own context: who is signed in and how, the CSRF token, links."""
    w = web(request)
    return {
        "who": request.scope.get("hitl_identity"),
        "auth_mode": w.auth.mode,
        "csrf": csrf_token(request),
        "temporal_ui": w.base.ui_url() if w.settings.ui_links else None,
    }


def render(request: Request, name: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        name,
        {**shown_to(request), **context},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def render_text(request: Request, name: str, **context: Any) -> str:
    """A template as text, for a page sent in parts (a streamed response)."""
    return templates.get_template(name).render({"request": request, **shown_to(request), **context})


async def error_page(request: Request, status: int, detail: str) -> Response:
    return render(request, "error.html", status_code=status, status=status, detail=detail)
