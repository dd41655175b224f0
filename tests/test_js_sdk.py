"""The JS SDK (`@langchain/langgraph-sdk`, pinned in tests/js/package.json) against `hitl serve`: the calls
Agent Inbox and the `useStream` hook make, run by tests/js/frontend_calls.mjs under Node, each a named check.

The same script runs against LangGraph's own server (`langgraph dev` serving tests/js/reference_graphs.py.txt,
the same graphs written for LangGraph), where every check passes: the checks say what LangGraph does.
Against hitl every check must pass, except those in EXPECTED_TO_FAIL, which must fail today: an entry goes when the
feature it waits for lands (the test then says so), and a check that neither passes nor is listed fails the
test. Node and the package are installed by scripts/test.sh (`npm ci` in tests/js); without them this test
fails, never skips: CI installs both.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, TypedDict

import pytest
import pytest_asyncio

import hitl
from hitl.messages import Message, ToolCall
from hitl.prebuilt.agent import create_agent
from hitl.prebuilt.chat_models import ScriptedModel
from hitl.web import TokenAuth, create_app
from hitl.web.testing import running
from tests.compat_server.langgraph_dev import langgraph_dev
from tests.web_fixtures import TOKENS

JS = Path(__file__).parent / "js"
GRAPHS = ("inbox_email", "slow_email", "chat_agent")
SCRIPT = JS / "frontend_calls.mjs"
QUEUE = "hitl-js-sdk"
NODE_TIMEOUT = 500.0
"""Seconds for the whole script (each check gives up after 20 s on its own)."""

EXPECTED_TO_FAIL: dict[str, str] = {}
"""Check name -> the feature it waits for (issue 25). Remove an entry when its check passes."""


class Inbox(TypedDict, total=False):
    subject: str
    draft: str
    outcome: str


def draft(state: Inbox) -> dict[str, Any]:
    return {"draft": f"Dear customer, about {state['subject']}"}


def review(state: Inbox) -> dict[str, Any]:
    """Asks in Agent Inbox's HumanInterrupt shape; the answer is a list with one HumanResponse."""
    [response] = hitl.interrupt(
        [
            {
                "action_request": {"action": "send_email", "args": {"body": state["draft"]}},
                "config": {"allow_ignore": True, "allow_respond": True, "allow_edit": True, "allow_accept": True},
                "description": "Send this email?",
            }
        ]
    )
    kind = response["type"]
    if kind == "edit":
        return {"outcome": f"sent: {response['args']['args']['body']}"}
    return {
        "outcome": {"accept": f"sent: {state['draft']}", "ignore": "ignored"}.get(kind, f"answer: {response['args']}")
    }


async def slow(state: Inbox) -> dict[str, Any]:
    """Long enough for a client to drop its connection, rejoin, or cancel while the run is busy."""
    await asyncio.sleep(2)
    return {"draft": f"slowly, about {state['subject']}"}


def inbox_graph(name: str, first: Any) -> hitl.CompiledGraph:
    builder = hitl.StateGraph(Inbox)
    builder.add_node("draft", first)
    builder.add_node("review", review)
    builder.add_edge(hitl.START, "draft")
    builder.add_edge("draft", "review")
    builder.add_edge("review", hitl.END)
    return builder.compile(name=name)


def refund(order: int) -> str:
    """Refund an order."""
    return f"refunded order {order}"


def chat_agent() -> hitl.CompiledGraph:
    model = ScriptedModel(
        [Message.assistant("", [ToolCall(id="call_r", name="refund", args={"order": 42})]), "Refunded order 42."]
    )
    return create_agent(model, [refund], interrupt_on={"refund": True}, name="chat_agent")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def hitl_url(client: hitl.Client) -> AsyncIterator[str]:
    graphs = [inbox_graph("inbox_email", draft), inbox_graph("slow_email", slow), chat_agent()]
    ours = hitl.Client(client.temporal, task_queue=QUEUE, graphs=graphs)
    async with ours.worker(), running(create_app(ours, TokenAuth(TOKENS))) as url:
        yield url


@pytest.fixture(scope="module")
def langgraph_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    source = (JS / "reference_graphs.py.txt").read_text()
    with langgraph_dev(tmp_path_factory.mktemp("langgraph-js"), source, GRAPHS) as url:
        yield url


async def run_checks(url: str, token: str) -> dict[str, Any]:
    """Run the Node script; its last line of output is `{check: {"ok": bool, "error": str}}`."""
    node = shutil.which("node")
    assert node, "node is not on PATH: install Node >= 18 (scripts/test.sh runs `npm ci` in tests/js)"
    assert (JS / "node_modules" / "@langchain" / "langgraph-sdk").is_dir(), (
        "tests/js/node_modules is missing: run `npm ci` in tests/js (scripts/test.sh does)"
    )
    process = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        cwd=JS,
        env={**os.environ, "HITL_URL": url, "HITL_TOKEN": token},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), NODE_TIMEOUT)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"the Node script ran over {NODE_TIMEOUT} s") from None
    lines = out.decode().strip().splitlines()
    assert process.returncode == 0 and lines, f"node exited {process.returncode}: {err.decode()[-3000:]}"
    results: dict[str, Any] = json.loads(lines[-1])
    return results


@pytest.mark.timeout(NODE_TIMEOUT + 60)
async def test_front_end_calls_through_the_js_sdk(hitl_url: str) -> None:
    results = await run_checks(hitl_url, "tok-alice")
    for name, result in results.items():
        mark = "ok  " if result["ok"] else "FAIL"
        print(f"{mark} {name}" + ("" if result["ok"] else f": {result['error']}"))
    assert set(EXPECTED_TO_FAIL) <= set(results), "EXPECTED_TO_FAIL names a check the script does not run"
    failing = {name for name, r in results.items() if not r["ok"]}
    unexpected = sorted(failing - set(EXPECTED_TO_FAIL))
    assert not unexpected, f"checks that fail: {[(n, results[n]['error']) for n in unexpected]}"
    now_passing = sorted(set(EXPECTED_TO_FAIL) - failing)
    assert not now_passing, f"these checks pass now: remove them from EXPECTED_TO_FAIL: {now_passing}"


@pytest.mark.timeout(NODE_TIMEOUT + 60)
async def test_every_check_passes_on_langgraph_dev(langgraph_url: str) -> None:
    results = await run_checks(langgraph_url, "unused-by-langgraph-dev")
    assert len(results) >= len(EXPECTED_TO_FAIL) + 10, sorted(results)
    assert {n: r["error"] for n, r in results.items() if not r["ok"]} == {}
