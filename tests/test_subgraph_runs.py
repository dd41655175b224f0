"""Subgraph runs: ids nobody else can start a run under (patch hitl-subgraph-ids), and a parent that fails the
step, in one line naming the subgraph's run, when it cannot start or keep that run (patch hitl-child-failures):
never `running` with nothing running. Real dev server."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from temporalio import workflow
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import hitl
from hitl.activities import GraphActivities
from hitl.client.serving import wait_until_polling, worker_identity
from hitl.payloads.codec import with_codec
from hitl.payloads.converter import with_shared_adapters
from hitl.protocol.patches import SUBGRAPH_IDS
from hitl.protocol.wire import WORKFLOW_NAME, RunInput
from hitl.workflows.graph_workflow import GraphWorkflow
from tests.helpers import cli, one_line_error, subgraph_run_id, wait_for
from tests.web_fixtures import Served

RESERVED = "contains '~', which only the runs of subgraphs have"


def _run_id() -> str:
    return f"sub-{uuid.uuid4().hex[:8]}"


async def test_a_subgraph_s_run_has_an_id_no_start_path_takes(client: hitl.Client) -> None:
    run = await client.start("parent", {"topic": "ids"}, run_id=_run_id())
    paused = await wait_for(run, "interrupted")
    child = await subgraph_run_id(client, run.run_id)
    assert re.fullmatch(rf"{re.escape(run.run_id)}\.team\.{paused.step}~[0-9a-f]{{12}}", child), child
    for attempt in (
        client.start("parent", {"topic": "squat"}, run_id=child),
        client.fork(run.run_id, 0, new_run_id=child),
    ):
        with pytest.raises(hitl.InvalidInputError) as refused:
            await attempt
        assert RESERVED in str(refused.value) and "\n" not in str(refused.value)
    assert (await run.resume("yes")).status == "completed"  # its subgraph ran under that id, untouched


async def test_cli_start_refuses_a_subgraph_s_run_id(client: hitl.Client) -> None:
    line = one_line_error(await cli(client, "start", "parent", "--input", '{"topic": "x"}', "--id", "p.team.1~abc"))
    assert RESERVED in line


async def test_http_refuses_a_subgraph_s_run_id_as_a_new_thread(served: Served) -> None:
    squat = f"{_run_id()}.team.1~0123456789ab"
    async with served.http("tok-alice") as http:
        started = await http.post(f"/threads/{squat}/runs", json={"assistant_id": "parent", "input": {"topic": "x"}})
        named = await http.post("/threads", json={"thread_id": squat, "graph_id": "parent"})
        for refused in (started, named):
            assert refused.status_code == 422, refused.text
            assert RESERVED in refused.json()["detail"]
    with pytest.raises(hitl.RunNotFoundError):  # nothing was started
        await served.client.get_run(squat).get_state()


@workflow.defn(name=WORKFLOW_NAME)
class _OldSubgraphIds(GraphWorkflow):
    """The workflow as it runs a run from before patch hitl-subgraph-ids: its subgraph's run at
    PARENT.node.step, an id anyone could start a run under first."""

    @workflow.run
    async def run(self, inp: RunInput) -> dict[str, Any]:
        return await super().run(inp)

    def _patched(self, patch_id: str) -> bool:
        return patch_id != SUBGRAPH_IDS and super()._patched(patch_id)


@pytest_asyncio.fixture
async def old_ids(client: hitl.Client) -> AsyncIterator[hitl.Client]:
    """A client on a queue whose worker gives subgraph runs the old, guessable ids."""
    from tests.graphs import SERVED

    queue = f"old-ids-{uuid.uuid4().hex[:6]}"
    temporal = with_codec(with_shared_adapters(client.temporal))
    worker = Worker(
        temporal,
        task_queue=queue,
        workflows=[_OldSubgraphIds],
        activities=GraphActivities(SERVED).all(),
        workflow_runner=UnsandboxedWorkflowRunner(),
        identity=worker_identity(temporal),
    )
    async with worker:
        await wait_until_polling(temporal, queue, worker.config()["identity"] or "")
        yield hitl.Client(client.temporal, task_queue=queue, identity="tester", graphs=SERVED)


async def test_a_parent_whose_subgraph_run_id_was_taken_fails_that_step_naming_it(
    client: hitl.Client, old_ids: hitl.Client
) -> None:
    parent_id = _run_id()
    squatter = await client.start("answer_note", {}, run_id=f"{parent_id}.team.1")  # the id the parent will use
    await wait_for(squatter, "interrupted")
    run = await old_ids.start("parent", {"topic": "taken"}, run_id=parent_id)
    failed = await wait_for(run, "failed", timeout=20)
    assert failed.error is not None and "\n" not in failed.error
    assert failed.error.startswith(f"subgraph 'team' could not start its run '{parent_id}.team.1' at step 1: ")
    assert "a run with that id exists already" in failed.error
    with pytest.raises(hitl.DecisionRejectedError, match=r"it has ended \(failed\)"):
        await run.resume("yes")
    assert (await squatter.get_state()).status == "interrupted"  # the other run is not touched


async def test_a_parent_fails_at_once_when_its_subgraph_s_run_is_terminated_while_it_waits(
    client: hitl.Client,
) -> None:
    run = await client.start("parent", {"topic": "lost"}, run_id=_run_id())
    await wait_for(run, "interrupted")
    child = await subgraph_run_id(client, run.run_id)
    await client.temporal.get_workflow_handle(child).terminate(reason="an operator ended it")
    for _ in range(100):  # the parent learns of it from Temporal, without anyone answering
        state = await run.get_state()
        if state.status != "interrupted":
            break
        await asyncio.sleep(0.1)
    assert state.status == "failed", state
    assert state.error is not None and state.error.startswith("subgraph 'team' failed at step 1: ")
    assert not state.interrupts or all(i.node == "team/ask" for i in state.interrupts)
    for _ in range(100):  # the visibility store takes in the end moments after the run ended
        listed = {p.run_id for p in await client.pending()}
        if run.run_id not in listed:
            break
        await asyncio.sleep(0.1)
    assert run.run_id not in listed
