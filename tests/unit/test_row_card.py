"""An inbox row's words (issue 26 item 2): what `interrupt(title=, summary=)` and LangChain's review shapes
give a row, how it travels in the summary memo, and how the inbox reads any memo back."""

from __future__ import annotations

from typing import Any

import pytest

from hitl.protocol.limits import shorten
from hitl.protocol.row_memo import Card, from_memo, memo_part, words
from hitl.protocol.wire import Phase
from hitl.row_card import card
from hitl.types import HitlError, Interrupt
from hitl.web.pages import summarize
from hitl.web.row_lines import Line, lines
from hitl.workflows.core.records import summary

ORDER = {"question": "Ship?", "customer": "Ada  Lovelace\n", "total": "€1", "notes": "x" * 300, "n": 3}
EMAIL = [
    {
        "action_request": {"action": "send_email", "args": {"to": "a@b.c", "subject": "Hi; there"}},
        "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True},
        "description": "Send it?",
    }
]
TOOLS = {
    "action_requests": [{"name": "refund", "args": {"order": 42}, "description": "Refund it?"}, {"name": "email"}],
    "review_configs": [{"action_name": "refund", "allowed_decisions": ["approve"]}],
}


def test_a_title_and_keys_give_one_line_fields() -> None:
    c = card(ORDER, "Order", ["customer", "notes", "n", "missing"], "here")
    assert c == Card("Order", {"customer": "Ada Lovelace", "notes": "x" * 59 + "…", "n": "3"})


def test_a_summary_function_and_a_title_alone() -> None:
    assert card(ORDER, None, lambda v: {"who": v["customer"]}, "here") == Card(None, {"who": "Ada Lovelace"})
    assert card(ORDER, "Only a title", None, "here") == Card("Only a title", {})
    assert card({"k": "v"}, None, None, "here") is None, "no card: the inbox reads the memo as before"


def test_langchain_shapes_give_their_action_description_and_arguments() -> None:
    assert card(EMAIL, None, None, "here") == Card(
        "send_email", {"description": "Send it?", "to": "a@b.c", "subject": "Hi; there"}
    )
    assert card(TOOLS, None, None, "here") == Card("refund, email", {"description": "Refund it?", "order": "42"})
    assert card(EMAIL, "Mail", None, "here") == Card(
        "Mail", {"description": "Send it?", "to": "a@b.c", "subject": "Hi; there"}
    )


@pytest.mark.parametrize(
    ("title", "keys", "value", "said"),
    [
        (3, None, {}, "title must be a string; got int"),
        (None, "customer", ORDER, "summary takes a list of keys of the value, or a function"),
        (None, ["a"], "text", "summary names keys, but the value is not a dict"),
        (None, lambda v: ["a"], ORDER, "the summary function must return a dict"),
    ],
)
def test_a_wrong_title_or_summary_is_one_line(title: Any, keys: Any, value: Any, said: str) -> None:
    with pytest.raises(HitlError, match=said):
        card(value, title, keys, "interrupt() in node 'n'")


def test_the_memo_holds_a_card_and_old_questions_keep_their_memo() -> None:
    c = card(EMAIL, None, None, "here")
    assert c is not None
    part = memo_part(c)
    assert "; " not in part and from_memo(part) == c
    assert from_memo('{"hitl_row": [') is None and from_memo('{"question": "x"}') is None
    plain = Interrupt(id="i", value=ORDER, node="n")
    carded = Interrupt(id="j", value=ORDER, node="n", title="T", summary={"k": "v"})
    assert summary([plain], Phase.ASKING, ["n"]) == shorten(ORDER), "a question without a card: as before"
    assert summary([plain, carded], Phase.ASKING, ["n"]) == shorten(ORDER) + "; " + memo_part(Card("T", {"k": "v"}))


def test_the_inbox_reads_every_memo() -> None:
    cut = shorten({"question": "Publish this draft?", "draft": "A long draft " * 20})
    [line] = lines(cut, summarize)
    assert line.title == "Publish this draft?" and list(line.fields) == ["draft"]
    assert line.fields["draft"].startswith("A long draft A long") and line.fields["draft"].endswith("…")
    assert len(line.fields["draft"]) <= 60, "a field is one short line"
    both = memo_part(Card("send_email", {"to": "a@b.c"})) + '; "Plain question?"; breakpoint before publish'
    assert lines(both, summarize) == [
        Line("send_email", {"to": "a@b.c"}),
        Line("Plain question?"),
        Line("Paused before publish: check the state, then continue"),
    ]


def test_the_cli_reads_a_carded_memo_as_words() -> None:
    memo = memo_part(Card("Order for Ada", {"total": "€1; paid"})) + '; "Plain?"'
    assert words(memo) == 'Order for Ada · total: €1; paid; "Plain?"'
