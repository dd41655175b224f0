"""Email and Slack notifications against real servers started here: an SMTP server (aiosmtpd, with
STARTTLS and AUTH) and a local HTTP server that checks Slack's Block Kit shape. Each graph runs on a
worker in this process, so the hooks run in the notify activity: a retried activity sends nothing twice,
and what was sent lands in the run's decision log."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import ssl
import threading
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Literal, TypedDict
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import hitl
from hitl import END, START, StateGraph, interrupt
from hitl.client import signed_links as links
from hitl.prebuilt.notify import email, slack
from hitl.server import DevServer, free_port
from tests.helpers import wait_for

KEY = "notify-link-key-" + "k" * 24
BASE = "http://inbox.test"


class Ask(TypedDict, total=False):
    topic: str
    verdict: str


def _ask(state: Ask) -> dict[str, Any]:
    verdict = interrupt(
        f"ship {state['topic']}?",
        schema=Literal["approve", "reject"],
        reviewers=["alice", "bob"],
        title=f"Ship {state['topic']}?",
    )
    return {"verdict": verdict}


def _graph(name: str, notify: Any) -> hitl.CompiledGraph:
    b = StateGraph(Ask)
    b.add_node("ask", _ask)
    b.add_edge(START, "ask")
    b.add_edge("ask", END)
    return b.compile(name=name, notify=notify)


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HITL_LINK_KEY", KEY)
    monkeypatch.setenv("HITL_LINK_BASE_URL", BASE)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class Mailbox:
    """The SMTP server's side: messages it accepted, and bob's address refused (451, try again) once."""

    def __init__(self) -> None:
        self.accepted: list[EmailMessage] = []
        self.refused_once: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Session, envelope: Envelope, address: str, options: list) -> str:
        if address.startswith("bob@") and address not in self.refused_once:
            self.refused_once.add(address)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        assert session.authenticated, "the client must have logged in"
        self.accepted.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


def _authenticator(server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"hitl", b"s3cret")
    return AuthResult(success=ok)


@pytest.fixture
def smtp_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 that requires STARTTLS before AUTH, and the HITL_SMTP_* settings for it."""
    cert, key = _self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    mailbox, port = Mailbox(), free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        server_hostname="localhost",
        tls_context=tls,
        require_starttls=True,
        authenticator=_authenticator,
        auth_require_tls=True,
    )
    controller.start()
    for name, value in {
        "HITL_SMTP_HOST": "localhost",
        "HITL_SMTP_PORT": str(port),
        "HITL_SMTP_FROM": "hitl@example.com",
        "HITL_SMTP_USER": "hitl",
        "HITL_SMTP_PASSWORD": "s3cret",
        "HITL_SMTP_CA_FILE": str(cert),
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield mailbox
    finally:
        controller.stop()


async def notified(run: hitl.Run) -> hitl.StateSnapshot:
    """The paused run once its notify activity is done (its record is in the decision log)."""
    for _ in range(240):
        snapshot = await wait_for(run, "interrupted")
        if any(d.kind == "notify" for d in snapshot.decisions):
            return snapshot
        await asyncio.sleep(0.25)
    raise AssertionError(f"run {run.run_id} has no notify record: {snapshot.decisions}")


def _answer_links(text: str) -> dict[str, str]:
    """answer -> signed link, read off a message's plain-text lines `  approve: http://...`."""
    found = {}
    for line in text.splitlines():
        label, _, url = line.strip().partition(": ")
        if url.startswith(f"{BASE}/link/"):
            found[label] = url
    return found


async def test_email_goes_once_per_person_with_a_signed_link_per_answer_and_is_recorded(
    server: DevServer, smtp_server: Mailbox, keyed: None
) -> None:
    graph = _graph(f"mailed_{uuid.uuid4().hex[:6]}", email({"alice": "alice@example.com", "bob": "bob@example.com"}))
    client = await hitl.connect(server.address, task_queue=f"mail-{uuid.uuid4().hex[:8]}", graphs=[graph])
    async with client.worker():
        run = await client.start(graph.name, {"topic": "v2"})
        # bob's address was refused once: the activity failed after alice's message and was retried
        snapshot = await notified(run)
    [record] = [d for d in snapshot.decisions if d.kind == "notify"]
    assert record.value == {"sent": ["email to bob@example.com"], "already_sent": ["email to alice@example.com"]}
    assert sorted(m["To"] for m in smtp_server.accepted) == ["alice@example.com", "bob@example.com"]  # once each
    alice = next(m for m in smtp_server.accepted if m["To"] == "alice@example.com")
    assert alice["Subject"] == f"{graph.name} run {run.run_id} waits for 1 question"
    text = alice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = alice.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Ship v2?" in text and "Ship v2?" in html
    answers = _answer_links(text)
    assert sorted(answers) == ["approve", "reject"]
    for answer, url in answers.items():
        assert url.replace("&", "&amp;") in html
        token = urlsplit(url).path.removeprefix("/link/")
        link = links.verify(token, KEY.encode())  # signed for alice, this question, this run
        assert (link.identity, link.run_id, link.interrupt_id) == ("alice", run.run_id, snapshot.interrupts[0].id)
        assert parse_qs(urlsplit(url).query) == {"answer": [answer]}
    assert alice["Message-ID"] != next(m for m in smtp_server.accepted if m["To"] == "bob@example.com")["Message-ID"]


class BlockKit(BaseHTTPRequestHandler):
    """An incoming webhook that answers as Slack does: 200 "ok", or 400 "invalid_blocks" naming the fault."""

    posted: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        fault = block_kit_fault(body)
        self.send_response(400 if fault else 200)
        self.end_headers()
        self.wfile.write(f"invalid_blocks: {fault}".encode() if fault else b"ok")
        if not fault:
            BlockKit.posted.append(body)

    def log_message(self, *args: Any) -> None:
        pass


def block_kit_fault(body: Any) -> str | None:
    """What Slack would refuse in a message (the parts of Block Kit a notification uses), else None."""
    if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not isinstance(body.get("blocks"), list):
        return "a message needs text (the fallback) and blocks"
    actions: set[str] = set()
    for block in body["blocks"]:
        kind, text = block.get("type"), block.get("text") or {}
        if kind == "header" and (text.get("type") != "plain_text" or not 0 < len(text.get("text", "")) <= 150):
            return "header text must be plain_text, 1-150 characters"
        elif kind == "section" and (text.get("type") != "mrkdwn" or not 0 < len(text.get("text", "")) <= 3000):
            return "section text must be mrkdwn, 1-3000 characters"
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= 25:
                return "actions take 1-25 elements"
            for e in elements:
                label = e.get("text") or {}
                if e.get("type") != "button" or label.get("type") != "plain_text" or not 0 < len(label["text"]) <= 75:
                    return "a button needs a plain_text label of 1-75 characters"
                if not str(e.get("url", "")).startswith(("http://", "https://")) or len(e["url"]) > 3000:
                    return "a button's url must be http(s), at most 3000 characters"
                if e.get("style") not in (None, "primary", "danger") or e.get("action_id") in actions:
                    return "style is primary or danger; action_id unique in the message"
                actions.add(e["action_id"])
        elif kind not in ("header", "section", "actions"):
            return f"unexpected block {kind!r}"
    return None


@pytest.fixture
def slack_hook() -> Iterator[str]:
    BlockKit.posted = []
    httpd = HTTPServer(("127.0.0.1", free_port()), BlockKit)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/services/T0/B0/x"
    finally:
        httpd.shutdown()


async def test_slack_posts_block_kit_with_a_button_per_answer_once(
    server: DevServer, slack_hook: str, keyed: None
) -> None:
    graph = _graph(f"slacked_{uuid.uuid4().hex[:6]}", slack(slack_hook, link_for=["carol"]))
    client = await hitl.connect(server.address, task_queue=f"slack-{uuid.uuid4().hex[:8]}", graphs=[graph])
    async with client.worker():
        run = await client.start(graph.name, {"topic": "v3"})
        snapshot = await notified(run)
    [record] = [d for d in snapshot.decisions if d.kind == "notify"]
    assert record.value == {"sent": ["slack message"]}
    [message] = BlockKit.posted
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    # carol may not answer (reviewers alice and bob): links for the question's reviewers only
    assert [b["text"]["text"] for b in buttons] == [
        "approve (alice)",
        "reject (alice)",
        "approve (bob)",
        "reject (bob)",
    ]
    assert [b.get("style") for b in buttons] == ["primary", "danger", "primary", "danger"]
    for b in buttons:
        link = links.verify(urlsplit(b["url"]).path.removeprefix("/link/"), KEY.encode())
        assert link.identity in b["text"]["text"] and link.interrupt_id == snapshot.interrupts[0].id
    assert "*Ship v3?*" in json.dumps(message["blocks"])
