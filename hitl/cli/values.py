"""Option text into values: JSON, durations, ports, checkpoint numbers, name lists.

Anything else is refused in one line naming the option and what it takes.
"""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from typing import Any

from hitl._text import split_names
from hitl._whole import whole_number
from hitl.payloads.blob_gc import span
from hitl.protocol import finite
from hitl.protocol.limits import too_deep
from hitl.protocol.policy import CLAIM_MAX_S
from hitl.server import UI_PORT_OFFSET
from hitl.types import InvalidInputError


def port(text: str) -> int:
    """A port for `hitl dev`: the Web UI listens on port+1000, which must be a port too."""
    found = whole_number(text, least=1, most=65535 - UI_PORT_OFFSET)
    if found is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port from 1 to {65535 - UI_PORT_OFFSET} (the Web UI takes port+{UI_PORT_OFFSET}, at most 65535)"
        )
    return found


def host_port(text: str, flag: str) -> str:
    """HOST:PORT to listen on (a metrics endpoint), refused in one line otherwise."""
    host, sep, number = text.rpartition(":")
    if not sep or not host or whole_number(number, least=1, most=65535) is None:
        raise InvalidInputError(
            f"{flag} takes HOST:PORT to listen on, e.g. 127.0.0.1:9464 or 0.0.0.0:9464; got {text!r}"
        )
    return text


SAMPLE_MOST = 1000
"""The most finished runs `hitl stats --sample` reads: one visibility page."""


def sample(text: str) -> int:
    """How many finished runs' decision logs `hitl stats` reads: a whole number from 0 to SAMPLE_MOST."""
    found = whole_number(text, least=0, most=SAMPLE_MOST)
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a sample size (a whole number from 0 to {SAMPLE_MOST})")
    return found


def seq(text: str) -> int:
    """A checkpoint seq for --since: a whole number from 0."""
    found = whole_number(text)
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a checkpoint number (a whole number from 0)")
    return found


def parse_json(text: str, what: str, *, object_only: bool = False) -> Any:
    """An option's JSON (`what` names the option); depth and non-finite numbers are refused before Python's json sees them."""
    refused = too_deep(text, what, text=True)  # before parsing: Python's json recurses
    if refused:
        raise InvalidInputError(refused)
    try:
        value = finite.loads(text, what)
    except json.JSONDecodeError as e:
        hint = (
            'a JSON object like \'{"key": "value"}\''
            if object_only
            else "JSON, e.g. '\"approve\"', 42 or '{\"key\": 1}'"
        )
        raise InvalidInputError(f"{what} is not valid JSON ({e.msg} at column {e.colno}); pass {hint}") from None
    except ValueError as e:  # NaN, Infinity or 1e999: not JSON, whatever Python's json reads
        raise InvalidInputError(str(e)) from None
    if object_only and not isinstance(value, dict):
        raise InvalidInputError(f'{what} must be a JSON object like \'{{"key": "value"}}\'; got {type(value).__name__}')
    return value


def parse_duration(
    text: str, what: str, *, most_s: float = CLAIM_MAX_S, why: str = "a claim holds from 1 second to 30 days"
) -> timedelta:
    """`90s`, `30m`, `4h`, `2d` (by default a claim's length, 1 second to 30 days); one clear line for anything else."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = whole_number(text[:-1], least=1, most=10**100), text[-1:]
    if unit not in units or number is None:
        raise InvalidInputError(f"{what} takes a whole number and a unit, like 90s, 30m, 4h or 2d; got {text[:60]!r}")
    if number * units[unit] > most_s:  # before timedelta(), which overflows on huge numbers
        raise InvalidInputError(f"{what} is at most {span(timedelta(seconds=most_s))} ({why}); got {text!r}")
    return timedelta(seconds=number * units[unit])


def names(text: str | None) -> list[str] | None:
    """A comma-separated option's names; None when the option was not given (or empty)."""
    return split_names(text) if text else None
