"""hitl/prebuilt/notify.py without a server: email and Slack hooks refused where they are built when
misconfigured (one line each), the answers a question allows, and the ledger that keeps a retried
notification from sending twice. The hooks against real servers: tests/test_notify_channels.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pydantic
import pytest

from hitl.human_interrupt import HumanInterrupt, response_schema
from hitl.prebuilt.ledger import Ledger
from hitl.prebuilt.notify import NotifyConfigError, allowed_answers, email, slack
from hitl.prebuilt.tools import review_schema, tool

SMTP = {"HITL_SMTP_HOST": "mail.example.com", "HITL_SMTP_FROM": "hitl@example.com"}


@pytest.fixture
def smtp_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    def set_env(**env: str) -> None:
        for name in [*SMTP, "HITL_SMTP_PORT", "HITL_SMTP_USER", "HITL_SMTP_PASSWORD", "HITL_SMTP_STARTTLS"]:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv("HITL_SMTP_CA_FILE", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)

    return set_env


@pytest.mark.parametrize(
    ("env", "to", "message"),
    [
        ({}, ["a@x.io"], "need host= or HITL_SMTP_HOST and sender= or HITL_SMTP_FROM"),
        ({"HITL_SMTP_HOST": "h"}, ["a@x.io"], "need sender= or HITL_SMTP_FROM"),
        ({**SMTP, "HITL_SMTP_FROM": "hitl"}, ["a@x.io"], "From address 'hitl' is not an email address"),
        ({**SMTP, "HITL_SMTP_PORT": "smtp"}, ["a@x.io"], "HITL_SMTP_PORT='smtp' is not a port"),
        ({**SMTP, "HITL_SMTP_PORT": "70000"}, ["a@x.io"], "HITL_SMTP_PORT='70000' is not a port"),
        ({**SMTP, "HITL_SMTP_STARTTLS": "maybe"}, ["a@x.io"], "HITL_SMTP_STARTTLS='maybe' is not a yes/no"),
        ({**SMTP, "HITL_SMTP_USER": "u"}, ["a@x.io"], "HITL_SMTP_USER is set but HITL_SMTP_PASSWORD is not"),
        ({**SMTP, "HITL_SMTP_PASSWORD": "p"}, ["a@x.io"], "HITL_SMTP_PASSWORD is set but HITL_SMTP_USER is not"),
        (
            {**SMTP, "HITL_SMTP_USER": "u", "HITL_SMTP_PASSWORD": "p", "HITL_SMTP_STARTTLS": "no"},
            ["a@x.io"],
            "credentials would cross the network in clear",
        ),
        ({**SMTP, "HITL_SMTP_CA_FILE": "/nonexistent.pem"}, ["a@x.io"], "is not a readable file"),
        (SMTP, [], "names no one"),
        (SMTP, {"alice": "alice"}, "not name@domain: alice: 'alice'"),
    ],
)
def test_email_is_refused_where_it_is_built_in_one_line(
    smtp_env: Callable[..., None], env: dict[str, str], to: Any, message: str
) -> None:
    smtp_env(**env)
    with pytest.raises(NotifyConfigError, match=message) as e:
        email(to)
    assert "\n" not in str(e.value)


def test_email_builds_from_the_environment_or_its_arguments(smtp_env: Callable[..., None]) -> None:
    smtp_env()
    assert callable(email({"alice": "alice@example.com"}, host="localhost", sender="hitl@example.com", port=2525))
    smtp_env(**SMTP, HITL_SMTP_USER="u", HITL_SMTP_PASSWORD="p", HITL_SMTP_STARTTLS="yes")
    assert callable(email(["alice@example.com"]))


def test_slack_is_refused_without_a_webhook_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HITL_SLACK_WEBHOOK_URL", raising=False)
    with pytest.raises(NotifyConfigError, match="needs the incoming webhook's URL: pass it or set HITL_SLACK"):
        slack()
    with pytest.raises(NotifyConfigError, match="must start with https://"):
        slack("hooks.slack.com/services/x")
    monkeypatch.setenv("HITL_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/x")
    assert callable(slack())


@tool
def refund(amount: int) -> str:
    """Refund an amount."""
    return f"refunded {amount}"


def test_the_answers_a_question_allows() -> None:
    assert allowed_answers(pydantic.TypeAdapter(Literal["approve", "reject"]).json_schema()) == ["approve", "reject"]
    assert allowed_answers({"type": "boolean"}) == [True, False]
    request = HumanInterrupt.model_validate(
        {
            "action_request": {"action": "send", "args": {}},
            "config": {"allow_accept": True, "allow_ignore": True, "allow_respond": False, "allow_edit": False},
        }
    )
    assert allowed_answers(response_schema([request])) == ["accept", "ignore"]
    assert allowed_answers(review_schema([(refund, ["approve", "reject"])])) == ["approve", "reject"]
    two = review_schema([(refund, ["approve"]), (refund, ["reject"])])
    assert allowed_answers(two) is None  # several calls to decide: one link to the question's page
    assert allowed_answers({"type": "string"}) is None and allowed_answers(None) is None


def test_the_ledger_skips_what_an_earlier_attempt_sent_and_saves_each_send() -> None:
    saved: list[list[str]] = []
    sent: list[str] = []
    ledger = Ledger(["k1"], saved.append)
    ledger.once("k1", "to a", lambda: sent.append("a"))
    ledger.once("k2", "to b", lambda: sent.append("b"))
    with pytest.raises(OSError):
        ledger.once("k3", "to c", lambda: (_ for _ in ()).throw(OSError("down")))
    assert sent == ["b"] and ledger.skipped == ["to a"] and ledger.sent == ["to b"]
    assert saved == [["k1", "k2"]]  # what a retry starts from: k3 never got out
