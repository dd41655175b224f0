"""The `hitl` command line (also `python starter.py` and `python worker.py`).

Human-readable output by default, `--json` for machines. The layers, top down:
entry (exit codes) -> parser (argv into typed options, from the command table
in commands.py and the flags declared in options.py) -> one module per command
group (runs, answer, decide, ops, servers) -> session (client, run) and render
(everything printed). Below the parser only typed values travel.
"""

from hitl.cli.entry import BROKEN_PIPE_EXIT, console_main, main, worker_main
from hitl.cli.parser import build_parser
from hitl.cli.render import to_json as _json
from hitl.cli.servers import worker_settings as _worker_options
from hitl.cli.values import parse_duration, parse_json
from hitl.cli.values import port as _port
from hitl.cli.values import seq as _seq

__all__ = [
    "BROKEN_PIPE_EXIT",
    "_json",
    "_port",
    "_seq",
    "_worker_options",
    "build_parser",
    "console_main",
    "main",
    "parse_duration",
    "parse_json",
    "worker_main",
]
"""`_json`, `_port`, `_seq` and `_worker_options` stay importable under their old names (tests read them)."""
