"""Applying a checked decision to the run: answers and votes (passed down to a subgraph's run when the question
is its), a state update and a goto sent with them, an edit (as a node, or withdrawing the questions under it),
a claim, a cancel.

Each runs in the decision's turn (`turns.take_turn`), after its checks, and returns True when it moved the run
on. The rules are the core's; what they await (a write through the reducers, a router, a subgraph's signal) is
the workflow's, reached through `Deciding`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from hitl.protocol import topology
    from hitl.protocol.patches import CANCEL_RACE, CHILD_MAPS, EDIT_REASKS, GOTO_ADDS, NOTHING_NEXT_ENDS
    from hitl.protocol.wire import (
        CancelRequest,
        ClaimRequest,
        GraphSpec,
        Phase,
        Request,
        ResumeRequest,
        Route,
        RunState,
        Undo,
        UpdateStateRequest,
    )
    from hitl.types import END, Decision, DecisionKind, Interrupt
    from hitl.workflows import calls, checks
    from hitl.workflows.core import answers, claims, lifecycle, records, rollback, steps
    from hitl.workflows.core.effects import Effect
    from hitl.workflows.execution import Execution
    from hitl.workflows.failures import StepFailed


class Deciding(Protocol):
    """What applying a decision needs of the workflow: the run, this execution, and its Temporal side."""

    state: RunState
    live: Execution
    spec: GraphSpec

    def _patched(self, patch_id: str) -> bool: ...

    def _view(self) -> checks.RunView: ...

    async def _write(self, writes: list[dict[str, Any]]) -> None: ...

    async def _route(self, node: str) -> list[Route]: ...

    async def _signal_child(self, node: str, child_id: str, req: ResumeRequest) -> None: ...

    def _checkpoint(
        self,
        source: records.CheckpointSource,
        writes: dict[str, Any] | None = None,
        audit: list[Decision] | None = None,
    ) -> None: ...

    def _publish(self, ended_in: Phase | None = None) -> None: ...

    def _reindex(self) -> None: ...

    def _carry_out(self, effects: list[Effect]) -> None: ...


async def resume(wf: Deciding, req: ResumeRequest) -> bool:
    """Apply a checked decision: answers, state update, goto. The run counts as released from the
    start (so later decisions are checked against that) and goes on once this one is done."""
    run = wf.state
    now = workflow.now()
    paused = run.phase
    records.remember(run, req, now)
    if answers.only_votes(req, checks.answers(req, records.pending(wf.state)), records.pending(wf.state)):
        await _answer(wf, req, paused, now)  # the question waits for more people: the run stays paused
        wf._reindex()
        return False
    run.phase = Phase.RESUMED if paused in (Phase.BEFORE, Phase.ASKING) else Phase.RUNNING
    wf.live.released_by = f"{req.identity} at {records.when(now)}"
    wf.live.released_within_task = True
    try:
        await _answer(wf, req, paused, now)
    except StepFailed:
        run.phase, wf.live.released_by, wf.live.released_within_task = paused, None, False
        raise
    wf.live.paused_at = None
    return True


async def edit(wf: Deciding, req: UpdateStateRequest) -> bool:
    """Apply a person's edit. Returns True when the run moves on: the edit withdrew a question
    the node asks again, or it left nothing to run (as_node leading to END), so the run ends."""
    run = wf.state
    now = workflow.now()
    records.remember(run, req, now)
    before = dict(run.values)
    await wf._write([req.values])
    patch = records.edit_patch(before, run.values, req.values)
    _record(wf, "update_state", req, req.values, node=req.as_node, patch=patch)
    reask = ended = False
    if req.as_node is not None:
        ended = await _edit_as_node(wf, req, req.as_node, now)
    elif _own_questions(wf) and wf._patched(EDIT_REASKS):
        # What a reviewer approves must be what runs: the node asks again about the edited state.
        asked = {steps.key(t): list(t.interrupts) for t in run.tasks if id(t) not in wf.live.children and t.interrupts}
        run.undo = _undo_of("edit", before, req.values, req, list(asked), asked)
        reason = f"withdrawn when {req.identity} edited the state under review at {records.when(now)}"
        lifecycle.withdraw(run, wf.live.children, f"{reason}; the node asked again")
        reask = True
    run.step += 1
    wf._checkpoint("update", writes={req.as_node or "__human__": req.values})
    if reask or ended:
        run.phase = Phase.RESUMED if reask else Phase.RUNNING
        wf.live.paused_at = None
    else:
        wf._publish()
    return reask or ended


async def claim(wf: Deciding, req: ClaimRequest) -> bool:
    """Take, give back or hand on a question: who may answer changes, the run stays where it is."""
    effects = claims.claim(wf.state, req, checks.claim_target(wf._view(), req), workflow.now())
    wf.live.claim_changes += 1
    wf._carry_out(effects)
    return False


async def cancel(wf: Deciding, req: CancelRequest) -> bool:
    """Cancel the run (the run loop ends it); under CANCEL_RACE, decisions are then checked as to a cancelled
    run."""
    wf.live.cancelled_by = lifecycle.cancel(wf.state, req, workflow.now())
    wf.live.cancel_final = wf._patched(CANCEL_RACE)
    return True


async def _answer(wf: Deciding, req: ResumeRequest, paused: Phase, now: datetime) -> None:
    run = wf.state
    answered = checks.answers(req, records.pending(wf.state))
    await _give(wf, req, answered, now)
    if paused is not Phase.ASKING and not req.update and not req.goto:
        _record(wf, "resume", req, node=",".join(topology.step_names(run.next, run.sends)))
    if req.update:
        await _answer_update(wf, req, req.update, answered, now)
    if req.goto:
        _answer_goto(wf, req, req.goto, now)
    if req.update or req.goto:
        run.step += 1
        wf._checkpoint("update", writes={"__human__": req.update or {}})


async def _give(wf: Deciding, req: ResumeRequest, answered: dict[str, Any], now: datetime) -> None:
    """Each answer to its question (`answers.give`); a subgraph's question's answer goes down to its run."""
    down: dict[str, dict[str, Any]] = {}  # answers for each subgraph's run
    update = workflow.current_update_info()
    for interrupt_id, value in answered.items():
        given = answers.give(
            wf.state,
            req,
            (interrupt_id, value),
            now,
            subgraphs=wf.live.children,
            patched=wf._patched,
            update_id=update.id if update is not None else None,
            recorded_at=workflow.now(),
        )
        child_id = wf.live.children.get(id(given.task))
        if child_id is None:
            continue
        if given.closed:
            wf.live.passed_down.add(interrupt_id)
        if wf._patched(CHILD_MAPS):  # a vote too goes down: the subgraph counts it as well
            down.setdefault(child_id, {})[interrupt_id] = value
        else:  # the question is the subgraph's: pass the answer down to its run, with who gave it
            await wf._signal_child(given.task.node, child_id, calls.passed_down(req, {interrupt_id: value}))
    for child_id, given_down in down.items():  # one decision reaches a subgraph as one decision
        node = next(t.node for t in wf.state.tasks if wf.live.children.get(id(t)) == child_id)
        await wf._signal_child(node, child_id, calls.passed_down(req, given_down))


async def _answer_update(
    wf: Deciding, req: ResumeRequest, update: dict[str, Any], answered: dict[str, Any], now: datetime
) -> None:
    """The state update sent with a decision: applied, recorded, and (without a goto) the votes on the old
    state withdrawn. What the answers' nodes run on is put back with them should they fail."""
    run = wf.state
    before = dict(run.values)
    rerun = [
        steps.key(t)
        for t in run.tasks
        if id(t) not in wf.live.children and any(a.interrupt.id in answered for a in t.answered)
    ]
    if rerun and not req.goto:
        run.undo = _undo_of("update", before, update, req, rerun)
    await wf._write([update])
    _record(wf, "update_state", req, update, patch=records.edit_patch(before, run.values, update))
    if not req.goto:  # a goto with an update withdraws the questions themselves (`_answer_goto`)
        answers.void_votes(run, req.identity, now, wf.live.children, workflow.now())


def _answer_goto(wf: Deciding, req: ResumeRequest, goto: list[str], now: datetime) -> None:
    run = wf.state
    if wf._patched(GOTO_ADDS):
        # As LangGraph: the named nodes join the paused step. A question still unanswered stays
        # pending, unless the decision also changed the state: then its node asks again about it.
        if req.update:
            reason = f"withdrawn when {req.identity} changed the state at {records.when(now)}; the node asked again"
            lifecycle.withdraw(run, wf.live.children, reason)
        run.next = topology.in_order(wf.spec, [*run.next, *goto])
    else:
        records.retire_all(run, f"dropped when {req.identity} sent the run to {goto} at {records.when(now)}")
        wf.live.drop_tasks(wf.state)
        run.next, run.sends = topology.in_order(wf.spec, goto), []
    _record(wf, "goto", req, goto)


async def _edit_as_node(wf: Deciding, req: UpdateStateRequest, node: str, now: datetime) -> bool:
    """The edit stands for `node`'s writes: the step is replaced by what that node leads to (paused before
    it). True when that is nothing to answer and nothing to run: the run ends."""
    run = wf.state
    as_end = node == END  # LangGraph's "mark as resolved": nothing follows, the run ends as it is
    routes = await wf._route(node) if not as_end and wf.spec.node(node).has_router else []
    routed, sends = topology.split_routes(routes)
    run.next = [] if as_end else topology.successors(wf.spec, [node], routed, run.barriers)
    records.retire_all(run, f"dropped when {req.identity} edited the state as node {node} at {records.when(now)}")
    wf.live.drop_tasks(wf.state)
    run.sends = sends
    run.phase = Phase.BEFORE
    return not run.next and not run.sends and wf._patched(NOTHING_NEXT_ENDS)


def _undo_of(
    kind: Literal["edit", "update"],
    before: dict[str, Any],
    written: dict[str, Any],
    req: ResumeRequest | UpdateStateRequest,
    tasks: list[str],
    asked: dict[str, list[Interrupt]] | None = None,
) -> Undo:
    """What putting back `req`'s change needs, should the nodes it sent to run again fail on it."""
    update = workflow.current_update_info()
    return rollback.undo_of(
        kind,
        before,
        written,
        identity=req.identity,
        request_id=req.request_id,
        update_id=update.id if update is not None else None,
        tasks=tasks,
        asked=asked,
    )


def _record(wf: Deciding, kind: DecisionKind, req: Request, value: Any = None, **fields: Any) -> None:
    records.record(wf.state, kind, req, workflow.now(), value, **fields)


def _own_questions(wf: Deciding) -> list[Interrupt]:
    """The run's own pending questions (not its subgraphs')."""
    return [i for t in wf.state.tasks if id(t) not in wf.live.children for i in t.interrupts]
