"""The agent kit: ready-made agents, tools with human review, chat models and notify hooks.

    from hitl.prebuilt import create_agent, human_review, tool_node

As `langgraph.prebuilt` is to LangGraph: built on the public graph API (`StateGraph`,
`interrupt`), never below it. agent.py has `create_agent` and `human_review`; tools.py
tools and the reviewed tool node; chat_models.py the scripted and OpenAI-compatible models;
notify.py the `compile(notify=...)` hooks. Names load on first use, so importing one module
(the worker imports notify.py) does not import them all.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hitl.prebuilt.agent import AgentState, create_agent, human_review
    from hitl.prebuilt.tools import InterruptOnConfig, Tool, as_tools, tool, tool_node

_LAZY = {
    "AgentState": "hitl.prebuilt.agent",
    "create_agent": "hitl.prebuilt.agent",
    "human_review": "hitl.prebuilt.agent",
    "InterruptOnConfig": "hitl.prebuilt.tools",
    "Tool": "hitl.prebuilt.tools",
    "as_tools": "hitl.prebuilt.tools",
    "tool": "hitl.prebuilt.tools",
    "tool_node": "hitl.prebuilt.tools",
}

__all__ = ["AgentState", "InterruptOnConfig", "Tool", "as_tools", "create_agent", "human_review", "tool", "tool_node"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hitl.prebuilt' has no attribute {name!r}")
