"""OpenAIChatModel against a local HTTP server speaking the chat-completions protocol
(the official `openai` package does the HTTP; nothing is mocked in-process)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import hitl
from hitl.prebuilt.agent import create_agent

pytest.importorskip("openai", reason="the test extra installs openai")
from hitl.prebuilt.chat_models import OpenAIChatModel  # noqa: E402


class ChatCompletions(BaseHTTPRequestHandler):
    """Turn 1: ask for a weather tool call. Turn 2: answer with the tool's result."""

    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        assert self.path == "/v1/chat/completions", self.path
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"auth": self.headers.get("Authorization"), **body})
        tool_results = [m for m in body["messages"] if m["role"] == "tool"]
        if not tool_results:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": json.dumps({"city": "Oslo"})},
                    }
                ],
            }
        else:
            message = {"role": "assistant", "content": f"It is {tool_results[-1]['content']}."}
        reply = {
            "id": f"chatcmpl-{len(type(self).requests)}",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    ChatCompletions.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatCompletions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def weather(city: str) -> str:
    """Current weather in a city."""
    return f"sunny in {city}"


async def test_agent_on_an_openai_compatible_endpoint_with_reviewed_tools(client: hitl.Client, endpoint: str) -> None:
    model = OpenAIChatModel("local-model", base_url=endpoint, api_key="sk-local")
    graph = create_agent(
        model, [weather], interrupt_on={"weather": {"allowed_decisions": ["approve", "edit"]}}, name="weather_agent"
    )
    other = hitl.Client(client.temporal, task_queue="hitl-openai", graphs=[graph])
    async with other.worker():
        run = await other.start("weather_agent", {"messages": [{"role": "user", "content": "Weather in Oslo?"}]})
        paused = await run.wait()
        assert paused.interrupts[0].value["action_requests"][0]["args"] == {"city": "Oslo"}
        done = await run.resume({"decisions": [{"type": "edit", "edited_action": {"args": {"city": "Bergen"}}}]})
    assert done.values["messages"][-1]["content"] == "It is sunny in Bergen."
    first, second = ChatCompletions.requests
    assert first["auth"] == "Bearer sk-local" and first["model"] == "local-model"
    assert first["tools"][0]["function"]["name"] == "weather"
    assert first["tools"][0]["function"]["parameters"]["properties"]["city"]["type"] == "string"
    assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "weather"
    assert second["messages"][-1] == {"role": "tool", "content": "sunny in Bergen", "tool_call_id": "call_1"}
