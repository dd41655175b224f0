"""The floor: the same scenarios hand-written as plain Temporal workflows."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

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
    """Waits for a decision, runs one activity, waits again: resume latency's floor."""

    def __init__(self) -> None:
        self.i = 0
        self.pending = 0
        self.done = False

    @workflow.run
    async def run(self, limit: int) -> int:
        while self.i < limit:
            await workflow.wait_condition(lambda: self.pending > 0)
            self.i = await workflow.execute_activity(step, self.i, **OPTIONS)
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


ACTIVITIES = [write_draft, publish, step]
WORKFLOWS = [PlainApproval, PlainStepper]
