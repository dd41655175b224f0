"""The run's records: the decision log and its audit chain, checkpoints, refusals, retired questions.

Records are state only (no command), so what is kept here never changes how a run replays. Every record
is sealed into the run's hash chain as it is logged (hitl/protocol/audit.py).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Literal

from hitl.protocol import topology
from hitl.protocol.audit import diff as json_patch
from hitl.protocol.audit import seal as audit_seal
from hitl.protocol.limits import CHECKPOINT_VALUES_BYTES, KEEP_DECISIONS, PAGE_BYTES, clip, shorten
from hitl.protocol.row_memo import Card, memo_part
from hitl.protocol.wire import Notified, Phase, Request, RunInput, RunState, request_digest
from hitl.types import Checkpoint, Decision, DecisionKind, Interrupt, Refusal, Send, StateSnapshot

KEEP_CHECKPOINTS = 200
"""Checkpoints a run keeps in memory (and carries across continue-as-new, without their state copies)."""
KEEP_REFUSALS = 20
KEEP_REQUEST_IDS = 1000
KEEP_RETIRED = 200

CheckpointSource = Literal["input", "loop", "update", "fork"]


def when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def trim(records: dict[str, str], keep: int) -> None:
    """Drop the oldest entries of an insertion-ordered dict beyond `keep`."""
    while len(records) > keep:
        del records[next(iter(records))]


def pending(run: RunState) -> list[Interrupt]:
    """Every question the run waits on, its subgraphs' included."""
    return [i for t in run.tasks for i in t.interrupts]


def seal(run: RunState, decision: Decision) -> Decision:
    """Link a record into the run's hash chain (hitl/protocol/audit.py). Records only, no commands: so no patch,
    and a run from before the chain seals its records too when it replays."""
    sealed = audit_seal(decision, run.audit_seq, run.audit_head)
    run.audit_seq, run.audit_head = run.audit_seq + 1, sealed.hash
    return sealed


def log(run: RunState, decision: Decision) -> None:
    """Add a decision to the run's records (the newest few for `get_state`, all in the next checkpoint)."""
    decision = seal(run, decision)
    owes = decision.kind in ("resume", "update_state", "goto", "deadline")  # decisions about what runs
    run.audit_owed = run.audit_owed or (decision.hash is not None and owes)
    run.decisions.append(decision)
    del run.decisions[:-KEEP_DECISIONS]
    run.unrecorded.append(decision)


def record(run: RunState, kind: DecisionKind, req: Request, now: datetime, value: Any = None, **fields: Any) -> None:
    """Record a person's decision: who and which request (from `req`), when, at which step,
    and what (clipped for the records; the whole value stays in Temporal's history)."""
    log(
        run,
        Decision(
            kind=kind,
            identity=req.identity,
            at=now,
            step=run.step,
            value=clip(value),
            request_id=req.request_id,
            **fields,
        ),
    )


def note(
    run: RunState,
    kind: DecisionKind,
    identity: str,
    value: Any,
    where: tuple[str | None, str],
    now: datetime,
    request_id: str | None = None,
) -> None:
    """Record what happened to one question (`where`: its id and node) without a request of its own to name
    (a timer fired, an answer was put back): `record`'s twin, the value kept whole."""
    interrupt_id, node = where
    log(
        run,
        Decision(
            kind=kind,
            identity=identity,
            at=now,
            step=run.step,
            value=value,
            interrupt_id=interrupt_id,
            node=node,
            request_id=request_id,
        ),
    )


def notified(run: RunState, outcome: Notified | str | None, now: datetime) -> None:
    """Record what the notify hook sent at this pause (what it reported: hitl's email and Slack hooks do),
    or the line saying why it failed; a hook that reported nothing leaves no record."""
    if isinstance(outcome, str):
        value: Any = {"failed": outcome}
    elif outcome is not None and (outcome.sent or outcome.skipped):
        value = {"sent": outcome.sent, **({"already_sent": outcome.skipped} if outcome.skipped else {})}
    else:
        return
    log(run, Decision(kind="notify", identity="notify", at=now, step=run.step, value=clip(value)))


def executed(run: RunState, nodes: list[str], writes: dict[str, Any], now: datetime) -> list[Decision]:
    """The chain's record of what actually ran on what was decided: the step's nodes and writes."""
    if not run.audit_owed:
        return []
    run.audit_owed = False
    done = Decision(kind="executed", identity="run", at=now, step=run.step, value=clip(writes), node=",".join(nodes))
    return [seal(run, done)]


def edit_patch(before: dict[str, Any], after: dict[str, Any], written: dict[str, Any]) -> Any:
    """An edit as RFC 6902 JSON Patch over the keys it wrote (clipped for the record)."""
    old = {k: before[k] for k in written if k in before}
    new = {k: after[k] for k in written if k in after}
    return clip(json_patch(old, new))


def remember(run: RunState, req: Request, now: datetime) -> None:
    """Keep the request id with what it decided, so a reuse for another decision is refused."""
    if req.request_id:
        run.requests[req.request_id] = f"{request_digest(req)} {req.identity} at {when(now)}"
        trim(run.requests, KEEP_REQUEST_IDS)


def retire(run: RunState, interrupt_id: str, reason: str) -> None:
    """Remember why a question is no longer pending, to tell whoever answers it late."""
    run.retired[interrupt_id] = reason
    trim(run.retired, KEEP_RETIRED)


def retire_all(run: RunState, reason: str) -> None:
    for interrupt in pending(run):
        retire(run, interrupt.id, reason)


def refuse(
    run: RunState, identity: str, request_id: str | None, reason: str, now: datetime, *, rolled_back: bool = False
) -> None:
    """A decision not applied (a signal that did not fit) or put back: kept on `refused`, the newest few."""
    run.refused.append(
        Refusal(identity=identity, at=now, reason=reason, request_id=request_id, rolled_back=rolled_back)
    )
    del run.refused[:-KEEP_REFUSALS]


def put_back(
    run: RunState, node: str, who: tuple[str, str | None], asked: tuple[str, Any], line: str, why: str, now: datetime
) -> None:
    """One answer put back (`who`: identity and request id; `asked`: its question's id and the answer given):
    on `refused` (for `hitl state`, the inbox) and a `rollback` decision."""
    identity, request_id = who
    interrupt_id, given = asked
    refuse(run, identity, request_id, why, now, rolled_back=True)
    note(run, "rollback", identity, {"answer": given, "error": line}, (interrupt_id, node), now, request_id)


def guard_with(run: RunState, interrupts: list[Interrupt]) -> None:
    """A limited question guards the run from now on (see workflows/checks.py)."""
    for interrupt in interrupts:
        if interrupt.reviewers and interrupt.reviewers not in run.guard:
            run.guard.append(list(interrupt.reviewers))


def checkpoint(
    run: RunState,
    sizes: list[int],
    state_bytes: int,
    source: CheckpointSource,
    now: datetime,
    writes: dict[str, Any] | None = None,
    audit: list[Decision] | None = None,
) -> None:
    """Record the state after a step; older state copies give way to a memory budget. `sizes` holds each
    kept checkpoint's state size (this execution's, kept beside `run.checkpoints`); `state_bytes` the current."""
    run.checkpoints.append(
        Checkpoint(
            step=run.step,
            values=dict(run.values),
            next=topology.step_names(run.next, run.sends),
            sends=[Send(node=s.node, arg=s.arg) for s in run.sends],
            source=source,
            created_at=now,
            writes={k: clip(v) for k, v in writes.items()} if writes is not None else None,
            decisions=run.unrecorded,
            seq=run.checkpoints[-1].seq + 1 if run.checkpoints else 0,
            audit=audit or [],
            audit_head=run.audit_head,
        )
    )
    sizes.append(state_bytes)
    del run.checkpoints[:-KEEP_CHECKPOINTS]
    del sizes[:-KEEP_CHECKPOINTS]
    kept = 0
    for back in range(2, min(len(run.checkpoints), len(sizes)) + 1):
        older = run.checkpoints[-back]
        if older.values is None:
            continue
        kept += sizes[-back]
        if kept > CHECKPOINT_VALUES_BYTES:
            run.checkpoints[-back] = dataclasses.replace(older, values=None, sends=[])
    run.unrecorded = []


def pending_nodes(run: RunState, *, paused: bool) -> list[str]:
    """The nodes a run waits on, for its search attributes: those asking, else (paused at a breakpoint) the
    step's nodes; none while it runs."""
    asking = sorted({i.node for i in pending(run)})
    return asking or (list(dict.fromkeys(topology.step_names(run.next, run.sends))) if paused else [])


def summary(questions: list[Interrupt], pause: Phase, nodes: list[str]) -> str:
    """The one-line summary of a paused run (its memo): its questions, or the breakpoint it stopped at."""
    if questions:
        return "; ".join(shorten(i.value) if i.title is None and not i.summary else row_memo(i) for i in questions)
    return f"breakpoint {pause.value} {', '.join(nodes)}"


def row_memo(i: Interrupt) -> str:
    """A question carrying its inbox row (asked since hitl carries one; older questions have none and keep
    the value's short rendering, so recorded runs write the memo they always did)."""
    return memo_part(Card(i.title, dict(i.summary or {})))


def page(checkpoints: list[Checkpoint], sizes: list[int], before: int | None, limit: int | None) -> list[Checkpoint]:
    """Checkpoints newest first, older than seq `before`, at most `limit`, cut to fit one payload (`PAGE_BYTES`
    of state copies; `sizes` beside `checkpoints`). A page holds at least one checkpoint."""
    out: list[Checkpoint] = []
    budget = PAGE_BYTES
    for checkpoint, size in zip(reversed(checkpoints), reversed(sizes), strict=False):
        if before is not None and checkpoint.seq >= before:
            continue
        size = size if checkpoint.values is not None else 0
        if out and ((limit is not None and len(out) >= limit) or size > budget):
            break
        out.append(checkpoint)
        budget -= size
    return out


def still_to_run(run: RunState) -> list[str]:
    """The step's nodes that have yet to finish (as LangGraph's `next`): not the ones done while others wait."""
    done = [topology.task_key(t.node, t.push) for t in run.tasks if t.result is not None]
    return topology.step_names(run.next, run.sends, done)


def snapshot(
    run: RunState,
    *,
    run_id: str,
    graph: str,
    updated_at: datetime,
    paused_at: datetime | None,
    error: str | None,
) -> StateSnapshot:
    """The run as `get_state` shows it (the newest records only)."""
    return StateSnapshot(
        run_id=run_id,
        graph=graph,
        status=run.phase.status,
        values=run.values,
        next=still_to_run(run),
        step=run.step,
        interrupts=pending(run),
        created_at=run.created_at,
        updated_at=updated_at,
        paused_at=paused_at,
        breakpoint=run.phase.breakpoint,
        error=error,
        decisions=list(run.decisions),
        refused=list(run.refused),
        guarded_by=[list(g) for g in run.guard],
        audit_head=run.audit_head,
        held=len(run.held),
    )


def started_with(inp: RunInput, before: list[str], after: list[str]) -> RunInput:
    """What the run was started with, as `get_spec` shows it: graph and options (breakpoints as in force), its
    context, no input, no fork, no carry (a fork of the run, or its thread's next turn, is started from it)."""
    return RunInput(
        graph=inp.graph,
        input={},
        identity=inp.identity,
        interrupt_before=before,
        interrupt_after=after,
        search_attributes=inp.search_attributes,
        index_reviewers=inp.index_reviewers,
        requester=inp.requester,
        index_assigned=inp.index_assigned,
        context=inp.context,
    )
