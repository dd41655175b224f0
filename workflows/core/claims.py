"""Claim, release and delegate: who may answer a question changes, never what runs."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from hitl.protocol.policy import claim_until
from hitl.protocol.wire import ClaimRequest, RunState
from hitl.types import Interrupt
from hitl.workflows.core import records
from hitl.workflows.core.answers import replace_in
from hitl.workflows.core.effects import Effect, Reindex


def claim(run: RunState, req: ClaimRequest, target: Interrupt, now: datetime) -> list[Effect]:
    """Take, give back or hand on `target` (the checked request's question), recorded: the run stays paused,
    and who may decide is indexed again."""
    records.remember(run, req, now)
    if req.action == "release":
        claimed = dataclasses.replace(target, claimed_by=None, claimed_until=None)
    else:
        holder = req.to if req.action == "delegate" else req.identity
        claimed = dataclasses.replace(target, claimed_by=holder, claimed_until=claim_until(now, req.ttl_s))
    replace_in(next(t for t in run.tasks if target in t.interrupts), claimed)
    records.record(run, req.action, req, now, req.to, interrupt_id=target.id, node=target.node)
    return [Reindex()]
