"""What a client going away does to a run it asked to be cancelled with it (`on_disconnect: cancel` on a
run's stream, `cancel_on_disconnect` on a join or a rejoin): the run is cancelled as the client's identity,
unless it paused or ended first (then it waits for people, or is done, and no one connection owns it)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import Request

import hitl
from hitl.web.context import web
from hitl.web.errors import WebError
from hitl.web.origin import cross_origin

log = logging.getLogger("hitl.web")

CANCELLING: set[asyncio.Task[Any]] = set()
"""Cancellations sent for runs whose client went away (kept referenced until they finish)."""


def refuse_from_elsewhere(request: Request) -> None:
    """A GET asking to cancel its run when its client goes away is a write: refused from another origin's page,
    as every write is (an `<img>` of a sibling origin would carry the session cookie, then drop the request)."""
    elsewhere = cross_origin(request.scope, request.headers, web(request).trust)
    if elsewhere:
        raise WebError(403, f"cancel_on_disconnect cancels the run, so it is a write: {elsewhere}")


def cancel_later(run: hitl.Run) -> None:
    """Cancel a run whose client went away (`on_disconnect: cancel`), as the client's identity, in the
    background (a closing stream cannot wait for it). A run already paused or ended by then is left as it is."""

    async def go() -> None:
        try:
            state = await run.get_state()
            if state.status == "running":
                await run.cancel("the client following this run went away (on_disconnect: cancel)")
        except Exception:  # the run ended meanwhile, or Temporal is away: nothing to cancel, say so in the log
            log.warning("could not cancel run %s after its client went away", run.run_id, exc_info=True)

    task = asyncio.ensure_future(go())
    CANCELLING.add(task)
    task.add_done_callback(CANCELLING.discard)


async def until_gone(request: Request) -> None:
    """Return once the client has gone away (its connection closed); a request whose body was read
    already waits here for the disconnect the server reports."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
