"""`/docs`: the OpenAPI document as a page rendered here (no CDN-hosted Swagger UI)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hitl.web.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
async def api_docs(request: Request) -> HTMLResponse:
    """The OpenAPI document as a page, rendered here: no CDN-hosted Swagger UI, which offline machines cannot load."""
    spec = request.app.openapi()
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            schema = (op.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema") or {}
            ref = schema.get("$ref") or next((o.get("$ref") for o in schema.get("anyOf", []) if o.get("$ref")), None)
            body = list(spec["components"]["schemas"][ref.split("/")[-1]].get("properties", {})) if ref else []
            doc = (op.get("description") or "").strip().split("\n\n")[0].replace("\n", " ")
            groups.setdefault((op.get("tags") or ["meta"])[0], []).append(
                {"method": method, "path": path, "summary": op.get("summary", ""), "doc": doc, "body": body}
            )
    return render(request, "docs.html", groups=groups)
