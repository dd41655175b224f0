"""hitl: LangGraph-style human-in-the-loop graphs, run durably on Temporal.

    from hitl import StateGraph, START, END, interrupt, Command

Build a graph exactly as with LangGraph; each node runs as a Temporal activity,
one deterministic workflow walks the graph, and a run can wait for a person for
days and survive restarts and deploys.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

from hitl._audit import AuditTrail
from hitl.types import (
    END,
    START,
    AnswerWith,
    AuditChainBroken,
    Checkpoint,
    Command,
    Decision,
    DecisionRejectedError,
    GraphValidationError,
    HitlError,
    Interrupt,
    InvalidInputError,
    InvalidUpdateError,
    KeyMismatchError,
    NoWorkerError,
    Queued,
    Quorum,
    Refusal,
    Remind,
    RunAlreadyExistsError,
    RunFailedError,
    RunNotFoundError,
    RunStatus,
    Send,
    StateSnapshot,
    UnknownGraphError,
    Vote,
    Widen,
)

if TYPE_CHECKING:
    from hitl.batch import BatchReport, BatchResult, Waiting
    from hitl.client import Client, PendingRun, Run, RunInfo, connect
    from hitl.graph import CompiledGraph, StateGraph
    from hitl.interrupt import DeadlineExceeded, interrupt
    from hitl.stream import RunEvent

# Loaded on first use: the workflow side imports hitl's pure modules (`hitl._protocol`,
# `hitl.types`, ...), and importing those must not pull in the client, pydantic or user code.
_LAZY = {
    "BatchReport": "hitl.batch",
    "BatchResult": "hitl.batch",
    "Waiting": "hitl.batch",
    "Client": "hitl.client",
    "PendingRun": "hitl.client",
    "Run": "hitl.client",
    "RunInfo": "hitl.client",
    "connect": "hitl.client",
    "CompiledGraph": "hitl.graph",
    "StateGraph": "hitl.graph",
    "DeadlineExceeded": "hitl.interrupt",
    "interrupt": "hitl.interrupt",
    "RunEvent": "hitl.stream",
}

__all__ = [
    "END",
    "START",
    "BatchReport",
    "BatchResult",
    "AnswerWith",
    "AuditChainBroken",
    "AuditTrail",
    "Checkpoint",
    "Client",
    "Command",
    "CompiledGraph",
    "Decision",
    "DeadlineExceeded",
    "DecisionRejectedError",
    "GraphValidationError",
    "HitlError",
    "Interrupt",
    "InvalidInputError",
    "InvalidUpdateError",
    "KeyMismatchError",
    "NoWorkerError",
    "PendingRun",
    "Queued",
    "Quorum",
    "Refusal",
    "Remind",
    "Run",
    "RunAlreadyExistsError",
    "RunEvent",
    "RunFailedError",
    "RunInfo",
    "RunNotFoundError",
    "RunStatus",
    "Send",
    "StateGraph",
    "StateSnapshot",
    "UnknownGraphError",
    "Waiting",
    "Vote",
    "Widen",
    "connect",
    "interrupt",
]


class _Package(ModuleType):
    """`hitl.interrupt` names both a submodule and the function users import. Importing the
    submodule (the worker does, and so does loading `DeadlineExceeded`) makes Python set the
    package attribute to the module; keep the function there instead, so `from hitl import
    interrupt` gives the function whatever was imported first."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, ModuleType) and _LAZY.get(name) == value.__name__ and hasattr(value, name):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # once loaded, a plain attribute
        return value
    raise AttributeError(f"module 'hitl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
