"""One table of bad requests to the HTTP API: each gets a 4xx with one JSON line
`{"detail": "..."}` naming what was wrong, and none writes to any run's history
(event counts compared before and after)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

import hitl
from tests.helpers import event_count, wait_for
from tests.web_fixtures import Served, csrf_of, refusal, refusal_code


@dataclass
class Runs:
    approval: str
    tools: str
    guarded: str
    done: str

    def all(self) -> list[str]:
        return [self.approval, self.tools, self.guarded, self.done]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def runs(client: hitl.Client) -> Runs:
    approval = await client.start("approval", {"topic": "tea"})
    tools = await client.start("tool_review", {"messages": [{"role": "user", "content": "Please refund order 42."}]})
    guarded = await client.start("guarded", {"draft": "x"})
    done = await client.start("chain", {})
    for r in (approval, tools, guarded):
        await wait_for(r, "interrupted")
    await done.result()
    return Runs(approval.run_id, tools.run_id, guarded.run_id, done.run_id)


def chunks(size: int) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for _ in range(size // 65536 + 1):
            yield b" " * 65536

    return gen()


BAD_TOOL_EDIT = {
    "decisions": [
        {"type": "edit", "edited_action": {"args": {"order_id": "forty-two", "amount": 1}}},
        {"type": "approve"},
    ]
}

# (name, method, path, request kwargs, token, status, detail substring)
CASES: list[tuple[str, str, str, Any, str | None, int, str]] = [
    (
        "malformed JSON",
        "POST",
        "/threads/{approval}/runs/wait",
        {"content": b'{"assistant_id": "approval",', "headers": {"content-type": "application/json"}},
        "tok-alice",
        400,
        "not valid JSON",
    ),
    ("body not an object", "POST", "/threads/search", {"json": [1, 2]}, "tok-alice", 422, "must be a JSON object"),
    (
        "text/plain body",
        "POST",
        "/threads/{approval}/runs/wait",
        {"content": b"approve", "headers": {"content-type": "text/plain"}},
        "tok-alice",
        415,
        "takes application/json; got text/plain",
    ),
    (
        "form body to the API",
        "POST",
        "/threads/{approval}/state",
        {"data": {"values": "{}"}},
        "tok-alice",
        415,
        "got application/x-www-form-urlencoded",
    ),
    (
        "JSON body to a form endpoint",
        "POST",
        "/ui/runs/{approval}/answer",
        {"json": {"v": "approve"}},
        "tok-alice",
        415,
        "takes a form",
    ),
    (
        "lone surrogate answer",
        "POST",
        "/threads/{approval}/runs/wait",
        {
            "content": b'{"assistant_id": "approval", "command": {"resume": "\\ud800"}}',
            "headers": {"content-type": "application/json"},
        },
        "tok-alice",
        422,
        "not valid Unicode text",
    ),
    (
        "lone surrogate edit",
        "POST",
        "/threads/{approval}/state",
        {"content": b'{"values": {"topic": "\\udc00"}}', "headers": {"content-type": "application/json"}},
        "tok-alice",
        422,
        "not valid Unicode text",
    ),
    (
        "oversize body",
        "POST",
        "/threads/search",
        {"content": b" " * 2_100_000, "headers": {"content-type": "application/json"}},
        "tok-alice",
        413,
        "the limit is 2,000,000",
    ),
    (
        "oversize chunked body",
        "POST",
        "/threads/search",
        {"content": "CHUNKED", "headers": {"content-type": "application/json"}},
        "tok-alice",
        413,
        "larger than 2,000,000 bytes",
    ),
    (
        "unknown thread: edit",
        "POST",
        "/threads/no-such-run/state",
        {"json": {"values": {"topic": "x"}}},
        "tok-alice",
        404,
        "no run 'no-such-run'",
    ),
    (
        "unknown thread: command",
        "POST",
        "/threads/no-such-run/runs/wait",
        {"json": {"assistant_id": "approval", "command": {"resume": "approve"}}},
        "tok-alice",
        404,
        "has no run to take a command",
    ),
    ("unknown checkpoint", "GET", "/threads/{approval}/state/99", {}, "tok-alice", 404, "has no checkpoint '99'"),
    (
        "id-like keys are an answer",
        "POST",
        "/threads/{approval}/runs/wait",
        {"json": {"assistant_id": "approval", "command": {"resume": {"0123456789abcdef": "approve"}}}},
        "tok-alice",
        409,
        "does not fit its schema: {'0123456789abcdef': 'approve'} is not one of",
    ),
    (
        "answer outside the schema",
        "POST",
        "/threads/{approval}/runs/wait",
        {"json": {"assistant_id": "approval", "command": {"resume": "maybe"}}},
        "tok-alice",
        409,
        "does not fit its schema: 'maybe' is not one of",
    ),
    (
        "tool edit outside the tool's schema",
        "POST",
        "/threads/{tools}/runs/wait",
        {"json": {"assistant_id": "tool_review", "command": {"resume": BAD_TOOL_EDIT}}},
        "tok-alice",
        409,
        "decisions/0",
    ),
    (
        "reviewer not allowed",
        "POST",
        "/threads/{guarded}/runs/wait",
        {"json": {"assistant_id": "guarded", "command": {"resume": "ok"}}},
        "tok-bob",
        409,
        "'bob' may not answer",
    ),
    (
        "decision on an ended run",
        "POST",
        "/threads/{done}/runs/wait",
        {"json": {"assistant_id": "chain", "command": {"resume": "x"}}},
        "tok-alice",
        409,
        "accepts a decision only while interrupted",
    ),
    (
        "goto an unknown node",
        "POST",
        "/threads/{approval}/runs/wait",
        {"json": {"assistant_id": "approval", "command": {"goto": "nowhere"}}},
        "tok-alice",
        409,
        "goto names unknown node(s) ['nowhere']",
    ),
    (
        "edit an unknown state key",
        "POST",
        "/threads/{approval}/state",
        {"json": {"values": {"nope": 1}}},
        "tok-alice",
        409,
        "unknown key(s) ['nope']",
    ),
    (
        "edit as an unknown node",
        "POST",
        "/threads/{approval}/state",
        {"json": {"values": {}, "as_node": "nowhere"}},
        "tok-alice",
        409,
        "as_node 'nowhere' is not a node",
    ),
    (
        "edit a list of updates",
        "POST",
        "/threads/{approval}/state",
        {"json": {"values": [{"topic": "x"}]}},
        "tok-alice",
        422,
        "values: Input should be a valid dictionary",
    ),
    (
        "unknown graph",
        "POST",
        "/threads/fresh-thread-1/runs/wait",
        {"json": {"assistant_id": "nope", "input": {}}},
        "tok-alice",
        422,
        "unknown graph 'nope'",
    ),
    (
        "input that does not fit",
        "POST",
        "/threads/fresh-thread-2/runs/wait",
        {"json": {"assistant_id": "approval", "input": {"nope": 1}}},
        "tok-alice",
        422,
        "unknown key(s) ['nope']",
    ),
    (
        "other graph on a thread",
        "POST",
        "/threads/{approval}/runs/wait",
        {"json": {"assistant_id": "edit_state", "command": {"resume": "approve"}}},
        "tok-alice",
        422,
        "runs graph 'approval', not 'edit_state'",
    ),
    (
        "new input on a running thread",
        "POST",
        "/threads/{approval}/runs/wait",
        {"json": {"assistant_id": "approval", "input": {"topic": "x"}}},
        "tok-alice",
        409,
        "already has a run",
    ),
    (
        "input and command together",
        "POST",
        "/threads/{approval}/runs/wait",
        {"json": {"assistant_id": "approval", "input": {"topic": "tea"}, "command": {"resume": "approve"}}},
        "tok-alice",
        422,
        "either input",
    ),
    (
        "unknown multitask_strategy",
        "POST",
        "/threads/{approval}/runs",
        {"json": {"assistant_id": "approval", "multitask_strategy": "sideways"}},
        "tok-alice",
        422,
        "multitask_strategy: Input should be 'reject', 'enqueue'",
    ),
    (
        "a checkpoint that is not the thread's head",
        "POST",
        "/threads/{approval}/runs/wait",
        {
            "json": {
                "assistant_id": "approval",
                "command": {"resume": "approve"},
                "checkpoint": {"checkpoint_id": "999"},
            }
        },
        "tok-alice",
        409,
        "not '999'",
    ),
    (
        "a checkpoint id that is no step number",
        "POST",
        "/threads/{approval}/runs/wait",
        {"json": {"assistant_id": "approval", "command": {"resume": "approve"}, "checkpoint_id": "head"}},
        "tok-alice",
        422,
        "not a checkpoint",
    ),
    (
        "unsupported webhook",
        "POST",
        "/threads/{approval}/runs",
        {"json": {"assistant_id": "approval", "webhook": "https://example.com"}},
        "tok-alice",
        422,
        "'webhook'",
    ),
    (
        "unknown stream_mode",
        "POST",
        "/threads/{approval}/runs",
        {"json": {"assistant_id": "approval", "stream_mode": ["values", "tokens"]}},
        "tok-alice",
        422,
        "stream_mode 'tokens'",
    ),
    (
        "unknown runs/stream stream_mode",
        "POST",
        "/threads/{approval}/runs/stream",
        {"json": {"assistant_id": "approval", "stream_mode": "tokens"}},
        "tok-alice",
        422,
        "stream_mode 'tokens'",
    ),
    (
        "unsupported thread stream_mode",
        "GET",
        "/threads/{approval}/stream?stream_mode=debug",
        {},
        "tok-alice",
        422,
        "stream_mode 'debug'",
    ),
    (
        "subgraph states",
        "GET",
        "/threads/{approval}/state?subgraphs=true",
        {},
        "tok-alice",
        422,
        "subgraphs=true is not supported",
    ),
    (
        "unknown field",
        "POST",
        "/threads/search",
        {"json": {"frobnicate": 1}},
        "tok-alice",
        422,
        "field 'frobnicate' is not supported",
    ),
    (
        "search limit too large",
        "POST",
        "/threads/search",
        {"json": {"limit": 100000}},
        "tok-alice",
        422,
        "limit: Input should be less than or equal to 1000",
    ),
    (
        "unknown thread status",
        "POST",
        "/threads/search",
        {"json": {"status": "sleeping"}},
        "tok-alice",
        422,
        "status: Input should be",
    ),
    (
        "sort hitl cannot honour",
        "POST",
        "/threads/search",
        {"json": {"sort_by": "thread_id"}},
        "tok-alice",
        422,
        "sort_by 'thread_id' is not supported",
    ),
    (
        "graph name with quotes",
        "POST",
        "/threads/search",
        {"json": {"metadata": {"graph_id": 'x" OR "1"="1'}}},
        "tok-alice",
        422,
        "has characters hitl cannot search on",
    ),
    (
        "history before a non-step",
        "POST",
        "/threads/{approval}/history",
        {"json": {"before": "abc"}},
        "tok-alice",
        422,
        "is not a checkpoint id",
    ),
    *[  # str.isdigit() takes "²", int() does not; int() refuses 4,300+ digits: each was a 500
        (
            f"history before {name}",
            "POST",
            path,
            {"json": {"before": before}},
            "tok-alice",
            422,
            "is not a checkpoint id",
        )
        for path in ("/threads/{approval}/history", "/threads/no-such-thread/history")
        for name, before in (
            ("a superscript digit", "²"),
            ("a superscript checkpoint_id", {"checkpoint_id": "²"}),
            ("5,000 digits", "1" * 5000),
            ("a checkpoint_id of 5,000 digits", {"checkpoint_id": "1" * 5000}),
        )
    ],
    ("no credentials", "POST", "/threads/search", {"json": {}}, None, 401, "sign in"),
    (
        "unknown token",
        "POST",
        "/threads/{approval}/runs/wait",
        {"json": {"assistant_id": "approval", "command": {"resume": "approve"}}},
        "tok-mallory",
        401,
        "not known",
    ),
    ("unknown endpoint", "POST", "/threads/{approval}/frobnicate", {"json": {}}, "tok-alice", 404, "no such endpoint"),
]


@pytest.mark.parametrize(
    ("name", "method", "path", "kwargs", "token", "status", "detail"), CASES, ids=[c[0] for c in CASES]
)
async def test_bad_request_is_refused_with_one_line_and_writes_nothing(
    served: Served,
    runs: Runs,
    name: str,
    method: str,
    path: str,
    kwargs: dict,
    token: str | None,
    status: int,
    detail: str,
) -> None:
    before = [await event_count(served.client, r) for r in runs.all()]
    kwargs = dict(kwargs)
    if kwargs.get("content") == "CHUNKED":
        kwargs["content"] = chunks(2_100_000)
    async with served.http(token) as http:
        response = await http.request(method, path.format(**runs.__dict__), **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["detail"] and isinstance(body["detail"], str)
    assert "\n" not in body["detail"] and detail in body["detail"], body["detail"]
    assert [await event_count(served.client, r) for r in runs.all()] == before


async def test_refused_decisions_leave_the_question_answerable(served: Served, runs: Runs) -> None:
    async with served.http("tok-alice") as http:
        state = (await http.get(f"/threads/{runs.guarded}/state")).json()
        assert json.dumps(state["interrupts"][0]["value"]) == json.dumps({"draft": "x"})
        ok = await http.post(
            f"/threads/{runs.guarded}/runs/wait", json={"assistant_id": "guarded", "command": {"resume": "fine"}}
        )
    assert ok.status_code == 200 and ok.json()["status"] == "fine"  # alice is a named reviewer


@pytest.mark.parametrize("step", ["²", "1" * 5000, " 1", "1_0", "-1"])
async def test_a_fork_form_with_a_step_that_is_no_whole_number_is_refused_in_one_line(
    served: Served, runs: Runs, step: str
) -> None:
    before = await event_count(served.client, runs.done)
    async with served.http(None, follow_redirects=False) as browser:
        browser.cookies.set("hitl_token", "tok-alice")
        csrf = csrf_of((await browser.get(f"/runs/{runs.done}", headers={"accept": "text/html"})).text)
        refused = await browser.post(f"/ui/runs/{runs.done}/fork", data={"csrf": csrf, "step": step})
    assert refused.status_code == 303 and refusal_code(refused) == 422, refused.text
    assert refusal(refused).startswith("step must be a whole number from 0 (ASCII digits)")
    assert len(refusal(refused)) < 200  # the flash is a cookie: a long step is shown clipped
    assert await event_count(served.client, runs.done) == before
