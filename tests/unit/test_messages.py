"""hitl/messages.py: messages taken in LangChain's or OpenAI's shape, stored as LangChain serializes them.

The reference is langchain-core itself (in the test extra with langgraph): `convert_to_messages`, what
LangGraph's `add_messages` runs on a write, then `model_dump()`, what `langgraph dev` sends back.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pydantic
import pytest
from langchain_core.messages import convert_to_messages

from hitl.messages import Message, ToolCall, add_messages, state_messages
from hitl.state import StateSchema
from hitl.types import InvalidInputError, InvalidUpdateError

WRITTEN: list[Any] = [
    {"type": "human", "content": "hi"},
    {"type": "human", "content": [{"type": "text", "text": "blocks"}], "id": "h2"},
    {"role": "user", "content": "from an OpenAI client", "name": "ada"},
    "a bare string",
    {"role": "system", "content": "be brief"},
    {"role": "developer", "content": "a developer message"},
    {"type": "ai", "content": "", "tool_calls": [{"id": "c1", "name": "lookup", "args": {"q": "x"}}], "id": "a1"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c2", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}],
    },
    {"type": "tool", "content": "found", "tool_call_id": "c1", "name": "lookup"},
    {"role": "tool", "content": "failed", "tool_call_id": "c2", "status": "error"},
    {"type": "ai", "content": "ok", "additional_kwargs": {"k": 1}, "response_metadata": {"model": "m"}},
    {"role": "assistant", "content": "an OpenAI reply", "refusal": None, "audio": {"id": "x"}},
]


def reference(message: Any) -> dict[str, Any]:
    [converted] = convert_to_messages([message])
    dumped: dict[str, Any] = converted.model_dump()
    return dumped


@pytest.mark.parametrize("written", WRITTEN, ids=lambda m: str(m)[:40])
def test_a_message_is_stored_as_langchain_serializes_it(written: Any) -> None:
    [ours] = state_messages([written])
    theirs = reference(written)
    if "id" not in (written if isinstance(written, dict) else {}):
        assert isinstance(ours["id"], str) and len(ours["id"]) == 36, "a message without an id gets a uuid"
        ours["id"] = theirs["id"] = "given"
    assert list(ours) == list(theirs), "the same keys, in the order langgraph dev sends them"
    assert ours == theirs


def test_ids_given_are_kept_and_new_ones_differ() -> None:
    first, second, kept = state_messages(["a", "b", {"type": "human", "content": "c", "id": "mine"}])
    assert first["id"] != second["id"] and kept["id"] == "mine"
    assert state_messages({"type": "ai", "content": "one message, not a list"})[0]["type"] == "ai"


def test_stored_messages_read_back_as_the_same_message() -> None:
    stored = state_messages(WRITTEN)
    assert state_messages(stored) == stored, "converting is idempotent: a stored message is stored as it is"
    parsed = [Message.model_validate(m) for m in stored]
    assert [m.role for m in parsed][:5] == ["user", "user", "user", "user", "system"]
    assert parsed[6].tool_calls == [ToolCall(id="c1", name="lookup", args={"q": "x"})]
    assert parsed[7].tool_calls[0].args == {"a": 1}
    assert parsed[1].text == "blocks" and parsed[1].type == "human"


@pytest.mark.parametrize(
    ("written", "error"),
    [
        ({"content": "hi"}, r"a message needs 'type' \(human, ai, system, tool\) or 'role'"),
        ({"type": "bogus", "content": "hi"}, "unknown message kind 'bogus'; use one of human, user, ai"),
        (
            {"type": "ai", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{"}}]},
            "tool call 'f': arguments are not JSON",
        ),
        (7, "Input should be a valid dictionary or instance of Message"),
    ],
)
def test_what_is_not_a_message_is_named(written: Any, error: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=error):
        state_messages([written])


class Chat(TypedDict, total=False):
    messages: Annotated[list[Message], add_messages]
    loose: Annotated[list[Any], add_messages]
    log: Annotated[list[str], operator.add]


class ChatModel(pydantic.BaseModel):
    messages: Annotated[list[Message], add_messages] = []


def test_input_and_node_updates_to_a_messages_key_are_stored_in_langchain_shape() -> None:
    schema = StateSchema(Chat)
    values = schema.validate_input({"messages": [{"type": "human", "content": "hi"}], "loose": ["x"], "log": ["a"]})
    assert values["messages"][0]["type"] == "human" and values["messages"][0]["id"]
    assert values["loose"][0]["type"] == "human", "any add_messages key, typed or not"
    assert values["log"] == ["a"], "other keys as they were"
    update = schema.check_update({"messages": [Message.assistant("hello"), {"role": "tool", "content": "r"}]}, node="n")
    assert [m["type"] for m in update["messages"]] == ["ai", "tool"] and all(m["id"] for m in update["messages"])
    as_model = StateSchema(ChatModel).validate_input({"messages": [{"role": "user", "content": "hi"}]})
    assert as_model["messages"][0]["type"] == "human" and as_model["messages"][0]["id"]


def test_a_bad_message_is_one_clear_line() -> None:
    with pytest.raises(InvalidInputError, match="input: key 'messages': 0: Value error, unknown message kind 'x'"):
        StateSchema(Chat).validate_input({"messages": [{"type": "x", "content": "hi"}]})
    with pytest.raises(InvalidUpdateError, match="node 'n' update: key 'loose': 0: Value error, a message needs"):
        StateSchema(Chat).check_update({"loose": [{"content": "hi"}]}, node="n")


def test_a_later_message_with_the_same_id_replaces_the_stored_one() -> None:
    stored = state_messages([{"type": "human", "content": "draft", "id": "m1"}, "next"])
    merged = add_messages(stored, state_messages([{"role": "user", "content": "final", "id": "m1"}]))
    assert [m["content"] for m in merged] == ["final", "next"]


def test_the_schema_edits_are_checked_with_takes_either_shape() -> None:
    """The JSON Schema a run's workflow checks a state edit with (hitl/protocol/schema.py), from the key's type."""
    from hitl.protocol.schema import first_error

    schema = pydantic.TypeAdapter(list[Message]).json_schema()
    stored = state_messages(WRITTEN)
    assert first_error(schema, stored, None) is None
    assert first_error(schema, [m for m in WRITTEN if isinstance(m, dict)], None) is None
    assert first_error(schema, [{"content": "no kind"}], None) is not None
    assert first_error(schema, [{"type": "bogus", "content": "x"}], None) is not None
