"""The CLI against a hostile or careless user: options in either place, odd ids,
odd ports, odd terminals, odd namespaces, failed runs, Ctrl-C at a bad moment.

Every refusal is one line on stderr (exit 2; 1 for a run that failed), never a
traceback. Real dev server from the fixtures, the CLI as a subprocess.
"""

from __future__ import annotations

import json
import uuid

import pytest

import hitl
from hitl.cli import build_parser
from tests.conftest import wait_for
from tests.test_cli import cli, one_line_error

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

    graphs = await cli(client, "--json", "graphs")
    assert graphs.code == 0, graphs.err
    assert "review" in {g["name"] for g in json.loads(graphs.out)}
