"""The review inbox and a LangGraph-Server-shaped HTTP API for hitl (`hitl serve`).

    from hitl.web import create_app, TokenAuth
    app = create_app(client, TokenAuth.from_file("tokens.json"))

One ASGI app (FastAPI). It talks to Temporal only through `hitl.Client` and
keeps no state of its own, so several copies can run behind a load balancer.
"""

from hitl.web.app import create_app
from hitl.web.auth import HeaderAuth, Identity, NoAuth, TokenAuth
from hitl.web.context import Settings

__all__ = ["HeaderAuth", "Identity", "NoAuth", "Settings", "TokenAuth", "create_app"]
