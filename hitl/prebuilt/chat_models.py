"""Chat models a graph node can call: a scripted one by default, OpenAI-compatible optionally.

`ScriptedModel` makes examples and tests deterministic with no network: it
answers turn by turn from a script, choosing the reply by how many assistant
turns the conversation already has, so a retried or re-run node gets the same
reply on any worker. `OpenAIChatModel` talks to any OpenAI-compatible
chat-completions endpoint through the official `openai` package
(`pip install 'hitl[openai]'`); base URL and key come from `OPENAI_BASE_URL`
and `OPENAI_API_KEY` unless given.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from hitl.messages import Message, ToolCall
from hitl.prebuilt.tools import Tool
from hitl.types import HitlError

Reply = Message | str | Callable[[list[Message]], Message]


class ChatModel(Protocol):
    async def ainvoke(self, messages: Sequence[Message], tools: Sequence[Tool] = ()) -> Message: ...


class ScriptedModel:
    """Replies from a script: reply *n* answers the conversation's *n*-th assistant turn."""

    def __init__(self, script: Sequence[Reply]) -> None:
        self.script = list(script)

    async def ainvoke(self, messages: Sequence[Message], tools: Sequence[Tool] = ()) -> Message:
        turn = sum(1 for m in messages if m.role == "assistant")
        if turn >= len(self.script):
            return Message.assistant("(the script has no more replies)", id=f"scripted-{turn}")
        reply = self.script[turn]
        if callable(reply):
            reply = reply(list(messages))
        message = Message.assistant(reply) if isinstance(reply, str) else reply
        return message.model_copy(update={"id": message.id or f"scripted-{turn}"})


class OpenAIChatModel:
    """Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, llama.cpp, ...)."""

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None, **options: Any) -> None:
        try:
            import openai
        except ImportError:
            raise HitlError("OpenAIChatModel needs the openai package: pip install 'hitl[openai]'") from None
        self.model = model
        self.options = options
        self.client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key or _env_key())

    async def ainvoke(self, messages: Sequence[Message], tools: Sequence[Tool] = ()) -> Message:
        kwargs: dict[str, Any] = {"model": self.model, "messages": [to_openai(m) for m in messages], **self.options}
        if tools:
            kwargs["tools"] = [t.openai_schema() for t in tools]
        response = await self.client.chat.completions.create(**kwargs)
        choice = response.choices[0].message
        calls = [
            ToolCall(id=c.id, name=c.function.name, args=json.loads(c.function.arguments or "{}"))
            for c in (choice.tool_calls or [])
        ]
        return Message.assistant(choice.content or "", calls, id=response.id)


def to_openai(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.args)}}
            for c in message.tool_calls
        ]
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    return out


def _env_key() -> str:
    import os

    # The openai client insists on a key; local servers usually ignore it.
    return os.environ.get("OPENAI_API_KEY") or "not-needed-for-local-servers"
