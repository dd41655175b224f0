"""Ready-made `notify` hooks for `compile(notify=...)`: tell someone a run waits."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict

from hitl.types import StateSnapshot


def webhook(
    url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 10.0
) -> Callable[[StateSnapshot], None]:
    """POST the paused run's snapshot as JSON to `url` (Slack/Teams relays, your own service)."""

    def post(snapshot: StateSnapshot) -> None:
        body = json.dumps({"event": "run_paused", **asdict(snapshot)}, default=str).encode()
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()

    return post
