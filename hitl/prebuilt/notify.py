"""Ready-made `notify` hooks for `compile(notify=...)`: tell someone a run waits (webhook, email, Slack)."""

from __future__ import annotations

import functools
import hashlib
import html
import os
import re
import smtplib
import ssl
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote, urlencode

from hitl.client.signed_links import BASE_URL_ENV, allowed_answers, links_for
from hitl.client.signed_links import answer_label as _label
from hitl.prebuilt.ledger import current_ledger
from hitl.protocol import finite
from hitl.protocol.limits import shorten
from hitl.protocol.wire import Notified
from hitl.types import HitlError, StateSnapshot


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


# --- email and Slack: allowed answers, signed links per answer, sent once per pause ---------------------------

SMTP_HOST, SMTP_PORT, SMTP_FROM = "HITL_SMTP_HOST", "HITL_SMTP_PORT", "HITL_SMTP_FROM"
SMTP_USER, SMTP_PASSWORD, SMTP_STARTTLS = "HITL_SMTP_USER", "HITL_SMTP_PASSWORD", "HITL_SMTP_STARTTLS"
SMTP_CA_FILE, SLACK_URL = "HITL_SMTP_CA_FILE", "HITL_SLACK_WEBHOOK_URL"
_YES, _NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


def pause_key(snapshot: StateSnapshot) -> str:
    """One pause's notification, whatever sends it: the run, its questions and the reminder it is
    (each Remind step is a notification of its own, so it counts)."""
    ids = ",".join(sorted(i.id for i in snapshot.interrupts)) or f"breakpoint@{snapshot.step}"
    reminder = sum(i.escalated for i in snapshot.interrupts)
    return f"{snapshot.run_id}/{ids}/{reminder}"


@dataclass(frozen=True)
class Choice:
    """A button or link: what it says and where it goes."""

    label: str
    url: str


@dataclass(frozen=True)
class Question:
    """One pending question as a message shows it."""

    interrupt_id: str
    title: str
    fields: dict[str, str]
    choices: list[Choice]


def questions(snapshot: StateSnapshot, links: list[dict[str, str]], *, several: bool) -> list[Question]:
    """Each pending question with a signed link per allowed answer (the answer rides along as `?answer=`,
    unsigned: the link's page preselects it and still asks to confirm; the link answers once), one link when its
    answers are not a short list; without signed links, a link to the run's page in the inbox (`HITL_LINK_BASE_URL`)."""
    base = os.environ.get(BASE_URL_ENV, "").rstrip("/")
    out = []
    for i in snapshot.interrupts:
        answers = allowed_answers(i.schema)
        choices = []
        for link in (x for x in links if x["interrupt_id"] == i.id):
            who = f" ({link['identity']})" if several else ""
            if answers:
                choices += [Choice(_label(a) + who, _answer_url(link["url"], _label(a))) for a in answers]
            else:
                choices.append(Choice(f"Answer{who}", link["url"]))
        if not choices and base:
            choices.append(Choice("Open in the inbox", f"{base}/runs/{quote(snapshot.run_id, safe='')}"))
        title = i.title or shorten(i.value, 140)
        out.append(Question(i.id, title, dict(i.summary or {}), choices))
    return out


MAX_URL = 3000
"""Slack's longest button URL: a longer one makes Slack refuse the whole message."""


def _answer_url(url: str, answer: str) -> str:
    """The link with its answer along (`?answer=`, which the link's page does not read yet), when that fits."""
    with_answer = f"{url}?{urlencode({'answer': answer})}"
    return with_answer if len(with_answer) <= MAX_URL else url


def _headline(snapshot: StateSnapshot) -> str:
    asked = len(snapshot.interrupts)
    what = f"{asked} question{'s' if asked != 1 else ''}" if asked else f"a breakpoint {snapshot.breakpoint or ''}"
    return f"{snapshot.graph} run {snapshot.run_id} waits for {what.strip()}"


def _flag(text: str, name: str) -> bool:
    if text.strip().lower() in _YES:
        return True
    if text.strip().lower() in _NO:
        return False
    raise NotifyConfigError(f"{name}={text!r} is not a yes/no; use one of {', '.join(_YES + _NO)}")


class NotifyConfigError(HitlError):
    """A notify hook that could not work as configured, refused where it is built (one line)."""


@dataclass(frozen=True)
class Smtp:
    """Where and how email goes: the arguments of `email(...)` over the `HITL_SMTP_*` environment."""

    host: str
    port: int
    sender: str
    starttls: bool
    user: str | None
    password: str | None = field(repr=False)
    ca_file: str | None
    timeout: float

    @classmethod
    def resolve(
        cls,
        *,
        host: str | None,
        port: int | None,
        sender: str | None,
        starttls: bool | None,
        timeout: float,
        environ: Mapping[str, str] | None = None,
    ) -> Smtp:
        env = os.environ if environ is None else environ
        host = host or env.get(SMTP_HOST)
        sender = sender or env.get(SMTP_FROM)
        missing = [n for n, v in ((f"host= or {SMTP_HOST}", host), (f"sender= or {SMTP_FROM}", sender)) if not v]
        if missing:
            raise NotifyConfigError(
                f"email notifications need {' and '.join(missing)} (the SMTP server, the From address)"
            )
        assert host is not None and sender is not None
        if not _ADDRESS.match(sender):
            raise NotifyConfigError(f"the From address {sender!r} is not an email address (name@domain)")
        tls = starttls if starttls is not None else _flag(env.get(SMTP_STARTTLS, "yes"), SMTP_STARTTLS)
        if port is None:
            text = env.get(SMTP_PORT, "587" if tls else "25")
            port = int(text) if text.isdigit() else -1
            name = f"{SMTP_PORT}={text!r}"
        else:
            name = f"port={port!r}"
        if not 0 < port < 65536:
            raise NotifyConfigError(f"{name} is not a port; use a whole number from 1 to 65535 (587 for STARTTLS)")
        user, password = env.get(SMTP_USER) or None, env.get(SMTP_PASSWORD) or None
        if bool(user) != bool(password):
            given, lacking = (SMTP_USER, SMTP_PASSWORD) if user else (SMTP_PASSWORD, SMTP_USER)
            raise NotifyConfigError(f"{given} is set but {lacking} is not; set both (SMTP AUTH) or neither")
        if user and not tls:
            raise NotifyConfigError(
                f"{SMTP_USER} is set with {SMTP_STARTTLS} off: credentials would cross the network in clear; "
                "turn STARTTLS on"
            )
        ca_file = env.get(SMTP_CA_FILE) or None
        if ca_file and not os.path.isfile(ca_file):
            raise NotifyConfigError(f"{SMTP_CA_FILE}={ca_file!r} is not a readable file (a PEM bundle of CAs)")
        return cls(host, port, sender, tls, user, password, ca_file, timeout)

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=self.ca_file))
            if self.user and self.password:
                smtp.login(self.user, self.password)
            smtp.send_message(message)


def email(
    to: Mapping[str, str] | Sequence[str],
    *,
    host: str | None = None,
    port: int | None = None,
    sender: str | None = None,
    starttls: bool | None = None,
    timeout: float = 10.0,
    link_expires: timedelta = timedelta(hours=24),
) -> Callable[[StateSnapshot], Notified]:
    """Email each person in `to` (identity -> address, or addresses that are the identities) when a run
    pauses: the questions' summaries and, for each question they may answer, a signed decision link per
    allowed answer (hitl/client/signed_links.py), in plain text and HTML. One message per person, since a
    link answers as the one person it names.

    SMTP comes from the arguments over the environment: `HITL_SMTP_HOST`, `HITL_SMTP_PORT` (587),
    `HITL_SMTP_FROM`, `HITL_SMTP_STARTTLS` (yes), `HITL_SMTP_USER` with `HITL_SMTP_PASSWORD` (both or
    neither; credentials only from the environment), `HITL_SMTP_CA_FILE` (a private relay's CA). Checked
    here, where the graph is built: a missing or malformed setting is refused in one line.

    Sent once per pause: a retried notify activity skips the people an earlier attempt emailed (its
    heartbeat keeps them), and each message's Message-ID is derived from the run, its questions and the
    reminder, for receivers that drop duplicates. SMTP itself has no idempotency: a worker lost between
    the server's "250 OK" and that heartbeat sends again (at least once, not exactly once)."""
    people = dict(to) if isinstance(to, Mapping) else {a: a for a in to}
    if not people:
        raise NotifyConfigError("email(to=...) names no one; give identity -> address, or a list of addresses")
    bad = [f"{who}: {addr!r}" for who, addr in people.items() if not isinstance(addr, str) or not _ADDRESS.match(addr)]
    if bad:
        raise NotifyConfigError(f"email(to=...) has addresses that are not name@domain: {', '.join(bad)}")
    smtp = Smtp.resolve(host=host, port=port, sender=sender, starttls=starttls, timeout=timeout)

    def send(snapshot: StateSnapshot) -> Notified:
        ledger, key = current_ledger(), pause_key(snapshot)
        for who, address in people.items():
            mine = [x for x in links_for(snapshot, [who], expires=link_expires) if x["identity"] == who]
            message = _email_message(snapshot, questions(snapshot, mine, several=False), smtp.sender, address)
            message["Message-ID"] = f"<{hashlib.sha256(f'{key}/{address}'.encode()).hexdigest()[:32]}@hitl>"
            ledger.once(f"email/{key}/{address}", f"email to {address}", functools.partial(smtp.send, message))
        return Notified(sent=list(ledger.sent), skipped=list(ledger.skipped))

    return send


def _email_message(snapshot: StateSnapshot, asked: list[Question], sender: str, to: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = shorten(_headline(snapshot), 150)
    message["From"], message["To"] = sender, to
    text, html_parts = [_headline(snapshot), ""], [f"<p>{html.escape(_headline(snapshot))}</p>"]
    for q in asked:
        text.append(_line(q.title))
        text += [f"  {_line(k)}: {_line(v)}" for k, v in q.fields.items()]
        text += [f"  {c.label}: {c.url}" for c in q.choices]
        text.append("")
        fields = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in q.fields.items())
        buttons = " ".join(f'<a href="{html.escape(c.url)}">{html.escape(c.label)}</a>' for c in q.choices)
        html_parts.append(f"<h3>{html.escape(q.title)}</h3><ul>{fields}</ul><p>{buttons}</p>")
    message.set_content("\n".join(text))
    message.add_alternative(f"<html><body>{''.join(html_parts)}</body></html>", subtype="html")
    return message


def _line(text: str) -> str:
    """The run's text on one line in a plain-text email: a line break in a question cannot forge a line of
    its own (`  approve: https://...`) among the message's links."""
    return " ".join(text.split())


def slack(
    url: str | None = None,
    *,
    link_for: Sequence[str] = (),
    link_expires: timedelta = timedelta(hours=24),
    timeout: float = 10.0,
) -> Callable[[StateSnapshot], Notified]:
    """Post a message in Slack's Block Kit shape to an incoming webhook (`url`, else
    `HITL_SLACK_WEBHOOK_URL`): a header, each question's summary, and a button per allowed answer
    opening a signed decision link (one per person: its reviewers named by identity, and `link_for`).
    Anyone who can read the channel can open those links: post to a channel only they read.

    Once per pause as `email` (a retried activity does not post again after a post that got through;
    Slack's webhooks have no idempotency key, so a worker lost right after the post posts again)."""
    target = url or os.environ.get(SLACK_URL)
    if not target:
        raise NotifyConfigError(f"slack() needs the incoming webhook's URL: pass it or set {SLACK_URL}")
    if not target.startswith(("https://", "http://")):
        raise NotifyConfigError(
            f"slack() webhook URL must start with https:// (or http://); got {shorten(target, 60)!r}"
        )

    def post(snapshot: StateSnapshot) -> Notified:
        ledger = current_ledger()
        links = links_for(snapshot, link_for, expires=link_expires)
        several = len({x["identity"] for x in links}) > 1
        body = finite.dumps(slack_message(snapshot, questions(snapshot, links, several=several))).encode()

        def send() -> None:
            request = urllib.request.Request(
                target, data=body, method="POST", headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()

        ledger.once(f"slack/{pause_key(snapshot)}", "slack message", send)
        return Notified(sent=list(ledger.sent), skipped=list(ledger.skipped))

    return post


SLACK_MAX_BLOCKS = 50
"""Block Kit's most blocks in one message: past it Slack refuses the whole post (`invalid_blocks`)."""


def slack_message(snapshot: StateSnapshot, asked: list[Question]) -> dict[str, Any]:
    """Block Kit: a header, a section per question (its title and fields), its buttons in an actions block
    (25 buttons at most per block; labels cut to Slack's 75 characters). Within Slack's 50 blocks: the
    questions that do not fit (a large fan-out, answers by the hundred) are counted in a last section that
    points to the run in the inbox, so the post is never refused whole."""
    headline = _headline(snapshot)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": shorten(headline, 150)}}]
    room = SLACK_MAX_BLOCKS - 2  # the header, and the note of what did not fit
    for shown, q in enumerate(asked):
        group = _slack_question(q)
        if len(blocks) + len(group) > room + 1:
            if shown == 0:
                blocks += group[:room]  # one question alone past the limit: its first buttons
                shown = 1
            blocks.append(_slack_rest(snapshot, len(asked) - shown))
            break
        blocks += group
    return {"text": headline, "blocks": blocks}


def _slack_rest(snapshot: StateSnapshot, more: int) -> dict[str, Any]:
    base = os.environ.get(BASE_URL_ENV, "").rstrip("/")
    where = f": <{base}/runs/{quote(snapshot.run_id, safe='')}|open the run in the inbox>" if base else ""
    what = f"{more} more question{'s' if more != 1 else ''}" if more else "more answers"
    return {"type": "section", "text": {"type": "mrkdwn", "text": f"…and {what} than a Slack message holds{where}"}}


def _slack_question(q: Question) -> list[dict[str, Any]]:
    """One question's blocks: its section, then its buttons in actions blocks of 25."""
    lines = [f"*{_mrkdwn(q.title)}*", *(f"{_mrkdwn(k)}: {_mrkdwn(v)}" for k, v in q.fields.items())]
    blocks: list[dict[str, Any]] = [
        # verbatim: Slack neither links bare URLs nor parses mentions (@channel, @here, #channel) in the run's text
        {"type": "section", "text": {"type": "mrkdwn", "text": shorten("\n".join(lines), 3000), "verbatim": True}}
    ]
    buttons = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": shorten(c.label, 75)},
            "url": c.url,
            "action_id": f"{q.interrupt_id}-{n}",
            **({"style": _STYLES[c.label.split(" ")[0]]} if c.label.split(" ")[0] in _STYLES else {}),
        }
        for n, c in enumerate(q.choices)
    ]
    for start in range(0, len(buttons), 25):
        blocks.append({"type": "actions", "elements": buttons[start : start + 25]})
    return blocks


_STYLES = {"approve": "primary", "accept": "primary", "yes": "primary", "true": "primary"}
_STYLES |= {"reject": "danger", "deny": "danger", "no": "danger", "false": "danger"}


def _mrkdwn(text: str) -> str:
    """Slack's three escapes, so a question cannot inject links or mentions (`<...>`); with `verbatim` on its
    section, neither bare URLs nor bare `@channel` are turned into links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
