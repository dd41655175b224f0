"""How a typed option field declares the flag that fills it, and what a command is.

Each field of an options dataclass (options.py) carries its flag and argparse's
settings in its metadata, so the typed object and the parser cannot drift
apart: parser.py builds argparse from these fields and nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import MISSING, Field, dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from hitl.cli.render import Shown

if TYPE_CHECKING:
    from argparse import ArgumentParser

OptionsT = TypeVar("OptionsT")

Outcome = Shown | int
"""What a command returns: data to show (and its exit code), or the exit code of a command that printed as it went."""


@dataclass(frozen=True)
class Flag:
    """A field's place on the command line: its flags (none: positional), argparse's settings, where in --help."""

    flags: tuple[str, ...]
    settings: dict[str, Any]
    common: bool = False
    """Taken by every command, before or after its name."""
    group: str | None = None
    """The titled section of --help it is listed under."""
    exclusive: str | None = None
    """Flags sharing this key refuse each other."""


def option(
    *flags: str, default: Any = None, group: str | None = None, exclusive: str | None = None, **settings: Any
) -> Any:
    """An optional flag filling this field (`default` when not given)."""
    return field(default=default, metadata={"flag": Flag(flags, settings, group=group, exclusive=exclusive)})


def switch(flag: str, *, help: str, group: str | None = None) -> Any:
    """An on/off flag: False unless given."""
    return option(flag, default=False, action="store_true", help=help, group=group)


def required(*flags: str, **settings: Any) -> Any:
    """A flag the command cannot run without: argparse refuses its absence."""
    return field(metadata={"flag": Flag(flags, {**settings, "required": True})})


def positional(*, default: Any = MISSING, **settings: Any) -> Any:
    """A positional argument named after the field; `nargs="*"` makes it a list, empty when none is given."""
    if settings.get("nargs") == "*":
        return field(default_factory=list, metadata={"flag": Flag((), settings)})
    return field(default=default, metadata={"flag": Flag((), settings)})


def common(flag: str, *, default: Any = None, **settings: Any) -> Any:
    """An option every command takes (options.Common)."""
    return field(default=default, metadata={"flag": Flag((flag,), settings, common=True)})


def flag_of(f: Field[Any]) -> Flag | None:
    """The flag a field declares, if any (fields filled by an `extend` hook declare none)."""
    found: Flag | None = f.metadata.get("flag")
    return found


@dataclass(frozen=True)
class Command(Generic[OptionsT]):
    """One `hitl` command: its name and help, the typed options it takes, and the function running it."""

    name: str
    help: str
    options: type[OptionsT]
    run: Callable[[OptionsT], Awaitable[Outcome]]
    extend: Callable[[ArgumentParser], None] | None = None
    """Adds flags declared elsewhere (the web server's, hitl/web/serve.py) to the command's parser."""
