"""The official LangGraph client (`langgraph-sdk`) drives hitl unchanged, for the four patterns.

Each test is what a LangGraph user would write against LangGraph Server: create a
thread, run it until it pauses, find it with `threads.search(status="interrupted")`,
read `threads.get_state`, answer with `runs.wait(..., command=Command(resume=...))`
or edit with `threads.update_state(..., as_node=...)`.
"""

from __future__ import annotations

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.schema import Command

from tests.web_fixtures import Served

REFUND = {"messages": [{"role": "user", "content": "Please refund order 42."}]}


def sdk(served: Served, token: str = "tok-alice"):  # noqa: ANN201
    return get_client(url=served.url, api_key=None, headers={"Authorization": f"Bearer {token}"})


async def paused_thread(lg, graph: str, input: dict) -> tuple[str, dict]:  # noqa: ANN001
    thread = await lg.threads.create()
    out = await lg.runs.wait(thread["thread_id"], graph, input=input)
    return thread["thread_id"], out


async def found_interrupted(lg, thread_id: str, graph: str) -> dict:  # noqa: ANN001
    found = await lg.threads.search(status="interrupted", metadata={"graph_id": graph}, limit=1000)
    [thread] = [t for t in found if t["thread_id"] == thread_id]
    return thread


async def test_sdk_approval(served: Served) -> None:
    lg = sdk(served)
    thread_id, out = await paused_thread(lg, "approval", {"topic": "tea"})
    [question] = out["__interrupt__"]
    assert question["value"]["answers"] == ["approve", "reject"]
    thread = await found_interrupted(lg, thread_id, "approval")
    assert thread["status"] == "interrupted"
    [(task, [interrupt])] = thread["interrupts"].items()
    assert interrupt["id"] == question["id"]
    state = await lg.threads.get_state(thread_id)
    assert state["next"] == ["review"] and state["tasks"][0]["name"] == "review"
    assert state["interrupts"][0]["id"] == question["id"] and state["tasks"][0]["id"] == task
    with pytest.raises(Exception) as refused:
        await lg.runs.wait(thread_id, "approval", command=Command(resume="maybe"))
    assert "409" in str(refused.value)
    done = await lg.runs.wait(thread_id, "approval", command=Command(resume="approve"))
    assert done["status"] == "published" and "__interrupt__" not in done
    assert (await lg.threads.get(thread_id))["status"] == "idle"
    history = await lg.threads.get_history(thread_id, limit=2)
    assert [h["checkpoint"]["checkpoint_id"] for h in history] == ["3", "2"]
    assert any(
        d["identity"] == "alice" for h in await lg.threads.get_history(thread_id) for d in h["metadata"]["decisions"]
    )


async def test_sdk_edit_state(served: Served) -> None:
    lg = sdk(served)
    thread_id, out = await paused_thread(lg, "edit_state", {"topic": "tea"})
    assert "__interrupt__" not in out and out["draft"].startswith("Tea is great")  # a breakpoint, not a question
    thread = await found_interrupted(lg, thread_id, "edit_state")
    assert thread["interrupts"] == {}
    state = await lg.threads.get_state(thread_id)
    assert state["next"] == ["publish"]
    updated = await lg.threads.update_state(thread_id, {"draft": "Tea, reviewed by a person."}, as_node="generate")
    assert updated["checkpoint"]["checkpoint_id"] == "2"
    assert (await lg.threads.get_state(thread_id))["values"]["draft"] == "Tea, reviewed by a person."
    done = await lg.runs.wait(thread_id, "edit_state")  # no input, no command: continue from the breakpoint
    assert done["published"] == "Tea, reviewed by a person."


async def test_sdk_validate_input(served: Served) -> None:
    lg = sdk(served)
    thread_id, out = await paused_thread(lg, "validate_input", {"name": "Ada"})
    assert out["__interrupt__"][0]["value"].startswith("How old is Ada?")
    again = await lg.runs.wait(thread_id, "validate_input", command=Command(resume="old"))
    assert "'old' is not an age" in again["__interrupt__"][0]["value"]
    confirm = await lg.runs.wait(thread_id, "validate_input", command=Command(resume=36))
    [question] = confirm["__interrupt__"]
    assert (await found_interrupted(lg, thread_id, "validate_input"))["values"]["age"] == 36
    with pytest.raises(Exception, match="422|409"):
        await lg.runs.wait(thread_id, "validate_input", command=Command(resume=0))
    done = await lg.runs.wait(thread_id, "validate_input", command=Command(resume={question["id"]: 36}))
    assert done == {"name": "Ada", "age": 36, "confirmed": True}


async def test_sdk_tool_review(served: Served) -> None:
    lg = sdk(served)
    thread_id, out = await paused_thread(lg, "tool_review", REFUND)
    [question] = out["__interrupt__"]
    assert [a["name"] for a in question["value"]["action_requests"]] == ["issue_refund", "send_email"]
    state = await lg.threads.get_state(thread_id)
    assert state["tasks"][0]["interrupts"][0]["value"]["review_configs"][0]["allowed_decisions"] == [
        "approve",
        "edit",
        "reject",
    ]
    answer = {
        "decisions": [
            {"type": "edit", "edited_action": {"name": "issue_refund", "args": {"order_id": 42, "amount": 12.5}}},
            {"type": "reject", "message": "We will call her instead."},
        ]
    }
    done = await lg.runs.wait(thread_id, "tool_review", command=Command(resume=answer))
    tools = {m["tool_call_id"]: m["content"] for m in done["messages"] if m["type"] == "tool"}
    assert tools["call_refund"] == "refunded 12.50 on order 42"
    assert tools["call_email"].startswith("The reviewer rejected this call")


async def test_sdk_background_run_and_join_stream(served: Served) -> None:
    lg = sdk(served)
    thread = await lg.threads.create(graph_id="approval")
    run = await lg.runs.create(thread["thread_id"], "approval", input={"topic": "tea"})
    assert run["thread_id"] == thread["thread_id"]
    events = []
    async for part in await lg.threads.join_stream(thread["thread_id"]):
        events.append(part.event)
        if part.event == "paused":
            break
    assert "paused" in events
    assert await lg.threads.count(status="interrupted", metadata={"graph_id": "approval"}) >= 1
    assistants = await lg.assistants.search()
    assert "approval" in {a["assistant_id"] for a in assistants}


async def test_sdk_threadless_runs(served: Served) -> None:
    lg = sdk(served)
    out = await lg.runs.wait(None, "validate_input", input={"name": "Cy"})
    assert out["__interrupt__"][0]["value"].startswith("How old is Cy?")
    run = await lg.runs.create(None, "approval", input={"topic": "tea"})
    assert (await lg.threads.get(run["thread_id"]))["metadata"]["graph_id"] == "approval"


async def test_sdk_runs_stream_until_the_pause_then_from_the_answer(served: Served) -> None:
    """`runs.stream` as a LangGraph user streams a run: updates and values until it pauses on a question,
    then the answered run's stream, which starts from the state it was answered in."""
    lg = sdk(served)
    thread = await lg.threads.create()
    first = [
        (p.event, p.data)
        async for p in lg.runs.stream(
            thread["thread_id"], "approval", input={"topic": "tea"}, stream_mode=["updates", "values"]
        )
    ]
    assert first[0][0] == "metadata" and first[0][1]["run_id"]
    assert "end" not in {e for e, _ in first}  # the stream closes, as LangGraph Server's does
    parts = first[1:]
    [asked] = parts[-2][1]["__interrupt__"]
    draft = {"topic": "tea", "draft": "A short announcement about tea."}
    assert parts == [
        ("values", {"topic": "tea"}),
        ("updates", {"write_draft": {"draft": draft["draft"]}}),
        ("values", draft),
        ("updates", {"__interrupt__": [asked]}),
        ("values", {**draft, "__interrupt__": [asked]}),
    ]
    assert asked["value"]["question"] == "Publish this draft?" and set(asked) == {"id", "value", "response_schema"}
    second = [
        (p.event, p.data)
        async for p in lg.runs.stream(thread["thread_id"], "approval", command=Command(resume="reject"))
    ]
    assert [e for e, _ in second] == ["metadata", "values", "values"]
    assert second[1][1] == draft and second[-1][1]["status"] == "rejected"
    state = await lg.threads.get_state(thread["thread_id"])
    assert state["values"] == second[-1][1] and state["next"] == []


async def test_sdk_threadless_runs_stream(served: Served) -> None:
    lg = sdk(served)
    parts = [(p.event, p.data) async for p in lg.runs.stream(None, "approval", input={"topic": "jam"})]
    assert [e for e, _ in parts] == ["metadata", "values", "values", "values"]
    assert parts[-1][1]["__interrupt__"][0]["value"]["question"] == "Publish this draft?"
