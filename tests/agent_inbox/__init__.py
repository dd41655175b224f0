"""A graph written for Agent Inbox (graph.py.txt), loaded as written (LangGraph's imports) or with only its
import line swapped for hitl's, so the same source runs on both."""

from __future__ import annotations

import types
from pathlib import Path

from tests.compat import load_source

SOURCE = (Path(__file__).parent / "graph.py.txt").read_text()
LANGGRAPH_IMPORT = "from langgraph.graph import StateGraph, START, END; from langgraph.types import interrupt"
HITL_IMPORT = "from hitl import StateGraph, START, END, interrupt"


def load(import_line: str, name: str) -> types.ModuleType:
    """The graph module with `import_line` in place of LangGraph's (registered, so its annotations resolve)."""
    return load_source(SOURCE, {LANGGRAPH_IMPORT: import_line}, name)
