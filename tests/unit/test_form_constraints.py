"""Answer forms carry their schema's constraints (hitl/web/constraints.py, forms.py), refuse empty required
text and empty `respond` messages, keep what was typed after a refusal (bounded), and match LangChain's
review configs to their requests (issue 26, items 4 and 5)."""

from __future__ import annotations

import json

import pytest
from starlette.requests import Request

from hitl.types import InvalidInputError
from hitl.web import forms
from hitl.web.constraints import MAX_UNBOUNDED, browser_pattern, number_attrs, text_attrs
from hitl.web.prose import markdown
from hitl.web.session import TYPED_BYTES, keep_typed


@pytest.mark.parametrize(
    ("pattern", "carried"),
    [
        ("^[A-Z]{3}-\\d+$", "^[A-Z]{3}-\\d+$"),
        ("abc", "[\\s\\S]*(?:abc)[\\s\\S]*"),  # JSON Schema searches; HTML matches the whole value
        ("^ab", "(?:^ab)[\\s\\S]*"),
        ("^a|b$", "[\\s\\S]*(?:^a|b$)[\\s\\S]*"),  # a top-level alternation keeps both wrappers
        ("^(?:ab)*$", "^(?:ab)*$"),
    ],
)
def test_patterns_both_engines_read_alike_are_carried_whole(pattern: str, carried: str) -> None:
    assert browser_pattern(pattern) == carried


@pytest.mark.parametrize(
    "pattern",
    [
        "^(a+)+$",  # star height two: exponential in a backtracking engine
        "^(a|aa)*$",  # a quantified alternation
        "[a-z-]",  # the `v` flag refuses an unescaped '-' in a class
        "(?i)abc",  # RE2's flags: not ECMAScript
        "(?P<n>a)",  # RE2's named group
        "[[:alpha:]]",  # POSIX class: RE2 only
        "\\pL",  # Unicode class: different syntax
        "^\\S+$",  # \\s: ASCII in RE2, Unicode in ECMAScript
        "a" + "a*" * MAX_UNBOUNDED,  # too many unbounded quantifiers
        "[",
        "a{3,1}",
        "a**",
    ],
)
def test_patterns_read_differently_or_slow_in_the_browser_are_left_to_the_server(pattern: str) -> None:
    assert browser_pattern(pattern) is None


def test_number_bounds_round_inward_for_integers_and_exclusive_bounds_go_to_app_js() -> None:
    age = {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 150}
    assert number_attrs(age, True, "") == {"min": "1", "max": "149", "step": "1"}
    assert number_attrs({"minimum": 0.5, "maximum": 9.5}, True, "")["min"] == "1"  # never a base of 0.5 for step 1
    assert number_attrs({"exclusiveMinimum": 0, "maximum": 1}, False, "") == {
        "min": "0",
        "data-gt": "0",
        "max": "1",
        "step": "any",
    }
    assert number_attrs({"minimum": 0, "multipleOf": 5}, True, "7")["step"] == "5"  # base: min
    assert number_attrs({"multipleOf": 5}, True, "7")["step"] == "1"  # base 7 is no multiple: the server checks
    assert number_attrs({"multipleOf": 0.25}, False, "1.5")["step"] == "0.25"
    assert number_attrs({"minimum": True, "maximum": float("inf")}, True, "") == {"step": "1"}


def test_text_attributes_and_one_line_for_a_pattern() -> None:
    assert text_attrs({"minLength": 3, "maxLength": 40, "pattern": "^a+$"}, single_line=True) == {
        "minlength": "3",
        "maxlength": "40",
        "pattern": "^a+$",
        "title": "must match ^a+$",
    }
    assert "pattern" not in text_attrs({"pattern": "^a+$"}, single_line=False)  # a textarea has no pattern
    assert forms.build({"type": "string", "pattern": "^a+$"}).kind == "text"


def test_empty_required_text_is_refused_in_one_line_and_optional_text_left_out() -> None:
    form = forms.build(
        {"type": "object", "properties": {"name": {"type": "string"}, "nick": {"type": "string"}}, "required": ["name"]}
    )
    with pytest.raises(InvalidInputError, match="'name' is required: write some text") as refused:
        forms.parse(form, {"v.name": "", "v.nick": ""})
    assert "\n" not in str(refused.value)
    assert forms.parse(form, {"v.name": "Ada", "v.nick": ""}) == {"name": "Ada"}


MIDDLEWARE = {
    "action_requests": [{"name": "a", "args": {}}, {"name": "b", "args": {}}],
    "review_configs": [{"action_name": "b", "allowed_decisions": ["respond"]}, {"action_name": "a"}],
}


def test_an_empty_respond_is_refused_and_a_reject_may_say_nothing() -> None:
    cards = forms.review_cards(
        {"action_requests": MIDDLEWARE["action_requests"][1:], "review_configs": MIDDLEWARE["review_configs"][:1]},
        None,
    )
    with pytest.raises(InvalidInputError, match=r"write a message for call 1 \(b\)"):
        forms.parse_review(cards, {"d0.type": "respond", "d0.message": "  "})
    assert forms.parse_review(cards, {"d0.type": "respond", "d0.message": "done"}) == {
        "decisions": [{"type": "respond", "message": "done"}]
    }


def test_review_configs_are_matched_to_their_requests_by_action_name() -> None:
    a, b = forms.review_cards(MIDDLEWARE, None)
    assert (a.name, a.allowed, b.name, b.allowed) == ("a", [], "b", ["respond"])


def test_a_refused_form_is_refilled_as_typed() -> None:
    form = forms.build(
        {
            "type": "object",
            "properties": {
                "age": {"type": "integer"},
                "ok": {"type": "boolean"},
                "tier": {"enum": ["gold", "silver"]},
            },
        },
        value={"age": 3, "ok": True},
    )
    forms.refill(form, {"v.age": "500x", "v.tier": '"silver"'})
    age, ok, tier = form.children
    assert (age.shown, ok.value, tier.chosen("silver"), tier.chosen("gold")) == ("500x", False, True, False)


def test_what_was_typed_comes_back_bounded_and_without_the_forms_own_fields() -> None:
    request = Request({"type": "http", "headers": []})
    keep_typed(request, {"csrf": "t", "request_id": "r", "v": "500", "big": "x" * TYPED_BYTES, "note": "é"})
    kept, cut = request.scope["hitl_flash_typed"]
    assert kept == {"v": "500", "note": "é"} and cut is True
    assert len(json.dumps(kept, separators=(",", ":")).encode()) <= TYPED_BYTES


def test_markdown_descriptions_render_without_raw_html_or_script_links() -> None:
    html = str(markdown("**b** [ok](https://x.test) <b onclick=x>t</b> [j](javascript:alert(1)) ![i](https://x/i.png)"))
    assert "<strong>b</strong>" in html and 'href="https://x.test"' in html and 'rel="noopener' in html
    assert "<b onclick" not in html and "&lt;b onclick=x&gt;" in html and 'href="javascript' not in html
    assert "<img" not in html
