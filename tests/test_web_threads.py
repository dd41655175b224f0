"""Threads as LangGraph Server has them (hitl/web/threads.py, hitl/web/history.py), against the real dev server:
history from the input checkpoint with the pending question on its newest entry."""

from __future__ import annotations

from tests.web_fixtures import Served

TOPIC = {"topic": "tea"}


async def test_history_starts_at_the_input_checkpoint_and_its_newest_entry_asks(served: Served) -> None:
    async with served.http() as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        out = await http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "approval", "input": TOPIC})
        [question] = out.json()["__interrupt__"]
        history = (await http.post(f"/threads/{tid}/history", json={})).json()
        state = (await http.get(f"/threads/{tid}/state")).json()
        at_input = (await http.get(f"/threads/{tid}/state/-1")).json()
    assert [h["checkpoint_id"] for h in history] == ["1", "0", "-1"]
    assert [h["next"] for h in history] == [["review"], ["write_draft"], ["__start__"]]
    newest, first, start = history
    assert newest["interrupts"] == [{"id": question["id"], "value": question["value"]}]
    assert [(t["name"], [i["id"] for i in t["interrupts"]]) for t in newest["tasks"]] == [("review", [question["id"]])]
    assert first["tasks"][0]["result"] == {"draft": "A short announcement about tea."}  # what write_draft wrote
    assert first["metadata"]["source"] == "loop" and first["parent_checkpoint_id"] == "-1"
    assert start["values"] == {} and start["parent_checkpoint"] is None
    assert start["metadata"]["source"] == "input" and start["tasks"][0]["result"] == TOPIC
    assert at_input == start
    assert state["parent_checkpoint_id"] == "0" and state["tasks"] == newest["tasks"]
