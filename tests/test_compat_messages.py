"""Messages in LangChain's shapes, against LangGraph's own server: the same chat graph source
(tests/compat_server/chat_graphs.py.txt, only its import line differs) on `langgraph dev` and on
`hitl serve`, fed messages as a chat front-end sends them, must read back the same, key for key;
and hitl's prebuilt agent takes a `useStream` app's first message as sent and answers in that shape.
"""

from __future__ import annotations

import sys
import types
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from langgraph_sdk import get_client

import hitl
from hitl.messages import Message, ToolCall
from hitl.prebuilt.agent import create_agent
from hitl.prebuilt.chat_models import ScriptedModel
from hitl.web import TokenAuth, create_app
from hitl.web.testing import running
from tests.compat_server.compare import Ctx, Step, differential, scrub, shape, state_meaning, stream_meaning
from tests.compat_server.langgraph_dev import langgraph_dev
from tests.web_fixtures import TOKENS

SOURCE = (Path(__file__).parent / "compat_server" / "chat_graphs.py.txt").read_text()
LANGGRAPH_IMPORT = (
    "from langgraph.graph import StateGraph, START, END; from langgraph.graph.message import add_messages; "
    "from langgraph.types import interrupt"
)
HITL_IMPORT = "from hitl import StateGraph, START, END, interrupt; from hitl.messages import add_messages"
QUEUE = "hitl-compat-messages"
HEADERS = {"Authorization": "Bearer tok-alice"}  # hitl's auth; `langgraph dev` has none and ignores it


@pytest.fixture(scope="module")
def langgraph_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert LANGGRAPH_IMPORT in SOURCE
    with langgraph_dev(tmp_path_factory.mktemp("langgraph-chat"), SOURCE, ("chat", "reviewed")) as url:
        yield url


def chat_graphs() -> Any:
    name = "compat_chat_graphs"
    module = types.ModuleType(name)
    sys.modules[name] = module  # the state's annotations resolve here
    exec(compile(SOURCE.replace(LANGGRAPH_IMPORT, HITL_IMPORT), name, "exec"), module.__dict__)
    return module


def refund(order: int) -> str:
    """Refund an order."""
    return f"refunded order {order}"


def shop_agent() -> hitl.CompiledGraph:
    model = ScriptedModel(
        [Message.assistant("", [ToolCall(id="call_r", name="refund", args={"order": 42})]), "Refunded."]
    )
    return create_agent(model, [refund], interrupt_on={"refund": True}, name="shop_agent")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def hitl_url(client: hitl.Client) -> AsyncIterator[str]:
    module = chat_graphs()
    ours = hitl.Client(client.temporal, task_queue=QUEUE, graphs=[module.chat, module.reviewed, shop_agent()])
    async with ours.worker(), running(create_app(ours, TokenAuth(TOKENS))) as url:
        yield url


def side(url: str) -> Ctx:
    return Ctx(
        get_client(url=url, api_key=None, headers=HEADERS),
        httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=60),
    )


AS_USE_STREAM_SENDS = {"messages": [{"type": "human", "content": "hi", "id": "client-1"}]}
"""useStream's submit: a LangChain dict, with the id the app made for its optimistic message."""
AS_SENT_ELSEWHERE = {
    "messages": [
        {"type": "human", "content": "no id"},
        {"type": "human", "content": [{"type": "text", "text": "blocks"}], "id": "h2"},
        {"role": "system", "content": "be brief", "name": "rules"},
        {"role": "user", "content": "an OpenAI-style message"},
        "a bare string",
        {"role": "user", "content": "replaces h2", "id": "h2"},
    ]
}


async def on_new_thread(c: Ctx, key: str, input: dict[str, Any], graph: str = "chat") -> dict[str, Any]:
    c.ids[key] = (await c.sdk.threads.create())["thread_id"]
    out: dict[str, Any] = await c.sdk.runs.wait(c.ids[key], graph, input=input)
    return out


async def streamed(c: Ctx, mode: str) -> list[tuple[str, Any]]:
    thread = (await c.sdk.threads.create())["thread_id"]
    stream = c.sdk.runs.stream(thread, "chat", input=AS_USE_STREAM_SENDS, stream_mode=mode)
    return [(p.event, p.data) async for p in stream]


EDITED = {
    "messages": [
        {"type": "human", "content": [{"type": "text", "text": "edited"}], "id": "h1"},
        {"type": "system", "content": "be brief"},
        {"type": "ai", "content": "", "tool_calls": [{"id": "c1", "name": "f", "args": {"a": 1}}]},
        {"type": "tool", "content": "done", "tool_call_id": "c1"},
        {"role": "user", "content": "an OpenAI-style edit"},
    ]
}
"""An edit of a paused chat's messages as a front-end sends it (LangChain's dicts, one OpenAI-style): h1 replaced."""
RESUMED = {"resume": "ok", "update": {"messages": [{"type": "human", "content": "sent with the answer"}]}}
"""An answer whose Command carries a message, as a front-end resumes a chat."""


async def paused(c: Ctx, key: str) -> dict[str, Any]:
    return await on_new_thread(c, key, {"messages": [{"type": "human", "content": "hi", "id": "h1"}]}, "reviewed")


async def resumed_streamed(c: Ctx) -> Any:
    """The answer with its Command update streamed in `values`: the last chunk, what a front-end shows once
    the run ended. (LangGraph also streams the state right after the update as a chunk of its own, which hitl
    does not: not what this step compares.)"""
    await paused(c, "streamed")
    stream = c.sdk.runs.stream(c.ids["streamed"], "reviewed", command=RESUMED, stream_mode="values")
    return [p.data async for p in stream if p.event == "values"][-1]


async def values_of(c: Ctx, key: str) -> Any:
    """A thread's values (the rest of its state differs where an edit keeps the question: test_compat_server)."""
    return (await c.sdk.threads.get_state(c.ids[key]))["values"]


STEPS = [
    Step("chat.runs.wait.as_use_stream_sends", lambda c: on_new_thread(c, "a", AS_USE_STREAM_SENDS), scrub),
    Step("chat.threads.get_state", lambda c: c.sdk.threads.get_state(c.ids["a"]), lambda s: scrub(state_meaning(s))),
    Step("chat.runs.wait.every_shape", lambda c: on_new_thread(c, "b", AS_SENT_ELSEWHERE), scrub),
    Step("chat.runs.stream.values", lambda c: streamed(c, "values"), stream_meaning),
    Step("chat.runs.stream.updates", lambda c: streamed(c, "updates"), stream_meaning),
    Step("reviewed.runs.wait.until_question", lambda c: paused(c, "edited"), scrub),
    Step("reviewed.threads.update_state", lambda c: c.sdk.threads.update_state(c.ids["edited"], EDITED), sorted),
    Step("reviewed.threads.get_state.edited", lambda c: values_of(c, "edited"), scrub),
    Step("reviewed.runs.wait.until_question.again", lambda c: paused(c, "answered"), scrub),
    Step(
        "reviewed.runs.wait.command_update",
        lambda c: c.sdk.runs.wait(c.ids["answered"], "reviewed", command=RESUMED),
        scrub,
    ),
    Step("reviewed.threads.get_state.answered", lambda c: values_of(c, "answered"), scrub),
    Step("reviewed.runs.stream.values.command_update", resumed_streamed, scrub),
]


UPDATES_AS_STORED = (
    "a node's update in stream_mode 'updates': LangGraph sends what the node returned (here role dicts, "
    "converted only when applied to the state), hitl sends the messages as stored (LangChain's shape, ids given), "
    "the shape its values and history show (a LangGraph node returning message objects sends that shape too)"
)
KNOWN_DIFFERENCES = {
    "chat.runs.stream.updates.shape": UPDATES_AS_STORED,
    "chat.runs.stream.updates.meaning": UPDATES_AS_STORED,
}
"""`step.check` -> why hitl answers differently (deliberately)."""


async def test_messages_read_back_as_langgraph_dev_returns_them(langgraph_url: str, hitl_url: str) -> None:
    report = await differential(STEPS, side(langgraph_url), side(hitl_url))
    print(f"\nmessages vs langgraph dev: {report.summary()}")
    for key, (theirs, mine) in report.differences.items():
        print(f"  {key}\n    langgraph: {theirs!r}\n    hitl:      {mine!r}")
    assert set(report.differences) == set(KNOWN_DIFFERENCES), report.summary()
    assert len(report.compared) == 3 * len(STEPS)


VARYING = {"content", "name", "tool_calls"}
"""What may hold a string or another JSON type in either server's messages: a text or content blocks,
a name or null, tool calls or none."""


async def test_the_prebuilt_agent_takes_a_chat_front_ends_first_message(langgraph_url: str, hitl_url: str) -> None:
    """The agent runs on `{"messages": [{"type": "human", ...}]}` and every message it returns has the keys,
    in order, and JSON types that LangGraph's server gives a message of that type."""
    reference = side(langgraph_url)
    their_values = await on_new_thread(reference, "shapes", AS_USE_STREAM_SENDS)
    theirs = {m["type"]: m for m in their_values["messages"]}
    sdk = side(hitl_url).sdk
    thread = (await sdk.threads.create())["thread_id"]
    paused = await sdk.runs.wait(thread, "shop_agent", input=AS_USE_STREAM_SENDS)
    assert paused["__interrupt__"][0]["value"]["action_requests"][0]["args"] == {"order": 42}
    done = await sdk.runs.wait(thread, "shop_agent", command={"resume": {"decisions": [{"type": "approve"}]}})
    messages = done["messages"]
    assert [m["type"] for m in messages] == ["human", "ai", "tool", "ai"]
    assert messages[0] == {**theirs["human"], "id": "client-1"}, "the first message as sent, id kept"
    assert messages[2]["content"] == "refunded order 42" and messages[2]["tool_call_id"] == "call_r"
    assert messages[3]["content"] == "Refunded."
    for mine in messages:
        ref = theirs[mine["type"]]
        assert list(mine) == list(ref), f"{mine['type']} message keys"
        same = {k: shape(v) for k, v in mine.items() if k not in VARYING}
        assert same == {k: shape(v) for k, v in ref.items() if k not in VARYING}, f"{mine['type']} message types"
        assert isinstance(mine["id"], str) and mine["id"]
    assert messages[1]["tool_calls"] == [{"name": "refund", "args": {"order": 42}, "id": "call_r", "type": "tool_call"}]
    assert str(uuid.UUID(messages[2]["id"])) == messages[2]["id"], "an id the node left out is a uuid, as LangGraph's"
