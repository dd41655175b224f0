"""The `hitl` entry points: argv in, an exit code out.

Bad input gets one line on stderr naming what was wrong and what is accepted,
exit code 2; a run that failed exits 1 with its id and where to look.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Any

from hitl.cli import render
from hitl.cli.options import Common
from hitl.cli.parser import build_parser, parse
from hitl.cli.spec import Command
from hitl.client import tracing
from hitl.types import AuditChainBroken, HitlError, RunFailedError

BROKEN_PIPE_EXIT = 141
"""Exit code when the reader of our output went away (`hitl state X | head -3`): 128 + SIGPIPE, as a shell reports it."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every refusal and failure becomes its line and exit code here."""
    try:
        parsed = parse(argv)
        if parsed is None:
            build_parser().print_help()
            return 2
        return asyncio.run(_perform(*parsed))
    except KeyboardInterrupt:  # Ctrl-C before a command set up its own handling, or while it started
        return 130
    except BrokenPipeError:
        return _reader_gone()
    except (RunFailedError, AuditChainBroken) as e:
        render.fail(str(e))
        return 1
    except HitlError as e:
        render.fail(str(e))
        return 2


DECIDING = frozenset({"resume", "cancel", "update-state", "claim", "release", "delegate"})
"""The commands that send a person's decision: each is one span when tracing is on."""


async def _perform(command: Command[Any], opts: Common) -> int:
    """Run the command; show what it returns (then raise its failure, if any), or pass on its exit code."""
    if command.name in DECIDING:
        runs = getattr(opts, "run_ids", None) or [getattr(opts, "run_id", None)]
        try:
            with tracing.span(
                f"hitl.cli:{command.name}",
                hitl_command=command.name,
                hitl_identity=opts.identity,
                hitl_run_ids=[str(r) for r in runs if r] or None,
            ):
                outcome = await command.run(opts)
        finally:
            tracing.flush()  # the CLI leaves without teardown (_exit): send its spans first
    else:
        outcome = await command.run(opts)
    if isinstance(outcome, int):
        return outcome
    render.emit(outcome, as_json=opts.json)
    if outcome.failure is not None:
        raise outcome.failure
    return outcome.code


def console_main() -> None:
    """Entry point of the `hitl` script and starter.py. A terminal whose encoding lacks a
    letter shown gets an escape for it, not a UnicodeEncodeError."""
    sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    _exit(main())


def worker_main() -> None:
    """Entry point of worker.py: `hitl worker` with the script's arguments."""
    _exit(main(["worker", *sys.argv[1:]]))


def _exit(code: int) -> None:
    """Leave without interpreter teardown: the SDK's Rust runtime threads can crash
    a finalising interpreter (temporalio/sdk-python#300), turning a clean exit into SIGSEGV."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _reader_gone()
    sys.stderr.flush()
    os._exit(code)


def _reader_gone() -> int:
    """Our stdout's reader closed it: drop what is still buffered (pointing stdout at
    /dev/null, so no later flush raises again) and exit quietly, as `cat` would."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return BROKEN_PIPE_EXIT
