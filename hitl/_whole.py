"""Whole numbers read from outside (HTTP bodies and forms, headers, CLI arguments, environment variables).

`str.isdigit()` takes characters `int()` refuses (`"²"`), `int()` takes text a
person would not call a number (`" 1_000 "`, Arabic-Indic digits) and refuses
more than 4,300 digits with a ValueError; each of those reached a route as a
500. Every such read goes through `whole_number` instead: ASCII digits (a
leading `-` where negatives are allowed), no longer than the range needs, in
range; anything else is None, and the caller refuses it in one line naming
what it takes.
"""

from __future__ import annotations

MOST = 2**63 - 1
"""The default upper bound: a 64-bit signed integer, more than any step, port, count or size hitl reads."""


def whole_number(text: object, *, least: int = 0, most: int = MOST) -> int | None:
    """`text` (a string, or an int already parsed) as an int from `least` to `most`; None otherwise.

    Never raises: the length is checked before `int()` runs, so no input reaches its digit limit."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text if least <= text <= most else None
    if not isinstance(text, str):
        return None
    digits = text[1:] if text.startswith("-") and least < 0 else text
    if not digits or not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(max(most, -least))):
        return None
    value = int(text)
    return value if least <= value <= most else None
