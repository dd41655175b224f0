"""Subgraphs, deadlines on decisions, and the notify hook (real dev server)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import hitl
from hitl.prebuilt.notify import webhook
from tests import composition_graphs, graphs, hitl_graphs
from tests.helpers import WorkerProcess, wait_for


async def test_interrupt_inside_a_subgraph_is_answered_from_the_parent(client: hitl.Client) -> None:
    composition_graphs.COUNTS.clear()
    run = await client.start("parent", {"topic": "budgets"})
    paused = await wait_for(run, "interrupted")
    [question] = paused.interrupts
    assert (question.node, question.value) == ("team/ask", "child asks about budgets")
    assert question.schema == {"type": "string"}
    for _ in range(100):
        pending = {p.run_id: p for p in await client.pending()}
        if run.run_id in pending:
            break
        await asyncio.sleep(0.1)
    assert pending[run.run_id].nodes == ["team/ask"]
    with pytest.raises(hitl.DecisionRejectedError, match="does not fit its schema"):
        await run.resume(42)
    done = await run.resume("yes")
    assert done.status == "completed"
    assert done.values["answer"] == "yes"
    assert done.values["log"] == ["parent saw yes"]
    # The subgraph went on where it paused: its first node and the parent's ran once.
    assert composition_graphs.COUNTS == {"parent_prep": 1, "child_prepare": 1, "child_ask": 2}
    assert [d.identity for d in done.decisions] == ["tester"]


@pytest.mark.parametrize(
    ("graph", "error"),
    [
        ("parent_command_alone", "returned Command(graph=Command.PARENT) at step 0, but this run is no subgraph's"),
        (
            "parent_command_lost",
            "goto=['nowhere']); goto must name a node of graph 'parent_command_lost' (team, after)",
        ),
        ("parent_command_stray_key", "update of ['secret']); graph 'parent_command_stray_key' has the keys"),
        ("command_other_graph", "graph takes Command.PARENT only"),
    ],
)
async def test_command_parent_that_cannot_be_applied_fails_the_step_saying_why(
    client: hitl.Client, graph: str, error: str
) -> None:
    run = await client.start(graph, {"topic": "t"})
    with pytest.raises(hitl.RunFailedError, match=re.escape(error)):
        await run.result()
    assert "after" not in [n for n in (await run.get_state()).values.get("log", [])]


async def test_resume_refuses_a_command_meant_for_a_subgraphs_node(client: hitl.Client) -> None:
    run = await client.start("parent", {"topic": "t"})
    await wait_for(run, "interrupted")
    with pytest.raises(hitl.InvalidInputError, match=r"Command\(graph=\.\.\.\) is for a subgraph's node"):
        await run.resume(hitl.Command(resume="yes", graph=hitl.Command.PARENT))
    assert (await run.get_state()).decisions == []
    await run.resume("yes")


async def test_deadline_uses_the_default_and_records_it(client: hitl.Client) -> None:
    run = await client.start("deadline_default", {})
    final = await asyncio.wait_for(run.result(), 30)
    assert final["answer"] == "auto-approved"
    [decision] = (await run.get_state()).decisions
    assert (decision.kind, decision.identity, decision.value) == ("deadline", "deadline", "auto-approved")


async def test_deadline_without_default_lets_the_node_escalate(client: hitl.Client) -> None:
    run = await client.start("deadline_escalate", {})
    paused = await wait_for(run, "interrupted")
    assert paused.interrupts[0].deadline is not None
    final = await asyncio.wait_for(run.result(), 30)
    assert final == {"route": "escalated", "answer": "manager decides"}


async def test_deadline_fires_while_every_worker_is_down(client: hitl.Client, worker_process: WorkerProcess) -> None:
    other = hitl.Client(client.temporal, task_queue=worker_process.task_queue, graphs=graphs.GRAPHS)
    await worker_process.start().polling(client)
    run = await other.start("deadline_default", {})
    await wait_for(run, "interrupted")
    worker_process.kill()
    await asyncio.sleep(2.5)  # the deadline passes with no worker at all
    await worker_process.start().polling(client)
    assert (await asyncio.wait_for(run.result(), 60))["answer"] == "auto-approved"


async def test_notify_hook_is_called_on_each_pause(client: hitl.Client) -> None:
    run = await client.start("notified", {})
    await wait_for(run, "interrupted")
    for _ in range(100):
        if any(r == run.run_id for r, _ in composition_graphs.NOTIFIED):
            break
        await asyncio.sleep(0.05)
    assert (run.run_id, ["review"]) in composition_graphs.NOTIFIED
    assert (await run.resume("approve")).values["status"] == "published"


async def test_a_failing_notify_hook_never_blocks_the_run(client: hitl.Client) -> None:
    run = await client.start("notify_broken", {})
    await wait_for(run, "interrupted")
    assert (await run.resume("approve")).values["status"] == "published"


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_sink() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    _Recorder.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Recorder.received
    server.shutdown()


async def test_webhook_posts_the_pending_question(
    client: hitl.Client, http_sink: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = http_sink
    graph = hitl_graphs.review_b.compile(name="review_webhook", notify=webhook(url))
    other = hitl.Client(client.temporal, task_queue="hitl-webhook", graphs=[graph])
    async with other.worker():
        run = await other.start("review_webhook", {"draft": "hello"})
        await run.wait()
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.05)
        assert received[0]["event"] == "run_paused"
        assert received[0]["run_id"] == run.run_id
        assert received[0]["interrupts"][0]["value"] == {"draft": "hello"}
        await run.resume("reject")
