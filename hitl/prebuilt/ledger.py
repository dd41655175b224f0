"""What a notification already sent, kept across the notify activity's retries.

Its own module, importing nothing of hitl: the notify activity (activities/nodes.py) sets it up, and the
hooks in hitl/prebuilt/notify.py use it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager


class Ledger:
    """What one notification already sent, by idempotency key. The notify activity seeds it from its
    previous attempt's heartbeat and heartbeats it after every send (activities/nodes.py), so a retried
    activity skips the messages an earlier attempt got out; called outside an activity it is a fresh one."""

    def __init__(self, done: Iterable[str] = (), saved: Callable[[list[str]], None] | None = None) -> None:
        self.done, self.saved = set(done), saved
        self.sent: list[str] = []
        self.skipped: list[str] = []

    def once(self, key: str, what: str, send: Callable[[], None]) -> None:
        """`send()` unless `key` was sent already; `what` is the line the run's decision log keeps."""
        if key in self.done:
            self.skipped.append(what)
            return
        send()
        self.done.add(key)
        self.sent.append(what)
        if self.saved is not None:
            self.saved(sorted(self.done))


_ledger: contextvars.ContextVar[Ledger | None] = contextvars.ContextVar("hitl_notify_ledger", default=None)


@contextmanager
def keeping(ledger: Ledger) -> Iterator[Ledger]:
    """Run a notify hook with `ledger` (the notify activity does)."""
    token = _ledger.set(ledger)
    try:
        yield ledger
    finally:
        _ledger.reset(token)


def current_ledger() -> Ledger:
    return _ledger.get() or Ledger()
