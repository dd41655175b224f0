"""Which reader lists each served graph's runs must meet: computed once per app from its graphs.

Pure over the compiled graphs (no request, no client), so the app's context computes it at start and
the read scope (scope.py) looks it up per run.
"""

from __future__ import annotations

from collections.abc import Iterable

from hitl.graph import CompiledGraph


def rules(graphs: Iterable[CompiledGraph]) -> dict[str, list[list[str]]]:
    """The reader lists of every graph a served graph's run may belong to (the served graphs and the
    subgraphs nested in them), each to be met by whoever reads, starts or decides on its runs.

    A graph's runs are read by whoever its own `readers` allow, and every enclosing graph's (a subgraph's
    run is part of each run around it), and every nested subgraph's at any depth: a run shows its
    subgraphs' questions and results, and takes their answers, so a public parent never opens a
    private subgraph."""
    out: dict[str, list[list[str]]] = {}

    def own(graph: CompiledGraph) -> list[list[str]]:
        return [list(graph.readers)] if graph.readers else []

    def nested(graph: CompiledGraph) -> list[list[str]]:
        """The reader lists of `graph` and of every subgraph within it."""
        return own(graph) + [r for n in graph.nodes.values() if n.subgraph is not None for r in nested(n.subgraph)]

    def walk(graph: CompiledGraph, enclosing: list[list[str]]) -> None:
        lists = out.setdefault(graph.name, [])
        lists += [r for r in enclosing + nested(graph) if r not in lists]
        for node in graph.nodes.values():
            if node.subgraph is not None:
                walk(node.subgraph, enclosing + own(graph))

    for graph in graphs:
        walk(graph, [])
    return out
