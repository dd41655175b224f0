"""The CLI against a hostile or careless user: options in either place, odd ids,
odd ports, odd terminals, odd namespaces, failed runs, Ctrl-C at a bad moment.

Every refusal is one line on stderr (exit 2; 1 for a run that failed), never a
traceback. Real dev server from the fixtures, the CLI as a subprocess.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest

import hitl
from hitl.cli import BROKEN_PIPE_EXIT, build_parser
from hitl.client.client import check_run_id
from hitl.protocol.wire import RunInput
from hitl.server import DevServer
from tests import hitl_graphs, runtime_graphs
from tests.helpers import ROOT, TASK_QUEUE, Result, cli, free_port, one_line_error, wait_for

# ------------------------------------------------- 1. options on either side

COMMON = [
    ["--address", "h:1"],
    ["--namespace", "ns"],
    ["--task-queue", "q"],
    ["--graphs=a:b"],
    ["--identity", "alice"],
    ["--roles", "x,y"],
    ["--json"],
]


@pytest.mark.parametrize("option", COMMON, ids=[o[0].split("=")[0] for o in COMMON])
def test_every_common_option_works_before_and_after_the_command(option: list[str]) -> None:
    parser = build_parser()
    before = vars(parser.parse_args([*option, "state", "r1"]))
    after = vars(parser.parse_args(["state", "r1", *option]))
    neither = vars(parser.parse_args(["state", "r1"]))
    assert before == after != neither


async def test_identity_and_json_before_the_command_are_kept(client: hitl.Client) -> None:
    run_id = f"edge-{uuid.uuid4().hex[:8]}"
    await client.start("review", {}, run_id=run_id)
    await wait_for(client.get_run(run_id), "interrupted")
    resumed = await cli(client, "--identity", "alice", "resume", run_id, "--value", '"approve"')
    assert resumed.code == 0, resumed.err
    state = await client.get_run(run_id).get_state()
    assert [d.identity for d in state.decisions] == ["alice"]

    listed = await cli(client, "--json", "graphs")
    assert listed.code == 0, listed.err
    assert "review" in {g["name"] for g in json.loads(listed.out)}


# ------------------------------------------- 2. one line instead of a traceback


async def hitl_cmd(*args: str, env: dict[str, str] | None = None) -> Result:
    """`python starter.py ARGS` with no server named anywhere: for `dev`, which starts its own."""
    base = {k: v for k, v in os.environ.items() if k not in ("TEMPORAL_ADDRESS", "HITL_GRAPHS")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "starter.py"),
        *args,
        cwd=ROOT,
        env={**base, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:  # it hung: do not leave it running
            proc.kill()
            await proc.wait()
    return Result(proc.returncode or 0, out.decode(), err.decode())


@pytest.mark.parametrize(
    ("run_id", "rule"),
    [
        ("", "run id is empty"),
        ("x" * 2000, "run id is 2000 characters long"),
        ("a\nb", r"control character '\n'"),
        ("a\tb", r"control character '\t'"),
        ("a\x1b[2Jb", r"control character '\x1b'"),
        ("a\u202eb", r"control character '\u202e'"),
        (" padded", "leading or trailing whitespace"),
        ("padded\u00a0", "leading or trailing whitespace"),
    ],
    ids=["empty", "long", "newline", "tab", "escape", "bidi", "leading", "trailing"],
)
def test_check_run_id_names_the_rule(run_id: str, rule: str) -> None:
    with pytest.raises(hitl.InvalidInputError) as caught:
        check_run_id(run_id)
    message = str(caught.value)
    assert rule in message and "1 to 255 characters" in message and "\n" not in message


def test_check_run_id_takes_ordinary_ids() -> None:
    for run_id in ("r", "x" * 255, "tea-1", "thé:42/β"):
        assert check_run_id(run_id) == run_id


async def test_odd_run_ids_get_one_line_from_every_command(client: hitl.Client) -> None:
    long_id = "x" * 2000
    for args in (
        ["start", "chain", "--id", long_id],
        ["start", "chain", "--id", "a\x1b[2Jb"],
        ["state", long_id],
        ["resume", "a\nb", "--value", "1"],
        ["fork", "x", "--step", "1", "--id", " x"],
    ):
        line = one_line_error(await cli(client, *args))
        assert "1 to 255 characters" in line and "\x1b" not in line, line


@pytest.mark.parametrize("port", ["-1", "0", "70000", "64536", "seven"])
async def test_dev_refuses_ports_outside_1_to_64535(port: str) -> None:
    line = one_line_error(await hitl_cmd("dev", "--port", port))
    assert "--port" in line and "1 to 64535" in line and "Web UI" in line, line


async def test_dev_names_a_data_dir_it_cannot_use() -> None:
    line = one_line_error(await hitl_cmd("dev", "--data-dir", "/proc/nope", "--port", str(free_port()), "--no-demo"))
    assert "'/proc/nope'" in line and "No such file or directory" in line, line


async def test_output_into_a_pipe_that_closes_early_exits_quietly(client: hitl.Client) -> None:
    """`hitl state RUN | head -3` on a state bigger than the pipe's buffer."""
    run = await client.start("chain", {"text": "y" * 300_000})
    await run.result()
    read_end, write_end = os.pipe()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "starter.py"),
        "state",
        run.run_id,
        "--address",
        server_address(client),
        "--task-queue",
        TASK_QUEUE,
        "--graphs",
        "tests.graphs",
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=write_end,
        stderr=asyncio.subprocess.PIPE,
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as head:
        first = [await asyncio.to_thread(head.readline) for _ in range(3)]
    assert first[0].startswith(b"run ")
    err = await asyncio.wait_for(proc.stderr.read(), 30)  # type: ignore[union-attr]
    assert await proc.wait() == BROKEN_PIPE_EXIT and err == b""


def server_address(client: hitl.Client) -> str:
    return client.temporal.service_client.config.target_host


# ---------------------------------------- 3. nothing raw reaches the terminal

NASTY = "é\x1b[31m\n\t\u202e\x85\x7f"
RAW = ["\x1b", "\t", "\u202e", "\x85", "\x7f"]


async def test_values_with_control_characters_are_escaped_and_letters_are_not(client: hitl.Client) -> None:
    run = await client.start("chain", {"text": NASTY})
    await run.result()

    human = await cli(client, "state", run.run_id)
    assert human.code == 0, human.err
    for shown in ("é", "\\u001b", "\\n", "\\t", "\\u202e", "\\u0085", "\\u007f"):
        assert shown in human.out, shown
    assert not any(c in human.out for c in RAW)

    for args in (["state", run.run_id, "--json"], ["history", run.run_id, "--json"], ["result", run.run_id]):
        out = await cli(client, *args)
        assert out.code == 0, out.err
        assert "é" in out.out and "\\u00e9" not in out.out and not any(c in out.out for c in RAW), args
        assert NASTY + "abc" in strings(out.json()), args  # the same value, as JSON escapes

    history = await cli(client, "history", run.run_id)
    assert "é" in history.out and not any(c in history.out for c in RAW)


def strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


async def test_a_run_id_with_control_characters_cannot_break_the_list(client: hitl.Client) -> None:
    """Such an id can no longer be made through hitl, but older runs or other tools may have one."""
    evil = f"evil-{uuid.uuid4().hex[:6]}\x1b[2J\nsecond-line"
    await client._start(
        RunInput(graph=runtime_graphs.chain.spec(), input={}, identity="t", search_attributes=True), evil
    )
    for _ in range(50):
        listed = await cli(client, "list")
        rows = [line for line in listed.out.splitlines() if line.startswith("evil-")]
        if rows:
            break
        await asyncio.sleep(0.1)
    assert rows and rows[0].startswith(evil.split("\x1b")[0] + "\\x1b[2J\\nsecond-line")
    assert "\x1b" not in listed.out and not any(line.startswith("second-line") for line in listed.out.splitlines())
    as_json = await cli(client, "list", "--json")
    assert evil in [r["run_id"] for r in as_json.json()]  # type: ignore[union-attr,index]
    assert "\x1b" not in as_json.out


# ------------------------------------------------ 4. a failed run is an error


async def test_start_wait_of_a_run_that_fails_exits_1_and_says_why(client: hitl.Client) -> None:
    run_id = f"edge-{uuid.uuid4().hex[:8]}"
    for extra in ([], ["--json"]):
        rid = f"{run_id}{''.join(extra)}"
        started = await cli(client, "start", "unserialisable", "--id", rid, "--wait", *extra)
        assert started.code == 1, started
        errors = [line for line in started.err.splitlines() if not line.startswith("  ... ")]  # progress lines
        assert len(errors) == 1 and "Traceback" not in started.err, started.err
        assert errors[0].startswith(f"error: run '{rid}' failed: node 'leaky' failed at step 0:"), errors[0]
        assert "wrote key 'key'" in errors[0] and f"hitl state {rid}" in errors[0] and f"/workflows/{rid}" in errors[0]
        assert "failed" in started.out  # the state is still shown


# ------------------------------------------------------ 5. hitl's own status


async def test_list_shows_paused_runs_as_interrupted(client: hitl.Client) -> None:
    paused, done, failed, killed = [await client.start(g, {}) for g in ("review", "chain", "unserialisable", "review")]
    bare = await client._start(
        RunInput(graph=hitl_graphs.review.spec(), input={}, identity="t"), f"bare-{uuid.uuid4().hex[:8]}"
    )
    for run in (paused, killed, bare):
        await wait_for(run, "interrupted")
    await done.result()
    await wait_for(failed, "failed")
    await client.temporal.get_workflow_handle(killed.run_id).terminate("by hand")
    want = {
        paused.run_id: "interrupted",
        done.run_id: "completed",
        failed.run_id: "failed",
        killed.run_id: "terminated",  # ended from outside: its HitlStatus still says interrupted
        bare.run_id: "running",  # started without search attributes: Temporal's status
    }
    for _ in range(50):
        listed = await cli(client, "list", "--json")
        got = {r["run_id"]: r["status"] for r in listed.json()}  # type: ignore[union-attr,index]
        if {k: got.get(k) for k in want} == want:
            break
        await asyncio.sleep(0.1)
    assert {k: got.get(k) for k in want} == want
    human = await cli(client, "list")
    assert next(line for line in human.out.splitlines() if line.startswith(paused.run_id)).split()[2] == "interrupted"


# ----------------------------------------- 6. a missing namespace is named


@pytest.mark.parametrize("command", [["inbox"], ["list"], ["start", "chain"]])
async def test_a_missing_namespace_is_named_not_blamed_on_search_attributes(
    client: hitl.Client, server: DevServer, command: list[str]
) -> None:
    line = one_line_error(await cli(client, *command, "--namespace", "nope"))
    assert line.startswith(f"error: namespace 'nope' does not exist on {server.address}; "), line
    assert "search attribute" not in line


# ------------------------------- 7. dev flags that would do nothing are refused


@pytest.mark.parametrize(
    ("flags", "named", "fix"),
    [
        (["--port", "7999"], "TEMPORAL_ADDRESS=", "unset TEMPORAL_ADDRESS"),
        (["--data-dir", "somewhere"], "TEMPORAL_ADDRESS=", "unset TEMPORAL_ADDRESS"),
        (["--port", "7999", "--data-dir", "x", "--address", "ADDRESS"], "--address ", "drop --address"),
    ],
    ids=["port", "data-dir", "both-with-address"],
)
async def test_dev_refuses_server_flags_when_a_server_is_named(
    server: DevServer, flags: list[str], named: str, fix: str
) -> None:
    args = [server.address if f == "ADDRESS" else f for f in flags]
    env = {"TEMPORAL_ADDRESS": server.address} if "--address" not in flags else {}
    line = one_line_error(await hitl_cmd("dev", "--no-demo", *args, env=env))
    assert (
        f"not starting the embedded server (so {' and '.join(f for f in args if f in ('--port', '--data-dir'))} would do nothing)"
        in line
    )
    assert f"because {named}{server.address}" in line and fix in line, line


# ----------------------------------- 8. Ctrl-C at any moment of `hitl dev`


def dev_servers(port: int) -> list[int]:
    """Pids of `temporal server start-dev ... --port PORT` processes (from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"start-dev" in argv and b"--port" in argv and argv[argv.index(b"--port") + 1 :][:1] == [str(port).encode()]:
            pids.append(int(entry.name))
    return pids


async def start_dev(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """`hitl dev` in its own process group, as a terminal runs it: Ctrl-C goes to the group."""
    base = {k: v for k, v in os.environ.items() if k not in ("TEMPORAL_ADDRESS", "HITL_GRAPHS")}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "starter.py"),
        "dev",
        "--no-demo",
        "--no-web",
        *args,
        cwd=ROOT,
        env={**base, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )


@pytest.mark.server  # starts a dev server of its own
async def test_ctrl_c_while_the_dev_server_starts_stops_it_and_exits_130(tmp_path: Path) -> None:
    port = free_port()
    dev = await start_dev("--data-dir", str(tmp_path), "--port", str(port))
    try:
        for _ in range(300):  # the server process is spawned: now it is starting (it takes seconds)
            if dev_servers(port) or dev.returncode is not None:
                break
            await asyncio.sleep(0.02)
        assert dev_servers(port), "hitl dev never started its server"
        await asyncio.sleep(0.3)
        os.killpg(dev.pid, signal.SIGINT)
        out, err = await asyncio.wait_for(dev.communicate(), 10)
        assert b"worker serving" not in out, "the server had finished starting: this test came too late"
        assert dev.returncode == 130 and b"Traceback" not in err and err.strip() == b"", err
        assert dev_servers(port) == [], "the Temporal dev server outlived hitl dev"
    finally:
        for pid in dev_servers(port):  # only what this test started
            os.kill(pid, signal.SIGKILL)
        if dev.returncode is None:
            os.killpg(dev.pid, signal.SIGKILL)
            await dev.wait()


async def test_ctrl_c_once_ready_exits_130(server: DevServer) -> None:
    """Also checks that `hitl dev` without --port/--data-dir still uses TEMPORAL_ADDRESS."""
    dev = await start_dev(env={"TEMPORAL_ADDRESS": server.address, "HITL_GRAPHS": "tests.graphs"})
    try:
        out = b""
        while b"ready; Ctrl-C to stop." not in out:
            line = await asyncio.wait_for(dev.stdout.readline(), 60)  # type: ignore[union-attr]
            assert line, "hitl dev ended before it was ready"
            out += line
        os.killpg(dev.pid, signal.SIGINT)
        _, err = await asyncio.wait_for(dev.communicate(), 10)
        assert dev.returncode == 130 and err.strip() == b"", err
    finally:
        if dev.returncode is None:
            os.killpg(dev.pid, signal.SIGKILL)
            await dev.wait()


async def test_resume_of_a_run_that_then_fails_exits_1_and_says_why(client: hitl.Client) -> None:
    rid = f"edge-{uuid.uuid4().hex[:8]}"
    paused = await cli(client, "start", "unserialisable", "--interrupt-before", "leaky", "--id", rid, "--wait")
    assert paused.code == 0 and "interrupted" in paused.out, paused
    resumed = await cli(client, "resume", rid)
    assert resumed.code == 1, resumed
    errors = resumed.err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"error: run '{rid}' failed: node 'leaky' failed"), resumed.err
    assert f"hitl state {rid}" in errors[0]
    assert "failed" in resumed.out  # the state after the decision is still shown
