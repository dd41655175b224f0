"""Fixtures: one real Temporal dev server (SQLite) for the session, and a client
with an in-process worker serving `tests.graphs`. Nothing here mocks Temporal."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

import examples
import hitl
from hitl.server import DevServer
from tests import graphs, trust_graphs

# The web tests' `served` fixture (the app on uvicorn, against this session's server).
pytest_plugins = ["tests.web_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
TASK_QUEUE = "hitl-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    dev = DevServer(tmp_path_factory.mktemp("temporal"), port=free_port(), ui_port=free_port())
    dev.start()
    yield dev
    dev.stop()


@pytest_asyncio.fixture(scope="session")
async def client(server: DevServer) -> AsyncIterator[hitl.Client]:
    served = [*graphs.GRAPHS, *trust_graphs.GRAPHS, *examples.GRAPHS]
    c = await hitl.connect(server.address, task_queue=TASK_QUEUE, graphs=served, identity="tester")
    async with c.worker():
        yield c


async def wait_for(run: hitl.Run, *statuses: str, timeout: float = 30) -> hitl.StateSnapshot:
    """Wait until the run settles, and check it settled as one of `statuses`."""
    snapshot = await run.wait(timeout=timeout)
    assert snapshot.status in statuses, f"run {run.run_id} is {snapshot.status}, wanted {statuses}"
    return snapshot


async def event_count(client: hitl.Client, run_id: str) -> int:
    handle = client.temporal.get_workflow_handle(run_id)
    return len([e async for e in handle.fetch_history_events()])


class WorkerProcess:
    """`python worker.py tests.graphs` as a subprocess, so a test can SIGKILL it."""

    def __init__(self, address: str, task_queue: str) -> None:
        self.address, self.task_queue = address, task_queue
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, graphs_ref: str = "tests.graphs", env: dict[str, str] | None = None) -> WorkerProcess:
        """`env` adds to the environment, e.g. HITL_ENCRYPTION_KEY for a worker with a key."""
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "worker.py"),
                graphs_ref,
                "--address",
                self.address,
                "--task-queue",
                self.task_queue,
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def worker_process(server: DevServer) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(server.address, f"hitl-proc-{free_port()}")
    yield worker
    worker.kill()
