"""argv into a command and its typed options: argparse, built from the command table.

The only module that sees an argparse namespace; what leaves it is one of
options.py's dataclasses.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import MISSING, Field, fields
from typing import Any

from hitl.cli import render
from hitl.cli.commands import COMMANDS
from hitl.cli.options import Common
from hitl.cli.spec import Command, Flag, flag_of

BY_NAME: dict[str, Command[Any]] = {c.name: c for c in COMMANDS}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (plus where to read more), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        render.fail(f"{message}; see `{self.prog} --help`")
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    """`hitl` and its commands, in the table's order (--help's)."""
    parser = _Parser(prog="hitl", description="Human-in-the-loop graphs on Temporal.")
    _add_fields(parser, fields(Common), on_command=False)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.help)
        _add_fields(p, sorted(fields(command.options), key=lambda f: not _is_common(f)), on_command=True)
        if command.extend:
            command.extend(p)
        p.set_defaults(command=command.name)
    return parser


def parse(argv: Sequence[str] | None) -> tuple[Command[Any], Common] | None:
    """The command argv names and its options; None when it names none (the caller shows the help)."""
    namespace = build_parser().parse_args(argv)
    name = getattr(namespace, "command", None)
    if name is None:
        return None
    command = BY_NAME[name]
    return command, typed(command.options, namespace)


def typed(options: type[Any], namespace: argparse.Namespace) -> Any:
    """The namespace's values as the command's options dataclass: every field filled, nothing else carried."""
    return options(**{f.name: getattr(namespace, f.name) for f in fields(options)})


def _is_common(f: Field[Any]) -> bool:
    flag = flag_of(f)
    return flag is not None and flag.common


def _add_fields(parser: argparse.ArgumentParser, declared: Sequence[Field[Any]], *, on_command: bool) -> None:
    """One argparse argument per field that declares a flag. On a command, the common options default
    to SUPPRESS, so one given before the command name is not overwritten by the command's default."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    exclusive: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for f in declared:
        flag = flag_of(f)
        if flag is None:
            continue
        settings = dict(flag.settings)
        if flag.common and on_command:
            settings["default"] = argparse.SUPPRESS
        elif f.default is not MISSING:
            settings["default"] = f.default
        target: Any = parser
        if flag.group is not None:
            if flag.group not in groups:
                groups[flag.group] = parser.add_argument_group(flag.group)
            target = groups[flag.group]
        if flag.exclusive is not None:
            if flag.exclusive not in exclusive:
                exclusive[flag.exclusive] = target.add_mutually_exclusive_group()
            target = exclusive[flag.exclusive]
        _add(target, f.name, flag, settings)


def _add(target: Any, name: str, flag: Flag, settings: dict[str, Any]) -> None:
    """A positional is named after its field; a flag fills the field it is declared on."""
    if flag.flags:
        target.add_argument(*flag.flags, dest=name, **settings)
    else:
        target.add_argument(name, **settings)
