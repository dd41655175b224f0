"""LangGraph's own server, `langgraph dev` (langgraph-cli[inmem]), offline, on a free port, for one session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from hitl.server import free_port

HERE = Path(__file__).parent
SOURCE = (HERE / "hil_graphs.py.txt").read_text()
LANGGRAPH_IMPORT = "from langgraph.graph import StateGraph, START, END; from langgraph.types import Send, interrupt"
HITL_IMPORT = "from hitl import StateGraph, START, END, Send, interrupt"
GRAPHS = ("approval", "sign_off", "gated", "nested", "with_notes", "two_questions", "mapped")
"""The graphs the module defines, served under these names by both servers."""

OFFLINE_ENV = {
    "LANGSMITH_TRACING": "false",  # no traces to LangSmith
    "LANGCHAIN_TRACING_V2": "false",
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",  # the CLI's usage ping
    "LANGGRAPH_NO_VERSION_CHECK": "true",  # langgraph-api's PyPI look-up for a newer version at start
}
"""What `langgraph dev` needs to make no outside call. Its metadata beacon runs only with a license or
control-plane key, which the environment below drops."""
DROPPED_ENV = (
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "LANGGRAPH_CLOUD_LICENSE_KEY",
    "LANGSMITH_CONTROL_PLANE_API_KEY",
)
START_TIMEOUT = 60.0


def source_for(import_line: str) -> str:
    assert LANGGRAPH_IMPORT in SOURCE
    return SOURCE.replace(LANGGRAPH_IMPORT, import_line)


@contextmanager
def langgraph_dev(workdir: Path, source: str | None = None, graphs: tuple[str, ...] = GRAPHS) -> Iterator[str]:
    """Yield the URL of `langgraph dev` serving hil_graphs.py.txt as written (LangGraph's imports), or
    `source` (a module's text) defining `graphs`."""
    (workdir / "hil_graphs.py").write_text(source_for(LANGGRAPH_IMPORT) if source is None else source)
    config = {"dependencies": ["."], "graphs": {g: f"./hil_graphs.py:{g}" for g in graphs}}
    (workdir / "langgraph.json").write_text(json.dumps(config))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV} | OFFLINE_ENV
    cli = shutil.which("langgraph", path=str(Path(sys.executable).parent)) or "langgraph"
    log = (workdir / "langgraph-dev.log").open("wb")
    process = subprocess.Popen(
        [cli, "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, workdir, graphs)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_ready(url: str, process: subprocess.Popen[bytes], workdir: Path, graphs: tuple[str, ...] = GRAPHS) -> None:
    """Until the server answers with the graphs loaded (its /ok answers before they are)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"langgraph dev exited: {(workdir / 'langgraph-dev.log').read_text()[-3000:]}")
        try:
            found = httpx.post(f"{url}/assistants/search", json={"limit": 10}, timeout=2).json()
            if {a["graph_id"] for a in found} >= set(graphs):
                return
        except (httpx.HTTPError, ValueError, TypeError, KeyError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"langgraph dev did not serve {graphs} in {START_TIMEOUT} s")
