"""Wire types are built by keyword and, where they are values, never changed in place.

A request rebuilt by hand that dropped a field once lost a decision (a subgraph's
answer lost the answerer's roles). Keyword-only construction makes a missing or
shifted field an error, and frozen values are derived with `dataclasses.replace`,
which keeps every field it is not told to change.
"""

from __future__ import annotations

import dataclasses
import inspect
from datetime import datetime, timezone
from types import ModuleType

import pytest

from hitl import types
from hitl.protocol import wire as _protocol

STATE = {_protocol.RunState, _protocol.PendingTask}
"""The run's own state (workflows/graph_workflow.py changes it as the run goes): keyword-only, not frozen."""


def _dataclasses(module: ModuleType) -> list[type]:
    return [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__
    ]


WIRE = _dataclasses(_protocol) + _dataclasses(types)
POSITIONAL = {types.Send, types.Quorum, types.Remind, types.Widen, types.AnswerWith}
"""Built by users as LangGraph's is, `Send("node", arg)`: positional on purpose (two fields, both required).
So are a question's policies, `Quorum(2, of=[...])`, `Remind(after)`: their first fields are required."""


def test_the_walk_finds_the_wire_types() -> None:
    names = {c.__name__ for c in WIRE}
    assert {"ResumeRequest", "RunInput", "GraphSpec", "RunState", "Interrupt", "Command", "StateSnapshot"} <= names


@pytest.mark.parametrize("cls", [c for c in WIRE if c not in POSITIONAL], ids=lambda c: c.__name__)
def test_every_field_is_keyword_only(cls: type) -> None:
    positional = [f.name for f in dataclasses.fields(cls) if not f.kw_only]
    assert not positional, f"{cls.__name__} takes {positional} by position; declare @dataclass(kw_only=True)"


@pytest.mark.parametrize("cls", [c for c in WIRE if c not in STATE], ids=lambda c: c.__name__)
def test_values_are_frozen(cls: type) -> None:
    assert cls.__dataclass_params__.frozen, f"{cls.__name__} is a value; declare @dataclass(frozen=True, kw_only=True)"  # type: ignore[attr-defined]


def test_a_positional_or_partial_rebuild_is_an_error() -> None:
    from hitl.protocol.wire import ResumeRequest

    with pytest.raises(TypeError):
        ResumeRequest("alice")  # type: ignore[call-arg]
    req = ResumeRequest(identity="alice", roles=["finance"], resume_map={"i": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.roles = []  # type: ignore[misc]
    derived = dataclasses.replace(req, resume_map={"j": 2})
    assert derived.roles == ["finance"] and derived.identity == "alice"


def test_an_older_carry_decodes_into_the_run_state() -> None:
    """What a run handed over before RunState existed (`Carry`, with `skip_before`) is read as the new state."""
    from temporalio.contrib.pydantic import pydantic_data_converter

    from hitl.protocol.wire import Phase, RunState

    old = {
        "values": {"i": 1},
        "step": 3,
        "next": ["a"],
        "tasks": [{"node": "a", "resumes": ["ok"], "result": None, "interrupts": [], "defaults": {}}],
        "barriers": {},
        "checkpoints": [],
        "decisions": [],
        "unrecorded": [],
        "skip_before": True,
        "created_at": "2026-01-01T00:00:00Z",
        "generation": 2,
    }
    payload = pydantic_data_converter.payload_converter.to_payloads([old])
    state = pydantic_data_converter.payload_converter.from_payloads(payload, [RunState])[0]
    assert isinstance(state, RunState)
    assert (state.phase, state.step, state.generation) == (Phase.RESUMED, 3, 2)
    assert state.tasks[0].resumes == ["ok"] and state.created_at == datetime(2026, 1, 1, tzinfo=timezone.utc)
    carried = state.carried()
    assert (carried.skip_before, carried.generation) == (True, 3), "older workers read the carry alike"
