"""Chat messages: taken in LangChain's shape or the OpenAI chat-completions shape, stored in LangChain's.

A LangGraph front-end (Agent Inbox, the JS SDK's `useStream`) sends and renders
LangChain's serialized messages (`{"type": "human", "content": ..., "id": ...}`);
OpenAI-style clients send `{"role": "user", "content": ...}`. `Message` accepts
both (and a bare string, a human message, as LangGraph does) and serializes to
LangChain's shape, key for key what `langgraph dev` returns, so a run's
`values.messages` reads the same on either server. Use
`Annotated[list[Message], add_messages]` for a conversation: messages written to
such a key get an id when they have none (`state_messages`), so a later message
with the same id replaces them, as LangGraph's `add_messages` does.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

import pydantic

from hitl.protocol.reducers import add_messages

__all__ = ["Message", "ToolCall", "add_messages", "state_messages"]

Role = Literal["system", "user", "assistant", "tool"]

ROLES: dict[str, Role] = {
    "human": "user",
    "user": "user",
    "ai": "assistant",
    "assistant": "assistant",
    "system": "system",
    "developer": "system",
    "tool": "tool",
}
"""Every name LangChain accepts for a message's kind (`type` or `role`), and the role it is."""

TYPES: dict[Role, str] = {"user": "human", "assistant": "ai", "system": "system", "tool": "tool"}
"""The `type` LangChain serializes each role as."""


def _tool_call_schema(schema: dict[str, Any]) -> None:
    """The JSON Schema the workflow checks edits with: LangChain's tool call or OpenAI's."""
    schema["properties"]["type"] = {"enum": ["tool_call", "function"]}
    schema["required"] = []


class ToolCall(pydantic.BaseModel):
    """A tool the model wants called: `name(**args)`, answered by a tool message with `id`."""

    model_config = pydantic.ConfigDict(json_schema_extra=_tool_call_schema)

    id: str
    name: str
    args: dict[str, Any] = {}
    type: Literal["tool_call"] = "tool_call"

    @pydantic.model_validator(mode="before")
    @classmethod
    def _from_openai(cls, data: Any) -> Any:
        """OpenAI's `{"id", "type": "function", "function": {"name", "arguments": "<json>"}}`, as LangChain takes it."""
        if isinstance(data, dict) and isinstance(data.get("function"), dict):
            function = data["function"]
            arguments = function.get("arguments") or "{}"
            try:
                args = json.loads(arguments) if isinstance(arguments, str) else arguments
            except ValueError:
                raise ValueError(f"tool call '{function.get('name')}': arguments are not JSON: {arguments!r}") from None
            return {"id": data.get("id"), "name": function.get("name"), "args": args}
        return data

    @pydantic.model_serializer(mode="plain")
    def _langchain(self) -> dict[str, Any]:
        return {"name": self.name, "args": self.args, "id": self.id, "type": "tool_call"}


def _message_schema(schema: dict[str, Any]) -> None:
    """The JSON Schema the workflow checks edits with: `role` or `type`, either naming a kind."""
    properties = schema.setdefault("properties", {})
    properties["role"] = {"enum": sorted(ROLES)}
    properties["type"] = {"enum": sorted(ROLES)}
    schema["required"] = [r for r in schema.get("required", []) if r != "role"]
    schema["anyOf"] = [{"required": ["role"]}, {"required": ["type"]}]
    properties["content"] = {"anyOf": [*properties["content"]["anyOf"], {"type": "null"}]}  # OpenAI's, for a tool call


class Message(pydantic.BaseModel):
    """One chat message. `role` is its kind in Python; JSON carries LangChain's `type` (see the module doc)."""

    model_config = pydantic.ConfigDict(json_schema_extra=_message_schema)

    role: Role
    content: str | list[dict[str, Any] | str] = ""
    tool_calls: list[ToolCall] = []
    tool_call_id: str | None = None
    name: str | None = None
    id: str | None = None
    additional_kwargs: dict[str, Any] = {}
    response_metadata: dict[str, Any] = {}
    invalid_tool_calls: list[dict[str, Any]] = []
    usage_metadata: dict[str, Any] | None = None
    artifact: Any = None
    status: Literal["success", "error"] = "success"

    @pydantic.model_validator(mode="before")
    @classmethod
    def _kind(cls, data: Any) -> Any:
        """A string is a human message; a dict names its kind by `role` (OpenAI) or `type` (LangChain)."""
        if isinstance(data, str):
            return {"role": "user", "content": data}
        if not isinstance(data, dict):
            return data
        kind = data.get("role", data.get("type"))
        if kind is None:
            raise ValueError(
                "a message needs 'type' (human, ai, system, tool) or 'role' (user, assistant, system, tool)"
            )
        if not isinstance(kind, str) or kind not in ROLES:
            raise ValueError(f"unknown message kind {kind!r}; use one of {', '.join(ROLES)}")
        known = {k: v for k, v in data.items() if k in cls.model_fields}
        # As LangChain converts a dict: keys it has no field for are kept in additional_kwargs, null content is ""
        extra = {k: v for k, v in data.items() if k not in cls.model_fields and k not in ("type", "example")}
        if kind == "developer":  # a system message to LangChain, which notes where it came from
            extra["__openai_role__"] = "developer"
        if extra:
            known["additional_kwargs"] = {**extra, **(data.get("additional_kwargs") or {})}
        if known.get("content", "") is None:
            known["content"] = ""
        return {**known, "role": ROLES[kind]}

    @property
    def type(self) -> str:
        """LangChain's name for the kind: human, ai, system or tool."""
        return TYPES[self.role]

    @property
    def text(self) -> str:
        """The text of the content, whether a string or a list of content blocks."""
        if isinstance(self.content, str):
            return self.content
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in self.content)

    @pydantic.model_serializer(mode="plain")
    def _langchain(self) -> dict[str, Any]:
        """LangChain's serialized message, keys in the order `langgraph dev` sends them."""
        out: dict[str, Any] = {
            "content": self.content,
            "additional_kwargs": self.additional_kwargs,
            "response_metadata": self.response_metadata,
            "type": self.type,
            "name": self.name,
            "id": self.id,
        }
        if self.role == "assistant":
            out |= {
                "tool_calls": [c._langchain() for c in self.tool_calls],
                "invalid_tool_calls": self.invalid_tool_calls,
                "usage_metadata": self.usage_metadata,
            }
        elif self.role == "tool":
            out |= {"tool_call_id": self.tool_call_id, "artifact": self.artifact, "status": self.status}
        return out

    def to_state(self) -> dict[str, Any]:
        """The message as stored in a run's state: LangChain's serialized shape, as JSON."""
        dumped: dict[str, Any] = self.model_dump(mode="json")
        return dumped

    @classmethod
    def user(cls, content: str, **kw: Any) -> Message:
        return cls(role="user", content=content, **kw)

    @classmethod
    def assistant(cls, content: str = "", tool_calls: list[ToolCall] | None = None, **kw: Any) -> Message:
        return cls(role="assistant", content=content, tool_calls=tool_calls or [], **kw)

    @classmethod
    def tool(cls, content: str, tool_call_id: str, name: str | None = None) -> Message:
        return cls(role="tool", content=content, tool_call_id=tool_call_id, name=name)


_MESSAGES = pydantic.TypeAdapter(list[Message])


def state_messages(value: Any) -> list[dict[str, Any]]:
    """Messages written to an `add_messages` key, as stored: LangChain's shape, each with an id.

    Runs where the write enters (the client for input, the node's activity for
    its update), never in the workflow: a new id is random. Raises
    `pydantic.ValidationError` naming the message that is not one.
    """
    items = value if isinstance(value, list) else [value]
    return [
        m.model_copy(update={"id": str(uuid.uuid4())}).to_state() if m.id is None else m.to_state()
        for m in _MESSAGES.validate_python(items)
    ]
