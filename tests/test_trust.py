"""Trust: every way to change what a paused run will do passes the same reviewer rule,
refusals write nothing (or, for signals, are recorded visibly), idempotency keys
cannot be reused for another decision, and a late answer learns who answered first.

`payment` asks `approve` limited to ["alice", "role:finance"], then `pay` pays the draft. The tests
marked with `TWINS` run on the default graph and on its `*_local` twin, whose `approve` runs again after
the answer as a local activity inside the workflow task that applies it (`rerun="local"`): that path
applies answers differently, and must refuse and apply exactly the same. `AFTER_ANSWER` counts how often
`approve`'s code after `interrupt()` ran, by draft: once per accepted answer, never for a refused one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, UpdateWorkflowExecutionLifecycleStage
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import PollWorkflowExecutionUpdateRequest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

import hitl
from hitl import Command
from hitl.protocol.wire import CancelRequest, ResumeRequest, request_digest
from tests.helpers import cli, event_count, one_line_error, subgraph_run_id, wait_for
from tests.trust_graphs import AFTER_ANSWER, GATES, HOLD_AFTER_ANSWER

MALLORY = {"identity": "mallory"}
ALICE = {"identity": "alice"}
BIG = "x" * 2_100_000


def twins(graph: str) -> pytest.MarkDecorator:
    """Run the test on `graph` and on its twin whose asking node is declared rerun="local"."""
    return pytest.mark.parametrize("graph", [graph, f"{graph}_local"], ids=["activity-rerun", "local-rerun"])


def _draft() -> str:
    """A draft of the test's own, so `AFTER_ANSWER` counts only its run."""
    return f"pay 1M #{uuid.uuid4().hex[:8]}"


async def _update_events(client: hitl.Client, run_id: str) -> list[EventType.ValueType]:
    """The update events of the run's history: a refused update has none; an accepted one, one accepted."""
    handle = client.temporal.get_workflow_handle(run_id)
    return [
        e.event_type
        async for e in handle.fetch_history_events()
        if e.event_type
        in (
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED,
        )
    ]


async def _reran_as_declared(client: hitl.Client, run: hitl.Run, graph: str) -> None:
    """`approve` ran again after its answer as its graph declares: as an activity, or (`*_local`) as a
    local activity (a marker), so the twin under test really took the path it stands for."""
    handle = client.temporal.get_workflow_handle(run.run_id)
    events = [e async for e in handle.fetch_history_events()]
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    markers = [
        json.loads(e.user_metadata.summary.data)
        for e in events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    ]
    local = graph.endswith("_local")
    assert scheduled.count(f"{graph}.approve") == (1 if local else 2), scheduled
    assert len([m for m in markers if m.startswith("node approve (step ")]) == (1 if local else 0), markers


async def _still_asking(run: hitl.Run, question: hitl.Interrupt) -> hitl.StateSnapshot:
    """The run is still paused on the same question, nothing decided."""
    state = await run.get_state()
    assert state.status == "interrupted" and [i.id for i in state.interrupts] == [question.id], state
    assert state.decisions == [], state.decisions
    return state


async def _paused(client: hitl.Client, graph: str = "payment", **start: object) -> tuple[hitl.Run, hitl.StateSnapshot]:
    run = await client.start(graph, {}, **start)  # type: ignore[arg-type]
    return run, await wait_for(run, "interrupted")


async def _refused_without_a_trace(client: hitl.Client, run: hitl.Run, call: object, message: str) -> None:
    before = await event_count(client, run.run_id)
    with pytest.raises(hitl.DecisionRejectedError, match=message):
        await call  # type: ignore[misc]
    assert await event_count(client, run.run_id) == before, "a refused decision wrote to the run's history"


@twins("payment")
async def test_non_reviewers_cannot_get_past_the_question_by_any_path(client: hitl.Client, graph: str) -> None:
    draft = _draft()
    run = await client.start(graph, {"draft": draft})
    paused = await wait_for(run, "interrupted")
    [question] = paused.interrupts
    guard = r"'mallory' may not {}: this run is guarded by reviewers \['alice', 'role:finance'\]"
    await _refused_without_a_trace(
        client, run, run.resume(goto="pay", **MALLORY), guard.format("redirect it with goto")
    )
    await _refused_without_a_trace(
        client, run, run.update_state({"draft": "pay 2M"}, **MALLORY), guard.format("edit its state")
    )
    await _refused_without_a_trace(
        client, run, run.update_state({"paid": "pay 2M"}, as_node="pay", **MALLORY), guard.format("edit its state")
    )
    await _refused_without_a_trace(
        client, run, run.update_state({}, as_node="approve", **MALLORY), guard.format("edit its state")
    )
    await _refused_without_a_trace(client, run, run.resume("approve", **MALLORY), r"'mallory' may not answer interrupt")
    await _refused_without_a_trace(client, run, run.cancel("no", **MALLORY), guard.format("cancel it"))
    before = await event_count(client, run.run_id)
    with pytest.raises(
        hitl.DecisionRejectedError, match=f"run '{run.run_id}' refused the fork: 'mallory' may not fork"
    ):
        await client.fork(run.run_id, paused.step, new_run_id=f"fork-{uuid.uuid4().hex[:8]}", **MALLORY)
    assert await event_count(client, run.run_id) == before
    state = await _still_asking(run, question)
    assert state.values["draft"] == draft and state.guarded_by == [["alice", "role:finance"]]
    # A signal cannot be refused up front: it is recorded as refused, and applies nothing.
    await run.send_resume("approve", **MALLORY)
    for _ in range(50):
        if (state := await run.get_state()).refused:
            break
        await asyncio.sleep(0.1)
    assert [r.identity for r in state.refused] == ["mallory"] and "'mallory' may not answer" in state.refused[0].reason
    await _still_asking(run, question)
    assert await _update_events(client, run.run_id) == [] and AFTER_ANSWER[draft] == 0
    # A holder of the role may do what the reviewers may.
    done = await run.resume(
        Command(resume="approve", update={"draft": f"{draft} (checked)"}), identity="carol", roles=["finance"]
    )
    assert done.status == "completed" and done.values["paid"] == f"{draft} (checked)"
    assert [(d.kind, d.identity) for d in done.decisions] == [("resume", "carol"), ("update_state", "carol")]
    assert AFTER_ANSWER[f"{draft} (checked)"] == 1 and AFTER_ANSWER[draft] == 0
    await _reran_as_declared(client, run, graph)


async def test_the_guard_outlives_the_answer(client: hitl.Client) -> None:
    """Approved "pay 1M", paused before pay: editing the draft now would pay what nobody approved."""
    run, paused = await _paused(client, "payment_checked")
    at_breakpoint = await run.resume("approve", **ALICE)
    assert at_breakpoint.breakpoint == "before" and at_breakpoint.next == ["pay"]
    await _refused_without_a_trace(
        client, run, run.update_state({"draft": "pay 2M"}, **MALLORY), "'mallory' may not edit its state"
    )
    await _refused_without_a_trace(
        client, run, run.resume(update={"draft": "pay 2M"}, **MALLORY), "'mallory' may not change its state"
    )
    await _refused_without_a_trace(client, run, run.resume(goto="write", **MALLORY), "'mallory' may not redirect it")
    done = await run.resume(**MALLORY)  # a plain continue changes nothing: open to anyone
    assert done.values["paid"] == "pay 1M"


async def test_an_edit_under_review_asks_again_with_the_new_content(client: hitl.Client) -> None:
    run, paused = await _paused(client)
    first = paused.interrupts[0]
    edited = await run.update_state({"draft": "pay 1.5M"}, **ALICE)
    assert edited.status == "interrupted"
    again = edited.interrupts[0]
    assert again.value == {"draft": "pay 1.5M"} and again.id != first.id
    # Whoever answers the question as it was shown before the edit is told so; nothing is written.
    await _refused_without_a_trace(
        client,
        run,
        run.resume(map={first.id: "approve"}, identity="bob", roles=["finance"]),
        rf"interrupt {first.id} was withdrawn when alice edited the state under review",
    )
    done = await run.resume(map={again.id: "approve"}, identity="bob", roles=["finance"])
    assert done.values["paid"] == "pay 1.5M"
    answer = next(d for d in done.decisions if d.kind == "resume")
    assert (answer.identity, answer.question, answer.value) == ("bob", {"draft": "pay 1.5M"}, "approve")


async def test_fork_with_edits_takes_the_reviewers_and_is_recorded(client: hitl.Client) -> None:
    run, _ = await _paused(client)
    done = await run.resume("approve", **ALICE)
    after_approval = next(c.step for c in await run.get_state_history() if c.next == ["pay"])
    name = f"fork-{uuid.uuid4().hex[:8]}"
    with pytest.raises(hitl.DecisionRejectedError, match="'mallory' may not fork it with edits"):
        await client.fork(run.run_id, after_approval, {"draft": "pay 99M"}, new_run_id=name, **MALLORY)
    with pytest.raises(hitl.RunNotFoundError):
        await client.get_run(name).get_state()  # refused before anything started
    fork = await client.fork(run.run_id, after_approval, {"draft": "pay 1.1M"}, new_run_id=name, **ALICE)
    forked = await fork.result()
    assert forked["paid"] == "pay 1.1M" and done.values["paid"] == "pay 1M"
    first = (await fork.get_state_history())[-1]
    assert first.source == "fork"
    assert [(d.kind, d.identity, d.value, d.node) for d in first.decisions] == [
        ("fork", "alice", {"draft": "pay 1.1M"}, f"{run.run_id}@{after_approval}")
    ]
    assert (await fork.get_state()).guarded_by == [["alice", "role:finance"]]


async def test_cancel_is_a_decision(client: hitl.Client) -> None:
    run, paused = await _paused(client)
    cancelled = await run.cancel("duplicate request", **ALICE)
    assert cancelled.status == "cancelled" and cancelled.error == "cancelled by alice: duplicate request"
    assert [(d.kind, d.identity) for d in cancelled.decisions] == [("cancel", "alice")]
    with pytest.raises(hitl.RunFailedError, match="cancelled by alice"):
        await run.result()
    with pytest.raises(hitl.DecisionRejectedError, match="has ended"):
        await run.cancel()


async def test_the_cli_refuses_the_bypasses_reported(client: hitl.Client) -> None:
    run, _ = await _paused(client)
    goto = await cli(client, "resume", run.run_id, "--goto", "pay", "--identity", "mallory")
    assert "'mallory' may not redirect it with goto" in one_line_error(goto)
    edit = await cli(
        client, "update-state", run.run_id, "--values", '{"paid": "x"}', "--as-node", "pay", "--identity", "mallory"
    )
    assert "'mallory' may not edit its state" in one_line_error(edit)
    cancel = await cli(client, "cancel", run.run_id, "--identity", "mallory")
    assert "'mallory' may not cancel it" in one_line_error(cancel)
    fork = await cli(
        client, "fork", run.run_id, "--step", "1", "--values", '{"draft": "pay 99M"}', "--identity", "mallory"
    )
    assert "'mallory' may not fork it with edits" in one_line_error(fork)
    assert (await run.get_state()).status == "interrupted"
    ok = await cli(client, "cancel", run.run_id, "--identity", "dave", "--roles", "finance")
    assert ok.code == 0 and "status   cancelled" in ok.out


# ---------------------------------------------------------------- a guard declared at compile time


async def _at_the_breakpoint_before_the_question(client: hitl.Client, graph: str) -> hitl.Run:
    run = await client.start(graph, {"draft": "pay 1M to mallory"}, interrupt_before=["approve"])
    paused = await wait_for(run, "interrupted")
    assert paused.breakpoint == "before" and paused.next == ["approve"] and paused.interrupts == []
    return run


async def test_a_declared_guard_holds_before_the_question_is_asked(client: hitl.Client) -> None:
    """Paused before `approve` (interrupt_before given at start): nothing has asked yet, the guard holds anyway."""
    run = await _at_the_breakpoint_before_the_question(client, "payment")
    assert (await run.get_state()).guarded_by == [["alice", "role:finance"]]
    guard = r"'mallory' may not {}: this run is guarded by reviewers \['alice', 'role:finance'\]"
    for call, action in [
        (run.resume(goto="pay", **MALLORY), "redirect it with goto"),
        (run.resume(Command(goto="pay"), **MALLORY), "redirect it with goto"),
        (run.resume(update={"paid": "pay 1M to mallory"}, **MALLORY), "change its state"),
        (run.update_state({"draft": "pay 2M to mallory"}, **MALLORY), "edit its state"),
        (run.update_state({}, as_node="approve", **MALLORY), "edit its state"),
        (run.update_state({"log": ["approve:x"]}, as_node="approve", **MALLORY), "edit its state"),
        (run.cancel("no", **MALLORY), "cancel it"),
    ]:
        await _refused_without_a_trace(client, run, call, guard.format(action))
    with pytest.raises(hitl.DecisionRejectedError, match=guard.format("fork it")):
        await client.fork(run.run_id, 1, **MALLORY)
    await run.send_resume(goto="pay", identity="mallory")  # a signal cannot be refused up front: recorded as refused
    for _ in range(50):
        if (await run.get_state()).refused:
            break
        await asyncio.sleep(0.1)
    state = await run.get_state()
    assert [r.identity for r in state.refused] == ["mallory"] and "'mallory' may not redirect it" in state.refused[
        0
    ].reason
    assert state.decisions == [] and state.next == ["approve"]
    asked = await run.resume(**MALLORY)  # a plain continue changes nothing: open to anyone
    assert asked.interrupts and asked.interrupts[0].reviewers == ["alice", "role:finance"]
    done = await run.resume("reject", **ALICE)
    assert (
        done.status == "completed" and "paid" not in done.values and done.values["log"] == ["reject:pay 1M to mallory"]
    )


async def test_an_undeclared_guard_is_open_until_the_question_is_asked_and_the_worker_warns(
    client: hitl.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """What the README says undeclared graphs allow, and the warning that names the fix (once per graph)."""
    caplog.set_level(logging.WARNING)  # no other test asks `payment_undeclared`: this worker has not warned yet
    run = await _at_the_breakpoint_before_the_question(client, "payment_undeclared")
    assert (await run.get_state()).guarded_by == []
    await run.resume(goto="pay", **MALLORY)  # open: nothing had asked a limited question yet
    done = await run.resume("reject", **ALICE)  # `pay` ran beside `approve`: the rejection comes too late
    assert done.status == "completed" and done.values["paid"] == "pay 1M to mallory"
    for _ in range(2):
        asked, _ = await _paused(client, "payment_undeclared")
        await asked.cancel(**ALICE)
    warnings = [r.getMessage() for r in caplog.records if "declares no guard" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert (
        "graph 'payment_undeclared': node 'approve' asks a question limited to ['alice', 'role:finance']" in warnings[0]
    )
    assert "compile(guard=['alice', 'role:finance'])" in warnings[0]


async def test_forking_a_guarded_run_takes_the_guard_even_without_edits(client: hitl.Client) -> None:
    """Alice approved and it paid: a fork from before `pay` would pay again."""
    run, _ = await _paused(client)
    done = await run.resume("approve", **ALICE)
    assert done.values["paid"] == "pay 1M"
    before_pay = next(c.step for c in await run.get_state_history() if c.next == ["pay"])
    name = f"fork-{uuid.uuid4().hex[:8]}"
    with pytest.raises(
        hitl.DecisionRejectedError, match=rf"run '{run.run_id}' refused the fork: 'mallory' may not fork it:"
    ):
        await client.fork(run.run_id, before_pay, new_run_id=name, **MALLORY)
    with pytest.raises(hitl.RunNotFoundError):
        await client.get_run(name).get_state()  # refused before anything started
    refused = await cli(client, "fork", run.run_id, "--step", str(before_pay), "--identity", "mallory")
    assert refused.code != 0 and "'mallory' may not fork it:" in one_line_error(refused)
    fork = await client.fork(run.run_id, before_pay, identity="dave", roles=["finance"])
    assert (await fork.result())["paid"] == "pay 1M"  # someone the guard allows may
    # A run with no guard stays open to fork.
    plain = await client.start("chain", {})
    await plain.result()
    first = (await plain.get_state_history())[-1].step
    await (await client.fork(plain.run_id, first, **MALLORY)).result()


async def test_the_cli_refuses_a_goto_past_a_declared_question(client: hitl.Client) -> None:
    run = await _at_the_breakpoint_before_the_question(client, "payment")
    goto = await cli(client, "resume", run.run_id, "--goto", "pay", "--identity", "mallory")
    assert goto.code != 0 and "'mallory' may not redirect it with goto" in one_line_error(goto)
    edit = await cli(
        client, "update-state", run.run_id, "--values", "{}", "--as-node", "approve", "--identity", "mallory"
    )
    assert "'mallory' may not edit its state" in one_line_error(edit)
    state = await run.get_state()
    assert state.decisions == [] and state.next == ["approve"] and "paid" not in state.values
    await run.cancel(**ALICE)


async def test_a_subgraph_question_limited_by_role_takes_the_parents_answer(client: hitl.Client) -> None:
    run = await client.start("finance_parent", {"topic": "q3"})
    paused = await wait_for(run, "interrupted")
    assert paused.interrupts[0].node == "team/ask"
    await _refused_without_a_trace(
        client, run, run.resume("10k", identity="eve", roles=["sales"]), "'eve' may not answer"
    )
    done = await asyncio.wait_for(run.resume("10k", identity="dave", roles=["finance"]), 30)
    assert done.status == "completed" and done.values["answer"] == "10k"


# ---------------------------------------------------------------- signals


@twins("slow_payment")
async def test_a_signal_sent_before_the_pause_is_held_and_applied_once(client: hitl.Client, graph: str) -> None:
    draft = _draft()
    run = await client.start(graph, {"draft": draft})
    await run.send_resume("approve", identity="alice", request_id="sig-1")
    await run.send_resume("approve", identity="alice", request_id="sig-1")  # a resend: applied once
    assert (await run.get_state()).status == "running"  # it had not paused yet
    final = await asyncio.wait_for(run.result(), 30)
    assert final["paid"] == draft and final["log"] == [f"approve:{draft}", "pay"]
    state = await run.get_state()
    assert [(d.kind, d.identity) for d in state.decisions] == [("resume", "alice")] and state.refused == []
    assert AFTER_ANSWER[draft] == 1
    await _reran_as_declared(client, run, graph)


@twins("slow_payment")
async def test_an_update_sent_before_the_pause_is_refused_and_writes_nothing(client: hitl.Client, graph: str) -> None:
    """Unlike a signal, an update is refused up front while the run has not paused: the caller is told, the
    history holds no update, and the question then asked is answered as usual, once."""
    draft = _draft()
    run = await client.start(graph, {"draft": draft})
    early = "run is running; it accepts a decision only while interrupted"
    with pytest.raises(hitl.DecisionRejectedError, match=f"run '{run.run_id}' refused the decision: {early}"):
        await run.resume("approve", **ALICE)
    with pytest.raises(hitl.DecisionRejectedError, match=early):
        await run.update_state({"draft": "pay 2M"}, **ALICE)
    with pytest.raises(hitl.DecisionRejectedError, match=early):
        await run.resume(goto="pay", **ALICE)
    assert await _update_events(client, run.run_id) == []
    paused = await wait_for(run, "interrupted")
    await _still_asking(run, paused.interrupts[0])
    assert paused.values["draft"] == draft and AFTER_ANSWER[draft] == 0
    done = await run.resume("approve", **ALICE)
    assert done.status == "completed" and done.values["paid"] == draft and AFTER_ANSWER[draft] == 1
    assert await _update_events(client, run.run_id) == [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
    await _reran_as_declared(client, run, graph)


@twins("payment")
async def test_careless_answers_are_refused_without_a_trace(client: hitl.Client, graph: str) -> None:
    """Over the size limit, for a question not pending, a map whose keys are not the pending ids, outside
    the schema: each refused with one line; the run still asks the same question, and nothing ran."""
    draft = _draft()
    run = await client.start(graph, {"draft": draft})
    [question] = (await wait_for(run, "interrupted")).interrupts
    before = await event_count(client, run.run_id)
    with pytest.raises(hitl.InvalidInputError, match=r"the decision is 2\.1 MB; hitl takes at most 256\.0 kB"):
        await run.resume(BIG, **ALICE)
    assert await event_count(client, run.run_id) == before
    unknown = r"unknown interrupt id\(s\) \['ffffffffffffffff'\]"
    await _refused_without_a_trace(client, run, run.resume(map={"ffffffffffffffff": "approve"}, **ALICE), unknown)
    await _refused_without_a_trace(
        client, run, run.resume(map={question.id: "approve", "ffffffffffffffff": "approve"}, **ALICE), unknown
    )
    # Sent past the client (a raw Temporal update): the run's own validator refuses it.
    raw = ResumeRequest(identity="alice", resume_map={question.id: BIG[:300_000]})
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await client.temporal.get_workflow_handle(run.run_id).execute_update("resume", raw)
    assert isinstance(caught.value.cause, ApplicationError)
    assert re.match(r"the decision is 300\.\d kB; hitl takes at most 256\.0 kB", caught.value.cause.message)
    assert await event_count(client, run.run_id) == before
    await _refused_without_a_trace(client, run, run.resume("maybe", **ALICE), "does not fit its schema: 'maybe'")
    await _refused_without_a_trace(
        client, run, run.resume(map={question.id: "maybe"}, **ALICE), "does not fit its schema: 'maybe'"
    )
    await _still_asking(run, question)
    assert AFTER_ANSWER[draft] == 0
    done = await run.resume(map={question.id: "approve"}, **ALICE)
    assert done.status == "completed" and done.values["paid"] == draft and AFTER_ANSWER[draft] == 1
    await _reran_as_declared(client, run, graph)


@twins("slow_payment")
async def test_a_refused_signal_is_visible_on_the_run(client: hitl.Client, graph: str) -> None:
    draft = _draft()
    run = await client.start(graph, {"draft": draft})
    await run.send_resume("approve", identity="mallory")
    await run.send_resume("maybe", identity="alice")
    paused = await wait_for(run, "interrupted")
    for _ in range(50):
        paused = await run.get_state()
        if len(paused.refused) == 2:
            break
        await asyncio.sleep(0.1)
    reasons = [(r.identity, r.reason) for r in paused.refused]
    assert reasons[0][0] == "mallory" and "'mallory' may not answer interrupt" in reasons[0][1]
    assert reasons[1][0] == "alice" and "does not fit its schema: 'maybe'" in reasons[1][1]
    assert paused.status == "interrupted" and paused.decisions == []
    await _still_asking(run, paused.interrupts[0])
    assert await _update_events(client, run.run_id) == [] and AFTER_ANSWER[draft] == 0
    shown = await cli(client, "state", paused.run_id)
    assert "refused" in shown.out and "a decision by mallory sent as a signal" in shown.out
    await run.cancel(**ALICE)


async def test_a_signal_to_a_run_that_ends_without_pausing_is_recorded_as_refused(
    client: hitl.Client, tmp_path: Path
) -> None:
    run = await client.start("slow", {"marker": str(tmp_path / "marker")})
    await run.send_resume("late", identity="alice")
    await run.result()
    refused = (await run.get_state()).refused
    assert len(refused) == 1 and "completed before it paused again; nothing was applied" in refused[0].reason


# ---------------------------------------------------------------- idempotency and races


@twins("payment_checked")
async def test_a_request_id_reused_for_another_decision_is_refused(client: hitl.Client, graph: str) -> None:
    draft = _draft()
    run = await client.start(graph, {"draft": draft})
    await wait_for(run, "interrupted")
    first = await run.resume("approve", request_id="rid-1", wait=False, **ALICE)
    assert first.status == "running"  # --no-wait shows the run moving on, not the old pause
    again = await run.resume("approve", request_id="rid-1", wait=False, **ALICE)
    assert again.status == "running"  # the same decision: answered once
    await wait_for(run, "interrupted")
    with pytest.raises(
        hitl.DecisionRejectedError, match="request id 'rid-1' was already used for a different decision \\(alice at"
    ):
        await run.resume(request_id="rid-1", identity="bob", roles=["finance"])
    state = await run.get_state()
    assert [(d.kind, d.identity, d.value) for d in state.decisions] == [("resume", "alice", "approve")]
    assert AFTER_ANSWER[draft] == 1
    assert await _update_events(client, run.run_id) == [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
    await run.resume()


async def test_the_late_answer_learns_who_answered_first(client: hitl.Client) -> None:
    run, paused = await _paused(client, "payment_checked")
    question = paused.interrupts[0].id
    results = await asyncio.gather(
        run.resume("approve", wait=False, **ALICE),
        run.resume("approve", wait=False, identity="bob", roles=["finance"]),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, hitl.StateSnapshot)]
    losers = [r for r in results if isinstance(r, hitl.DecisionRejectedError)]
    assert len(winners) == 1 and len(losers) == 1, results
    await wait_for(run, "interrupted")
    winner = (await run.get_state()).decisions[0].identity
    with pytest.raises(hitl.DecisionRejectedError, match=rf"interrupt {question} was answered by {winner} at"):
        await run.resume(map={question: "reject"}, identity="bob", roles=["finance"])
    with pytest.raises(
        hitl.DecisionRejectedError, match=rf"its last question \(interrupt {question}\) was answered by {winner}"
    ):
        await run.resume("reject", identity="bob", roles=["finance"])
    await run.cancel(**ALICE)


async def test_an_empty_edit_is_refused_but_as_node_alone_is_a_real_step(client: hitl.Client) -> None:
    run, _ = await _paused(client, "review_breaks")
    await _refused_without_a_trace(client, run, run.update_state({}), r"values is empty; name at least one state key")
    moved = await run.update_state({}, as_node="write")
    assert moved.next == ["review"] and moved.status == "interrupted"
    await run.cancel()


async def test_cancel_of_a_completed_run_is_refused_through_the_cli(client: hitl.Client) -> None:
    run = await client.start("chain", {})
    await run.result()
    refused = await cli(client, "cancel", run.run_id)
    assert "has ended" in one_line_error(refused)


FINANCE = {"identity": "dave", "roles": ["finance"]}


async def _answer_by_value(run: hitl.Run, iid: str) -> None:
    await run.resume("10k", **FINANCE)


async def _answer_by_map(run: hitl.Run, iid: str) -> None:
    await run.resume(map={iid: "10k"}, **FINANCE)


async def _answer_with_an_update(run: hitl.Run, iid: str) -> None:
    await run.resume(Command(resume="10k", update={"topic": "q3 (checked)"}), **FINANCE)


async def _edit_then_answer(run: hitl.Run, iid: str) -> None:
    await run.update_state({"topic": "q3 (edited)"}, **FINANCE)
    await run.resume(map={iid: "10k"}, **FINANCE)


async def _answer_by_signal(run: hitl.Run, iid: str) -> None:
    await run.send_resume("10k", request_id="sub-sig", **FINANCE)
    await run.send_resume("10k", request_id="sub-sig", **FINANCE)  # a resend: the same decision


@pytest.mark.parametrize(
    "decide",
    [_answer_by_value, _answer_by_map, _answer_with_an_update, _edit_then_answer, _answer_by_signal],
    ids=["value", "map", "command-update", "update-state", "signal"],
)
async def test_every_decision_kind_through_a_subgraph_applies_once(client: hitl.Client, decide: object) -> None:
    """The subgraph's question is answered on the parent; the answer reaches the child exactly once."""
    run = await client.start("finance_parent", {"topic": "q3"})
    paused = await wait_for(run, "interrupted")
    [question] = paused.interrupts
    await decide(run, question.id)  # type: ignore[operator]
    final = await asyncio.wait_for(run.result(), 30)
    assert final["answer"] == "10k"
    answers = [d for d in (await run.get_state()).decisions if d.kind == "resume"]
    assert [(d.identity, d.value, d.interrupt_id) for d in answers] == [("dave", "10k", question.id)]
    child = client.get_run(await subgraph_run_id(client, run.run_id))  # the child run of the paused step
    child_answers = [d for d in (await child.get_state()).decisions if d.kind == "resume"]
    assert [(d.identity, d.value) for d in child_answers] == [("dave", "10k")]
    assert (await run.get_state()).refused == [] and (await child.get_state()).refused == []


@twins("payment")
async def test_cancel_racing_an_answer_one_wins_and_the_loser_learns_who(client: hitl.Client, graph: str) -> None:
    """Repeated: exactly one of a cancel and an approval is applied; the other is refused naming the winner;
    the decision log holds only what was applied, and the run's end matches it; `approve` ran on only an
    applied answer. The two are sent together, but a loaded machine can delay the cancel past the race: one
    that reaches the run only after the approval's first task outside its workflow task is done (`approve`'s
    activity; for `payment_local`, `pay`'s) is a cancel of the running run, not of the pause, and is applied
    after the approval (the history must show that order)."""
    for trial in range(10):
        draft = _draft()
        run = await client.start(graph, {"draft": draft})
        await wait_for(run, "interrupted")
        results = await asyncio.gather(
            run.cancel("duplicate", request_id=f"C{trial}", **ALICE),
            run.resume("approve", request_id=f"A{trial}", wait=False, identity="dave", roles=["finance"]),
            return_exceptions=True,
        )
        cancel, resume = results
        won = [r for r in results if isinstance(r, hitl.StateSnapshot)]
        lost = [r for r in results if isinstance(r, Exception)]
        if len(won) == 2 and await _cancelled_after_the_race(client, run.run_id):
            state = await wait_for(run, "cancelled")
            assert [(d.kind, d.identity) for d in state.decisions] == [("resume", "dave"), ("cancel", "alice")]
            assert AFTER_ANSWER[draft] == 1 and "paid" not in state.values, (trial, state)
            continue
        assert len(won) == 1 and len(lost) == 1, (trial, results)
        assert isinstance(lost[0], hitl.DecisionRejectedError), (trial, repr(lost[0]))
        state = await run.get_state()
        for _ in range(100):
            if state.status in ("completed", "cancelled"):
                break
            await asyncio.sleep(0.1)
            state = await run.get_state()
        kinds = [(d.kind, d.identity) for d in state.decisions]
        accepted = [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
        assert await _update_events(client, run.run_id) == accepted, trial  # the loser was refused up front
        if isinstance(cancel, hitl.StateSnapshot):
            assert state.status == "cancelled" and kinds == [("cancel", "alice")], (trial, kinds)
            assert re.search(r"cancelled (with the run )?by alice", str(lost[0])), (trial, str(lost[0]))
            assert AFTER_ANSWER[draft] == 0, trial
        else:
            assert state.status == "completed" and state.values["paid"] == draft, (trial, state)
            assert AFTER_ANSWER[draft] == 1, trial
            await _reran_as_declared(client, run, graph)
            assert kinds == [("resume", "dave")], (trial, kinds)
            # refused while the approval is applied, or (the approved step is quick) once the run has ended
            assert re.search(
                r"refused the cancellation: (run was resumed by dave|it has ended \(completed\); its last decision "
                r"was a resume by dave)",
                str(lost[0]),
            ), (trial, str(lost[0]))


@twins("payment")
async def test_a_cancel_that_reached_temporal_before_the_answer_was_recorded_is_refused(
    client: hitl.Client, graph: str
) -> None:
    """The interleaving of a heavily loaded machine, forced with gates: dave's approval is in the workflow task
    that applies it (`approve` held there, for `payment_local`; held in its activity for `payment`) when
    alice's cancel reaches Temporal. Only then may `approve` finish; `pay` is held until the cancel's outcome
    is known. For `payment_local` the cancel reaches the run only in the next workflow task, once `approve`
    has run again and `pay` runs (before the patch `hitl-local-race` it was taken there, cancelling the run
    under the approval: both applied). On both twins it is refused naming dave, and the approval is carried
    out once."""
    draft = _draft()
    approve, pay = GATES[("approve", draft)], GATES[("pay", draft)] = threading.Event(), threading.Event()
    try:
        run = await client.start(graph, {"draft": draft})
        await wait_for(run, "interrupted")
        resume = asyncio.create_task(
            run.resume("approve", request_id="A", wait=False, identity="dave", roles=["finance"])
        )
        await _until(lambda: AFTER_ANSWER[draft] > 0)  # `approve` runs again: the answer's task is in flight
        req = CancelRequest(identity="alice", roles=[], reason="duplicate", request_id="C")
        cancel = asyncio.create_task(run.cancel(req.reason, request_id="C", identity="alice", roles=[]))
        # the cancel has reached Temporal (for `payment` it may be refused already: its run is not busy)
        await _until(lambda: cancel.done() or _admitted(client, run.run_id, f"C.{request_digest(req)}"))
        approve.set()
        with pytest.raises(hitl.DecisionRejectedError) as refused:
            await cancel
        pay.set()
        assert re.search(
            r"refused the cancellation: run was resumed by dave .* carrying that decision out", str(refused.value)
        )
        assert (await resume).status == "running"
        done = await wait_for(run, "completed")
        assert done.values["paid"] == draft and done.values["log"] == [f"approve:{draft}", "pay"]
        assert [(d.kind, d.identity) for d in done.decisions] == [("resume", "dave")] and AFTER_ANSWER[draft] == 1
        assert await _update_events(client, run.run_id) == [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
        await _reran_as_declared(client, run, graph)
    finally:
        approve.set()
        pay.set()


async def _cancelled_after_the_race(client: hitl.Client, run_id: str) -> bool:
    """Did the run accept the cancel only after the approval's first task outside the workflow task that
    applied it had completed (so after the step it released was done), the approval accepted before it?"""
    order = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        else "completed"
        async for e in client.temporal.get_workflow_handle(run_id).fetch_history_events()
        if e.event_type
        in (EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    ]
    if "resume" not in order or "cancel" not in order:
        return False
    after = order[order.index("resume") :]
    return "completed" in after and after.index("completed") < after.index("cancel")


async def _until(check: Callable[[], bool | Awaitable[bool]]) -> None:
    """Wait until `check` holds (a minute at most: an interleaving forced with gates that never comes fails)."""
    for _ in range(1200):
        held = check()
        if held if isinstance(held, bool) else await held:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the interleaving the test forces never came")


async def _admitted(client: hitl.Client, run_id: str, update_id: str) -> bool:
    """Has Temporal admitted this update (it holds it for the run's next workflow task)?"""
    try:
        await client.temporal.workflow_service.poll_workflow_execution_update(
            PollWorkflowExecutionUpdateRequest(
                namespace=client.temporal.namespace,
                update_ref=UpdateRef(workflow_execution=WorkflowExecution(workflow_id=run_id), update_id=update_id),
                wait_policy=WaitPolicy(
                    lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
                ),
            ),
            timeout=timedelta(seconds=2),
        )
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


@twins("payment")
async def test_an_answer_sent_again_while_its_rerun_runs_is_applied_once(client: hitl.Client, graph: str) -> None:
    """`approve` takes 2 s after the answer; the same decision is sent twice more meanwhile (a client's retry,
    a double click) and once after. For `payment_local` the re-run is a local activity inside the workflow task
    that applies the answer: the resends reach the run before Temporal has recorded that answer."""
    draft = _draft()
    HOLD_AFTER_ANSWER[draft] = 2.0
    run = await client.start(graph, {"draft": draft})
    [question] = (await wait_for(run, "interrupted")).interrupts

    async def send(after: float) -> hitl.StateSnapshot:
        await asyncio.sleep(after)
        return await run.resume("approve", request_id="approve-once", identity="dave", roles=["finance"])

    sent = await asyncio.gather(send(0), send(0.5), send(1.0))
    assert all(s.status == "completed" and s.values["paid"] == draft for s in sent), sent
    again = await send(0)
    assert again.status == "completed"
    with pytest.raises(hitl.DecisionRejectedError, match=r"it has ended \(completed\); its last decision was a resume"):
        await run.resume("reject", request_id="approve-once", identity="dave", roles=["finance"])
    state = await run.get_state()
    assert [(d.kind, d.identity, d.interrupt_id) for d in state.decisions] == [("resume", "dave", question.id)]
    assert state.values["log"] == [f"approve:{draft}", "pay"] and AFTER_ANSWER[draft] == 1
    assert await _update_events(client, run.run_id) == [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
    await _reran_as_declared(client, run, graph)


@twins("payment")
async def test_decisions_of_someone_not_allowed_while_the_rerun_runs_are_refused(
    client: hitl.Client, graph: str
) -> None:
    """Dave's approval is being carried out (`approve` takes 2 s after the answer; for `payment_local` inside
    the workflow task that applies it) when mallory tries to redirect, edit, answer or cancel: each is
    refused to her face, none leaves an update in the history, and the approval is carried out once."""
    draft = _draft()
    HOLD_AFTER_ANSWER[draft] = 2.0
    run = await client.start(graph, {"draft": draft})
    await wait_for(run, "interrupted")
    approval = asyncio.create_task(run.resume("approve", identity="dave", roles=["finance"]))
    await asyncio.sleep(0.5)
    attempts = [
        run.resume(goto="pay", **MALLORY),
        run.update_state({"draft": "pay 2M to mallory"}, **MALLORY),
        run.resume("reject", **MALLORY),
        run.cancel("mine now", **MALLORY),
    ]
    why = "run is running|was resumed by dave|'mallory' may not|it has ended"
    for attempt in attempts:
        with pytest.raises(hitl.DecisionRejectedError, match=rf"^run '{run.run_id}' refused the \w+: ({why})"):
            await attempt
    done = await asyncio.wait_for(approval, 30)
    assert done.status == "completed" and done.values["paid"] == draft, done
    state = await run.get_state()
    assert [(d.kind, d.identity) for d in state.decisions] == [("resume", "dave")]
    assert state.values["log"] == [f"approve:{draft}", "pay"] and AFTER_ANSWER[draft] == 1
    assert await _update_events(client, run.run_id) == [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
    await _reran_as_declared(client, run, graph)


# ---------------------------------------------------------------- an identity named like a role

ROLE_NAMED = "starts with 'role:', which names a role on reviewer lists, not a person"


async def test_an_identity_named_like_a_role_is_refused_by_the_client_and_the_cli_sending_nothing(
    client: hitl.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`role:finance` as an identity once matched the entry `role:finance` and answered as the finance role.
    Every way of naming who decides refuses it with one line, before anything reaches a run."""
    run, paused = await _paused(client)
    [question] = paused.interrupts
    before = await event_count(client, run.run_id)
    as_role = {"identity": "role:finance"}
    for call in (
        run.resume("approve", **as_role),
        run.send_resume("approve", **as_role),
        run.update_state({"draft": "pay 2M"}, **as_role),
        run.cancel("no", **as_role),
        run.claim(**as_role),
        run.delegate("alice", **as_role),
        client.fork(run.run_id, paused.step, **as_role),
        client.resume_many([run.run_id], "approve", **as_role),
    ):
        with pytest.raises(hitl.InvalidInputError, match=f"^identity 'role:finance' {ROLE_NAMED}; use a plain name"):
            await call
    with pytest.raises(hitl.InvalidInputError, match=f"^identity 'role:ops' {ROLE_NAMED}"):
        hitl.Client(client.temporal, identity="role:ops")
    with pytest.raises(hitl.InvalidInputError, match=f"^identity 'role:ops' {ROLE_NAMED}"):
        client.as_caller("role:ops")
    with pytest.raises(hitl.InvalidInputError, match=f"^identity 'role:ops' {ROLE_NAMED}"):
        await hitl.connect("localhost:1", identity="role:ops")  # refused before connecting anywhere
    monkeypatch.setenv("HITL_IDENTITY", "role:finance")
    with pytest.raises(hitl.InvalidInputError, match=f"^HITL_IDENTITY 'role:finance' {ROLE_NAMED}"):
        hitl.Client(client.temporal)
    monkeypatch.delenv("HITL_IDENTITY")
    flag = await cli(client, "resume", run.run_id, "--value", '"approve"', "--identity", "role:finance")
    assert f"identity 'role:finance' {ROLE_NAMED}" in one_line_error(flag)
    env = await cli(client, "resume", run.run_id, "--value", '"approve"', env={"HITL_IDENTITY": "role:finance"})
    assert f"HITL_IDENTITY 'role:finance' {ROLE_NAMED}" in one_line_error(env)
    assert await event_count(client, run.run_id) == before, "a refused identity wrote to the run's history"
    await _still_asking(run, question)


async def test_the_workflow_refuses_an_identity_named_like_a_role_that_bypassed_the_client(
    client: hitl.Client,
) -> None:
    """A raw update (no hitl front-end in the way) from `role:finance` with no roles: the run's own validator
    refuses the identity itself in one line, writing nothing (`may_review`, behind it, would not match it by
    name either: tests/unit/test_policy.py). The role's holders still answer."""
    run, paused = await _paused(client)
    [question] = paused.interrupts
    before = await event_count(client, run.run_id)
    handle = client.temporal.get_workflow_handle(run.run_id)
    raw = ResumeRequest(identity="role:finance", has_resume=True, resume_map={question.id: "approve"})
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("resume", raw)
    assert isinstance(refused.value.cause, ApplicationError)
    assert "identity 'role:finance' starts with 'role:'" in refused.value.cause.message
    assert await event_count(client, run.run_id) == before
    done = await run.resume("approve", identity="carol", roles=["finance"])
    assert done.status == "completed"
