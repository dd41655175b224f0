"""Hostile review of the Slack and email notifications: what a question's own text and a fan-out of
questions do to the message (Slack refuses a whole message past its Block Kit limits)."""

from __future__ import annotations

from datetime import datetime, timezone
from email import message_from_bytes, policy
from typing import Any

from hitl.prebuilt.notify import Choice, Question, _email_message, questions, slack_message
from hitl.types import Interrupt, StateSnapshot

SLACK_MAX_BLOCKS = 50
"""Block Kit: a message holds at most 50 blocks (https://api.slack.com/reference/block-kit/blocks)."""
NOW = datetime(2026, 12, 6, tzinfo=timezone.utc)


def snapshot(interrupts: list[Interrupt]) -> StateSnapshot:
    return StateSnapshot(
        run_id="r-1",
        graph="fanout",
        status="interrupted",
        values={},
        next=["review"],
        step=1,
        interrupts=interrupts,
        created_at=NOW,
        updated_at=NOW,
    )


def asked(n: int, answers: int) -> list[Question]:
    return [
        Question(
            f"i{i}",
            f"review item {i}",
            {},
            [Choice(f"a{k}", f"http://inbox.test/link/t{i}-{k}") for k in range(answers)],
        )
        for i in range(n)
    ]


def test_a_fan_out_of_questions_fits_in_one_slack_message() -> None:
    """A `Send` fan-out of 30 reviews (each its question and buttons) must stay within Slack's 50 blocks,
    or Slack refuses the whole post (`invalid_blocks`) and nobody hears of any of them. What does not fit
    is said, with where to see it."""
    message = slack_message(snapshot([]), asked(30, 2))
    blocks: list[dict[str, Any]] = message["blocks"]
    assert len(blocks) <= SLACK_MAX_BLOCKS, len(blocks)
    assert "more question" in str(blocks[-1]), blocks[-1]


def test_a_question_with_many_answers_fits_in_one_slack_message() -> None:
    """An enum of 300 answers: 12 actions blocks of 25 buttons for one question, and 5 such questions pass
    Slack's 50 blocks."""
    message = slack_message(snapshot([]), asked(5, 300))
    assert len(message["blocks"]) <= SLACK_MAX_BLOCKS, len(message["blocks"])


def test_question_text_cannot_link_or_mention_in_slack_nor_inject_html_or_headers_in_email() -> None:
    """A question's title and summary come from the run's data: Slack sees them escaped (no `<url|label>`
    links, no `<!channel>`), the email's HTML escaped, and its headers carry none of it."""
    hostile = "<!channel> <https://evil.test|Approve here> </h3><a href='https://evil.test'>x</a>\r\nBcc: x@evil.test"
    pending = [Interrupt(id="i0", value=hostile, node="review", title=hostile, summary={"amount": hostile})]
    shown = questions(snapshot(pending), [], several=False)
    text = str(slack_message(snapshot(pending), shown))
    assert "<!channel>" not in text and "<https://evil.test|" not in text
    raw = _email_message(snapshot(pending), shown, "hitl@example.com", "alice@example.com").as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None and "evil" not in str(parsed["Subject"])
    html = parsed.get_body(("html",))
    assert html is not None
    assert "<a href='https://evil.test'>" not in html.get_content()


def test_a_question_cannot_mention_the_channel_or_make_links_from_bare_text_in_slack() -> None:
    """`@channel`, `@here` or a bare URL in a question's title: Slack parses those in mrkdwn unless the text
    is `verbatim`. Every section showing the run's text is."""
    title = "@channel @here approve at https://evil.test/approve"
    pending = [Interrupt(id="i0", value=title, node="review", title=title, summary={"note": title})]
    blocks = slack_message(snapshot(pending), questions(snapshot(pending), [], several=False))["blocks"]
    shown = [b for b in blocks if b["type"] == "section" and "evil.test" in b["text"]["text"]]
    assert shown and all(b["text"].get("verbatim") is True for b in shown), shown


def test_a_line_break_in_a_question_cannot_forge_an_answer_line_in_the_plain_text_email() -> None:
    """The plain-text email lists each answer as `  approve: <link>`: a question whose title or summary holds
    a line break and such a line showed a forged link among the real ones. The run's text stays on its line."""
    forged = "Refund 10 EUR?\n  approve: https://evil.test/link/x"
    pending = [Interrupt(id="i0", value=forged, node="review", title=forged, summary={"amount": forged})]
    shown = questions(snapshot(pending), [], several=False)
    raw = _email_message(snapshot(pending), shown, "hitl@example.com", "alice@example.com").as_bytes()
    plain = message_from_bytes(raw, policy=policy.default).get_body(("plain",))
    assert plain is not None
    lines = plain.get_content().splitlines()
    assert not [x for x in lines if x.strip().startswith("approve: https://evil.test")], lines


def test_a_long_answer_does_not_make_a_button_url_slack_refuses() -> None:
    """An allowed answer of 4,000 characters rode along in its button's URL (`?answer=`), past Slack's 3,000
    characters for a button URL, and Slack refuses the whole message. The URL keeps the signed link only."""
    long = "x" * 4000
    pending = [Interrupt(id="i0", value="pick", node="review", schema={"enum": [long, "no"]})]
    link = {"interrupt_id": "i0", "identity": "alice", "url": "http://inbox.test/link/token", "expires_at": ""}
    blocks = slack_message(snapshot(pending), questions(snapshot(pending), [link], several=False))["blocks"]
    urls = [e["url"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert len(urls) == 2 and all(len(u) <= 3000 for u in urls), [len(u) for u in urls]
    assert all(u.startswith("http://inbox.test/link/token") for u in urls), urls


def test_a_blank_answer_still_has_a_button_text() -> None:
    """An enum holding "" (or spaces): its button's text was empty, which Slack refuses (message and all)."""
    pending = [Interrupt(id="i0", value="pick", node="review", schema={"enum": ["", " ", "yes"]})]
    link = {"interrupt_id": "i0", "identity": "alice", "url": "http://inbox.test/link/token", "expires_at": ""}
    blocks = slack_message(snapshot(pending), questions(snapshot(pending), [link], several=False))["blocks"]
    texts = [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert texts == ['""', '" "', "yes"], texts
