"""The CLI's declarative parser: argv into each command's typed options, no server needed.

The flags are declared on the options dataclasses (hitl/cli/options.py) and the
commands in one table (hitl/cli/commands.py); these tests pin that the parser
built from them fills every field, keeps nothing else, and refuses in one line.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from pathlib import Path
from typing import Any

import pytest

from hitl.cli import options as o
from hitl.cli.commands import COMMANDS
from hitl.cli.parser import build_parser, parse

ROOT = Path(__file__).resolve().parents[2]

PARSED: list[tuple[list[str], type[Any], dict[str, Any]]] = [
    (["graphs"], o.Common, {"json": False, "graphs": None, "task_queue": "hitl"}),
    (
        ["start", "approval", "--input", '{"a": 1}', "--id", "r1", "--wait", "--interrupt-before", "a,b"],
        o.StartOptions,
        {"graph": "approval", "input": '{"a": 1}', "run_id": "r1", "wait": True, "interrupt_before": "a,b"},
    ),
    (["start", "approval"], o.StartOptions, {"input": "{}", "run_id": None, "wait": False, "interrupt_after": None}),
    (["state", "r1"], o.RunOptions, {"run_id": "r1"}),
    (["result", "r1"], o.RunOptions, {"run_id": "r1"}),
    (["history", "r1"], o.RunOptions, {"run_id": "r1"}),
    (["watch", "r1", "--since", "3", "--until-pause"], o.WatchOptions, {"since": 3, "until_pause": True}),
    (["watch", "r1"], o.WatchOptions, {"since": None, "until_pause": False}),
    (["cancel", "r1", "--reason", "dup"], o.CancelOptions, {"run_id": "r1", "reason": "dup"}),
    (["cancel", "r1"], o.CancelOptions, {"reason": ""}),
    (["list"], o.Common, {}),
    (["inbox", "--json"], o.Common, {"json": True}),
    (
        ["resume", "r1", "--value", '"approve"', "--goto", "a", "b", "--no-wait", "--request-id", "q"],
        o.ResumeOptions,
        {"run_ids": ["r1"], "value": '"approve"', "goto": ["a", "b"], "no_wait": True, "request_id": "q"},
    ),
    (
        ["resume", "--all", "--graph", "g", "--node", "n", "--question", "x", "--dry-run", "--concurrency", "3"],
        o.ResumeOptions,
        {"run_ids": [], "all": True, "graph": "g", "node": "n", "question": "x", "dry_run": True, "concurrency": 3},
    ),
    (
        ["resume", "r1", "--map", "{}", "--update", "{}", "--signal", "--queue"],
        o.ResumeOptions,
        {"map": "{}", "update": "{}", "signal": True, "queue": True, "value": None, "concurrency": 8},
    ),
    (
        ["link", "r1", "--interrupt", "i", "--expires", "7d", "--base-url", "http://x"],
        o.LinkOptions,
        {"run_id": "r1", "interrupt": "i", "expires": "7d", "base_url": "http://x"},
    ),
    (["link", "r1"], o.LinkOptions, {"interrupt": None, "expires": "24h", "base_url": None}),
    (
        ["update-state", "r1", "--values", "{}", "--as-node", "n"],
        o.UpdateStateOptions,
        {"values": "{}", "as_node": "n"},
    ),
    (["claim", "r1", "--for", "4h", "--interrupt", "i"], o.ClaimOptions, {"ttl": "4h", "interrupt": "i"}),
    (["claim", "r1"], o.ClaimOptions, {"ttl": "30m", "interrupt": None}),
    (["release", "r1"], o.ReleaseOptions, {"run_id": "r1", "interrupt": None}),
    (["delegate", "r1", "--to", "role:x"], o.DelegateOptions, {"to": "role:x", "ttl": "30m"}),
    (["audit", "r1"], o.AuditOptions, {"run_id": "r1", "verify": None}),
    (["audit", "--verify", "-"], o.AuditOptions, {"run_id": None, "verify": "-"}),
    (
        ["fork", "r1", "--step", "2", "--values", "{}", "--id", "r2"],
        o.ForkOptions,
        {"run_id": "r1", "step": 2, "values": "{}", "new_id": "r2"},
    ),
    (["gc"], o.GcOptions, {"grace": "1d", "dry_run": False}),
    (["stats"], o.StatsOptions, {"sample": 100, "json": False}),
    (["stats", "--sample", "0", "--json"], o.StatsOptions, {"sample": 0, "json": True}),
    (["gc", "--grace", "2h", "--dry-run"], o.GcOptions, {"grace": "2h", "dry_run": True}),
    (
        ["worker", "a:b", "c", "--max-cached-runs", "5", "--nodes-at-once", "7", "--pollers", "auto"],
        o.WorkerOptions,
        {"refs": ["a:b", "c"], "max_cached_runs": 5, "nodes_at_once": 7, "pollers": "auto"},
    ),
    (["worker"], o.WorkerOptions, {"refs": [], "workflow_tasks_at_once": None}),
    (
        ["serve", "--port", "9000", "--no-auth", "--cors-origin", "http://a", "--cors-origin", "http://b"],
        o.ServeOptions,
        {"web_port": 9000, "web_host": "127.0.0.1", "no_auth": True, "cors_origins": ["http://a", "http://b"]},
    ),
    (
        ["dev", "--port", "7300", "--data-dir", "d", "--no-demo", "--web-port", "8100", "--tokens", "t.json"],
        o.DevOptions,
        {"port": 7300, "data_dir": "d", "no_demo": True, "no_web": False, "web_port": 8100, "tokens": "t.json"},
    ),
]


@pytest.mark.parametrize(("argv", "kind", "expected"), PARSED, ids=[" ".join(p[0])[:40] for p in PARSED])
def test_each_command_s_flags_parse_into_its_typed_options(
    argv: list[str], kind: type[Any], expected: dict[str, Any]
) -> None:
    parsed = parse(argv)
    assert parsed is not None
    command, opts = parsed
    assert command.name == argv[0] and type(opts) is kind
    assert {k: getattr(opts, k) for k in expected} == expected


def test_every_command_is_covered_above() -> None:
    assert {c.name for c in COMMANDS} == {argv[0] for argv, _, _ in PARSED}


@pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
def test_what_argparse_parses_is_exactly_the_typed_fields(command: Any) -> None:
    """No flag whose value the typed options would drop, no field argparse does not fill."""
    sub = next(a for a in build_parser()._actions if a.dest == "==SUPPRESS==" and a.choices)
    dests = {a.dest for a in sub.choices[command.name]._actions if a.dest != "help"}  # type: ignore[index]
    assert dests == {f.name for f in dataclasses.fields(command.options)}


@pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
def test_each_command_function_takes_the_options_its_row_names(command: Any) -> None:
    hints = typing.get_type_hints(command.run)
    assert hints["opts"] is command.options, f"{command.name}: {command.run.__qualname__} takes {hints['opts']}"


@pytest.mark.parametrize(
    "option", [["--address", "h:1"], ["--graphs=a:b"], ["--json"], ["--identity", "alice"], ["--roles", "x"]]
)
def test_a_common_option_before_or_after_the_command_gives_the_same_typed_options(option: list[str]) -> None:
    before, after, neither = parse([*option, "state", "r1"]), parse(["state", "r1", *option]), parse(["state", "r1"])
    assert before is not None and after is not None and neither is not None
    assert before[1] == after[1] != neither[1]


def test_typed_options_are_frozen() -> None:
    parsed = parse(["state", "r1"])
    assert parsed is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed[1].run_id = "r2"  # type: ignore[misc]


def test_no_command_parses_to_none_so_the_help_is_shown() -> None:
    assert parse([]) is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["state", "r1", "--bogus"], "error: unrecognized arguments: --bogus; see `hitl --help`"),
        (["fork", "r1", "--step", "x"], "error: argument --step: invalid int value: 'x'; see `hitl fork --help`"),
        (
            ["resume", "r1", "--value", "1", "--map", "{}"],
            "error: argument --map: not allowed with argument --value; see `hitl resume --help`",
        ),
        (["delegate", "r1"], "error: the following arguments are required: --to; see `hitl delegate --help`"),
        (
            ["stats", "--sample", "1001"],
            "error: argument --sample: '1001' is not a sample size (a whole number from 0 to 1000); see `hitl stats --help`",
        ),
        (
            ["watch", "r1", "--since", "-1"],
            "error: argument --since: '-1' is not a checkpoint number (a whole number from 0); see `hitl watch --help`",
        ),
        (["release", "r1", "--for", "1m"], "error: unrecognized arguments: --for 1m; see `hitl --help`"),
    ],
)
def test_a_bad_flag_is_argparse_s_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        parse(argv)
    assert exit.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == [message]


def test_help_lists_the_commands_in_the_table_s_order(capsys: pytest.CaptureFixture[str]) -> None:
    build_parser().print_help()
    section = capsys.readouterr().out.split("commands:")[1].splitlines()
    listed = [line.split()[0] for line in section if line.startswith("    ") and not line.startswith("     ")]
    assert listed == [c.name for c in COMMANDS]


def test_resume_s_batch_flags_are_listed_under_their_own_heading(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse(["resume", "--help"])
    section = capsys.readouterr().out.split(o.BATCH + ":")[1]
    assert [line.split()[0] for line in section.splitlines() if line.startswith("  --")] == [
        "--all",
        "--graph",
        "--node",
        "--question",
        "--dry-run",
        "--batch-id",
        "--concurrency",
    ]


def test_the_old_names_stay_importable_from_hitl_cli() -> None:
    from hitl import cli

    names = ("main", "console_main", "worker_main", "build_parser", "parse_json", "parse_duration")
    assert all(callable(getattr(cli, name)) for name in (*names, "_json", "_port", "_seq", "_worker_options"))
    assert cli.BROKEN_PIPE_EXIT == 141


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is new in 3.11")
def test_every_hitl_package_is_in_the_wheel() -> None:
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "hitl").rglob("__init__.py")}
    assert found <= listed, f"packages missing from pyproject.toml: {sorted(found - listed)}"
