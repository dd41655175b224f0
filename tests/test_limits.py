"""Size limits: a run must never reach a state where it can neither be read nor resumed.

Tested at the limits: the largest accepted state, then many large edits, then
continue-as-new, and the run is still readable (state, history, fork) and
resumable. Values past the limits are refused with one line and write nothing.
"""

from __future__ import annotations

import pytest
import temporalio.service

import hitl
from hitl.protocol.limits import MAX_STATE_BYTES, json_size
from tests.helpers import event_count, wait_for

NEAR_LIMIT = "b" * (MAX_STATE_BYTES - 120_000)


async def test_largest_state_then_many_large_edits_then_continue_as_new_stay_readable(client: hitl.Client) -> None:
    run = await client.start("blob", {"blob": NEAR_LIMIT}, max_history_events=150)
    state = await wait_for(run, "interrupted")
    assert json_size(state.values) > MAX_STATE_BYTES - 121_000
    for i in range(20):
        state = await run.update_state({"note": str(i % 10) * 100_000})  # 100 kB edits: the question is asked again
        assert state.status == "interrupted" and state.values["note"] == str(i % 10) * 100_000
        state = await run.resume("again")
    assert state.status == "interrupted" and len(state.values["rounds"]) == 20
    histories = [w async for w in client.temporal.list_workflows(f'WorkflowId = "{run.run_id}"')]
    assert len(histories) >= 2, "the run should have continued as new on the way"
    history = await run.get_state_history()
    assert len(history) >= 20 and history[0].values is not None
    assert sum(len(c.decisions) for c in history) >= 20
    assert all(json_size(d.value) < 3_000 for c in history for d in c.decisions)  # kept as stubs, not copies
    fork = await run.fork(history[0].step)
    assert (await wait_for(fork, "interrupted")).values["blob"] == NEAR_LIMIT
    done = await run.resume("done")
    assert done.status == "completed" and done.values["blob"] == NEAR_LIMIT
    await fork.cancel()


@pytest.mark.parametrize("graph", ["blob", "blob_local"], ids=["activity-rerun", "local-rerun"])
async def test_an_edit_past_the_state_limit_is_refused_and_writes_nothing(client: hitl.Client, graph: str) -> None:
    """Also with `ask` declared rerun="local" (`blob_local`): the refused answer leaves the same question
    pending, and the answer then given is applied once."""
    run = await client.start(graph, {"blob": NEAR_LIMIT})
    [question] = (await wait_for(run, "interrupted")).interrupts
    before = await event_count(client, run.run_id)
    with pytest.raises(
        hitl.DecisionRejectedError, match=r"the state after the edit is 1\.\d MB; hitl takes at most 1\.0 MB"
    ):
        await run.update_state({"note": "n" * 200_000})
    with pytest.raises(hitl.DecisionRejectedError, match=r"the state after the update is 1\.\d MB"):
        await run.resume("again", update={"note": "n" * 200_000})
    assert await event_count(client, run.run_id) == before
    still = await run.get_state()
    assert still.status == "interrupted" and [i.id for i in still.interrupts] == [question.id]
    assert still.decisions == [] and "note" not in still.values
    done = await run.resume("done")
    assert done.status == "completed" and done.values["rounds"] == ["r"] and done.values["note"] == "done"
    assert [(d.kind, d.value) for d in done.decisions] == [("resume", "done")]


async def test_a_node_that_grows_the_state_past_the_limit_fails_readably(client: hitl.Client) -> None:
    run = await client.start("grow", {})
    with pytest.raises(hitl.RunFailedError) as caught:
        await run.result()
    assert "the update of node 'grow' is 1.2 MB; hitl takes at most 1.0 MB" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert (await run.get_state()).status == "failed"


async def test_sizes_count_utf8_bytes_not_json_escapes(client: hitl.Client) -> None:
    emoji = "\U0001f600" * 200_000  # 800 kB as UTF-8; 2.4 MB if every emoji were counted as \\ud83d\\ude00
    assert json_size(emoji) == 800_002
    run = await client.start("blob", {"blob": emoji})
    state = await wait_for(run, "interrupted")
    assert state.values["blob"] == emoji
    assert (await run.resume("done")).status == "completed"


async def test_oversized_fork_edits_are_one_line(client: hitl.Client) -> None:
    run = await client.start("blob", {})
    await wait_for(run, "interrupted")
    with pytest.raises(hitl.InvalidInputError, match=r"^fork edit is 2\.1 MB; hitl takes at most 256\.0 kB there"):
        await run.fork(0, {"blob": "x" * 2_100_000})
    await run.cancel()


def test_a_refused_payload_is_named_as_too_large_not_as_a_missing_worker(client: hitl.Client) -> None:
    run = client.get_run("some-run")
    error = temporalio.service.RPCError(
        "Blob data size exceeds limit.", temporalio.service.RPCStatusCode.FAILED_PRECONDITION, b""
    )
    message = str(run._rpc_error(error, "the decision"))
    assert "as too large" in message and "worker" not in message
