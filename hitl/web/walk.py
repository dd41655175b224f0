"""One run request's stream parts in order, walked from the run's events (and, with `stream_subgraphs`, from
its subgraphs' own runs), the same whether the stream is live or rejoined later (`hitl/web/events.py` numbers
them, so event `N` is the same part both times).

A subgraph runs as its own run (thread). Its parts come namespaced as LangGraph names them (`updates|node:id`),
read from the subgraph's run once its node has finished, just before the parent's parts for that node (hitl
learns what a node did when it finishes, subgraph or not). A subgraph paused on a question is seen through
the parent, which asks it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import hitl
from hitl.client.stream import ENDED, RunEvent
from hitl.web import parts, run_records

Error = tuple[None, dict[str, Any]]
"""An `error` part: not numbered, since a rejoin rebuilds it (the run's end) by itself."""


@dataclass(frozen=True)
class Subgraphs:
    """The parent's subgraph nodes (node -> the subgraph's name), and the run whose subgraphs they are."""

    run: hitl.Run
    nodes: dict[str, str]


async def request_parts(
    feed: parts.Parts, events: AsyncIterator[RunEvent], resuming: bool, subgraphs: Subgraphs | None = None
) -> AsyncIterator[parts.Part | Error]:
    """The request's parts until the run's next pause or its end: a resume's opening is the state its
    decision found and the pause it answers, then everything after its decision.

    A resume's events start at the checkpoint its decision answered, which earlier answers may share (a
    node asking twice records both answers in the checkpoint it makes once done; parallel questions are
    answered one at a time): whatever came before the request's own decision, those answers and the
    pauses they ended, is the opening's, so the request reports what its own decision set off. Its
    decision out of reach (an enqueued answer not applied yet), the opening ends at the pause the run
    makes now, or at its end."""
    yield "metadata", {"run_id": feed.run_id, "attempt": 1}
    state: RunEvent | None = None
    pause: RunEvent | None = None
    opening = resuming
    started = resuming
    try:
        async for event in events:
            if opening:
                if event.kind == "values":
                    state = event
                    continue
                if event.kind == "paused":
                    pause = event
                    if event.source == "decision":  # rebuilt from the decision that follows at once
                        continue
                elif event.kind == "decision" and not answers_for(feed, event):
                    continue  # an earlier request's decision, or an edit: still before this one's
                elif event.kind in ("node", "custom"):
                    continue  # the step that made the checkpoint answered; what the asking node wrote before
                opening = False
                for part in feed.opening(state, pause):
                    yield part
                if event.kind in ("paused", "decision"):
                    continue
            if event.kind == "decision":
                continue
            if not started and event.kind == "values" and event.source != "fork":  # a fork: what follows starts it
                started = True
                for part in feed.start(parts.given_input(event)):
                    yield part
            if subgraphs and event.kind == "node" and event.node in subgraphs.nodes:
                async for part in subgraph_parts(feed, subgraphs, event.node, event.step):
                    yield part
            for part in feed.of(event):
                yield part
            if event.kind in ("failed", "cancelled"):
                error = "RunFailed" if event.kind == "failed" else "RunCancelled"
                yield None, {"error": error, "message": event.error or f"run {event.run_id} {event.kind}"}
            if event.kind == "paused" or event.kind in ENDED:
                return
    finally:
        await events.aclose()  # type: ignore[attr-defined]


def answers_for(feed: parts.Parts, event: RunEvent) -> bool:
    """Whether a decision event is the request's own answer (or goto): it is the run `feed` streams."""
    d = event.decision
    return (
        d is not None
        and d.kind in run_records.RUN_KINDS
        and run_records.decision_run_id(feed.thread_id, d) == feed.run_id
    )


async def subgraph_parts(feed: parts.Parts, subgraphs: Subgraphs, node: str, step: int) -> AsyncIterator[parts.Part]:
    """The parts of the subgraph's run that `node` ran in `step`, namespaced `node:task id` as LangGraph does."""
    child_id = await subgraph_run_id(subgraphs.run, node, step - 1)
    if child_id is None:
        return
    child = subgraphs.run.client.get_run(child_id)
    namespace = f"{node}:{feed.task(node, step)}"
    inner = parts.Parts(feed.thread_id, subgraphs.nodes[node], feed.run_id, list(feed.modes), None)
    async for name, data in request_parts(inner, child.events(since=0), resuming=False):
        if name is not None and name != "metadata":
            yield f"{name}|{namespace}", data


async def subgraph_run_id(run: hitl.Run, node: str, step: int) -> str | None:
    """The run the parent started for subgraph `node` at `step` (its id ends in a nonce only the parent's
    history tells: `PARENT.node.step~NONCE`)."""
    prefix = f"{run.run_id}.{node}.{step}"
    found = None
    async for e in run.client.temporal.get_workflow_handle(run.run_id).fetch_history_events():
        if e.HasField("start_child_workflow_execution_initiated_event_attributes"):
            child = e.start_child_workflow_execution_initiated_event_attributes.workflow_id
            if child == prefix or child.startswith(prefix + "~"):
                found = child
    return found


def subgraph_nodes(graph: Any) -> dict[str, str]:
    """A compiled graph's subgraph nodes: node -> the subgraph's name."""
    return {name: n.subgraph.name for name, n in graph.nodes.items() if getattr(n, "subgraph", None) is not None}
