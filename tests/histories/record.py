"""Record the Temporal histories the replay test guards: `python -m tests.histories.record [SCENARIO ...]`.

Name the scenarios to (re)record; the others' files stay as they are, so
histories recorded on older workflow code keep guarding the runs in flight.

Each scenario runs an example graph (or a test graph for a feature the examples
do not show) through its pauses and decisions on a fresh dev server, and saves
every Temporal run of it as JSON here. Re-record only on purpose: a workflow
change that makes the replay test fail would break runs already in flight
(guard such a change with `workflow.patched`, or drain old runs first).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import hitl
from hitl.protocol.wire import RUN_PATCHES
from hitl.server import DevServer, free_port
from tests.graphs import SERVED

HERE = Path(__file__).parent
REFUND = {"messages": [{"role": "user", "content": "Please refund order 42."}]}


async def approval(c: hitl.Client) -> str:
    run = await c.start("approval", {"topic": "tea"}, run_id="approval")
    await run.wait()
    await run.resume("approve", identity="alice")
    return run.run_id


async def edit_state(c: hitl.Client) -> str:
    run = await c.start("edit_state", {"topic": "tea"}, run_id="edit_state")
    await run.wait()
    await run.update_state({"draft": "edited"})
    await run.resume()
    return run.run_id


async def validate_input(c: hitl.Client) -> str:
    run = await c.start("validate_input", {"name": "Ada"}, run_id="validate_input")
    await run.wait()
    await run.resume("old")
    await run.resume(36)
    try:
        await run.resume(0)
    except hitl.DecisionRejectedError:
        pass
    await run.resume(36)
    return run.run_id


async def tool_review(c: hitl.Client) -> str:
    run = await c.start("tool_review", REFUND, run_id="tool_review")
    await run.wait()
    edit = {"type": "edit", "edited_action": {"args": {"order_id": 42, "amount": 12.5}}}
    await run.resume({"decisions": [edit, {"type": "reject", "message": "call instead"}]})
    return run.run_id


async def parallel_and_signal(c: hitl.Client) -> str:
    run = await c.start("parallel", {}, run_id="parallel")
    state = await run.wait()
    left = next(i for i in state.interrupts if i.node == "left")
    await run.resume(map={left.id: "L"})
    await run.send_resume("R")
    await run.result()
    return run.run_id


async def goto_and_edit_as_node(c: hitl.Client) -> str:
    run = await c.start("review_breaks", {}, run_id="breakpoints")
    await run.wait()
    await run.update_state({"draft": "d2"}, as_node="write")
    await run.resume()
    await run.resume(hitl.Command(update={"draft": "d3"}, goto="publish"))
    await run.result()
    return run.run_id


async def subgraph(c: hitl.Client) -> str:
    run = await c.start("parent", {"topic": "budgets"}, run_id="parent")
    await run.wait()
    await run.resume("yes")
    return run.run_id


async def parent_command(c: hitl.Client) -> str:
    """A subgraph's node answered on the parent returns Command(graph=Command.PARENT, goto=..., update=...): the
    subgraph's run ends with it as its result, the parent applies the update and goes to the node named."""
    run = await c.start("escalating", {"topic": "refunds"}, run_id="parent-command")
    await run.wait()
    await run.resume("escalate")
    return run.run_id


async def deadline(c: hitl.Client) -> str:
    run = await c.start("deadline_escalate", {}, run_id="deadline")
    await run.result()
    return run.run_id


async def continue_as_new(c: hitl.Client) -> str:
    run = await c.start("long_loop", {"i": 0, "limit": 250, "every": 100}, run_id="long_loop", max_history_events=120)
    state = await run.wait()
    while state.status == "interrupted":
        state = await run.resume("ok")
    return run.run_id


async def edit_reasks(c: hitl.Client) -> str:
    run = await c.start("payment", {}, run_id="edit_reasks")
    await run.wait()
    await run.update_state({"draft": "pay 2M"}, identity="alice")
    await run.resume("approve", identity="alice", request_id="r1")
    return run.run_id


async def guarded_signals_fork_cancel(c: hitl.Client) -> str:
    run = await c.start("slow_payment", {}, run_id="guarded")
    await run.send_resume("approve", identity="mallory")  # held, then refused at the pause
    await run.wait()
    await run.resume("approve", identity="alice")
    fork = await c.fork(run.run_id, 1, {"draft": "pay 1.1M"}, new_run_id="guarded-fork", identity="alice")
    await fork.wait()
    await fork.cancel("recorded", identity="alice")
    return run.run_id


async def parity(c: hitl.Client) -> str:
    """The LangGraph-parity paths: goto added to the paused step (with and without an answer),
    a dict of pending ids read as a map, and runs with nothing next ending instead of waiting."""
    run = await c.start("review", {}, run_id="parity")
    await run.wait()
    await run.resume(hitl.Command(resume="reject", goto="publish"))
    kept = await c.start("review", {}, run_id="parity-goto")
    await kept.wait()
    await kept.resume(goto="publish")
    await kept.resume("approve")
    both = await c.start("parallel", {}, run_id="parity-map")
    state = await both.wait()
    await both.resume({i.id: i.node for i in state.interrupts})
    ended = await c.start("review", {}, run_id="parity-end")
    await ended.wait()
    await ended.update_state({"log": ["approved by hand"]}, as_node="review")
    after = await c.start("chain", {}, run_id="parity-after", interrupt_after=["c"])
    await after.result()
    return run.run_id


async def send(c: hitl.Client) -> str:
    """Send: a map-reduce whose mapped tasks each ask (one answered by id, the rest by a map),
    a breakpoint before a node reached by Send, a node's Command(goto=[Send, ..., node]), and a
    subgraph mapping inside, whose questions a map answers (passed down in one signal)."""
    run = await c.start("send_review", {"subjects": ["cats", "dogs", "ants"]}, run_id="send")
    state = await run.wait()
    dogs = next(i.id for i in state.interrupts if i.value["subject"] == "dogs")
    state = await run.resume(map={dogs: "keep"})
    await run.resume({i.id: "drop" for i in state.interrupts})
    breaks = await c.start("send_breaks", {"subjects": ["cats", "dogs"]}, run_id="send-breaks")
    await breaks.wait()
    await breaks.resume()
    mixed = await c.start("send_mixed", {"subjects": ["cats", "dogs"]}, run_id="send-mixed")
    await mixed.result()
    team = await c.start("send_team", {"subjects": ["cats", "dogs", "ants"]}, run_id="send-team")
    state = await team.wait()
    ants = next(i.id for i in state.interrupts if i.value["subject"] == "ants")
    await team.resume(map={ants: "keep"})
    child = c.get_run("send-team.team.0")
    for _ in range(300):  # the subgraph reports its two questions again
        state = await team.get_state()
        if (await child.get_state()).decisions and state.status == "interrupted" and state.interrupts:
            break
        await asyncio.sleep(0.1)
    await team.resume({i.id: "drop" for i in state.interrupts})  # one signal down: the hitl-send patch


async def decision_turns(c: hitl.Client) -> str:
    """Continue-as-new with a question still pending (one of two answered), then two decisions racing
    for it (the second refused up front), and at the breakpoint an edit that runs a user reducer with a
    resume queued behind it (applied in its turn). The `turns` graph's reducer takes a retry per write."""
    run = await c.start("turns", {}, run_id="decision_turns", max_history_events=10)
    state = await run.wait()
    left = next(i for i in state.interrupts if i.node == "left")
    state = await run.resume(map={left.id: "L"})
    right = next(i for i in state.interrupts if i.node == "right")
    first = asyncio.ensure_future(run.resume(map={right.id: "R"}, update={"notes": ["racing"]}, identity="alice"))
    await asyncio.sleep(0.3)
    try:
        await run.resume(map={right.id: "B"}, identity="bob")
    except hitl.DecisionRejectedError:
        pass
    await first
    await run.wait()
    edit = asyncio.ensure_future(run.update_state({"notes": ["edited"]}, identity="alice"))
    await asyncio.sleep(0.3)
    await run.resume(identity="bob")
    await edit
    return run.run_id


async def declared_guard_cancel_race(c: hitl.Client) -> str:
    """A graph that declares its guard (`payment`), paused before its limited question by interrupt_before:
    a non-reviewer's goto refused, a plain continue; then a cancel and an answer racing for the question
    (the hitl-cancel-race patch: exactly one is applied, the other refused)."""
    run = await c.start("payment", {"draft": "pay 1M"}, run_id="declared_guard", interrupt_before=["approve"])
    await run.wait()
    try:
        await run.resume(goto="pay", identity="mallory")
    except hitl.DecisionRejectedError:
        pass
    await run.resume(identity="mallory")
    await asyncio.gather(
        run.cancel("duplicate", identity="alice"),
        run.resume("approve", identity="dave", roles=["finance"], wait=False),
        return_exceptions=True,
    )
    return run.run_id


async def answer_rollback(c: hitl.Client) -> str:
    """An answer that breaks the subgraph's node (a number for `note: str`) is put back in the subgraph's run
    and recorded in the parent's; a mistyped id is an answer put back too; the corrected answer completes."""
    run = await c.start("answer_note_parent", {}, run_id="answer_rollback")
    await run.wait()
    await run.resume(5, identity="alice")
    await run.resume({"deadbeefdeadbeef": "done"}, identity="alice")
    await run.resume("fine", identity="bob")
    return run.run_id


async def audit(c: hitl.Client) -> str:
    """The decision chain (records only, no patch): an edit with its JSON Patch, an answer, what ran after
    it, continue-as-new carrying the chain, and a fork continuing it."""
    run = await c.start("review", {}, run_id="audit", max_history_events=40)
    await run.wait()
    await run.update_state({"draft": "d2"}, identity="editor")
    await run.resume("approve", identity="approver")
    await run.result()
    fork = await c.fork(run.run_id, (await run.get_state()).step, new_run_id="audit-fork", identity="auditor")
    await fork.result()
    return run.run_id


async def quorum(c: hitl.Client) -> str:
    """Quorum questions (no patch: only questions asked with a quorum reach it): a vote that leaves the question open, one sent as a signal, a
    refused repeat, the closing vote; the first rejection winning; a quorum inside a subgraph."""
    run = await c.start("quorum_review", {"draft": "pay 1M"}, run_id="quorum")
    await run.wait()
    await run.resume("approve", identity="alice")
    await run.send_resume("approve", identity="alice", request_id="again")  # held, then refused
    await run.resume("approve", identity="bob")
    vetoed = await c.start("quorum_review", {}, run_id="quorum-veto")
    await vetoed.wait()
    await vetoed.resume("reject", identity="carol")
    nested = await c.start("quorum_parent", {}, run_id="quorum-nested")
    await nested.wait()
    await nested.resume("approve", identity="alice")
    await nested.resume("approve", identity="bob")
    await nested.result()
    await quorum_across_continue_as_new(c)
    return run.run_id


async def quorum_across_continue_as_new(c: hitl.Client) -> None:
    """Continue-as-new with a quorum question holding one vote and a claimed question pending; the claim
    runs out on the new history's timer, the second vote closes the quorum."""
    run = await c.start("quorum_pair", {}, run_id="quorum-long", max_history_events=8)
    state = await run.wait()
    ask = {i.node: i.id for i in state.interrupts}
    await run.resume(map={ask["counted"]: "approve"}, identity="alice")
    await run.claim(ask["held"], identity="bob", ttl=timedelta(seconds=2))
    await run.resume(map={ask["plain"]: "yes"}, identity="carol")
    await run.wait()
    await asyncio.sleep(3)
    await run.resume(map={ask["counted"]: "approve"}, identity="bob")
    await run.wait()
    await run.resume(map={ask["held"]: "paid"}, identity="alice")
    await run.result()


async def quorum_rollback(c: hitl.Client) -> str:
    """A closing vote that breaks its node (patch hitl-answer-rollback): every vote is put back, each recorded;
    the question is asked again with no votes and closes on two new ones."""
    run = await c.start("quorum_note", {}, run_id="quorum-rollback")
    await run.wait()
    await run.resume("ok", identity="alice")
    await run.resume(5, identity="bob")
    await run.resume("fine", identity="bob")
    await run.resume("ok", identity="alice")
    await run.result()
    return run.run_id


async def claims(c: hitl.Client) -> str:
    """Claims (no patch: only the claim update reaches it): claim, delegate to a role, release, a claim running out on its timer,
    then the answer."""
    run = await c.start("payment", {}, run_id="claims")
    await run.wait()
    await run.claim(identity="alice")
    await run.delegate("role:finance", identity="alice")
    await run.release(identity="carol", roles=["finance"])
    await run.claim(identity="alice", ttl=timedelta(seconds=1))
    await asyncio.sleep(2)
    await run.resume("approve", identity="carol", roles=["finance"])
    return run.run_id


async def claims_subgraph(c: hitl.Client) -> str:
    """A claim on a subgraph's question (no patch: only the claim update reaches it) kept while the
    subgraph's run reports the question again after each reminder of its ladder; the holder answers."""
    run = await c.start("ladder_parent", {}, run_id="claims-subgraph")
    await run.wait()
    await run.claim(identity="alice", ttl=timedelta(hours=1))
    await asyncio.sleep(2.5)
    await run.resume("approve", identity="alice")
    await run.result()
    return run.run_id


async def escalation(c: hitl.Client) -> str:
    """Escalation ladders (no patch: only questions with a ladder reach it): remind, widen, answer, each on its timer; and a widened
    reviewer answering."""
    run = await c.start("ladder", {}, run_id="escalation")
    await run.result()
    widened = await c.start("ladder_widen", {}, run_id="escalation-widen")
    await widened.wait()
    await asyncio.sleep(2.5)
    await widened.resume("approve", identity="dave", roles=["managers"])
    return run.run_id


async def subgraph_going_on(c: hitl.Client) -> str:
    """A subgraph's sibling questions answered while it runs one answer's task again: its end-of-pause report
    lists them (going_on), the parent keeps them pending and answers them; the subgraph holds the answer, pauses
    again with them (the parent does not offer them again), then applies it."""
    run = await c.start("send_team", {"subjects": ["cats", "dogs", "ants"]}, run_id="subgraph-going-on")
    state = await run.wait()
    asked = {i.value["subject"]: i.id for i in state.interrupts}
    await run.resume(map={asked["ants"]: "keep"})
    await run.resume(map={asked["cats"]: "drop", asked["dogs"]: "keep"})
    return run.run_id


async def started_patched(c: hitl.Client) -> str:
    """Runs that have every patch from their start (`RunInput.patches`), so no marker events: a plain
    approval, a decision sent as a signal (held), an answer rolled back in a subgraph and a corrected one
    (one decision down as a map), an edit that re-asks, goto added to the paused step, a run with nothing
    next ending, interrupt_after on the last node, and a cancel racing an answer."""
    run = await c.start("approval", {"topic": "tea"}, run_id="patched")
    await run.wait()
    await run.resume("approve", identity="alice")
    held = await c.start("approval", {"topic": "tea"}, run_id="patched-signal")
    await held.send_resume("approve", identity="alice")
    await held.result()
    rolled = await c.start("answer_note_parent", {}, run_id="patched-rollback")
    await rolled.wait()
    await rolled.resume(5, identity="alice")
    await rolled.resume("fine", identity="bob")
    edited = await c.start("payment", {}, run_id="patched-edit")
    await edited.wait()
    await edited.update_state({"draft": "pay 2M"}, identity="alice")
    await edited.resume("approve", identity="alice", request_id="r1")
    kept = await c.start("review", {}, run_id="patched-goto")
    await kept.wait()
    await kept.resume(goto="publish")
    await kept.resume("approve")
    ended = await c.start("review", {}, run_id="patched-end")
    await ended.wait()
    await ended.update_state({"log": ["approved by hand"]}, as_node="review")
    after = await c.start("chain", {}, run_id="patched-after", interrupt_after=["c"])
    await after.result()
    raced = await c.start("payment", {"draft": "pay 1M"}, run_id="patched-race", interrupt_before=["approve"])
    await raced.wait()
    await raced.resume(identity="mallory")
    await asyncio.gather(
        raced.cancel("duplicate", identity="alice"),
        raced.resume("approve", identity="dave", roles=["finance"], wait=False),
        return_exceptions=True,
    )
    try:
        await raced.result()
    except hitl.RunFailedError:
        pass  # the cancel won
    return run.run_id


async def changed_attributes(c: hitl.Client) -> str:
    """Search attribute upserts naming only what changed (patch hitl-changed-attributes, which new runs have
    from their start): an edit at a breakpoint spends none, the resume and the finish name fewer."""
    run = await c.start("approval", {"topic": "tea"}, run_id="changed_attributes", interrupt_before=["review"])
    await run.wait()
    await run.update_state({"draft": "edited by hand"}, identity="alice")
    await run.resume(identity="alice")
    await run.resume("approve", identity="alice")
    return run.run_id


async def local_rerun(c: hitl.Client) -> str:
    """Nodes run again after their answers (patch hitl-local-rerun, which new runs have from their start): as
    local activities when declared rerun="local" (one failing once after its answer, retried; one slow to ask),
    as an activity by default, and as activities when two declared local re-run at once (answered by one map)."""
    run = await c.start("reruns", {}, run_id="local_rerun")
    for node in ["quick", "plain", "slow"]:
        await run.wait()
        await run.resume(f"ok-{node}", identity="alice")
    state = await run.wait()
    await run.resume(map={i.id: f"ok-{i.node}" for i in state.interrupts}, identity="alice")
    return run.run_id


async def _slow_then_fast_by_marker(c: hitl.Client, graph: str, run_id: str) -> str:
    """A run of `graph` started as while a worker of the release before polls (it has every patch but
    hitl-local-rerun: the run lists the others from its start and takes that one by marker), answered "slow"
    (its node's re-run times out: rolled back), then "fast" (completes it)."""
    import hitl.client.client

    real = hitl.client.client.run_patches
    hitl.client.client.run_patches = lambda workers: [p for p in RUN_PATCHES if p != "hitl-local-rerun"]
    try:
        run = await c.start(graph, {}, run_id=run_id)
    finally:
        hitl.client.client.run_patches = real
    await run.wait()
    await run.resume("slow", identity="alice")
    await run.resume("fast", identity="alice")
    return run.run_id


async def local_rerun_by_marker(c: hitl.Client) -> str:
    """A node declared rerun="local" on such a run: it takes the patch by marker when it runs again."""
    return await _slow_then_fast_by_marker(c, "rerun_timeout", "local_rerun_by_marker")


async def local_timeout_by_marker(c: hitl.Client) -> str:
    """A local-activity node (local=True) timing out after an answer on such a run, before anything asked for the
    patch: the timeout arrives wrapped live and bare on replay, and both must roll the answer back."""
    return await _slow_then_fast_by_marker(c, "local_timeout", "local_timeout_by_marker")


async def edit_rollback(c: hitl.Client) -> str:
    """Changes of state put back when the node they sent to run again fails on them (patch hitl-edit-rollback):
    an edit that makes the asking node's question too large, then an update sent with an answer that does the
    same, then answers that go through."""
    run = await c.start("draft_review", {"draft": "short"}, run_id="edit_rollback")
    await run.wait()
    await run.update_state({"draft": "x" * 100_000}, identity="alice")
    await run.resume("ok", update={"draft": "y" * 100_000}, identity="alice")
    await run.resume("ok", identity="bob")
    await run.resume("yes", identity="bob")
    return run.run_id


async def subgraph_ids(c: hitl.Client) -> str:
    """A subgraph's run under an id no one else can start a run under (patch hitl-subgraph-ids, with
    hitl-child-failures, which new runs have from their start), answered from the parent."""
    run = await c.start("parent", {"topic": "ids"}, run_id="subgraph_ids")
    await run.wait()
    await run.resume("yes", identity="alice")
    return run.run_id


async def _signal_refused_by_marker(
    c: hitl.Client, run_id: str, patch: str, graph: str, bad: object, good: object
) -> str:
    """A run of `graph` started as while a worker without `patch` polls; a raw signal answering `bad` is
    refused when the run applies it (the patch taken by marker), then an update answers `good`."""
    import hitl.client.client
    from hitl.protocol.wire import ResumeRequest

    real = hitl.client.client.run_patches
    hitl.client.client.run_patches = lambda workers: [p for p in RUN_PATCHES if p != patch]
    try:
        run = await c.start(graph, {}, run_id=run_id)
    finally:
        hitl.client.client.run_patches = real
    [asked] = (await run.wait()).interrupts
    refused = ResumeRequest(identity="mallory", resume_map={asked.id: bad})
    await c.temporal.get_workflow_handle(run.run_id).signal("resume_signal", refused)
    for _ in range(100):  # the run refuses it when it applies it, at once: it is paused
        if (await run.get_state()).refused:
            break
        await asyncio.sleep(0.1)
    await run.resume(good, identity="alice")
    return run.run_id


async def finite_signal_by_marker(c: hitl.Client) -> str:
    """A question whose schema has a backtracking pattern (matched by RE2, also on replay under the sandbox):
    a raw signal answering NaN is refused under hitl-finite-signals, taken by marker."""
    import math

    return await _signal_refused_by_marker(
        c, "finite_signal_by_marker", "hitl-finite-signals", "patterned", math.nan, "aaaa"
    )


async def costly_signal_by_marker(c: hitl.Client) -> str:
    """A question whose small schema is exponential to check on a deep answer: a raw signal with such an
    answer is refused within the step budget under hitl-bounded-checks, taken by marker."""
    deep: object = "x"
    for _ in range(60):
        deep = [deep]
    return await _signal_refused_by_marker(c, "costly_signal_by_marker", "hitl-bounded-checks", "nested", deep, [[7]])


async def _local_race(c: hitl.Client, run_id: str, without: str | None) -> str:
    """`payment_local` (started as while a worker without patch `without` polls, if given): dave's approval is
    applied while alice's cancel reaches Temporal (forced with the trust tests' gates); the cancel is refused
    while `pay` runs, and the run completes. A refused cancel writes nothing: what the history guards is the
    run keeping the approval's claim through `pay` (by marker, for a run without the patch from its start)."""
    import threading

    import hitl.client.client
    from tests.trust_graphs import AFTER_ANSWER, GATES

    draft = f"pay 1M {run_id}"
    approve, pay = GATES[("approve", draft)], GATES[("pay", draft)] = threading.Event(), threading.Event()
    real = hitl.client.client.run_patches
    if without is not None:
        hitl.client.client.run_patches = lambda workers: [p for p in RUN_PATCHES if p != without]
    try:
        run = await c.start("payment_local", {"draft": draft}, run_id=run_id)
    finally:
        hitl.client.client.run_patches = real
    await run.wait()
    resume = asyncio.create_task(run.resume("approve", identity="dave", roles=["finance"], wait=False))
    while AFTER_ANSWER[draft] == 0:  # noqa: ASYNC110 (a recorder, polled by a thread's counter)
        await asyncio.sleep(0.05)
    cancel = asyncio.create_task(run.cancel("duplicate", identity="alice"))
    await asyncio.sleep(0.5)  # let the cancel reach Temporal while the approval's task is in flight
    approve.set()
    try:
        await cancel
    except hitl.DecisionRejectedError:
        pass
    pay.set()
    await resume
    return run.run_id


async def local_race(c: hitl.Client) -> str:
    """A cancel racing an approval applied with a local re-run (patch hitl-local-race, from the run's start)."""
    return await _local_race(c, "local_race", None)


async def local_race_by_marker(c: hitl.Client) -> str:
    """The same on a run started without hitl-local-race: it takes the patch by marker when `pay` starts."""
    return await _local_race(c, "local_race_by_marker", "hitl-local-race")


async def graph_call(c: hitl.Client) -> str:
    """A node calls a compiled graph (`sub.invoke()` inside it; no patch: only a node's call reaches it): the
    called run asks, answered on the caller; the node runs again on its values and asks a question of its own."""
    run = await c.start("call_then_ask", {"topic": "tea"}, run_id="graph-call")
    await run.wait()
    await run.resume("fine")
    await run.wait()
    await run.resume("me too")
    return run.run_id


async def functional(c: hitl.Client) -> str:
    """An entrypoint (`@entrypoint()`, no patch: only its body's `@task` calls reach it): a task runs as an
    activity of its own, the body asks, is answered, runs again from the top on the task's recorded result and
    waits on a second task."""
    run = await c.start("fn_review", {"topic": "tea"}, run_id="functional")
    await run.wait()
    await run.resume("yes")
    return run.run_id


SCENARIOS: list[Callable[[hitl.Client], Awaitable[str]]] = [
    approval,
    edit_state,
    validate_input,
    tool_review,
    parallel_and_signal,
    goto_and_edit_as_node,
    subgraph,
    deadline,
    continue_as_new,
    edit_reasks,
    guarded_signals_fork_cancel,
    parity,
    send,
    decision_turns,
    declared_guard_cancel_race,
    answer_rollback,
    audit,
    quorum,
    claims,
    escalation,
    claims_subgraph,
    quorum_rollback,
    subgraph_going_on,
    started_patched,
    changed_attributes,
    local_rerun,
    local_rerun_by_marker,
    local_timeout_by_marker,
    edit_rollback,
    subgraph_ids,
    finite_signal_by_marker,
    costly_signal_by_marker,
    local_race,
    local_race_by_marker,
    parent_command,
    graph_call,
    functional,
]


async def record(server: DevServer, names: list[str]) -> None:
    client = await hitl.connect(server.address, task_queue="record", graphs=SERVED, identity="recorder")
    chosen = [s for s in SCENARIOS if not names or s.__name__ in names]
    for scenario in chosen:
        for old in HERE.glob(f"{scenario.__name__}-*.json"):
            old.unlink()
    async with client.worker():
        for scenario in chosen:
            run_id = await scenario(client)
            try:
                await client.get_run(run_id).result()
            except hitl.RunFailedError:
                pass  # a cancelled run is recorded as it ended
            ids = [run_id]
            async for w in client.temporal.list_workflows(f'WorkflowId STARTS_WITH "{run_id}"'):
                if w.id not in ids:
                    ids.append(w.id)  # subgraph runs
            n = 0
            for workflow_id in ids:
                async for w in client.temporal.list_workflows(f'WorkflowId = "{workflow_id}"'):
                    history = await client.temporal.get_workflow_handle(workflow_id, run_id=w.run_id).fetch_history()
                    n += 1
                    path = HERE / f"{scenario.__name__}-{n}.json"
                    path.write_text(
                        json.dumps({"workflow_id": workflow_id, "history": json.loads(history.to_json())}, indent=1)
                    )
            print(f"recorded {scenario.__name__}: {n} run(s)", flush=True)


def main() -> None:
    names = sys.argv[1:]
    unknown = sorted(set(names) - {s.__name__ for s in SCENARIOS})
    if unknown:
        sys.exit(f"error: unknown scenario(s) {unknown}; scenarios are {[s.__name__ for s in SCENARIOS]}")
    with tempfile.TemporaryDirectory() as data, DevServer(data, port=free_port(), ui_port=free_port()) as server:
        asyncio.run(record(server, names))


if __name__ == "__main__":
    main()
