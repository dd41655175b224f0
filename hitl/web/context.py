"""What every request needs: the shared Temporal connection, the graphs, the caller.

The app keeps no state of its own beyond configuration (a count of the live
streams each identity holds open, capped per process, the one poller behind
the open inbox pages' live feeds, and whether it drains): each request reads the
runs from Temporal, so any number of copies can serve behind a load balancer
(docs/deploy.md, "Several servers and workers", lists what each copy keeps).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from fastapi import Request

import hitl
from hitl import catalog
from hitl.graph import CompiledGraph
from hitl.health import Health
from hitl.types import InvalidInputError
from hitl.web.auth import Auth, Identity
from hitl.web.cors import check_origin
from hitl.web.errors import WebError
from hitl.web.inbox_feed import InboxFeed
from hitl.web.origin import Trust
from hitl.web.readers import rules
from hitl.web.slots import DEFAULT_MAX_STREAMS, StreamSlots


@dataclass
class Settings:
    poll_seconds: float = 0.5
    """How often the inbox feed counts waiting runs (at least 1 s; bounded: 0.1 to 10 s). A run's own
    feeds are woken by its history, not polled."""
    max_body_bytes: int = 2_000_000
    page_size: int = 50
    ui_links: bool = True
    secret: bytes | None = None
    """The key signing forms' CSRF tokens and refusal messages (hitl/web/session.py); None: HITL_WEB_SECRET,
    else one made per process (which breaks forms across replicas and restarts)."""
    cors_origins: tuple[str, ...] = ()
    """Origins whose pages may call the API with a bearer token (hitl/web/cors.py); none by default."""
    max_streams: int = DEFAULT_MAX_STREAMS
    """Live streams (thread streams, runs/stream, the inbox feed) one identity may hold open at once: 429 past it."""
    metrics: bool = False
    """Serve Prometheus metrics at /metrics (hitl/web/metrics.py); off by default."""

    def __post_init__(self) -> None:
        self.poll_seconds = min(max(self.poll_seconds, 0.1), 10.0)
        self.cors_origins = tuple(check_origin(o) for o in self.cors_origins)
        if self.max_streams < 1:
            raise InvalidInputError(f"max streams per identity must be at least 1; got {self.max_streams}")


@dataclass
class Web:
    """The app's configuration, stored on `app.state.web`."""

    base: hitl.Client
    auth: Auth
    graphs: dict[str, CompiledGraph]
    settings: Settings = field(default_factory=Settings)
    key: bytes = b""
    """The settings' secret, HITL_WEB_SECRET, or one for this process (create_app chooses)."""

    trust: Trust = field(default_factory=Trust)
    """What lets a write from another origin's page through (hitl/web/origin.py; create_app sets it)."""
    streams: StreamSlots = field(init=False)
    """The live streams open per identity (the one thing this process counts across requests)."""
    readers: dict[str, list[list[str]]] = field(init=False)
    inbox_feed: InboxFeed = field(init=False)
    """The one poller behind every open inbox page's live feed (hitl/web/inbox_feed.py)."""
    """Every reader list each graph's runs must meet, by graph name (`hitl.web.readers.rules`, computed once)."""
    health: Health = field(init=False)
    """What /readyz answers: Temporal reachable, and not draining (`hitl serve` sets `draining` on SIGTERM)."""
    closing: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    """Set when the server stops after its drain: open streams end then, and their clients rejoin on another
    copy with Last-Event-ID, instead of holding the shutdown until they are cut."""

    def __post_init__(self) -> None:
        self.health = Health(self.base.temporal)
        self.streams = StreamSlots(self.settings.max_streams)
        self.readers = rules(self.graphs.values())
        self.inbox_feed = InboxFeed(self.base, max(self.settings.poll_seconds, 1.0), self.settings.poll_seconds)

    def client_for(self, who: Identity) -> hitl.Client:
        """A client deciding as `who` (cheap: it shares the base client's connection)."""
        client = hitl.Client(
            self.base.temporal,
            task_queue=self.base.task_queue,
            identity=who.name,
            roles=list(who.roles),
            graphs=list(self.graphs.values()),
            rpc_timeout=self.base.rpc_timeout,
        )
        client.roles = list(who.roles)  # exactly the credential's: never the server's HITL_ROLES fallback
        return client

    def graph(self, name: str) -> CompiledGraph:
        return catalog.lookup(self.graphs, name)


def web(request: Request) -> Web:
    found: Web = request.app.state.web
    return found


def caller(request: Request) -> Identity:
    """The authenticated caller (FastAPI dependency); 401 otherwise."""
    cached = request.scope.get("hitl_identity")
    if cached is None:
        cached = request.scope["hitl_identity"] = web(request).auth.identify(request)
    return cached


def decider(request: Request) -> hitl.Client:
    """A client acting as the caller: every decision carries who made it, and their roles.

    Every route that changes a run gets its client here, so a view-only credential is refused
    here (403, before anything is sent)."""
    who = caller(request)
    if who.view_only:
        raise WebError(
            403,
            f"'{who.name}' is signed in view-only: this credential may read runs but not decide, edit, claim, "
            "cancel, fork or start them",
        )
    return web(request).client_for(who)
