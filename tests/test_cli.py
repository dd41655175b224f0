"""The CLI against the session's dev server and worker: `hitl.cli.main` in-process (tests.helpers.cli), and
the end-to-end walk and an argparse refusal as a newcomer runs them, `python starter.py ...` in a subprocess."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

import hitl
from tests.helpers import cli, event_count, one_line_error


async def test_approval_end_to_end_through_the_cli(client: hitl.Client) -> None:
    """Every command here is a real `python starter.py` process (the entry script, its exits, its pipes)."""
    run_id = f"cli-{uuid.uuid4().hex[:8]}"
    started = await cli(
        client, "start", "approval", "--input", '{"topic": "cats"}', "--id", run_id, "--wait", "--json", process=True
    )
    assert started.code == 0, started.err
    state = started.json()
    assert state["status"] == "interrupted" and state["next"] == ["review"]
    assert state["interrupts"][0]["value"]["draft"] == "A short announcement about cats."

    human = await cli(client, "state", run_id, process=True)
    assert "status   interrupted" in human.out and f"hitl resume {run_id} --value JSON" in human.out

    for _ in range(50):  # the visibility store lists the run a moment later: wait in-process, then ask a process
        if run_id in (await cli(client, "inbox")).out:
            break
        await asyncio.sleep(0.1)
    inbox = await cli(client, "inbox", process=True)
    row = next(line for line in inbox.out.splitlines() if line.startswith(run_id))
    assert "approval" in row and "review" in row

    refused = await cli(client, "resume", run_id, "--value", '"maybe"', process=True)
    assert "does not fit its schema: 'maybe' is not one of ['approve', 'reject']" in one_line_error(refused)

    resumed = await cli(client, "resume", run_id, "--value", '"approve"', "--json", process=True)
    assert resumed.code == 0, resumed.err
    assert resumed.json()["status"] == "completed"  # type: ignore[index]

    result = await cli(client, "result", run_id, process=True)
    assert json.loads(result.out)["status"] == "published"

    history = await cli(client, "history", run_id, "--json", process=True)
    checkpoints = history.json()
    assert [c["step"] for c in checkpoints] == [3, 2, 1, 0]  # type: ignore[index]
    assert checkpoints[1]["decisions"][0]["identity"] == "cli-user"  # type: ignore[index]

    listed = await cli(client, "list", process=True)
    assert run_id in listed.out


async def test_update_state_fork_and_cancel_through_the_cli(client: hitl.Client) -> None:
    run_id = f"cli-{uuid.uuid4().hex[:8]}"
    assert (await cli(client, "start", "review", "--id", run_id, "--wait")).code == 0
    edited = await cli(client, "update-state", run_id, "--values", '{"draft": "from the cli"}', "--json")
    assert edited.json()["values"]["draft"] == "from the cli"  # type: ignore[index]
    goto = await cli(client, "resume", run_id, "--goto", "discard", "--update", '{"status": "x"}', "--json")
    # discard joins the waiting step; the update changed the state, so review asks again about it
    assert (goto.json()["values"]["status"], goto.json()["next"]) == ("x", ["review"])  # type: ignore[index]
    done = await cli(client, "resume", run_id, "--value", '"reject"', "--json")
    assert done.json()["values"]["status"] == "discarded"  # type: ignore[index]

    forked = await cli(client, "fork", run_id, "--step", "1", "--id", f"{run_id}-f", "--json")
    assert forked.code == 0, forked.err
    fork_state = await hitl.Run(client, f"{run_id}-f").get_state()
    assert fork_state.next == ["review"]

    cancelled = await cli(client, "cancel", f"{run_id}-f")
    assert cancelled.code == 0
    result = await cli(client, "result", f"{run_id}-f")
    assert result.code == 1 and f"run '{run_id}-f' ended" in result.err


async def test_resume_without_waiting_and_with_a_map(client: hitl.Client) -> None:
    run_id = f"cli-{uuid.uuid4().hex[:8]}"
    await cli(client, "start", "parallel", "--id", run_id, "--wait")
    state = await hitl.Run(client, run_id).get_state()
    answers = {i.id: i.node for i in state.interrupts}
    sent = await cli(client, "resume", run_id, "--map", json.dumps(answers), "--no-wait", "--json")
    assert sent.code == 0, sent.err
    final = await hitl.Run(client, run_id).result()
    assert sorted(final["answers"]) == ["left=left", "quiet", "right=right"]


BAD_INPUT = [
    (["start", "approval", "--input", "{not json"], "--input is not valid JSON"),
    (["start", "approval", "--input", "[1]"], "--input must be a JSON object"),
    (["start", "nope"], "unknown graph 'nope'; known graphs:"),
    (["start", "approval", "--input", '{"topik": 1}'], "unknown key(s) ['topik']; the state keys are"),
    (["start", "approval", "--input", '{"topic": 1}'], "key 'topic': Input should be a valid string"),
    (["start", "approval", "--interrupt-before", "ghost"], "interrupt_before names unknown node(s) ['ghost']"),
    (["state", "no-such-run"], "no run 'no-such-run'"),
    (["resume", "no-such-run", "--value", "1"], "no run 'no-such-run'"),
    (["resume", "x", "--value", "1", "--map", "{}"], "not allowed with argument --value"),
    (["resume", "x", "--value", "{oops"], "--value is not valid JSON"),
    (["update-state", "x", "--values", "3"], "--values must be a JSON object"),
    (["fork", "x"], "the following arguments are required: --step"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUT, ids=[" ".join(a)[:40] for a, _ in BAD_INPUT])
async def test_bad_input_gets_one_clear_line(client: hitl.Client, args: list[str], message: str) -> None:
    # argparse's own refusal (sys.exit inside the parser) also as a real process
    assert message in one_line_error(await cli(client, *args, process=args == ["frobnicate"]))


async def test_refused_cli_decisions_write_nothing(client: hitl.Client) -> None:
    run_id = f"cli-{uuid.uuid4().hex[:8]}"
    await cli(client, "start", "review", "--id", run_id, "--wait")
    before = await event_count(client, run_id)
    for args in (["--value", '"maybe"'], ["--map", '{"0123456789abcdef": "approve"}'], ["--goto", "ghost"], []):
        one_line_error(await cli(client, "resume", run_id, *args))
    one_line_error(await cli(client, "update-state", run_id, "--values", '{"nope": 1}'))
    assert await event_count(client, run_id) == before


async def test_commands_that_need_no_graph_do_not_import_them(client: hitl.Client) -> None:
    """A broken HITL_GRAPHS entry must not lock a person out of the inbox or a run's state."""
    run = await client.start("chain", {})
    await run.result()
    env = {"HITL_GRAPHS": "no_such_graph_module"}
    inbox = await cli(client, "inbox", env=env, graphs=())
    state = await cli(client, "state", run.run_id, "--json", env=env, graphs=())
    assert inbox.code == 0, inbox.err
    assert state.code == 0 and state.json()["status"] == "completed", state.err
    graphs = await cli(client, "graphs", env=env, graphs=())
    assert graphs.code == 2 and "cannot import 'no_such_graph_module'" in graphs.err
