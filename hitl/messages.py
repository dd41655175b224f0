"""Chat messages, in the OpenAI chat-completions shape, and their reducer.

Messages are plain JSON in the run's state; these pydantic models give nodes a
typed view. Use `Annotated[list[Message], add_messages]` for a conversation.
"""

from __future__ import annotations

from typing import Any, Literal

import pydantic

from hitl._reducers import add_messages

__all__ = ["Message", "ToolCall", "add_messages"]


class ToolCall(pydantic.BaseModel):
    """A tool the model wants called: `name(**args)`, answered by a tool message with `id`."""

    id: str
    name: str
    args: dict[str, Any] = {}


class Message(pydantic.BaseModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[ToolCall] = []
    tool_call_id: str | None = None
    name: str | None = None
    id: str | None = None

    def to_state(self) -> dict[str, Any]:
        """The message as stored in a run's state: JSON without empty fields."""
        return {
            "role": self.role,
            "content": self.content,
            **self.model_dump(exclude_defaults=True, exclude={"role", "content"}),
        }

    @classmethod
    def user(cls, content: str, **kw: Any) -> Message:
        return cls(role="user", content=content, **kw)

    @classmethod
    def assistant(cls, content: str = "", tool_calls: list[ToolCall] | None = None, **kw: Any) -> Message:
        return cls(role="assistant", content=content, tool_calls=tool_calls or [], **kw)

    @classmethod
    def tool(cls, content: str, tool_call_id: str, name: str | None = None) -> Message:
        return cls(role="tool", content=content, tool_call_id=tool_call_id, name=name)
