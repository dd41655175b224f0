"""hitl's pytest plugin for users' graphs (hitl/testing.py), run as a user runs it: pytest in a subprocess,
in a directory of their own, with `pytest_plugins = ["hitl.testing"]` in its conftest."""

from __future__ import annotations

from pathlib import Path

import pytest
import temporalio.client

from hitl.server import DevServer

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "testing" / "test_expense.py"
CONFTEST = 'pytest_plugins = ["hitl.testing"]\n'
INI = "[pytest]\nasyncio_mode = auto\n"

ODD_CASES = """
from typing import TypedDict

import pytest

from hitl import START, StateGraph, interrupt


class S(TypedDict, total=False):
    answer: str


def ask(state: S) -> dict:
    return {"answer": interrupt("go?")}


def finish(state: S) -> dict:
    return {"answer": "none needed"}


def graph(name, node):
    b = StateGraph(S)
    b.add_node("n", node)
    b.add_edge(START, "n")
    return b.compile(name=name)


asks, finishes = graph("asks", ask), graph("finishes", finish)


@pytest.mark.hitl_graphs(finishes)
async def test_a_run_that_ends_when_a_pause_was_expected(hitl_test):
    run = await hitl_test.start("finishes", {})
    await run.until_paused()


@pytest.mark.hitl_graphs(asks)
async def test_a_run_left_waiting(hitl_test):
    run = await hitl_test.start("asks", {})
    await run.until_paused()
    print(f"LEFT={run.run_id}")


async def test_no_graphs(hitl_test):
    pass
"""


def hitl_state_from_history(history: temporalio.client.WorkflowHistory) -> str:
    """The run's closing failure message, read off its history (no worker needed)."""
    last = history.events[-1]
    return last.workflow_execution_failed_event_attributes.failure.message


def test_the_example_tests_pass_on_a_dev_server_the_plugin_starts(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No TEMPORAL_ADDRESS: the plugin starts a dev server for the test process (and stops it)."""
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".ini", pytest=INI)
    pytester.makepyfile(test_expense=EXAMPLE.read_text())
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    result = pytester.runpytest_subprocess("-q", "-p", "no:randomly", timeout=300)
    result.assert_outcomes(passed=4)


def test_what_a_run_did_instead_is_said_and_a_test_without_graphs_is_told_how(
    pytester: pytest.Pytester, server: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With TEMPORAL_ADDRESS the plugin uses that server; an unexpected end names the run, its state and where
    to look; a test without graphs is told how to give them."""
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".ini", pytest=INI)
    pytester.makepyfile(test_odd=ODD_CASES)
    monkeypatch.setenv("TEMPORAL_ADDRESS", server.address)
    result = pytester.runpytest_subprocess("-q", "-s", "-p", "no:randomly", timeout=300)
    result.assert_outcomes(passed=1, failed=1, errors=1)
    out = result.stdout.str()
    assert "was expected to pause for a person but is completed" in out
    assert "/namespaces/default/workflows/" in out  # where to look: the run in the Web UI
    assert "mark the test @pytest.mark.hitl_graphs(graph, ...)" in out


async def test_a_run_a_test_left_waiting_is_cancelled_when_it_ends(
    pytester: pytest.Pytester, server: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hitl

    pytester.makeconftest(CONFTEST)
    pytester.makefile(".ini", pytest=INI)
    pytester.makepyfile(test_odd=ODD_CASES)
    monkeypatch.setenv("TEMPORAL_ADDRESS", server.address)
    result = pytester.runpytest_subprocess("-q", "-s", "-p", "no:randomly", "-k", "left_waiting", timeout=300)
    result.assert_outcomes(passed=1)
    left = next(line.split("=", 1)[1] for line in result.stdout.lines if line.startswith("LEFT="))
    client = await hitl.connect(server.address)
    described = await client.temporal.get_workflow_handle(left).describe()  # its worker is gone with the test
    assert described.status is not None and described.status.name != "RUNNING", described.status
    state = hitl_state_from_history(await client.temporal.get_workflow_handle(left).fetch_history())
    assert "the test ended" in state, state
