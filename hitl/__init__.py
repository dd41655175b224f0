"""hitl: LangGraph-style human-in-the-loop graphs, run durably on Temporal.

    from hitl import StateGraph, START, END, interrupt, Command

Build a graph exactly as with LangGraph; each node runs as a Temporal activity,
one deterministic workflow walks the graph, and a run can wait for a person for
days and survive restarts and deploys.
"""

from hitl.client import Client, PendingRun, Run, RunInfo, connect
from hitl.graph import CompiledGraph, StateGraph
from hitl.interrupt import DeadlineExceeded, interrupt
from hitl.types import (
    END,
    START,
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
    Refusal,
    RunAlreadyExistsError,
    RunFailedError,
    RunNotFoundError,
    RunStatus,
    StateSnapshot,
    UnknownGraphError,
)

__all__ = [
    "END",
    "START",
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
    "Refusal",
    "Run",
    "RunAlreadyExistsError",
    "RunFailedError",
    "RunInfo",
    "RunNotFoundError",
    "RunStatus",
    "StateGraph",
    "StateSnapshot",
    "UnknownGraphError",
    "connect",
    "interrupt",
]
