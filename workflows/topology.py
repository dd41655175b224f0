"""Pure functions over a captured `GraphSpec`: which nodes run next, which pause.

Kept apart from the workflow class so the rules of the superstep model read in
one place and can be tested without a server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from hitl._protocol import GraphSpec
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


def interrupt_id(run_id: str, step: int, node: str, index: int) -> str:
    """Deterministic and unique per `interrupt()` call: run, step, node and call order."""
    return hashlib.sha256(f"{run_id}|{step}|{node}|{index}".encode()).hexdigest()[:16]
