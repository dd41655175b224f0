"""What many tests share: running the CLI, waiting for runs, counting history
events, a worker in a subprocess, an encrypting client. Import from here, never
from another test module (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import temporalio.client
from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

import hitl
from hitl.cli.servers import STICKY_ENV
from hitl.client.serving import list_workers
from hitl.payloads.codec import EncryptionCodec
from hitl.server import DevServer, free_port
from hitl.worker import workflow_runner
from hitl.workflows import GraphWorkflow

__all__ = [
    "ROOT",
    "TASK_QUEUE",
    "Result",
    "WorkerProcess",
    "cli",
    "encrypted_client",
    "event_count",
    "free_port",
    "one_line_error",
    "new_namespace",
    "start_dev_server",
    "wait_for",
]

ROOT = Path(__file__).resolve().parent.parent
TASK_QUEUE = "hitl-tests"
"""The task queue of the session's in-process worker (the `client` fixture)."""


async def wait_for(run: hitl.Run, *statuses: str, timeout: float = 30) -> hitl.StateSnapshot:
    """Wait until the run settles, and check it settled as one of `statuses`."""
    snapshot = await run.wait(timeout=timeout)
    assert snapshot.status in statuses, f"run {run.run_id} is {snapshot.status}, wanted {statuses}"
    return snapshot


async def subgraph_run_id(client: hitl.Client, run_id: str) -> str:
    """The id of the subgraph's run a run started last (from its history, so also once that run ended): hitl
    gives it a nonce no one can guess (`PARENT.node.step~NONCE`)."""
    started = [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_id
        async for e in client.temporal.get_workflow_handle(run_id).fetch_history_events()
        if e.HasField("start_child_workflow_execution_initiated_event_attributes")
    ]
    return started[-1]


async def event_count(client: hitl.Client, run_id: str) -> int:
    handle = client.temporal.get_workflow_handle(run_id)
    return len([e async for e in handle.fetch_history_events()])


TEST_SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=OFF")
"""The tests' dev servers write their SQLite without waiting for the disk (their data outlive a server's
restart, not a power cut): the servers are about half the suite's CPU, and this takes ~40% off theirs."""


def start_dev_server(data_dir: Path, attempts: int = 3) -> DevServer:
    """A dev server on free ports, started (retrying a port another process took first)."""
    return DevServer.on_free_ports(data_dir, attempts, sqlite_pragmas=TEST_SQLITE_PRAGMAS)


async def new_namespace(address: str, name: str) -> str:
    """Register namespace `name` (plus a nonce) on the dev server at `address`, with hitl's search attributes, and
    return its name. A test module whose searches read every run listed (a thread search on metadata or values
    reads each run's state) works in a namespace of its own: it then lists its own runs, not every run its
    process started before it, so its time does not grow with its place in the schedule."""
    from google.protobuf.duration_pb2 import Duration
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
    from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest

    from hitl.protocol.wire import OPTIONAL_SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTES

    namespace = f"{name}-{free_port()}"
    temporal = await temporalio.client.Client.connect(address)
    await temporal.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=Duration(seconds=86_400))
    )
    attributes = {k.name: k.indexed_value_type for k in (*SEARCH_ATTRIBUTES, *OPTIONAL_SEARCH_ATTRIBUTES)}
    await temporal.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace=namespace, search_attributes=attributes)
    )
    return namespace


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


SUBPROCESS_COMMANDS = frozenset({"dev", "worker", "serve"})
"""Commands `cli` always runs as a real process: they serve (signals, ports, Temporal's runtime metrics)."""


async def cli(
    client: hitl.Client,
    *args: str,
    env: dict[str, str] | None = None,
    graphs: tuple[str, ...] = ("tests.graphs", "examples"),
    task_queue: str = TASK_QUEUE,
    process: bool = False,
) -> Result:
    """`hitl ARGS` against the client's server, without blocking the in-process worker.

    It runs `hitl.cli.main(argv)` in a thread of this process, with the environment `python starter.py ARGS`
    would get, and captures its stdout, stderr and exit code: what a newcomer's `python starter.py ARGS`
    prints and returns, without a new interpreter's ~1 CPU-second of start and imports. `process=True` (and
    always the serving commands, SUBPROCESS_COMMANDS) runs `python starter.py ARGS` as a subprocess: for what
    only a real process shows (the entry script, its exit, its terminal encoding).
    """
    address = client.temporal.service_client.config.target_host
    argv = [*args, "--address", address, "--task-queue", task_queue, *(("--graphs", *graphs) if graphs else ())]
    extra = {"PYTHONPATH": str(ROOT), "HITL_IDENTITY": "cli-user", **(env or {})}
    if not process and not SUBPROCESS_COMMANDS.intersection(args):
        return await _in_process(argv, extra)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "starter.py"),
        *argv,
        cwd=ROOT,
        env={**os.environ, **extra},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return Result(proc.returncode or 0, out.decode(), err.decode())


class _ByThread(io.TextIOBase):
    """sys.stdout or sys.stderr while in-process commands run: what a command's thread writes goes to its own
    buffer, what any other thread writes (the event loop's worker, pytest) to the stream this one replaced."""

    def __init__(self, replaced: TextIO) -> None:
        self.replaced = replaced
        self.buffers: dict[int, io.StringIO] = {}

    def _target(self) -> TextIO:
        return self.buffers.get(threading.get_ident(), self.replaced)

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return threading.get_ident() not in self.buffers and self.replaced.isatty()


@dataclass
class _Shared:
    """What in-process commands running side by side (asyncio.gather) share: the process's environment and
    streams, set while any runs and put back when the last ends."""

    running: int = 0
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    before: dict[str, str | None] = dataclasses.field(default_factory=dict)
    streams: tuple[_ByThread, _ByThread] | None = None


_shared = _Shared()


async def _in_process(argv: list[str], env: dict[str, str]) -> Result:
    """`hitl.cli.main(argv)` in a thread, with `env` set and its output captured (see `cli`)."""
    from hitl.cli import main

    for key, value in env.items():
        if key in _shared.env:
            held = _shared.env[key]
            assert held == value, f"in-process commands side by side set {key}={held!r} and {value!r}: process=True"
        else:
            _shared.env[key], _shared.before[key] = value, os.environ.get(key)
            os.environ[key] = value
    if _shared.running == 0:
        _shared.streams = _ByThread(sys.stdout), _ByThread(sys.stderr)
        sys.stdout, sys.stderr = _shared.streams
    _shared.running += 1
    out, err = _shared.streams or (_ByThread(sys.stdout), _ByThread(sys.stderr))

    def run() -> Result:
        me = threading.get_ident()
        out.buffers[me], err.buffers[me] = io.StringIO(), io.StringIO()
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's --help, or a usage error after its one line
            code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
        except BaseException:  # what an uncaught exception does to a process: a traceback, exit 1
            traceback.print_exc(file=err.buffers[me])
            code = 1
        return Result(code, out.buffers.pop(me).getvalue(), err.buffers.pop(me).getvalue())

    try:
        return await asyncio.to_thread(run)
    finally:
        _shared.running -= 1
        if _shared.running == 0:
            sys.stdout, sys.stderr = out.replaced, err.replaced
            for key, value in _shared.before.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            _shared.env.clear()
            _shared.before.clear()


def one_line_error(result: Result) -> str:
    """The CLI refused with exit 2 and exactly one `error: ...` line, no traceback."""
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, f"expected one error line, got: {result.err!r}"
    assert lines[0].startswith("error: ") and "Traceback" not in result.err
    return lines[0]


STICKY_SECONDS = "2"
"""How long a run's task waits on a killed worker's own queue before another worker may take it (Temporal's
default is 10 s; hitl.cli.servers.STICKY_ENV): the tests that kill a worker wait this long, not 10 s, for the
run to move on. A live worker that takes longer to poll costs one replay, never a result."""


class WorkerProcess:
    """`python worker.py tests.graphs` as a subprocess, so a test can SIGKILL it."""

    def __init__(self, address: str, task_queue: str) -> None:
        self.address, self.task_queue = address, task_queue
        self.proc: subprocess.Popen[bytes] | None = None

    def start(
        self, graphs_ref: str = "tests.graphs", env: dict[str, str] | None = None, flags: Sequence[str] = ()
    ) -> WorkerProcess:
        """`env` adds to the environment, e.g. HITL_ENCRYPTION_KEY for a worker with a key; `flags`
        go to `hitl worker` (e.g. its tuning flags)."""
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "worker.py"),
                graphs_ref,
                "--address",
                self.address,
                "--task-queue",
                self.task_queue,
                *flags,
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), STICKY_ENV: STICKY_SECONDS, **(env or {})},
            start_new_session=True,
        )
        return self

    async def polling(self, client: hitl.Client, timeout: float = 60) -> str:
        """Wait until this worker process polls its task queue, and return its Temporal identity. A decision sent
        before that may find no live worker (hitl gives a worker that has not polled yet 5 s, which a process still
        importing under load can miss): a test that starts a worker and then needs it waits here."""
        assert self.proc is not None, "start() the worker first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for w in await list_workers(client.temporal, self.task_queue):
                if w.identity.startswith(f"{self.proc.pid}@") and w.live:
                    return w.identity
            if self.proc.poll() is not None:
                raise AssertionError(f"worker {self.proc.pid} exited with {self.proc.returncode} before it polled")
            await asyncio.sleep(0.1)
        raise AssertionError(f"worker {self.proc.pid} never polled {self.task_queue} within {timeout} s")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


async def encrypted_client(
    client: hitl.Client, keys: dict[str, bytes], current: str, queue: str, *, identity: str
) -> hitl.Client:
    """A client on `queue` whose payloads are encrypted with `keys` (`current` for new ones)."""
    from tests import graphs

    converter = dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(keys, current))
    temporal = await temporalio.client.Client.connect(
        client.temporal.service_client.config.target_host, data_converter=converter
    )
    return hitl.Client(temporal, task_queue=queue, graphs=graphs.GRAPHS, identity=identity)


async def assert_replays(client: hitl.Client, run_id: str) -> None:
    """A history written while workers died mid-task replays on the code that wrote it, as a worker
    with no cached copy replays it for the next query or decision."""
    history = await client.temporal.get_workflow_handle(run_id).fetch_history()
    result = await Replayer(
        workflows=[GraphWorkflow], data_converter=pydantic_data_converter, workflow_runner=workflow_runner()
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{result.replay_failure}\n{await history_outline(client, run_id)}"


async def history_outline(client: hitl.Client, run_id: str) -> str:
    """The run's events as `id type` lines, for a failure's message: CI keeps the log, not the server."""
    events = client.temporal.get_workflow_handle(run_id).fetch_history_events()
    return "\n".join([f"{e.event_id} {EventType.Name(e.event_type)}" async for e in events])
