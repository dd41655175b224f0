"""Laying out a step's tasks and moving on after it: what the core keeps of a node's `@task` calls."""

from __future__ import annotations

from hitl.protocol.wire import Answered, TaskOutcome
from hitl.workflows.core import steps
from tests.unit.core.builders import ask, task


def test_an_entrypoint_s_ended_tasks_go_to_its_next_run_in_call_order_and_its_answers_stand() -> None:
    body = task("flow")
    body.answered = [Answered(interrupt=ask("q1"), identity="ada")]
    steps.tasks_ended(body, [TaskOutcome(value=6), TaskOutcome(value=8)])
    steps.tasks_ended(body, [TaskOutcome(error="ValueError: no 3")])
    assert body.done == [TaskOutcome(value=6), TaskOutcome(value=8), TaskOutcome(error="ValueError: no 3")]
    assert body.answered == []  # they led the body to run its tasks: a later failure does not put them back
