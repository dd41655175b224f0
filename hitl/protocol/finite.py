"""Numbers hitl takes are finite: NaN and Infinity are not JSON.

Python's `json` reads and writes `NaN`, `Infinity` and `-Infinity` (and reads
`1e999` as infinity), so such a number would pass a schema's bounds (every
comparison with NaN is false), reach the node, show as `null` in the API and be
exported as a bare `NaN` no strict JSON parser reads. Every edge that takes a
value (HTTP bodies, CLI arguments, the Python client, the workflow's checks of
a decision) refuses them with `non_finite`, and every export writes through
`finite_json`.

Pure functions over JSON values: the workflow imports this module too.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

ACCEPTED = "JSON takes finite numbers only: send a number such as 1.5, a string, or null"
MAX_DIGITS = sys.get_int_max_str_digits() or 4300
"""Python writes no integer longer than this as text (CVE-2020-10735's limit): such a value could not be
sent or stored, so it is refused where it enters, like NaN, with one line instead of a ValueError."""
_TOO_LONG = 10**MAX_DIGITS


def non_finite(value: Any, what: str) -> str | None:
    """One line naming the first NaN or infinite number (or integer too long to write) in `value` and where it
    is; None when there is none.

    Walks with a stack rather than by recursion, so a deeply nested value is no hazard here (its depth is
    limited elsewhere), and keeps each item's place as a link to its parent's, spelling a path out only for
    the number it reports: a 2 MB body of small items costs a pass over them, not a string per item."""
    stack: list[tuple[Any, tuple[Any, Any] | None]] = [(value, None)]
    while stack:
        item, place = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return f"{what}{_at(place)} is {_named(item)}; {ACCEPTED}"
        elif isinstance(item, int) and not isinstance(item, bool):
            if not -_TOO_LONG < item < _TOO_LONG:
                return (
                    f"{what}{_at(place)} is an integer of more than {MAX_DIGITS:,} digits, which cannot be written "
                    "as JSON here; send it as a string"
                )
        elif isinstance(item, dict):
            keys = list(item)
            stack.extend((item[k], (place, k)) for k in reversed(keys))
        elif isinstance(item, list | tuple):
            stack.extend((item[i], (place, i)) for i in range(len(item) - 1, -1, -1))
    return None


def _at(place: tuple[Any, Any] | None) -> str:
    parts: list[str] = []
    while place is not None:
        place, key = place
        parts.append(str(key))
    return f" at {'/'.join(reversed(parts))}" if parts else ""


def _refuse_constant(token: str) -> float:
    raise _NonFinite(token)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _NonFinite(text)
    return number


class _NonFinite(ValueError):
    pass


def loads(text: str | bytes, what: str) -> Any:
    """JSON text as data, refusing NaN and Infinity (and numbers too large for a float, such as 1e999).

    Raises ValueError with one line naming where; a syntax error is a `json.JSONDecodeError` (a
    ValueError) as usual. The parser itself stops at such a number (hooks on its constants and floats), so
    a body without one costs a parse; one with one is read again to name the place."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NonFinite as e:
        refused = non_finite(json.loads(text), what)
        raise ValueError(refused or f"{what} holds {e}; {ACCEPTED}") from None


def finite_json(value: Any) -> Any:
    """`value` with each NaN or infinite number replaced by its name as a string ("NaN", "Infinity",
    "-Infinity"), so that it can be written as strict JSON. Only values recorded before hitl refused such
    numbers hold any; `value` itself is returned when it holds none."""
    if isinstance(value, float) and not math.isfinite(value):
        return _token(value)
    if isinstance(value, dict):
        out = {k: finite_json(v) for k, v in value.items()}
        return value if all(out[k] is value[k] for k in value) else out
    if isinstance(value, list | tuple):
        items = [finite_json(v) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """`json.dumps` that always writes strict JSON (non-finite numbers as their names, see `finite_json`)."""
    return json.dumps(finite_json(value), allow_nan=False, **kwargs)


def _token(number: float) -> str:
    if math.isnan(number):
        return "NaN"
    return "Infinity" if number > 0 else "-Infinity"


def _named(number: float) -> str:
    """How a message names it: an infinity may have been written as a number too large, like 1e999."""
    return _token(number) if math.isnan(number) else f"{_token(number)} (or a number too large, such as 1e999)"
