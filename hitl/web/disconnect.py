"""What a client going away does to a run it asked to be cancelled with it (`on_disconnect: cancel` on a
run's stream, `cancel_on_disconnect` on a join or a rejoin): the run is cancelled as the client's identity,
unless it paused or ended first (then it waits for people, or is done, and no one connection owns it)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import Request

import hitl

log = logging.getLogger("hitl.web")

CANCELLING: set[asyncio.Task[Any]] = set()
"""Cancellations sent for runs whose client went away (kept referenced until they finish)."""


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
