"""Agent Inbox's interrupt shape end to end (issue 25 item 5).

A graph written for LangChain's Agent Inbox (tests/agent_inbox/graph.py.txt, only its import line swapped)
runs on hitl as on LangGraph: asked with `interrupt([HumanInterrupt])`, answered through hitl's HTTP API with
the calls Agent Inbox makes (the official SDK, signed in with `x-api-key` as Agent Inbox does), each run ends
with the values LangGraph's own run of the same source ends with, "Mark as Resolved" included. Then the
prebuilt `human_review` (examples/email_review.py) and hitl's own inbox answering it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from langgraph_sdk import get_client

import hitl
from hitl.human_interrupt import HumanInterrupt, response_schema
from hitl.web import TokenAuth, create_app
from hitl.web.testing import running
from tests.agent_inbox import HITL_IMPORT, LANGGRAPH_IMPORT, load
from tests.helpers import event_count, wait_for
from tests.web_fixtures import TOKENS, Served, csrf_of

QUEUE = "hitl-agent-inbox"
GRAPH = "command_review"
COMMAND = {"command": "rm -rf /tmp/scratch"}

RESPONSES: dict[str, dict[str, Any]] = {
    "accept": {"type": "accept", "args": None},
    "edit": {"type": "edit", "args": {"action": "run_command", "args": {"command": "rm -ri /tmp/scratch"}}},
    "response": {"type": "response", "args": "not on a Friday"},
    "ignore": {"type": "ignore", "args": None},
}
"""What Agent Inbox sends for each of its buttons (hooks/use-interrupted-actions.tsx), one in a list."""


def langgraph_run(response: dict[str, Any] | None) -> dict[str, Any]:
    """LangGraph's own run of the same source: its question and final values (None: mark as resolved)."""
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command

    module = load(LANGGRAPH_IMPORT, f"agent_inbox_langgraph_{uuid.uuid4().hex[:6]}")
    graph = module.builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    graph.invoke(dict(COMMAND), config)
    [task] = graph.get_state(config).tasks
    question = task.interrupts[0].value
    if response is None:
        graph.update_state(config, None, as_node="__end__")
    else:
        graph.invoke(Command(resume=[response]), config)
    state = graph.get_state(config)
    return {"question": question, "values": state.values, "next": list(state.next)}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def inbox_url(client: hitl.Client) -> AsyncIterator[str]:
    module = load(HITL_IMPORT, "agent_inbox_hitl")
    ours = hitl.Client(client.temporal, task_queue=QUEUE, graphs=[module.command_review])
    async with ours.worker(), running(create_app(ours, TokenAuth(TOKENS))) as url:
        yield url


def agent_inbox_client(url: str, key: str = "tok-alice") -> Any:
    """The SDK client as Agent Inbox makes it (src/lib/client.ts): its API key goes as `x-api-key`."""
    return get_client(url=url, api_key=key)


async def interrupted_thread(lg: Any, input: dict[str, Any]) -> dict[str, Any]:
    """A thread paused at the question, as Agent Inbox lists it (search by status and graph_id)."""
    thread = await lg.threads.create()
    await lg.runs.wait(thread["thread_id"], GRAPH, input=input)
    found = await lg.threads.search(status="interrupted", metadata={"graph_id": GRAPH}, limit=100)
    [listed] = [t for t in found if t["thread_id"] == thread["thread_id"]]
    return dict(listed)


async def until_idle(lg: Any, thread_id: str) -> dict[str, Any]:
    """The thread once its run has ended (a background run, as Agent Inbox's Ignore starts, ends shortly)."""
    for _ in range(300):
        thread = dict(await lg.threads.get(thread_id))
        if thread["status"] != "busy" and thread["status"] != "interrupted":
            return thread
        await asyncio.sleep(0.1)
    raise AssertionError(f"thread {thread_id} never ended: {thread['status']}")


@pytest.mark.parametrize("kind", sorted(RESPONSES))
async def test_a_graph_written_for_agent_inbox_ends_as_on_langgraph(inbox_url: str, kind: str) -> None:
    reference = langgraph_run(RESPONSES[kind])
    lg = agent_inbox_client(inbox_url)
    thread = await interrupted_thread(lg, COMMAND)
    [[interrupt]] = thread["interrupts"].values()  # what Agent Inbox reads (contexts/utils.ts)
    assert interrupt["value"] == reference["question"]
    answer = {"resume": [RESPONSES[kind]]}
    if kind == "ignore":  # Agent Inbox's Ignore: a background run (the others stream; tests/test_web_streams)
        await lg.runs.create(thread["thread_id"], GRAPH, command=answer)
    else:
        await lg.runs.wait(thread["thread_id"], GRAPH, command=answer)
    done = await until_idle(lg, thread["thread_id"])
    assert (done["status"], done["values"]) == ("idle", reference["values"])
    assert reference["next"] == [] and (await lg.threads.get_state(thread["thread_id"]))["next"] == []


async def test_mark_as_resolved_ends_the_run_with_its_values_as_langgraph_does(inbox_url: str) -> None:
    """Agent Inbox's "Mark as Resolved": update_state(values=None, as_node="__end__") (it was refused, 409)."""
    reference = langgraph_run(None)
    lg = agent_inbox_client(inbox_url)
    thread = await interrupted_thread(lg, COMMAND)
    await lg.threads.update_state(thread["thread_id"], None, as_node="__end__")
    done = await until_idle(lg, thread["thread_id"])
    assert (done["status"], done["values"], done["interrupts"]) == ("idle", reference["values"], {})
    assert reference["next"] == [] and (await lg.threads.get_state(thread["thread_id"]))["next"] == []
    found = await lg.threads.search(status="interrupted", metadata={"graph_id": GRAPH}, limit=100)
    assert thread["thread_id"] not in {t["thread_id"] for t in found}  # gone from the inbox


async def test_an_answer_its_config_does_not_allow_is_refused_and_writes_nothing(
    inbox_url: str, client: hitl.Client
) -> None:
    lg = agent_inbox_client(inbox_url)
    thread = await interrupted_thread(lg, {**COMMAND, "editable": False})
    before = await event_count(client, thread["thread_id"])
    async with httpx.AsyncClient(base_url=inbox_url, headers={"x-api-key": "tok-alice"}) as http:
        for refused in ([RESPONSES["edit"]], RESPONSES["accept"], [{"type": "approve"}]):
            response = await http.post(
                f"/threads/{thread['thread_id']}/runs/wait",
                json={"assistant_id": GRAPH, "command": {"resume": refused}},
            )
            assert response.status_code == 409, response.text
            assert "\n" not in response.json()["detail"]
    assert await event_count(client, thread["thread_id"]) == before
    assert (await lg.threads.get(thread["thread_id"]))["status"] == "interrupted"


async def test_agent_inbox_signs_in_with_its_api_key_header(inbox_url: str) -> None:
    """Agent Inbox sends its "LangSmith API key" setting as `x-api-key`: hitl's token there signs in; a
    cross-origin write carrying it is no ambient credential, so the origin check lets it through (as bearer)."""
    async with httpx.AsyncClient(base_url=inbox_url) as http:
        ok = await http.post("/threads/search", json={"limit": 1}, headers={"x-api-key": "tok-alice"})
        unknown = await http.post("/threads/search", json={"limit": 1}, headers={"x-api-key": "tok-nobody"})
        none = await http.post("/threads/search", json={"limit": 1})
        cross = {"origin": "http://localhost:3000", "sec-fetch-site": "cross-site"}
        from_page = await http.post("/threads/search", json={"limit": 1}, headers={**cross, "x-api-key": "tok-alice"})
        http.cookies.set("hitl_token", "tok-alice")
        cookie_only = await http.post("/threads/search", json={"limit": 1}, headers=cross)
    assert ok.status_code == 200 and from_page.status_code == 200
    assert unknown.status_code == 401 and "not known" in unknown.json()["detail"]
    assert none.status_code == 401 and "X-Api-Key" in none.json()["detail"]
    assert cookie_only.status_code == 403


# ------------------------------------------------------------------ the prebuilt helper, and hitl's inbox


async def test_human_review_asks_in_agent_inboxs_shape_and_returns_typed_responses(client: hitl.Client) -> None:
    run = await client.start("email_review", {"to": "ada"})
    [question] = (await wait_for(run, "interrupted")).interrupts
    assert question.value == [
        {
            "action_request": {
                "action": "send_email",
                "args": {"to": "ada", "subject": "Re: your question", "body": "Hello ada, thanks!"},
            },
            "config": {"allow_ignore": True, "allow_respond": True, "allow_edit": True, "allow_accept": True},
            "description": "Send this email to ada?",
        }
    ]
    assert question.schema == response_schema([HumanInterrupt.model_validate(question.value[0])])
    before = await event_count(client, run.run_id)
    with pytest.raises(hitl.DecisionRejectedError):
        await run.resume({"type": "accept"})  # one response, not Agent Inbox's list
    assert await event_count(client, run.run_id) == before
    edit = {"action": "send_email", "args": {"to": "bob", "subject": "Hi", "body": "Hello Bob"}}
    done = await run.resume([{"type": "edit", "args": edit}])
    assert done.values == {**edit["args"], "outcome": "sent"}


@pytest.mark.parametrize(
    ("fields", "values"),
    [
        ({"d0.type": "accept"}, {"outcome": "sent"}),
        (
            {"d0.type": "response", "d0.message": "call her instead"},
            {"outcome": "not sent", "note": "call her instead"},
        ),
        (
            {"d0.type": "edit", "d0.args.to": "ada", "d0.args.subject": "Re", "d0.args.body": "Hi"},
            {"subject": "Re", "body": "Hi", "outcome": "sent"},
        ),
    ],
)
async def test_hitls_inbox_answers_it_with_a_card(
    served: Served, fields: dict[str, str], values: dict[str, Any]
) -> None:
    run = await served.client.start("email_review", {"to": "ada"})
    [question] = (await wait_for(run, "interrupted")).interrupts
    async with served.http(None, follow_redirects=False) as browser:
        browser.cookies.set("hitl_token", "tok-alice")
        page = await browser.get(f"/runs/{run.run_id}", headers={"accept": "text/html"})
        assert 'data-shape="human_interrupt"' in page.text and "send_email" in page.text
        for label in ("Accept", "Edit", "Respond", "Ignore"):
            assert f"> {label}</label>" in page.text
        form = {"interrupt_id": question.id, "request_id": uuid.uuid4().hex, "csrf": csrf_of(page.text), **fields}
        sent = await browser.post(f"/ui/runs/{run.run_id}/answer", data=form)
        assert sent.status_code == 303 and sent.headers["location"].endswith("?done=answered"), sent.headers
    done = await wait_for(run, "completed")
    assert {k: done.values[k] for k in values} == values
    [decision] = [d for d in done.decisions if d.interrupt_id == question.id]
    assert (decision.identity, decision.value[0]["type"]) == ("alice", fields["d0.type"])  # the list Agent Inbox sends
