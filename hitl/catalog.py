"""Which graphs a process knows by name: loaded from `module:attr` references.

The worker and the CLI load the same references (default: the bundled
examples; else `HITL_GRAPHS` or `--graphs`), so a name means the same graph on
both sides.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from hitl._text import split_names
from hitl.graph import CompiledGraph, StateGraph
from hitl.types import GraphValidationError, UnknownGraphError

DEFAULT_REFS = ["hitl.examples"]
"""The bundled example graphs: `examples/` in a checkout, installed as `hitl.examples`."""

ALIASES = {"examples": "hitl.examples"}
"""`--graphs examples` outside a checkout (where no top-level `examples` is installed) means the bundled ones."""


def refs_from_env() -> list[str]:
    return split_names(os.environ.get("HITL_GRAPHS"), on_spaces=True) or list(DEFAULT_REFS)


def load(refs: Iterable[str] | None = None) -> list[CompiledGraph]:
    """Import each `module` or `module:attr` and collect the compiled graphs it names."""
    graphs: dict[str, CompiledGraph] = {}
    for ref in refs if refs is not None else refs_from_env():
        module_name, _, attr = ref.partition(":")
        try:
            module = _import(module_name)
        except ImportError as e:
            raise UnknownGraphError(f"cannot import '{module_name}' for graphs '{ref}': {e}") from None
        if attr:
            if not hasattr(module, attr):
                raise UnknownGraphError(f"module '{module_name}' has no attribute '{attr}' (from '{ref}')")
            found = _graphs_in(getattr(module, attr), ref)
        else:
            found = _graphs_in(getattr(module, "GRAPHS", None) or list(vars(module).values()), ref, strict=False)
        for graph in found:
            if graph.name in graphs and graphs[graph.name] is not graph:
                raise GraphValidationError(
                    f"two graphs are named '{graph.name}' (from '{ref}'); give each compile(name=...) its own name"
                )
            graphs[graph.name] = graph
    return list(graphs.values())


_cache: dict[tuple[str, ...], dict[str, CompiledGraph]] = {}


def by_name(refs: Iterable[str] | None = None) -> dict[str, CompiledGraph]:
    key = tuple(refs if refs is not None else refs_from_env())
    if key not in _cache:
        _cache[key] = {g.name: g for g in load(key)}
    return _cache[key]


_served: list[CompiledGraph] = []


@contextmanager
def serving(graphs: Sequence[CompiledGraph]) -> Iterator[None]:
    """While a worker of this process serves `graphs`, they are known here by name too."""
    _served.extend(graphs)
    try:
        yield
    finally:
        for graph in graphs:
            _served.remove(graph)


def served() -> dict[str, CompiledGraph]:
    """Graphs served by workers running in this process (the newest worker's on a name clash)."""
    return {g.name: g for g in _served}


def lookup(graphs: dict[str, CompiledGraph], name: str) -> CompiledGraph:
    if name not in graphs:
        raise UnknownGraphError(
            f"unknown graph '{name}'; known graphs: {', '.join(sorted(graphs)) or 'none'} "
            "(load others with --graphs module:attr or HITL_GRAPHS)"
        )
    return graphs[name]


def _import(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name != module_name or module_name not in ALIASES:
            raise
        return importlib.import_module(ALIASES[module_name])


def _graphs_in(obj: Any, ref: str, strict: bool = True) -> list[CompiledGraph]:
    if isinstance(obj, CompiledGraph):
        return [obj]
    if isinstance(obj, StateGraph):
        raise GraphValidationError(f"'{ref}' is a StateGraph; call .compile(name=...) on it first")
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (list, tuple)):
        found = [g for g in obj if isinstance(g, CompiledGraph)]
        if found or not strict:
            return found
    raise GraphValidationError(f"'{ref}' is not a compiled graph or a list of them")
