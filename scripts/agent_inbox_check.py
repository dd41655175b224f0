"""LangChain's Agent Inbox, unchanged but for one local fix, driven in Debian's chromium against `hitl serve`.

Run by scripts/agent_inbox.sh (which skips when the source is absent). Steps: copy Agent Inbox's source to
a cache directory, apply scripts/agent-inbox.patch, `yarn install --ignore-engines` (the npm registry is
the only thing reached), start `next dev`; start a Temporal dev server, a worker serving
examples/email_review.py (asks with `human_review`, Agent Inbox's shape) and `hitl serve --cors-origin`
with a bearer token; then, in the browser, add the inbox in Agent Inbox's settings (hitl's URL, the token
as its API key) and list, open, accept, edit, respond, ignore and mark resolved, one run each, checking
each run's final status and values with hitl's Python client. Each step prints PASS or FAIL, and a FAIL
names the HTTP calls that failed in the browser's network log. Exit status 1 if any step failed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import hitl
from hitl.examples import email_review
from hitl.server import DevServer, free_port
from hitl.web.testing import launch_chromium

ROOT = Path(__file__).resolve().parent.parent
PATCH = ROOT / "scripts" / "agent-inbox.patch"
GRAPH = "email_review"
TOKEN = "agent-inbox-check-token"
QUEUE = "agent-inbox-check"
STEP_TIMEOUT = 30.0
EDITED_BODY = "Hello, see you on Monday."
RESPONSE = "Please call them instead."
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "accept": ("completed", {"outcome": "sent"}),
    "edit": ("completed", {"outcome": "sent", "body": EDITED_BODY}),
    "respond": ("completed", {"outcome": "not sent", "note": RESPONSE}),
    "ignore": ("completed", {"outcome": "ignored"}),
    "resolve": ("completed", {"outcome": None}),
}
"""Per step: the run's status and values (None: absent) once Agent Inbox has acted on it."""


def log(line: str) -> None:
    print(line, flush=True)


# ------------------------------------------------------------------ the app


def prepared(source: Path, cache: Path) -> Path:
    """Agent Inbox's source with the patch applied and its packages installed, kept under `cache` by the
    source's revision and the patch (a second run reuses it)."""
    is_git = (source / "HEAD").exists() and (source / "objects").exists()
    revision = (
        subprocess.run(
            ["git", "--git-dir", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        if is_git
        else hashlib.sha256((source / "yarn.lock").read_bytes() + (source / "package.json").read_bytes()).hexdigest()
    )
    key = hashlib.sha256(f"{source}:{revision}".encode() + PATCH.read_bytes()).hexdigest()[:16]
    app = cache / key
    if (app / ".hitl-ready").exists():
        log(f"Agent Inbox {revision[:12]}: reusing {app}")
        return app
    shutil.rmtree(app, ignore_errors=True)
    app.mkdir(parents=True)
    log(f"Agent Inbox {revision[:12]}: copying {source} to {app}")
    if is_git:
        archive = subprocess.run(["git", "--git-dir", str(source), "archive", "HEAD"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(app)], input=archive.stdout, check=True)
    else:
        shutil.copytree(source, app, dirs_exist_ok=True, ignore=shutil.ignore_patterns("node_modules", ".next", ".git"))
    subprocess.run(["git", "apply", str(PATCH)], cwd=app, check=True)
    log("yarn install --ignore-engines (from the npm registry; a minute or two)")
    subprocess.run(
        [*yarn(), "install", "--ignore-engines", "--frozen-lockfile", "--non-interactive"], cwd=app, check=True
    )
    (app / ".hitl-ready").write_text(revision)
    return app


def yarn() -> list[str]:
    """Yarn 1 as Agent Inbox's packageManager names it: through corepack, else npx."""
    if shutil.which("corepack"):
        return ["corepack", "yarn"]
    return ["npx", "--yes", "yarn@1.22.22"]


def wait_http(url: str, what: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode} before answering at {url}")
        try:
            if httpx.get(url, timeout=120).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit(f"{what} did not answer at {url} within {timeout:.0f} s")


# ------------------------------------------------------------------ the browser's side


@dataclass
class Network:
    """The browser's calls to hitl serve: each `METHOD path -> status` (or the failure)."""

    base: str
    calls: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        async def on_response(response: Any) -> None:
            if not response.url.startswith(self.base):
                return
            line = f"{response.request.method} {response.url[len(self.base) :]} -> {response.status}"
            self.calls.append(line)
            if response.status >= 400:
                try:
                    body = (await response.text())[:300]
                except Exception:  # the page may have moved on; the status says enough
                    body = ""
                sent = response.request.post_data or ""
                self.failed.append(f"{line} {body}".strip() + (f" (sent {sent[:300]})" if sent else ""))

        def on_failed(request: Any) -> None:
            if request.url.startswith(self.base):
                self.failed.append(f"{request.method} {request.url[len(self.base) :]} failed: {request.failure}")

        page.on("response", on_response)
        page.on("requestfailed", on_failed)


@dataclass
class Report:
    results: list[tuple[str, bool, str]] = field(default_factory=list)

    shots: Path | None = None
    """Where a failed step's screenshot goes."""

    async def step(self, name: str, network: Network, action: Callable[[], Awaitable[str]], page: Any) -> bool:
        start = len(network.failed)
        try:
            detail, ok = await action(), True
        except Exception as e:  # a step's failure is reported, the next step still runs
            detail, ok = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", False
            if self.shots is not None:
                await page.screenshot(path=self.shots / f"{name.replace(' ', '-')}.png")
        failed = network.failed[start:]
        if not ok and failed:
            detail += "; failed HTTP calls: " + " | ".join(dict.fromkeys(failed))
        self.results.append((name, ok, detail))
        log(f"{'PASS' if ok else 'FAIL'} {name}: {detail}")
        return ok


async def final_state(client: hitl.Client, run_id: str, status: str) -> hitl.StateSnapshot:
    deadline = time.monotonic() + STEP_TIMEOUT
    state = await client.get_run(run_id).get_state()
    while state.status != status and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        state = await client.get_run(run_id).get_state()
    return state


def check_values(state: hitl.StateSnapshot, status: str, expected: dict[str, Any]) -> str:
    got = {k: state.values.get(k) for k in expected}
    if state.status != status or got != expected:
        raise AssertionError(f"run {state.run_id} is {state.status} with {got}; expected {status} with {expected}")
    return f"run {state.run_id} {state.status} with {got}"


async def drive(
    app_url: str, hitl_url: str, client: hitl.Client, runs: dict[str, str], shots: Path, rewrite: str | None
) -> Report:
    from playwright.async_api import async_playwright, expect

    report = Report(shots=shots)
    network = Network(hitl_url)
    async with async_playwright() as pw:
        browser = await launch_chromium(pw)
        page = await browser.new_page()
        page.set_default_timeout(STEP_TIMEOUT * 1000)
        network.watch(page)
        if rewrite:
            await page.route(f"{hitl_url}/threads/*/runs/stream", lambda route: with_stream_mode(route, rewrite))

        async def add_inbox() -> str:
            await page.goto(app_url)
            dialog = page.get_by_role("dialog")
            await dialog.locator("#graph-id").fill(GRAPH)
            await dialog.locator("#deployment-url").fill(hitl_url)
            await dialog.locator("#name").fill("hitl")
            await dialog.get_by_role("button", name="Add Inbox").click()
            await page.wait_for_load_state("load")  # it reloads the page, which may open the welcome again
            await page.get_by_role("button", name="Settings").wait_for()
            await page.wait_for_timeout(2000)
            if await page.get_by_role("dialog").count():
                await page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
            await page.get_by_role("button", name="Settings").click()
            await page.locator("#langchain-api-key").fill(TOKEN)
            await page.keyboard.press("Escape")  # closing the settings fetches the threads again
            return f"inbox '{GRAPH}' at {hitl_url}, the token as its LangSmith API key"

        async def listed() -> str:
            for kind in runs:
                await expect(page.get_by_text(description(kind))).to_be_visible()
            return f"{len(runs)} interrupted threads listed"

        async def open_thread(kind: str) -> None:
            await page.get_by_text(description(kind)).first.click()
            await expect(page.get_by_role("button", name="Mark as Resolved")).to_be_visible()

        async def back_to_list() -> None:
            if await page.get_by_role("button", name="Mark as Resolved").count():
                await page.goto(f"{app_url}/?inbox=interrupted&offset=0&limit=10")

        async def act(kind: str) -> str:
            await back_to_list()
            await open_thread(kind)
            if kind == "accept":
                await page.get_by_role("button", name="Accept", exact=True).click()
            elif kind == "edit":
                await page.locator("p:text-is('Body') + textarea").fill(EDITED_BODY)
                await page.get_by_role("button", name="Submit", exact=True).click()
            elif kind == "respond":
                await page.get_by_placeholder("Your response here...").fill(RESPONSE)
                await page.get_by_role("button", name="Send Response").click()
            elif kind == "ignore":
                await page.get_by_role("button", name="Ignore", exact=True).click()
            else:
                await page.get_by_role("button", name="Mark as Resolved").click()
            status, expected = CASES[kind]
            return check_values(await final_state(client, runs[kind], status), status, expected)

        if await report.step("add inbox in settings", network, add_inbox, page):
            if await report.step("list", network, listed, page):
                await report.step("open", network, lambda: opened(page, open_thread, runs), page)
                for kind in runs:
                    await report.step(kind, network, lambda kind=kind: act(kind), page)
        await browser.close()
    log("browser calls to hitl serve: " + ", ".join(dict.fromkeys(network.calls)))
    return report


async def opened(page: Any, open_thread: Callable[[str], Awaitable[None]], runs: dict[str, str]) -> str:
    from playwright.async_api import expect

    await open_thread("accept")
    await expect(page.get_by_text("Edit/Accept")).to_be_visible()
    await expect(page.locator("p:text-is('To') + textarea")).to_have_value("accept@example.com")
    await expect(page.get_by_placeholder("Your response here...")).to_be_visible()
    await expect(page.get_by_role("button", name="Ignore", exact=True)).to_be_visible()
    return (
        f"thread {runs['accept']} shows its request: Edit/Accept with its arguments, Respond, Ignore, Mark as Resolved"
    )


async def with_stream_mode(route: Any, mode: str) -> None:
    """Diagnostic (--rewrite-stream-mode): the browser's stream request with another stream_mode."""
    body = json.loads(route.request.post_data or "{}")
    await route.continue_(post_data=json.dumps({**body, "stream_mode": mode}))


def description(kind: str) -> str:
    return f"Send this email to {kind}@example.com?"


# ------------------------------------------------------------------ the servers


def check(source: Path, cache: Path, rewrite: str | None = None) -> int:
    app = prepared(source, cache)
    with tempfile.TemporaryDirectory(prefix="hitl-agent-inbox-") as tmp:
        env = {**os.environ, "NEXT_TELEMETRY_DISABLED": "1", "HITL_WEB_TOKENS": f"{TOKEN}=reviewer"}
        app_port, hitl_port = free_port(), free_port()
        app_url, hitl_url = f"http://localhost:{app_port}", f"http://127.0.0.1:{hitl_port}"
        logs = Path(tmp)
        with DevServer(logs / "temporal", port=free_port()) as temporal:
            serve = subprocess.Popen(
                [hitl_cli(), "serve", "--address", temporal.address, "--task-queue", QUEUE,
                 "--graphs", "hitl.examples.email_review", "--port", str(hitl_port), "--cors-origin", app_url],
                env=env, stdout=(logs / "serve.log").open("wb"), stderr=subprocess.STDOUT,
            )  # fmt: skip
            next_dev = subprocess.Popen(
                [str(app / "node_modules" / ".bin" / "next"), "dev", "-p", str(app_port), "-H", "localhost"],
                cwd=app, env=env, stdout=(logs / "next.log").open("wb"), stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                wait_http(f"{hitl_url}/ok", "hitl serve", serve, 60)
                log(f"hitl serve at {hitl_url} (CORS: {app_url}); next dev at {app_url} (its first compile is slow)")
                wait_http(app_url, "next dev", next_dev, 600)
                report = asyncio.run(exercise(temporal.address, app_url, hitl_url, logs, rewrite))
            finally:
                for process in (next_dev, serve):
                    process.terminate()
                    try:
                        process.wait(15)
                    except subprocess.TimeoutExpired:
                        process.kill()
            failed = [name for name, ok, _ in report.results if not ok]
            passed = len(report.results) - len(failed)
            steps = f"{passed} of {len(report.results)} steps passed"  # not pytest's closing-line shape
            log(f"Agent Inbox check: {steps}" + (f"; failed: {', '.join(failed)}" if failed else ""))
            if failed:
                log(f"the servers' logs: {keep(logs, cache)}")
            return 1 if failed else 0


async def exercise(address: str, app_url: str, hitl_url: str, logs: Path, rewrite: str | None) -> Report:
    """One run per step, waiting at its question, then the browser."""
    client = await hitl.connect(address, task_queue=QUEUE, graphs=[email_review.graph])
    async with client.worker():
        runs = {}
        for kind in CASES:
            run = await client.start(GRAPH, {"to": f"{kind}@example.com"})
            runs[kind] = run.run_id
            await final_state(client, run.run_id, "interrupted")
        return await drive(app_url, hitl_url, client, runs, logs, rewrite)


def hitl_cli() -> str:
    """The `hitl` command of this interpreter's environment (the checkout's .venv)."""
    return shutil.which("hitl", path=str(Path(sys.executable).parent)) or "hitl"


def keep(logs: Path, cache: Path) -> Path:
    """The servers' logs, copied beside the cache (the temporary directory goes)."""
    kept = cache / "last-logs"
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(logs, kept, ignore=shutil.ignore_patterns("*.db*"))
    return kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", type=Path, help="Agent Inbox's source: a checkout, or a git directory")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hitl" / "agent-inbox",
        help="where the patched copy and its node_modules are kept between runs",
    )
    parser.add_argument(
        "--rewrite-stream-mode",
        metavar="MODE",
        help="diagnostic: send Agent Inbox's runs/stream requests with this stream_mode instead of its 'events' "
        "(checks the rest of accept, edit and respond where a server refuses 'events')",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on the way out, as on ^C
    if args.rewrite_stream_mode:
        log(f"DIAGNOSTIC: Agent Inbox's stream requests are rewritten to stream_mode '{args.rewrite_stream_mode}'")
    return check(args.source, args.cache, args.rewrite_stream_mode)


if __name__ == "__main__":
    sys.exit(main())
