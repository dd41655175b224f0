"""Fixtures: one real Temporal dev server (SQLite) for the session, and a client
with an in-process worker serving every test graph (`tests.graphs.SERVED`).
Nothing here mocks Temporal.

The server starts only for tests that ask for it (`server`, `client`, `served`,
`worker_process`, directly or through another fixture); those tests are marked
`server`, so `pytest -m "not server"` (or `pytest tests/unit`) runs the fast
tier without one. Shared helpers live in tests/helpers.py.

Under pytest-xdist (`scripts/test.sh` runs `-n 4 --dist loadfile`) every worker
process is a session of its own: its own dev server on free ports, its own
in-process worker and web app. Task queues, run ids and search attributes never
meet across workers, and a file's tests all run in one worker, in order, so
module fixtures and a module's state work as in a plain `pytest` run.
"""

from __future__ import annotations

import resource
import signal
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

import hitl
from hitl.server import DevServer, free_port
from tests.helpers import TASK_QUEUE, WorkerProcess, new_namespace, start_dev_server

# The web tests' `served` fixture (the app on uvicorn, against this session's server), and hitl's own pytest
# plugin for users' graphs (`hitl_test`; its `hitl_server` is this session's server, below).
pytest_plugins = ["tests.web_fixtures", "hitl.testing"]


def pytest_configure(config: pytest.Config) -> None:
    """Give Ctrl-C back its default handler if this process was started ignoring it.

    A non-interactive shell starts a background job (`pytest &`, `bash .ci/run &`) with SIGINT
    ignored, and every process the suite spawns inherits that, so the tests that press Ctrl-C on
    `hitl dev` or `hitl watch` would wait for an exit that never comes (Python keeps a SIGINT
    ignored at its start ignored, as a program started that way should).
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--file-durations",
        type=int,
        default=0,
        metavar="N",
        help="list the N slowest test files (first start to last end, CPU used, the process that ran them): "
        "with -n, a file runs whole in one process, so the suite ends no sooner than its slowest file",
    )


_files: dict[str, list[float | str]] = {}
"""Per test file: [first start, last stop, process, CPU seconds] (see pytest_terminal_summary)."""

_cpu_seen = [0.0]
"""The CPU time this process (and the subprocesses it has waited for) had used at its last test report."""


def _cpu() -> float:
    own, waited = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime


def pytest_collection_finish(session: pytest.Session) -> None:
    _cpu_seen[0] = _cpu()  # a process's start and collection go to no file


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Each report carries the CPU seconds used since the one before (the in-process worker and web app, the
    subprocesses ended meanwhile; not the dev server's), so --file-durations can sum them by file."""
    outcome = yield
    now = _cpu()
    outcome.get_result().user_properties.append(("cpu", now - _cpu_seen[0]))  # type: ignore[attr-defined]
    _cpu_seen[0] = now


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    node = getattr(report, "node", None)  # the xdist worker that sent the report, in the controlling process
    worker = str(getattr(getattr(node, "gateway", None), "id", "main"))
    seen = _files.setdefault(report.nodeid.split("::")[0], [report.start, report.stop, worker, 0.0])
    seen[0], seen[1] = min(float(seen[0]), report.start), max(float(seen[1]), report.stop)
    seen[3] = float(seen[3]) + sum(v for k, v in report.user_properties if k == "cpu" and isinstance(v, float))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """With --file-durations=N: where the time went, by file, and when each ran (seconds from the first)."""
    shown = int(config.getoption("file_durations") or 0)
    if not shown or not _files:
        return
    t0 = min(float(v[0]) for v in _files.values())
    terminalreporter.write_sep("=", f"slowest {shown} files")
    by_time = sorted(_files.items(), key=lambda kv: float(kv[1][0]) - float(kv[1][1]))
    for path, (start, stop, worker, cpu) in by_time[:shown]:
        span = float(stop) - float(start)
        terminalreporter.write_line(
            f"{span:7.1f}s {float(cpu):6.1f} CPU-s {worker:>5} {float(start) - t0:6.0f}-{float(stop) - t0:<6.0f} {path}"
        )
    total = sum(float(v[3]) for v in _files.values())
    terminalreporter.write_line(
        f"CPU-s of the test processes and the subprocesses they ended, all files: {total:.0f} (a process's last"
        " file also carries the CPU of its session's dev server, counted when that server stops)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the session's dev server (`-m "not server"` skips them)."""
    for item in items:
        if "server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.server)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    dev = start_dev_server(tmp_path_factory.mktemp("temporal"))
    yield dev
    dev.stop()


@pytest.fixture(scope="session")
def hitl_server(server: DevServer) -> str:
    """hitl.testing's server: this session's (no second dev server per process)."""
    return server.address


@pytest_asyncio.fixture(scope="session")
async def client(server: DevServer) -> AsyncIterator[hitl.Client]:
    from tests.graphs import SERVED

    c = await hitl.connect(server.address, task_queue=TASK_QUEUE, graphs=SERVED, identity="tester")
    async with c.worker():
        yield c


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def own_client(server: DevServer, request: pytest.FixtureRequest) -> AsyncIterator[hitl.Client]:
    """As `client`, in a namespace of the module's own, with a worker of its own: for a module whose searches
    read every run listed (tests.helpers.new_namespace). The module opts in by defining `client` (and `served`,
    `tests.web_fixtures.own_served`) as this one."""
    from tests.graphs import SERVED

    namespace = await new_namespace(server.address, request.module.__name__.rsplit(".", 1)[-1].replace("_", "-"))
    c = await hitl.connect(server.address, namespace=namespace, task_queue=TASK_QUEUE, graphs=SERVED, identity="tester")
    async with c.worker():
        yield c


@pytest.fixture
def worker_process(server: DevServer) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(server.address, f"hitl-proc-{free_port()}")
    yield worker
    worker.kill()
