"""`hitl serve` and the web part of `hitl dev`: options, auth choice, uvicorn in our event loop.

Imports here stay light (the CLI builds its parser from them); FastAPI and
uvicorn load only when a server starts.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from hitl._whole import whole_number

if TYPE_CHECKING:
    from fastapi import FastAPI

    import hitl

log = logging.getLogger("hitl.web")
DRAIN_SECONDS = 5.0
"""How long `hitl serve` keeps serving after SIGTERM with /readyz failing: a load balancer's probe interval or two."""
FINISH_SECONDS = 10
"""How long, after its drain, a stopping server waits for the requests still in flight (streams end at once)."""


def add_options(parser: argparse.ArgumentParser, *, dev: bool = False) -> None:
    """The web server's options; under `hitl dev` (whose --port is Temporal's) they are --web-*."""
    prefix = "--web-" if dev else "--"
    parser.add_argument(
        f"{prefix}host", dest="web_host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        f"{prefix}port",
        dest="web_port",
        type=int,
        default=8000,
        help="port of the review inbox and HTTP API (default 8000)",
    )
    parser.add_argument(
        "--tokens",
        metavar="FILE",
        help='bearer tokens: JSON {"<token>": {"identity": "alice", "roles": ["finance"], "view": false}} ("view": true: reads, never decides; or set HITL_WEB_TOKENS)',
    )
    parser.add_argument(
        "--trust-header",
        metavar="HEADER",
        help="behind an authenticating proxy: take identity from this header (e.g. X-Forwarded-User)",
    )
    parser.add_argument(
        "--roles-header",
        metavar="HEADER",
        help="with --trust-header: take comma-separated roles from this header too (e.g. X-Forwarded-Groups); "
        "off unless given, since a proxy that only sets the user header would pass a caller's own roles through",
    )
    parser.add_argument(
        "--view-role",
        metavar="ROLE",
        help="with --trust-header and --roles-header: callers holding this role sign in view-only "
        "(they read runs and never decide, edit, claim, cancel, fork or start them)",
    )
    parser.add_argument(
        "--cors-origin",
        dest="cors_origins",
        action="append",
        metavar="ORIGIN",
        help="let pages of this origin (e.g. http://localhost:3000, Agent Inbox) call the API with a bearer token; "
        "repeatable, or comma-separated in HITL_CORS_ORIGINS; * for any; none by default. "
        "Cookie-signed-in writes stay same-origin only",
    )
    if not dev:
        parser.add_argument(
            "--no-auth",
            action="store_true",
            help="no authentication: everyone decides as the OS user (local development only)",
        )
        parser.add_argument(
            "--drain",
            type=drain_seconds,
            default=DRAIN_SECONDS,
            metavar="SECONDS",
            help="on SIGTERM, answer /readyz with 503 and keep serving this long (so a load balancer takes this "
            "copy out first), then end open streams (clients rejoin elsewhere with Last-Event-ID), finish the "
            f"requests in flight and exit 0; 0 to 3600 (default {DRAIN_SECONDS:g})",
        )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="how often the inbox's live feed counts waiting runs (at least 1 s; 0.1-10, default 0.5)",
    )
    parser.add_argument(
        "--metrics",
        action="store_true",
        default=os.environ.get("HITL_METRICS", "").strip().lower() in ("1", "true", "yes", "on"),
        help="serve Prometheus metrics at /metrics: waiting questions, oldest wait, claims held, HTTP requests "
        "(off by default; or HITL_METRICS=1). Unauthenticated: counts and graph and node names only",
    )
    parser.add_argument(
        "--max-streams",
        type=positive,
        default=16,
        metavar="N",
        help="live streams (thread streams, runs/stream, the inbox's feed) one identity may hold open at once; "
        "past it a new one is refused with 429 (default 16)",
    )


class WebOptions(Protocol):
    """The settings `build_app` reads (the flags `add_options` adds, parsed: the CLI's typed options or a namespace)."""

    @property
    def tokens(self) -> str | None: ...
    @property
    def trust_header(self) -> str | None: ...
    @property
    def roles_header(self) -> str | None: ...
    @property
    def view_role(self) -> str | None: ...
    @property
    def cors_origins(self) -> list[str] | None: ...
    @property
    def poll_interval(self) -> float: ...
    @property
    def max_streams(self) -> int: ...
    @property
    def metrics(self) -> bool: ...


class DevWebOptions(WebOptions, Protocol):
    """`hitl dev`'s: where to listen, and whether to at all."""

    @property
    def web_host(self) -> str: ...
    @property
    def web_port(self) -> int: ...
    @property
    def no_web(self) -> bool: ...


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1, refused in one line otherwise."""
    value = whole_number(text, least=1)
    if value is None:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1; got {text!r}")
    return value


DRAIN_MOST_S = 3600.0
"""The longest drain after SIGTERM a server or worker takes (an hour: longer is a stuck shutdown, not a drain)."""


def drain_seconds(text: str) -> float:
    """An argparse type: seconds to drain after SIGTERM, from 0 to an hour (`hitl serve` and `hitl worker --drain`)."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= DRAIN_MOST_S:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"expected seconds from 0 to {DRAIN_MOST_S:g}; got {text!r}")
    return seconds


def build_app(client: hitl.Client, args: WebOptions, *, dev: bool = False) -> FastAPI:
    from hitl.client import link_revocations
    from hitl.web import Settings, create_app
    from hitl.web.auth import from_options
    from hitl.web.cors import origins

    link_revocations.load()  # a revocation list that cannot be read stops the start, not every link later
    explicit = bool(args.tokens or args.trust_header)
    no_auth = getattr(args, "no_auth", False) or (dev and not explicit and not _env_tokens())
    auth = from_options(
        no_auth=no_auth,
        tokens_file=args.tokens,
        trust_header=args.trust_header,
        roles_header=args.roles_header,
        identity=getattr(args, "identity", None),
        view_role=args.view_role,
    )
    settings = Settings(
        poll_seconds=args.poll_interval,
        cors_origins=origins(args.cors_origins),
        max_streams=args.max_streams,
        metrics=args.metrics,
    )
    app: FastAPI = create_app(client, auth, settings=settings)
    from hitl.web.rendering import compile_templates

    compile_templates()  # before the first page, not during it
    return app


@asynccontextmanager
async def serving(app: FastAPI, host: str, port: int) -> AsyncIterator[str]:
    """Serve `app` with uvicorn inside the running event loop; yield its URL; stop on exit."""
    import asyncio

    import uvicorn

    class Server(uvicorn.Server):
        @contextmanager
        def capture_signals(self) -> Iterator[None]:  # the caller owns Ctrl-C, not uvicorn
            yield

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", proxy_headers=True)
    server = Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise OSError(f"the web server could not listen on {host}:{port}")
        await asyncio.sleep(0.02)
    try:
        yield f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
    finally:
        web = getattr(app.state, "web", None)  # None: an app of the tests' own (a front-end page), no streams
        if web is not None:
            web.closing.set()  # open streams end: their clients rejoin elsewhere
        server.should_exit = True
        if web is not None and web.health.draining:  # a requested stop (SIGTERM): the requests in flight finish first
            config.timeout_graceful_shutdown = FINISH_SECONDS
        else:  # Ctrl-C, or the command failed: stop now
            server.force_exit = True
        try:
            await asyncio.wait_for(task, FINISH_SECONDS + 5)
        except asyncio.TimeoutError:  # wait_for has cancelled it: a stuck connection must not hold the exit
            pass


@asynccontextmanager
async def dev_web(client: hitl.Client, args: DevWebOptions) -> AsyncIterator[tuple[str, str] | None]:
    """`hitl dev`'s web server (unless --no-web); yields its URL and how people sign in."""
    if args.no_web:
        yield None
        return
    app = build_app(client, args, dev=True)
    async with serving(app, args.web_host, args.web_port) as url:
        yield url, describe(app)


def _env_tokens() -> bool:
    import os

    return bool(os.environ.get("HITL_WEB_TOKENS"))


def describe(app: Any) -> str:
    """How people are signed in, for the startup banner."""
    auth = app.state.web.auth
    if auth.mode == "header":  # only a HeaderAuth has headers to name
        return _describe_headers(auth)
    return {
        "none": "NO AUTHENTICATION (local development only: anyone who can reach it decides)",
        "token": "bearer tokens",
    }[auth.mode]


def _describe_headers(auth: Any) -> str:
    """Name every header trusted: an operator must know which ones the proxy has to overwrite."""
    roles = auth.roles_header
    return (
        f"identity from the trusted proxy header {auth.user_header}"
        + (f", roles from {roles} (the proxy must set or strip both)" if roles else ", no roles (no --roles-header)")
        + (f"; role {auth.view_role} signs in view-only" if auth.view_role else "")
    )
