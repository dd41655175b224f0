"""Determinism guard: recorded histories of every example (pauses, decisions,
edits, deadlines, subgraphs, continue-as-new) must replay on the current
workflow code. A failure here means a change would break runs in flight.
Refresh deliberately with `python -m tests.histories.record`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from hitl.worker import workflow_runner
from hitl.workflows import GraphWorkflow

FIXTURES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_there_are_fixtures_for_every_scenario() -> None:
    from tests.histories.record import SCENARIOS

    recorded = {p.name.rsplit("-", 1)[0] for p in FIXTURES}
    assert recorded == {s.__name__ for s in SCENARIOS}


@pytest.mark.parametrize("sandboxed", [False, True], ids=["as-workers-run-it", "strict-sandbox"])
@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
async def test_history_replays_on_current_code(path: Path, sandboxed: bool) -> None:
    """Workers run the workflow outside Temporal's sandbox (it only guards our own code,
    at a re-import per run); replaying every history inside the strict sandbox too is the
    determinism check that stands in for it: a clock, random or I/O call the workflow
    makes on any recorded path fails here."""
    data = json.loads(await asyncio.to_thread(path.read_text))
    history = WorkflowHistory.from_json(data["workflow_id"], data["history"])
    assert len(history.events) > 5
    # debug_mode: no deadlock detector. A workflow task that takes over 2 s of wall time is a worker's alarm,
    # not a determinism failure, and on a loaded machine the strict sandbox's first imports take that long.
    result = await Replayer(
        workflows=[GraphWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(sandboxed),
        debug_mode=True,
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
