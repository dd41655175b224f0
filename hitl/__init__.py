"""hitl: LangGraph-style human-in-the-loop graphs, run durably on Temporal.

    from hitl import StateGraph, START, END, interrupt, Command

Build a graph exactly as with LangGraph; each node runs as a Temporal activity,
one deterministic workflow walks the graph, and a run can wait for a person for
days and survive restarts and deploys.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from hitl.protocol.audit import AuditTrail
from hitl.types import (
    END,
    START,
    AnswerWith,
    AuditChainBroken,
    CalledGraphFailed,
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
    Runtime,
    Send,
    StateSnapshot,
    UnknownGraphError,
    Vote,
    Widen,
)

if TYPE_CHECKING:
    from hitl._interrupt import DeadlineExceeded, interrupt
    from hitl.client.batch import BatchReport, BatchResult, Waiting
    from hitl.client.client import Client, PendingRun, Run, RunInfo, connect
    from hitl.client.stream import RunEvent
    from hitl.functional import TaskFailed, entrypoint, task
    from hitl.graph import CompiledGraph, StateGraph
    from hitl.runtime import get_runtime, get_stream_writer

# Loaded on first use: the workflow side imports hitl's pure modules (`hitl.protocol.wire`,
# `hitl.types`, ...), and importing those must not pull in the client, pydantic or user code.
_LAZY = {
    "BatchReport": "hitl.client.batch",
    "BatchResult": "hitl.client.batch",
    "Waiting": "hitl.client.batch",
    "Client": "hitl.client.client",
    "PendingRun": "hitl.client.client",
    "Run": "hitl.client.client",
    "RunInfo": "hitl.client.client",
    "connect": "hitl.client.client",
    "CompiledGraph": "hitl.graph",
    "StateGraph": "hitl.graph",
    "DeadlineExceeded": "hitl._interrupt",
    "interrupt": "hitl._interrupt",
    "RunEvent": "hitl.client.stream",
    "get_runtime": "hitl.runtime",
    "get_stream_writer": "hitl.runtime",
    "entrypoint": "hitl.functional",
    "task": "hitl.functional",
    "TaskFailed": "hitl.functional",
}

__all__ = [
    "CalledGraphFailed",
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
    "Runtime",
    "Send",
    "StateGraph",
    "StateSnapshot",
    "TaskFailed",
    "UnknownGraphError",
    "Waiting",
    "Vote",
    "Widen",
    "connect",
    "entrypoint",
    "get_runtime",
    "get_stream_writer",
    "interrupt",
    "task",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # once loaded, a plain attribute
        return value
    raise AttributeError(f"module 'hitl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
