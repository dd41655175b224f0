"""Ready-made `notify` hooks for `compile(notify=...)`: tell someone a run waits."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import timedelta

from hitl.client.signed_links import links_for
from hitl.protocol import finite
from hitl.types import StateSnapshot


def webhook(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    link_for: Sequence[str] = (),
    link_expires: timedelta = timedelta(hours=24),
) -> Callable[[StateSnapshot], None]:
    """POST the paused run's snapshot as JSON to `url` (Slack/Teams relays, your own service).

    When the worker has a link key (`HITL_LINK_KEY`) and `HITL_LINK_BASE_URL`, the
    payload's `links` hold a signed decision link per pending question and person
    who may answer it (its reviewers named by identity, and `link_for`), so the
    message can say "answer here" (hitl/client/signed_links.py); without them `links` is empty."""

    def post(snapshot: StateSnapshot) -> None:
        links = links_for(snapshot, link_for, expires=link_expires)
        body = finite.dumps({"event": "run_paused", **asdict(snapshot), "links": links}, default=str).encode()
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()

    return post
