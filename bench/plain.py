"""The floor: the same scenarios hand-written as plain Temporal workflows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from hitl.protocol.wire import PENDING_NODES, STATUS, WAITING_SINCE

OPTIONS = {"start_to_close_timeout": timedelta(seconds=30)}


@activity.defn(name="plain.write_draft")
async def write_draft(topic: str) -> str:
    return f"A short announcement about {topic}."


@activity.defn(name="plain.publish")
async def publish(draft: str) -> str:
    return "published"


@activity.defn(name="plain.step")
async def step(i: int) -> int:
    return i + 1


class AwaitsSignal:
    """The hand-written way to wait for a person: a signal sets the decision, a query tells if we wait."""

    def __init__(self) -> None:
        self.decision: str | None = None
        self.waiting = False

    async def decided(self) -> str:
        self.waiting = True
        await workflow.wait_condition(lambda: self.decision is not None)
        self.waiting = False
        assert self.decision is not None
        return self.decision

    @workflow.signal
    def decide(self, decision: str) -> None:
        self.decision = decision

    @workflow.query
    def is_waiting(self) -> bool:
        return self.waiting


@workflow.defn(name="plain.Approval")
class PlainApproval(AwaitsSignal):
    """draft -> wait for a signal -> publish."""

    @workflow.run
    async def run(self, topic: str) -> dict:
        draft = await workflow.execute_activity(write_draft, topic, **OPTIONS)
        decision = await self.decided()
        status = await workflow.execute_activity(publish, draft, **OPTIONS) if decision == "approve" else "rejected"
        return {"topic": topic, "draft": draft, "status": status}


@workflow.defn(name="plain.Stepper")
class PlainStepper:
    """Waits for a decision, runs `per_answer` activities, waits again: resume latency's floor.

    `per_answer=2` is what interrupt() does after an answer: the asking step runs again, then the
    next step runs (and asks again)."""

    def __init__(self) -> None:
        self.i = 0
        self.pending = 0
        self.done = False

    @workflow.run
    async def run(self, limit: int, per_answer: int = 1) -> int:
        while self.i < limit:
            await workflow.wait_condition(lambda: self.pending > 0)
            for _ in range(per_answer):
                after = await workflow.execute_activity(step, self.i, **OPTIONS)
            self.i = after
            self.pending -= 1
        self.done = True
        return self.i

    @workflow.update
    async def decide(self, value: str) -> int:
        """Like hitl's resume(wait=True): returns once the run waits again."""
        target = self.i + 1
        self.pending += 1
        await workflow.wait_condition(lambda: self.i >= target)
        return self.i


@activity.defn(name="plain.node")
async def node(state: dict) -> str:
    """A node that reads the state (`pad` stands for the keys it does not need) and writes one value."""
    return f"A short announcement about {state['topic']}." if "draft" not in state else "published"


@dataclass
class Extras:
    """What hitl does on top of the floor, each switchable, so a cost breakdown can add one at a time."""

    status: bool = False
    """Upsert HitlStatus at pause, resume and finish (what an inbox filters on)."""
    all_attributes: bool = False
    """Also HitlPendingNodes and HitlWaitingSince, as hitl upserts them."""
    memo: bool = False
    """Upsert a summary memo at each pause (what an inbox shows without a query)."""
    update: bool = False
    """The decision arrives as an update (the caller hears back), not a signal."""
    validator: bool = False
    """The update has a validator (a refused decision writes nothing)."""
    start_padding: int = 0
    """Bytes the starter sends besides the topic (hitl's GraphSpec); read by the bench, not the workflow."""
    node_input_padding: int = 0
    """Bytes carried in every activity input (hitl sends the state a node reads)."""
    rerun: bool = False
    """Run one more activity after the answer (interrupt() re-runs its node)."""
    ask: bool = False
    """Run one more activity before the wait (interrupt() asks from inside its node's run). With
    `rerun`, the workflow has the shape interrupt() gives a graph: the asking step runs, the run
    waits, the asking step runs again with the answer, the next step runs."""


@workflow.defn(name="plain.Careful")
class CarefulApproval:
    """The floor with any of `Extras` switched on: with update, validator and status it is
    what a careful Temporal user would write for an inbox (the second floor)."""

    def __init__(self) -> None:
        self.decision: str | None = None
        self.waiting = False

    @workflow.run
    async def run(self, topic: str, extras: Extras, spec: str) -> dict:
        """`spec` stands for hitl's GraphSpec: carried in the start input, never read."""
        pad = "x" * extras.node_input_padding
        draft = await workflow.execute_activity(node, {"topic": topic, "pad": pad}, **OPTIONS)
        state = {"topic": topic, "draft": draft, "pad": pad}
        if extras.ask:
            await workflow.execute_activity(node, state, **OPTIONS)
        self._mark(extras, "interrupted", pause=True)
        self.waiting = True
        await workflow.wait_condition(lambda: self.decision is not None)
        self.waiting = False
        self._mark(extras, "running")
        if extras.rerun:
            await workflow.execute_activity(node, state, **OPTIONS)
        status = await workflow.execute_activity(node, state, **OPTIONS)
        self._mark(extras, "completed")
        return {"topic": topic, "draft": draft, "status": status}

    def _mark(self, extras: Extras, status: str, pause: bool = False) -> None:
        if extras.status or extras.all_attributes:
            updates = [STATUS.value_set(status)]
            if extras.all_attributes:
                updates.append(PENDING_NODES.value_set(["review"] if pause else []))
                if pause:
                    updates.append(WAITING_SINCE.value_set(workflow.now()))
                else:
                    updates.append(WAITING_SINCE.value_unset())
            workflow.upsert_search_attributes(updates)
        if extras.memo and pause:
            workflow.upsert_memo({"hitl_pending": {"node": "review", "question": {"draft": "..."}}})

    @workflow.signal
    def decide(self, decision: str) -> None:
        self.decision = decision

    @workflow.update
    async def decide_update(self, decision: str) -> str:
        self.decision = decision
        return decision

    @decide_update.validator
    def _valid(self, decision: str) -> None:
        if not self.waiting or decision not in ("approve", "reject"):
            raise ValueError(f"cannot take {decision!r} now")

    @workflow.update(name="decide_unvalidated")
    async def decide_unvalidated(self, decision: str) -> str:
        self.decision = decision
        return decision

    @workflow.query
    def is_waiting(self) -> bool:
        return self.waiting


ACTIVITIES: list[Callable[..., Any]] = [write_draft, publish, step, node]
WORKFLOWS = [PlainApproval, PlainStepper, CarefulApproval]
