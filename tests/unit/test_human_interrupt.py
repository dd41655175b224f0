"""Agent Inbox's interrupt shape: the models, the answer schema a question in that shape implies, hitl's
inbox cards for it, and the X-Api-Key header Agent Inbox signs in with. No server."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
from starlette.datastructures import Headers

from hitl.human_interrupt import (
    ActionRequest,
    HumanInterrupt,
    HumanInterruptConfig,
    HumanResponse,
    implied_schema,
    response_schema,
)
from hitl.protocol.policy import schema_refused
from hitl.web import forms
from hitl.web.auth import api_token

REQUEST = {
    "action_request": {"action": "send_email", "args": {"to": "ada@example.com", "retries": 2, "urgent": False}},
    "config": {"allow_ignore": True, "allow_respond": True, "allow_edit": True, "allow_accept": True},
    "description": "Send it?",
}
NO_EDIT = {**REQUEST, "config": {**REQUEST["config"], "allow_edit": False, "allow_respond": False}}


def refused(answer: Any, value: Any = None) -> str | None:
    schema = implied_schema([REQUEST] if value is None else value)
    assert schema is not None
    return schema_refused(answer, schema, "the answer")


@pytest.mark.parametrize(
    "answer",
    [
        [{"type": "accept", "args": None}],
        [{"type": "accept"}],
        [{"type": "accept", "args": {"action": "send_email", "args": {"to": "ada@example.com"}}}],  # Agent Inbox
        [{"type": "edit", "args": {"action": "send_email", "args": {"to": "bob@example.com", "retries": "3"}}}],
        [{"type": "response", "args": "ask Ada first"}],
        [{"type": "ignore", "args": None}],
    ],
)
def test_what_agent_inbox_sends_fits_the_implied_schema(answer: Any) -> None:
    assert refused(answer) is None
    assert HumanResponse.model_validate(answer[0]).type == answer[0]["type"]


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ({"type": "accept", "args": None}, None),  # one response, not the list Agent Inbox sends
        ([], None),
        ([{"type": "approve"}], None),  # HumanInTheLoopMiddleware's word, not Agent Inbox's
        ([{"type": "edit", "args": None}], None),
        ([{"type": "response", "args": None}], None),
        ([{"type": "ignore", "args": "why"}], None),
        ([{"type": "accept", "args": None, "extra": 1}], None),
        ([{"type": "accept"}, {"type": "accept"}], None),  # one request, one response
        ([{"type": "edit", "args": {"action": "send_email", "args": {}}}], [NO_EDIT]),
        ([{"type": "response", "args": "no"}], [NO_EDIT]),
    ],
)
def test_answers_the_config_does_not_allow_are_refused(answer: Any, value: Any) -> None:
    assert refused(answer, value) is not None


def test_only_the_list_shape_implies_a_schema() -> None:
    assert implied_schema([REQUEST]) == response_schema([HumanInterrupt.model_validate(REQUEST)])
    assert implied_schema(REQUEST) is None  # a lone request: the graph's own business
    assert implied_schema([{"action_request": {"action": "x"}}]) is None  # no config: not Agent Inbox's shape
    assert implied_schema([{"question": "ok?"}]) is None and implied_schema("ok?") is None
    nothing_allowed = {**REQUEST, "config": dict.fromkeys(HumanInterruptConfig.model_fields, False)}
    assert implied_schema([nothing_allowed]) is None  # no answer could pass: the graph takes what comes


def test_two_requests_take_one_or_two_responses_each_as_its_config_allows() -> None:
    value = [REQUEST, NO_EDIT]
    assert refused([{"type": "response", "args": "later"}], value) is None
    assert refused([{"type": "ignore"}, {"type": "accept"}], value) is None
    assert refused([{"type": "ignore"}, {"type": "response", "args": "no"}], value) is not None


def test_the_models_have_langgraphs_field_names_and_check_args_against_type() -> None:
    request = HumanInterrupt(
        action_request=ActionRequest(action="run", args={"cmd": "ls"}),
        config=HumanInterruptConfig(allow_edit=False),
        description="ok?",
    )
    assert request.model_dump() == {
        "action_request": {"action": "run", "args": {"cmd": "ls"}},
        "config": {"allow_ignore": True, "allow_respond": True, "allow_edit": False, "allow_accept": True},
        "description": "ok?",
    }
    assert request.config.allowed() == ["accept", "response", "ignore"]
    edit = HumanResponse.model_validate({"type": "edit", "args": {"action": "run", "args": {"cmd": "ls -l"}}})
    assert edit.edited == ActionRequest(action="run", args={"cmd": "ls -l"}) and edit.text is None
    assert HumanResponse(type="response", args="no").text == "no"
    with pytest.raises(pydantic.ValidationError, match="a 'edit' response takes args the edited action request"):
        HumanResponse(type="edit", args="ls")


def test_hitls_inbox_shows_a_card_per_request_with_agent_inboxs_choices() -> None:
    [card] = forms.review_cards([REQUEST], implied_schema([REQUEST]))
    assert card.shape == "human_interrupt" and card.name == "send_email" and card.description == "Send it?"
    assert [d for d, _ in card.choices] == ["accept", "edit", "response", "ignore"]
    assert card.message_for == ["response"]
    assert card.args_form is not None
    kinds = {f.name: f.kind for f in card.args_form.children}
    assert kinds == {"d0.args.to": "textarea", "d0.args.retries": "integer", "d0.args.urgent": "checkbox"}
    [restricted] = forms.review_cards([NO_EDIT], None)
    assert restricted.args_form is None and [d for d, _ in restricted.choices] == ["accept", "ignore"]


@pytest.mark.parametrize(
    ("fields", "answer"),
    [
        ({"d0.type": "accept"}, [{"type": "accept", "args": None}]),
        ({"d0.type": "ignore"}, [{"type": "ignore", "args": None}]),
        ({"d0.type": "response", "d0.message": " ask Ada "}, [{"type": "response", "args": "ask Ada"}]),
        (
            {"d0.type": "edit", "d0.args.to": "bob@example.com", "d0.args.retries": "3"},
            [
                {
                    "type": "edit",
                    "args": {"action": "send_email", "args": {"to": "bob@example.com", "retries": 3, "urgent": False}},
                }
            ],
        ),
    ],
)
def test_the_card_form_reads_back_as_the_list_agent_inbox_sends(fields: dict[str, str], answer: Any) -> None:
    cards = forms.review_cards([REQUEST], implied_schema([REQUEST]))
    assert forms.parse_review(cards, fields) == answer
    assert refused(answer) is None


def test_the_card_form_refuses_an_empty_response_and_a_choice_not_offered() -> None:
    cards = forms.review_cards([NO_EDIT], None)
    with pytest.raises(forms.InvalidInputError, match=r"choose one of \['accept', 'ignore'\]"):
        forms.parse_review(cards, {"d0.type": "edit"})
    with pytest.raises(forms.InvalidInputError, match="write a response for send_email"):
        forms.parse_review(forms.review_cards([REQUEST], None), {"d0.type": "response", "d0.message": " "})


def test_tool_review_cards_read_back_as_before() -> None:
    value = {
        "action_requests": [{"name": "refund", "args": {"order": 42}}],
        "review_configs": [{"action_name": "refund", "allowed_decisions": ["approve", "reject"]}],
    }
    [card] = forms.review_cards(value, None)
    assert card.shape == "tool_review" and card.choices == [("approve", "Approve"), ("reject", "Reject")]
    assert forms.parse_review([card], {"d0.type": "reject", "d0.message": "no"}) == {
        "decisions": [{"type": "reject", "message": "no"}]
    }


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        ({"authorization": "Bearer tok"}, "tok"),
        ({"x-api-key": "tok"}, "tok"),  # LangGraph's SDKs' apiKey, Agent Inbox's "LangSmith API key"
        ({"authorization": "Bearer tok", "x-api-key": "other"}, "tok"),
        ({"x-api-key": "  "}, None),
        ({"authorization": "Bearer  ", "x-api-key": ""}, None),
        ({"authorization": "Basic tok"}, None),
        ({}, None),
    ],
)
def test_an_api_client_sends_its_token_as_bearer_or_api_key(headers: dict[str, str], token: str | None) -> None:
    assert api_token(Headers(headers)) == token
