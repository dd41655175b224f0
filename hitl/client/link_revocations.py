"""Revoking signed decision links before they expire (they last up to 30 days).

A link is its own credential: removing someone's inbox token does not touch the links already in their mail.
The inbox server therefore reads a revocation list, `HITL_LINK_REVOKED_FILE`, on every link use (no restart,
and every replica that mounts the same file agrees). One entry per line; `#` starts a comment:

    mallory              # every link made for this identity
    https://inbox.example.com/link/eyJy...   # this one link (or its token, or `link-NONCE`)

A revoked link is refused before anything is sent, as an expired one is. To revoke every link at once, rotate
`HITL_LINK_KEY`. A set but unreadable or malformed file refuses every link (revocation fails closed) with the
line to fix; `hitl serve` checks it at start.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from hitl.client.signed_links import PATH, Link, LinkError, request_id_of
from hitl.protocol.policy import identity_refused

REVOKED_FILE_ENV = "HITL_LINK_REVOKED_FILE"
LINK_ID = re.compile(r"^link-[A-Za-z0-9_-]{1,64}$")
MAX_ENTRIES = 100_000
"""More lines than any real list: a file past it is refused (it would be read on every link use)."""


@dataclass(frozen=True)
class Revoked:
    """What the list revokes: every link of these identities, and these single links (by request id)."""

    identities: frozenset[str] = frozenset()
    links: frozenset[str] = frozenset()

    def refusal(self, link: Link) -> LinkError | None:
        """Why `link` is revoked (a 403 page), or None."""
        if link.identity in self.identities:
            return LinkError(
                f"this link was revoked: links made for '{link.identity}' are no longer accepted here; "
                "ask whoever sent it",
                403,
            )
        if link.request_id in self.links:
            return LinkError("this link was revoked; ask whoever sent it for a new one", 403)
        return None


def parse(text: str, source: str) -> Revoked:
    """The entries of a revocation list; LinkError (503) naming the first bad line and what a line may be."""
    identities: set[str] = set()
    single: set[str] = set()
    lines = text.splitlines()
    if len(lines) > MAX_ENTRIES:
        raise LinkError(f"{source} has {len(lines):,} lines; a revocation list has at most {MAX_ENTRIES:,}", 503)
    for number, raw in enumerate(lines, 1):
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        link_id = _link_id(entry)
        if link_id is not None:
            single.add(link_id)
            continue
        why = identity_refused(entry, f"line {number}")
        if why is not None or PATH in entry:
            raise LinkError(
                f"{source}: {why or f'line {number} is not a link hitl made'}; a line is an identity, a link "
                "(its URL or token) or `link-NONCE`, and `#` starts a comment",
                503,
            )
        identities.add(entry)
    return Revoked(frozenset(identities), frozenset(single))


def _link_id(entry: str) -> str | None:
    """The request id of a link given as `link-NONCE`, its token or its URL; None when the entry is no link."""
    if LINK_ID.match(entry):
        return entry
    found = request_id_of(entry.rsplit(PATH, 1)[1].split("?", 1)[0] if PATH in entry else entry)
    return found if found is not None and LINK_ID.match(found) else None


def load(environ: dict[str, str] | None = None) -> Revoked:
    """The revocation list named by `HITL_LINK_REVOKED_FILE` (read now), or an empty one when it is not set."""
    path = (os.environ if environ is None else environ).get(REVOKED_FILE_ENV)
    if not path:
        return Revoked()
    source = f"{REVOKED_FILE_ENV}={path}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) else "it is not UTF-8 text"
        raise LinkError(f"cannot read the link revocation list {source}: {why}; no link is accepted", 503) from None
    return parse(text, source)


def check(link: Link, environ: dict[str, str] | None = None) -> None:
    """Refuse `link` when the revocation list names it or its identity."""
    refusal = load(environ).refusal(link)
    if refusal is not None:
        raise refusal
