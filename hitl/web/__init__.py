"""The review inbox and a LangGraph-Server-shaped HTTP API for hitl (`hitl serve`).

    from hitl.web import create_app, TokenAuth
    app = create_app(client, TokenAuth.from_file("tokens.json"))

One ASGI app (FastAPI). It talks to Temporal only through `hitl.Client` and
keeps no state of its own, so several copies can run behind a load balancer.
Names load on first use, so `hitl` commands that serve nothing never import FastAPI.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_NAMES = {
    "create_app": "hitl.web.app",
    "HeaderAuth": "hitl.web.auth",
    "Identity": "hitl.web.auth",
    "NoAuth": "hitl.web.auth",
    "TokenAuth": "hitl.web.auth",
    "Settings": "hitl.web.context",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'hitl.web' has no attribute {name!r}")
