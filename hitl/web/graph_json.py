"""A graph as LangGraph Server describes an assistant: `GET /assistants/{id}/graph` (its drawable
nodes and edges) and `GET /assistants/{id}/schemas` (JSON Schemas), in the shapes `langgraph dev` sends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic

from hitl.graph import CompiledGraph
from hitl.types import END, START

Json = dict[str, Any]


def xray_depth(raw: str | None) -> int:
    """LangGraph's `xray` query value: true/false, or how many levels of subgraphs to draw inside (>0)."""
    if raw in (None, "", "false", "False"):
        return 0
    if raw in ("true", "True"):
        return 1_000
    depth = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 5 else 0
    if depth <= 0:
        raise ValueError(f"xray '{raw[:20]}' is not accepted; send true, false or a positive number of levels")
    return depth


def drawable(graph: CompiledGraph, xray: int = 0) -> Json:
    """Nodes (`__start__`, each node as a runnable, `__end__`) and edges, conditional ones marked, a node
    with no edge out drawn into `__end__`; with `xray`, a subgraph node is drawn as its own nodes, named
    `node:inner`, to that many levels (listed after the graph's own, as LangGraph lists them)."""
    nodes: list[Json] = [runnable(START)]
    inside: list[Json] = []  # subgraphs' nodes, drawn after the graph's own (as LangGraph lists them)
    edges: list[Json] = []
    entries: dict[str, list[str]] = {}
    exits: dict[str, list[str]] = {}
    for name, node in graph.nodes.items():
        if node.subgraph is None or xray <= 0:
            nodes.append(runnable(name))
            continue
        inner = drawable(node.subgraph, xray - 1)
        inside += [runnable(f"{name}:{n['id']}") for n in inner["nodes"] if n["id"] not in (START, END)]
        for e in inner["edges"]:
            source, target = e["source"], e["target"]
            if source == START:
                entries.setdefault(name, []).append(f"{name}:{target}")
            elif target == END:
                exits.setdefault(name, []).append(f"{name}:{source}")
            else:
                edges.append({**e, "source": f"{name}:{source}", "target": f"{name}:{target}"})
    nodes += [{"id": END}, *inside]

    def link(source: str, target: str, conditional: bool = False) -> None:
        for s in exits.get(source, [source]):
            for t in entries.get(target, [target]):
                edges.append({"source": s, "target": t, **({"conditional": True} if conditional else {})})

    for edge in graph.edges:
        for source in edge.sources:
            link(source, edge.target)
    leading = {s for e in graph.edges for s in e.sources} | set(graph.branches)
    for name in graph.nodes:
        if name not in leading:  # a node with no edge out ends the graph (LangGraph draws that edge)
            link(name, END)
    for source, branches in graph.branches.items():
        for branch in branches:
            targets = list(branch.path_map.values()) if branch.path_map else [*graph.nodes, END]
            for target in dict.fromkeys(targets):
                link(source, target, conditional=True)
    return {"nodes": nodes, "edges": edges}


def runnable(name: str) -> Json:
    return {"id": name, "type": "runnable", "data": {"name": name}}


def schemas(graph: CompiledGraph) -> Json:
    """Input and output: the state schema as given (a run takes and returns the whole state); state:
    each key optional, with its reducer's value type, titled `<graph>_state`, as LangGraph builds it."""
    io = described(lambda: pydantic.TypeAdapter(graph.schema.schema).json_schema())
    fields: dict[str, Any] = {
        name: (c.annotation if described(c.adapter.json_schema) is not None else Any, None)
        for name, c in graph.schema.channels.items()
    }
    state = pydantic.create_model(f"{graph.name}_state", **fields).model_json_schema()
    return {
        "graph_id": graph.name,
        "input_schema": io,
        "output_schema": io,
        "state_schema": state,
        "config_schema": {},
        "context_schema": context_schema(graph.context_schema),
    }


def context_schema(schema: type | None) -> Json | None:
    """The graph's `context_schema` as JSON Schema (None without one, as LangGraph Server answers)."""
    return None if schema is None else described(lambda: pydantic.TypeAdapter(schema).json_schema())


def described(schema: Callable[[], Json]) -> Json | None:
    """A JSON Schema, or None for a type pydantic cannot describe (LangGraph Server answers null too)."""
    try:
        return schema()
    except Exception:
        return None
