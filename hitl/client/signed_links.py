"""Signed decision links: a URL that lets one named reviewer answer one question, once.

A link carries the run, the interrupt, who may use it (identity and roles), when
it expires and a random nonce, signed with HMAC-SHA256 under a key only the
issuer and the inbox server hold (`HITL_LINK_KEY`, or a file named by
`HITL_LINK_KEY_FILE`). Without a key, links are neither made nor accepted.

"Once" is the decision path's own idempotency: the answer's request id is
derived from the nonce, so a second use can never apply again (the run keeps
its applied request ids), and the page says who used it and when. Expired,
tampered, reused and stale links are refused before anything is sent, so a
refused link writes nothing to the run's history.

Make a key: `python -m hitl.client.signed_links`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hitl._whole import whole_number
from hitl.protocol import finite
from hitl.protocol.limits import shorten
from hitl.protocol.policy import identity_refused, may_review, roles_refused, vote_refused
from hitl.types import HitlError, InvalidInputError, StateSnapshot

if TYPE_CHECKING:
    from hitl.client.client import Client

KEY_ENV, KEY_FILE_ENV, BASE_URL_ENV = "HITL_LINK_KEY", "HITL_LINK_KEY_FILE", "HITL_LINK_BASE_URL"
MIN_KEY_BYTES = 16
MAX_EXPIRY = timedelta(days=30)
PATH = "/link/"
DOMAIN = b"hitl-decision-link-v1\n"
"""Signed in front of every payload, so no other HMAC under the same key can pass for a link."""
DURATION = re.compile(r"^([0-9]+)([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class LinkError(HitlError):
    """A link that cannot be used, with the HTTP status its page answers with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Link:
    """What a link lets its holder do: answer `interrupt_id` of `run_id` as `identity` (with `roles`)."""

    run_id: str
    interrupt_id: str
    identity: str
    roles: tuple[str, ...]
    expires_at: datetime
    nonce: str

    @property
    def request_id(self) -> str:
        """The answer's idempotency key: one per link, so the link answers at most once."""
        return f"link-{self.nonce}"

    def payload(self) -> bytes:
        data = {
            "r": self.run_id,
            "i": self.interrupt_id,
            "u": self.identity,
            "g": list(self.roles),
            "e": int(self.expires_at.timestamp()),
            "n": self.nonce,
        }
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Made:
    link: Link
    url: str


def load_key(environ: dict[str, str] | None = None) -> bytes | None:
    """The link key from `HITL_LINK_KEY` or `HITL_LINK_KEY_FILE`; None when neither is set."""
    env = os.environ if environ is None else environ
    text = env.get(KEY_ENV)
    if not text and env.get(KEY_FILE_ENV):
        try:
            text = Path(env[KEY_FILE_ENV]).read_text().strip()
        except OSError as e:
            raise LinkError(
                f"cannot read the link key file {KEY_FILE_ENV}={env[KEY_FILE_ENV]}: {e.strerror}", 503
            ) from None
    if not text:
        return None
    key = text.encode()
    if len(key) < MIN_KEY_BYTES:
        raise LinkError(
            f"the link key ({KEY_ENV} or {KEY_FILE_ENV}) is {len(key)} bytes; use at least {MIN_KEY_BYTES} random "
            "bytes (make one with `python -m hitl.client.signed_links`)",
            503,
        )
    return key


def require_key(environ: dict[str, str] | None = None) -> bytes:
    key = load_key(environ)
    if key is None:
        raise LinkError(
            f"decision links need a key: set {KEY_ENV} (or {KEY_FILE_ENV}) to the same secret where links are made "
            "and where `hitl serve` runs (make one with `python -m hitl.client.signed_links`)",
            503,
        )
    return key


def base_url(given: str | None, environ: dict[str, str] | None = None) -> str:
    """Where the inbox server answers links: `--base-url`, else `HITL_LINK_BASE_URL`."""
    url = given or (os.environ if environ is None else environ).get(BASE_URL_ENV)
    if not url:
        raise InvalidInputError(f"a link needs the inbox server's URL: pass --base-url or set {BASE_URL_ENV}")
    if not url.startswith(("http://", "https://")):
        raise InvalidInputError(f"the base URL must start with http:// or https://; got {url!r}")
    return url.rstrip("/")


def parse_duration(text: str, what: str = "expiry") -> timedelta:
    """`30m`, `24h`, `7d`, `90s` -> a timedelta from 1 second to 30 days."""
    match = DURATION.match(text.strip())
    if not match:
        raise InvalidInputError(f"{what} {text!r} is not a duration; use a whole number and s, m, h or d (24h, 7d)")
    number = whole_number(match.group(1), most=MAX_EXPIRY // timedelta(seconds=1))  # None: past any unit's range
    span = timedelta(**{UNITS[match.group(2)]: number}) if number is not None else None
    if span is None or not timedelta(seconds=1) <= span <= MAX_EXPIRY:
        raise InvalidInputError(
            f"{what} {shorten(text, 40)!r} is out of range; a link lives from 1s to {MAX_EXPIRY.days}d"
        )
    return span


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(link: Link, key: bytes) -> str:
    """The link's token: its payload and its HMAC-SHA256, both base64url, joined by a dot."""
    payload = link.payload()
    mac = hmac.new(key, DOMAIN + payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def verify(token: str, key: bytes, now: datetime | None = None) -> Link:
    """The link a token stands for, once its signature and expiry check out; LinkError otherwise."""
    tampered = LinkError("this link is not valid: it was changed or cut short; ask for a new one", 403)
    body, _, mac = token.partition(".")
    try:
        payload, given = _unb64(body), _unb64(mac)
    except (binascii.Error, ValueError):
        raise tampered from None
    if not hmac.compare_digest(hmac.new(key, DOMAIN + payload, hashlib.sha256).digest(), given):
        raise tampered
    try:
        data: dict[str, Any] = json.loads(payload)
        link = Link(
            run_id=str(data["r"]),
            interrupt_id=str(data["i"]),
            identity=str(data["u"]),
            roles=tuple(str(r) for r in data["g"]),
            expires_at=datetime.fromtimestamp(int(data["e"]), timezone.utc),
            nonce=str(data["n"]),
        )
    except (ValueError, KeyError, TypeError):
        raise tampered from None
    if (now or datetime.now(timezone.utc)) >= link.expires_at:
        raise LinkError(f"this link expired at {link.expires_at:%Y-%m-%d %H:%M} UTC; ask for a new one", 410)
    return link


def request_id_of(token: str) -> str | None:
    """The request id of the link a token stands for, its signature not checked (revoking a link only ever
    refuses it); None when the token is no link."""
    body, dot, _ = token.partition(".")
    try:
        nonce = json.loads(_unb64(body))["n"] if dot else None
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    return f"link-{nonce}" if isinstance(nonce, str) else None


def allowed_answers(schema: dict[str, Any] | None) -> list[Any] | None:
    """The answers a question takes, when its schema lists them: an enum (a Literal), a boolean, or one
    review decision (Agent Inbox's HumanInterrupt, a reviewed tool call: approve, reject, ...); else None.
    A message offers one link per answer (`?answer=`, `answer_label`), and the link's page preselects it."""
    if not isinstance(schema, dict):
        return None
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return list(schema["enum"])
    if schema.get("type") == "boolean":
        return [True, False]
    decisions = (schema.get("properties") or {}).get("decisions") if schema.get("type") == "object" else schema
    items = decisions.get("prefixItems") if isinstance(decisions, dict) else None
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        return None
    kinds = [((o.get("properties") or {}).get("type") or {}).get("const") for o in items[0].get("oneOf") or []]
    return [k for k in kinds if isinstance(k, str)] or None


def answer_label(answer: Any) -> str:
    """An allowed answer as a button says it and `?answer=` carries it: text as is, anything else as JSON, and a
    blank text quoted (`""`), as Slack refuses a button with no text."""
    return answer if isinstance(answer, str) and answer.strip() else finite.dumps(answer)


def new_link(
    run_id: str,
    interrupt_id: str,
    identity: str,
    roles: tuple[str, ...],
    expires: timedelta,
    now: datetime | None = None,
) -> Link:
    at = (now or datetime.now(timezone.utc)) + expires
    return Link(run_id, interrupt_id, identity, roles, at.replace(microsecond=0), secrets.token_urlsafe(12))


def url_for(base: str, token: str) -> str:
    return f"{base.rstrip('/')}{PATH}{token}"


def question_for(snapshot: StateSnapshot, interrupt_id: str | None, identity: str, roles: tuple[str, ...]) -> str:
    """The question a link will answer: the one given, or the run's only one; refused up front
    when it is not pending or the identity may not answer it (the link would only ever be refused)."""
    where = f"run '{snapshot.run_id}'"
    if snapshot.status != "interrupted" or not snapshot.interrupts:
        raise InvalidInputError(
            f"{where} has no question waiting (it is {snapshot.status}); see `hitl state {snapshot.run_id}`"
        )
    if interrupt_id is None:
        if len(snapshot.interrupts) > 1:
            ids = ", ".join(f"{i.id} ({i.node})" for i in snapshot.interrupts)
            raise InvalidInputError(
                f"{where} asks {len(snapshot.interrupts)} questions; pick one with --interrupt: {ids}"
            )
        interrupt_id = snapshot.interrupts[0].id
    found = next((i for i in snapshot.interrupts if i.id == interrupt_id), None)
    if found is None:
        ids = ", ".join(i.id for i in snapshot.interrupts)
        raise InvalidInputError(f"{where} has no pending question {interrupt_id}; its pending ones are {ids}")
    if found.reviewers and not may_review(found.reviewers, identity, list(roles)):
        raise InvalidInputError(
            f"'{identity}' may not answer interrupt {interrupt_id} of {where} (reviewers {found.reviewers}); "
            "a link for them would only be refused"
        )
    voted = vote_refused(found, identity, starter="")  # the starter is the run's to check when the link is used
    if voted:
        raise InvalidInputError(f"{voted}; a link for them would only be refused ({where})")
    return interrupt_id


async def create(
    client: Client,
    run_id: str,
    interrupt_id: str | None = None,
    *,
    expires: timedelta = timedelta(hours=24),
    base_url: str,
    key: bytes,
    identity: str | None = None,
    roles: tuple[str, ...] | None = None,
) -> Made:
    """A signed link for `identity` (default: the client's) to answer a question of `run_id` once."""
    who = identity or client.identity
    if refused := identity_refused(who):
        raise InvalidInputError(refused)
    if refused := roles_refused(list(roles if roles is not None else client.roles)):
        raise InvalidInputError(refused)
    held = tuple(roles if roles is not None else client.roles)
    snapshot = await client.get_run(run_id).get_state()
    link = new_link(run_id, question_for(snapshot, interrupt_id, who, held), who, held, expires)
    return Made(link, url_for(base_url, sign(link, key)))


def links_for(
    snapshot: StateSnapshot,
    identities: Sequence[str] = (),
    *,
    expires: timedelta = timedelta(hours=24),
    environ: dict[str, str] | None = None,
) -> list[dict[str, str]]:
    """Links for a notification, when a key and `HITL_LINK_BASE_URL` are set (else none): one
    per pending question and person who may answer it, among its reviewers named by identity
    (a role names no one to sign for) and `identities`."""
    env = dict(os.environ if environ is None else environ)
    key = load_key(env)
    if key is None or not env.get(BASE_URL_ENV):
        return []
    base = base_url(None, env)
    out = []
    for i in snapshot.interrupts:
        named = [r for r in (i.reviewers or []) if not r.startswith("role:")]
        for who in dict.fromkeys([*named, *identities]):
            if (i.reviewers and not may_review(i.reviewers, who, [])) or vote_refused(i, who, starter=""):
                continue  # a link they could only have refused: not allowed, or their vote is in
            link = new_link(snapshot.run_id, i.id, who, (), expires)
            out.append(
                {
                    "interrupt_id": i.id,
                    "identity": who,
                    "url": url_for(base, sign(link, key)),
                    "expires_at": link.expires_at.isoformat(),
                }
            )
    return out


if __name__ == "__main__":  # python -m hitl.client.signed_links: a fresh key
    print(secrets.token_urlsafe(32))
