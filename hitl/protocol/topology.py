"""Pure functions over a captured `GraphSpec`: which nodes run next, which pause.

Kept apart from the workflow class so the rules of the superstep model read in
one place and can be tested without a server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from hitl.protocol.wire import SUBGRAPH_RUN_MARK, GraphSpec, Route, SendPacket
from hitl.types import START


def join_key(sources: list[str], target: str) -> str:
    return f"join:{'+'.join(sources)}:{target}"


def successors(
    spec: GraphSpec,
    finished: Iterable[str],
    routed: Iterable[str],
    barriers: dict[str, list[str]],
) -> list[str]:
    """The nodes triggered once `finished` nodes are done.

    `routed` are the targets their conditional edges and `Command(goto=...)`
    chose. Joins (`add_edge([a, b], c)`) remember in `barriers` which of their
    sources have finished, across steps, and fire once all have.
    """
    done = set(finished)
    triggered = set(routed)
    for edge in spec.edges:
        if len(edge.sources) == 1:
            if edge.sources[0] in done:
                triggered.add(edge.target)
            continue
        hits = [s for s in edge.sources if s in done]
        if not hits:
            continue
        key = join_key(edge.sources, edge.target)
        seen = set(barriers.get(key, [])) | set(hits)
        if seen >= set(edge.sources):
            triggered.add(edge.target)
            barriers.pop(key, None)
        else:
            barriers[key] = sorted(seen)
    return in_order(spec, triggered)


def entry_nodes(spec: GraphSpec, routed: Iterable[str]) -> list[str]:
    return successors(spec, [START], routed, {})


def in_order(spec: GraphSpec, names: Iterable[str]) -> list[str]:
    """Node names as LangGraph orders a step's tasks and applies their writes: sorted."""
    known = set(spec.node_names)
    return sorted(n for n in set(names) if n in known)


def matches(breakpoints: list[str], names: Iterable[str]) -> list[str]:
    """The names a breakpoint list (node names or "*") catches."""
    return [n for n in names if "*" in breakpoints or n in breakpoints]


def interrupt_id(run_id: str, step: int, node: str, index: int, push: int | None = None) -> str:
    """Deterministic and unique per `interrupt()` call: run, step, task and call order.

    A task made by a `Send` adds its place among the step's Sends (`push`), so
    parallel Sends to one node ask questions with ids of their own.
    """
    task = node if push is None else f"{node}|push:{push}"
    return hashlib.sha256(f"{run_id}|{step}|{task}|{index}".encode()).hexdigest()[:16]


def subgraph_run_id(parent: str, node: str, step: int, nonce: str) -> str:
    """The run id of a subgraph's run: readable (`PARENT.node.step`), then the reserved mark and a nonce from the
    parent run's own (deterministic) randomness. No start path takes the mark in a new id, and the nonce is
    unknown until the parent starts the subgraph: no one can start a run under this id first."""
    return f"{parent}.{node}.{step}{SUBGRAPH_RUN_MARK}{nonce}"


def call_run_id(parent: str, task: str, step: int, index: int, nonce: str) -> str:
    """The run id of the `index`-th graph a node's task (`task_key`) called at `step` (`subgraph.invoke()` inside
    the node): `PARENT.task.step.callINDEX`, then the reserved mark and a nonce, as `subgraph_run_id`."""
    return f"{parent}.{task}.{step}.call{index}{SUBGRAPH_RUN_MARK}{nonce}"


# ------------------------------------------------------------------ Send
#
# A step holds pull tasks (nodes triggered by edges, routers and goto: `next`, one per
# node, sorted) and push tasks (one per `Send`, in the order the Sends were made). As in
# LangGraph, pull tasks' writes apply first (node-name order), then push tasks' (Send
# order), and the next step's Sends are collected in that same order.


def split_routes(routes: Iterable[Route]) -> tuple[list[str], list[SendPacket]]:
    """A router's (or a node's) targets: node names for `successors`, Sends for the next step."""
    names: list[str] = []
    sends: list[SendPacket] = []
    for route in routes:
        if isinstance(route, SendPacket):
            sends.append(route)
        else:
            names.append(route)
    return names, sends


def task_key(node: str, push: int | None = None) -> str:
    """A task's name within its step: the node for a pull task, `node#i` for the i-th Send."""
    return node if push is None else f"{node}#{push}"


def step_keys(next_nodes: list[str], sends: list[SendPacket]) -> list[str]:
    """The tasks of a step in the order their writes apply: pull tasks, then Sends."""
    return [*next_nodes, *(task_key(s.node, i) for i, s in enumerate(sends))]


def step_names(next_nodes: list[str], sends: list[SendPacket], finished: Iterable[str] = ()) -> list[str]:
    """What `next` shows for a step (as LangGraph's: Send targets first, one entry per Send, then
    the other nodes), leaving out the tasks in `finished` (task keys)."""
    done = set(finished)
    pushed = [s.node for i, s in enumerate(sends) if task_key(s.node, i) not in done]
    return [*pushed, *(n for n in next_nodes if n not in done)]


def pulled(names: list[str], sends: list[SendPacket]) -> list[str]:
    """The inverse of `step_names` (nothing finished): the nodes of a step beside its Sends."""
    return list(names[len(sends) :])
