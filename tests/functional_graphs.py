"""Entrypoints of the functional API (`from hitl import entrypoint, task`) served by the session's worker, so the
CLI, the HTTP API, quorums and deadlines reach them as any graph (tests/test_functional.py). Never rename one:
recorded histories name them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from temporalio.common import RetryPolicy
from typing_extensions import TypedDict

from hitl import END, START, CompiledGraph, Quorum, StateGraph, Widen, entrypoint, interrupt, task


@task
def draft(topic: str) -> str:
    return f"A short note about {topic}."


@task
def publish(text: str) -> str:
    return f"published: {text}"


@entrypoint()
def fn_review(inputs: dict[str, Any]) -> dict[str, Any]:
    """A draft written by a task, a person's verdict, then a task publishing it: the draft task runs once."""
    text = draft(inputs["topic"]).result()
    verdict = interrupt({"draft": text, "question": "Publish this draft?"}, schema=Literal["yes", "no"])
    if verdict == "yes":
        return {"status": publish(text).result()}
    return {"status": "rejected"}


@entrypoint()
def fn_quorum(topic: str) -> dict[str, Any]:
    """Two different people must approve the task's draft."""
    text = draft(topic).result()
    votes = interrupt({"draft": text}, quorum=Quorum(2, veto=["reject"]))
    return {"votes": [[v.identity, v.value] for v in votes], "text": text}


@entrypoint()
def fn_deadline(topic: str) -> dict[str, Any]:
    """Nobody answers in time: the default does."""
    text = draft(topic).result()
    answer = interrupt({"draft": text}, timeout=timedelta(seconds=1), default="auto-approved")
    return {"answer": answer, "status": publish(text).result()}


@entrypoint()
def fn_claimed(topic: str) -> dict[str, Any]:
    """Only legal may answer, until the question is widened to the boss after 2 s; one of legal may hold it."""
    text = draft(topic).result()
    answer = interrupt({"draft": text}, reviewers=["role:legal"], escalate=[Widen(timedelta(seconds=2), ["boss"])])
    return {"answer": answer, "status": publish(text).result()}


ATTEMPTS: dict[str, int] = {}


@task(retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=100)))
def flaky(key: str) -> str:
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] < 2:
        raise RuntimeError("not yet")
    return f"ok on attempt {ATTEMPTS[key]}"


@entrypoint()
def fn_flaky(key: str) -> str:
    """A task failing once: its retry policy runs it again, and the body gets the second attempt's result."""
    return flaky(key).result()


@task
def ask_inside(x: int) -> int:
    return interrupt({"x": x})  # refused: a task cannot pause


@entrypoint()
def fn_asks_in_task(x: int) -> int:
    return ask_inside(x).result()


class Topic(TypedDict, total=False):
    topic: str
    status: str


def write_and_publish(state: Topic) -> Topic:
    """A plain graph's node calling tasks: they run as in an entrypoint."""
    text = draft(state["topic"]).result()
    verdict = interrupt({"draft": text})
    return {"status": publish(text).result() if verdict == "yes" else "rejected"}


_builder = StateGraph(Topic).add_node(write_and_publish).add_edge(START, "write_and_publish")
task_in_node = _builder.add_edge("write_and_publish", END).compile(name="task_in_node")

GRAPHS: list[CompiledGraph] = [fn_review, fn_quorum, fn_deadline, fn_asks_in_task, task_in_node, fn_flaky, fn_claimed]
