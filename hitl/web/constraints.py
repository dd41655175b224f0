"""An answer schema's constraints as HTML form attributes, so the browser stops a mistake before it is sent.

The server still checks every answer (the run's schema check, RE2 for patterns): these attributes only
help, so each is carried only where the browser's reading is the schema's. A number's bounds become `min`
and `max` (an integer's rounded inward: `exclusiveMaximum: 150` is `max=149`), `multipleOf` becomes `step`
where the browser's step base (`min`, else the prefilled value) is itself a multiple; exclusive bounds of a
non-integer go to app.js as `data-gt`/`data-lt`. A string's `minLength`/`maxLength` become `minlength`/
`maxlength`, and its `pattern` becomes the `pattern` attribute only when it is in a small subset of regular
expressions that RE2 and ECMAScript (the browser's `v` flag) read alike and that a backtracking engine
matches quickly (`browser_pattern`); any other pattern is left to the server.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

Attrs = dict[str, str]


def _number(v: Any) -> float | int | None:
    """A schema keyword's finite number (bools are not numbers here)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return v if math.isfinite(v) else None


def _text(v: float | int) -> str:
    return str(v) if isinstance(v, int) or not v.is_integer() else str(int(v))


def number_attrs(schema: dict[str, Any], integer: bool, shown: str) -> Attrs:
    """`min`, `max`, `step` (and `data-gt`/`data-lt`) for a number input showing `shown`."""
    out: Attrs = {}
    lo, lo_x = _number(schema.get("minimum")), _number(schema.get("exclusiveMinimum"))
    hi, hi_x = _number(schema.get("maximum")), _number(schema.get("exclusiveMaximum"))
    if integer:
        lows = [math.ceil(lo)] if lo is not None else []
        lows += [math.floor(lo_x) + 1] if lo_x is not None else []
        highs = [math.floor(hi)] if hi is not None else []
        highs += [math.ceil(hi_x) - 1] if hi_x is not None else []
        if lows:
            out["min"] = str(max(lows))
        if highs:
            out["max"] = str(min(highs))
    else:
        if lo is not None or lo_x is not None:
            bound = max(x for x in (lo, lo_x) if x is not None)
            out["min"] = _text(bound)
            if lo_x is not None and lo_x == bound and (lo is None or lo_x >= lo):
                out["data-gt"] = _text(lo_x)  # the browser's min is inclusive: app.js refuses the bound itself
        if hi is not None or hi_x is not None:
            bound = min(x for x in (hi, hi_x) if x is not None)
            out["max"] = _text(bound)
            if hi_x is not None and hi_x == bound and (hi is None or hi_x <= hi):
                out["data-lt"] = _text(hi_x)
    out["step"] = _step(_number(schema.get("multipleOf")), integer, out.get("min"), shown)
    return out


def _step(multiple: float | int | None, integer: bool, low: str | None, shown: str) -> str:
    """`multipleOf` as the browser's step when its base (min, else the value shown, else 0) is a multiple."""
    plain = "1" if integer else "any"
    if multiple is None or multiple <= 0 or (integer and not float(multiple).is_integer()):
        return plain
    try:
        step = Decimal(_text(multiple))
        base = Decimal(low if low is not None else (shown.strip() or "0"))
        return _text(multiple) if base.is_finite() and base % step == 0 else plain
    except InvalidOperation:  # the value shown is not a number (typed before a refusal): its base is 0
        return _text(multiple)


def text_attrs(schema: dict[str, Any], single_line: bool) -> Attrs:
    """`minlength`, `maxlength` and (on a single-line input) `pattern` with a `title` saying it."""
    out: Attrs = {}
    for keyword, attr in (("minLength", "minlength"), ("maxLength", "maxlength")):
        n = schema.get(keyword)
        if isinstance(n, int) and not isinstance(n, bool) and n >= 0:
            out[attr] = str(n)
    pattern = schema.get("pattern")
    carried = browser_pattern(pattern) if single_line and isinstance(pattern, str) else None
    if carried is not None:
        out["pattern"] = carried
        out["title"] = f"must match {pattern}"
    return out


# ------------------------------------------------------------------ patterns

_ESCAPABLE = set("^$\\.*+?()[]{}|/")
"""Escapes both engines read as the character itself (ECMAScript's `u`/`v` flags allow no others outside classes)."""
_CLASS_ESCAPES = set("dDwW")
"""ASCII in both engines (`\\s` is not: RE2's is ASCII whitespace, ECMAScript's Unicode)."""
_META = set("^$\\.*+?()[]{}|")
_QUANT = re.compile(r"[*+?]|\{(\d{1,4})(,(\d{0,4}))?\}")
MAX_UNBOUNDED = 3
"""Unbounded quantifiers (`*`, `+`, `{n,}`) a carried pattern may hold, the wrappers included: a backtracking
engine's work grows as the text's length to about this power for the plain sequences allowed here."""


def browser_pattern(pattern: str) -> str | None:
    """`pattern` (a JSON Schema pattern: searched, not anchored) as an HTML `pattern` attribute (matched
    whole), or None when it is outside the subset both engines read alike or could backtrack badly:
    literals, `.`, escaped metacharacters, `\\d \\w \\D \\W`, classes of letters, digits, escapes and ranges,
    groups (`(...)`, `(?:...)`), alternation, `^` first and `$` last, and quantifiers; a quantified group
    may hold no quantifier or alternation (star height one)."""
    scan = _Scan(pattern)
    try:
        scan.sequence(top=True)
    except _Outside:
        return None
    if scan.i != len(pattern):
        return None
    head = "" if scan.anchored_start and not scan.top_alternation else "[\\s\\S]*"
    tail = "" if scan.anchored_end and not scan.top_alternation else "[\\s\\S]*"
    if scan.unbounded + bool(head) + bool(tail) > MAX_UNBOUNDED:
        return None
    return f"{head}(?:{pattern}){tail}" if head or tail else pattern


class _Outside(Exception):
    """The pattern leaves the shared subset."""


class _Scan:
    """A recursive-descent reader of the shared subset, counting what `browser_pattern` needs."""

    def __init__(self, text: str) -> None:
        self.text, self.i = text, 0
        self.unbounded = 0
        self.anchored_start = self.anchored_end = self.top_alternation = False

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def sequence(self, top: bool = False) -> tuple[bool, bool]:
        """Alternatives up to `)` or the end; (holds a quantifier, holds an alternation)."""
        quantified = alternation = False
        while self.i < len(self.text) and self.peek() != ")":
            c = self.peek()
            if c == "|":
                alternation = True
                self.top_alternation |= top
                self.i += 1
                continue
            if c == "^":
                if not (top and self.i == 0):
                    raise _Outside
                self.anchored_start = True
                self.i += 1
                continue
            if c == "$":
                if not (top and self.i == len(self.text) - 1):
                    raise _Outside
                self.anchored_end = True
                self.i += 1
                continue
            inner = self.atom()
            if self.quantifier():
                if inner != (False, False):
                    raise _Outside  # a quantified group holding a quantifier or alternation: star height two
                quantified = True
            quantified |= inner[0]
            alternation |= inner[1]
        return quantified, alternation

    def atom(self) -> tuple[bool, bool]:
        c = self.peek()
        if c == "(":
            self.i += 1
            if self.text.startswith("?:", self.i):
                self.i += 2
            elif self.peek() == "?":
                raise _Outside  # lookaround, named groups, flags: read differently or not at all
            inner = self.sequence()
            if self.peek() != ")":
                raise _Outside
            self.i += 1
            return inner
        if c == "[":
            self.klass()
        elif c == "\\":
            self.escape(_CLASS_ESCAPES)
        elif c == "." or (c not in _META and c.isprintable() and not _surrogate(c)):
            self.i += 1
        else:
            raise _Outside
        return False, False

    def escape(self, classes: set[str], extra: str = "") -> None:
        nxt = self.text[self.i + 1 : self.i + 2]
        if not nxt or not (nxt in _ESCAPABLE or nxt in classes or nxt in extra):
            raise _Outside
        self.i += 2

    def klass(self) -> None:
        """`[...]`: letters, digits, `_`, space and escapes, and ranges between letters or digits."""
        self.i += 1
        if self.peek() == "^":
            self.i += 1
        count = 0
        while self.peek() != "]":
            c = self.peek()
            if not c:
                raise _Outside
            if c == "\\":
                self.escape(_CLASS_ESCAPES, "-")
            elif c.isalnum() or c in "_ " or (ord(c) > 127 and c.isprintable() and not _surrogate(c)):
                self.i += 1
                if self.peek() == "-" and self.text[self.i + 1 : self.i + 2] not in ("", "]"):
                    end = self.text[self.i + 1]
                    if not (end.isalnum() and ord(end) >= ord(c)):
                        raise _Outside
                    self.i += 2
            else:
                raise _Outside  # unescaped punctuation: the `v` flag reserves much of it
            count += 1
        if count == 0:
            raise _Outside
        self.i += 1

    def quantifier(self) -> bool:
        found = _QUANT.match(self.text, self.i)
        if not found:
            return False
        token = found.group(0)
        if token.startswith("{") and found.group(3) and int(found.group(3)) < int(found.group(1)):
            raise _Outside
        if token in ("*", "+") or (found.group(2) is not None and not found.group(3)):
            self.unbounded += 1
        self.i = found.end()
        if self.peek() == "?":
            self.i += 1  # lazy: the same language
        if self.peek() in ("*", "+", "?", "{"):
            raise _Outside
        return True


def _surrogate(c: str) -> bool:
    return 0xD800 <= ord(c) <= 0xDFFF
