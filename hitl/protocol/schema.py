"""Answer schemas: JSON Schema checked with a regular-expression engine that cannot backtrack.

`jsonschema` matches `pattern` and `patternProperties` with Python's `re`,
which backtracks: a pattern such as `^(a+)+$` takes seconds for a 30-character
answer, and the check runs in the web server's event loop and in the workflow's
update validator, where it would hold the whole worker. Here those keywords
(and `additionalProperties`, which consults `patternProperties`) match with
Google's RE2, which runs in time linear in the text. RE2 has no backreferences
or lookaround; `schema_unusable` refuses such patterns (and any schema its
metaschema refuses) when the question is asked.

A pattern RE2 cannot compile can still reach `search` from a question recorded
before that check (or a state key's schema declared in code): it is matched
with `re` as before, so the decisions such runs took replay as they ran.

Checking is bounded by construction too, since the workflow checks answers in its update validators and
in its own code for decisions sent as signals, where a check running past Temporal's deadlock detector (2 s)
fails the workflow task again and again: `uniqueItems` is decided in time linear in the answer (jsonschema
compares every pair of objects), and with `budget` a check gives up after that many keyword applications
(`TooCostly`), which is how a small schema whose `anyOf` branches recurse through `$ref` (exponential in
the answer's depth) is refused instead of wedging the run. Counting steps, not time, keeps it deterministic.

Pure functions: the workflow imports this module too (`re2` is a C extension
passed through Temporal's sandbox with the module that imports it).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import jsonschema
import re2
from jsonschema.exceptions import ValidationError

_BASE = jsonschema.Draft202012Validator
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a pattern RE2 refuses is reported in one line, not logged to stderr as well

ACCEPTED = "give a JSON Schema (draft 2020-12)"
RE2_SYNTAX = "patterns use RE2 syntax (no backreferences or lookaround)"


def re2_error(pattern: str) -> str | None:
    """Why RE2 cannot compile `pattern`; None when it can."""
    try:
        re2.compile(pattern, _OPTIONS)
    except re2.error as e:
        reason = e.args[0] if e.args else e
        return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
    return None


@functools.lru_cache(maxsize=512)
def _matcher(pattern: str) -> Callable[[str], bool]:
    """`pattern` compiled once: RE2 when it can, else Python's `re` (only patterns recorded before
    `schema_unusable` refused them get here; see the module's docstring)."""
    if re2_error(pattern) is None:
        compiled = re2.compile(pattern, _OPTIONS)

        def found(text: str) -> bool:
            try:
                return compiled.search(text) is not None
            except UnicodeEncodeError:  # a lone surrogate has no UTF-8 form for RE2; it matches nothing
                return False

        return found
    legacy = re.compile(pattern)
    return lambda text: legacy.search(text) is not None


def search(pattern: str, text: str) -> bool:
    """True when `pattern` matches somewhere in `text` (JSON Schema patterns are not anchored); a step of the
    check's budget per search and per 256 characters searched (`patternProperties` tries every pattern on
    every key within one keyword application)."""
    _charge(_steps.get(), 1 + len(text) // 256)
    return _matcher(pattern)(text)


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """jsonschema's own keyword, told which keys `patternProperties` matched (by RE2) as if they were
    listed under `properties`, so that it never matches a pattern itself."""
    patterns = schema.get("patternProperties")
    if validator.is_type(instance, "object") and isinstance(patterns, dict) and patterns:
        matched = {k: True for k in instance if any(search(p, k) for p in patterns)}
        listed = schema.get("properties")
        schema = {k: v for k, v in schema.items() if k != "patternProperties"}
        schema["properties"] = {**(listed if isinstance(listed, dict) else {}), **matched}
    yield from _BASE.VALIDATORS["additionalProperties"](validator, additional, instance, schema)


def _unique_items(validator: Any, unique: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if unique and validator.is_type(instance, "array"):
        repeated = first_repeat(instance)
        if repeated is not None:
            yield ValidationError(f"has non-unique elements (items {repeated[0]} and {repeated[1]} are equal)")


def first_repeat(items: Sequence[Any]) -> tuple[int, int] | None:
    """The first two positions holding equal items by jsonschema's `uniqueItems` (`_utils.equal`: 1 equals
    1.0, True does not equal 1, objects and arrays by content), or None: one pass over canonical keys, where
    jsonschema compares every pair of unsortable items."""
    seen: dict[Any, int] = {}
    for i, item in enumerate(items):
        first = seen.setdefault(_canonical(item), i)
        if first != i:
            return first, i
    return None


def _canonical(value: Any) -> Any:
    """A hashable key equal for exactly the values jsonschema's `equal` finds equal."""
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, bool) or value is None:
        return ("c", value)
    if isinstance(value, float):
        if value != value:  # NaN equals only itself (jsonschema's `one is two`)
            return ("nan", id(value))
        return ("x", int(value)) if value.is_integer() else ("x", value)
    if isinstance(value, int):
        return ("x", value)
    if isinstance(value, Mapping):
        return ("d", tuple((k, _canonical(value[k])) for k in sorted(value, key=str)))
    if isinstance(value, Sequence):
        return ("l", tuple(_canonical(v) for v in value))
    return ("o", repr(value))


class TooCostly(Exception):
    """A check ran out of its step budget (see the module's docstring)."""


SCHEMA_STEPS = 20_000
"""Steps one answer's check may take (a keyword applied, a pattern searched, or 64 characters of a reason
given): a plain schema spends one or a few per value, so a list of 5,000 objects with typed fields fits, and the
worst schemas found spend them in about 0.2 s here, well inside Temporal's 2 s deadlock detector even where
the workflow runs slower (the strict sandbox, a loaded worker)."""

_steps: ContextVar[list[int] | None] = ContextVar("hitl_schema_steps", default=None)


def _charge(left: list[int] | None, steps: int) -> None:
    if left is not None:
        left[0] -= steps
        if left[0] < 0:
            raise TooCostly


def _counted(keyword: Callable[..., Iterator[ValidationError]]) -> Callable[..., Iterator[ValidationError]]:
    """`keyword`, charged one step per application and one per 64 characters of each reason it gives (jsonschema
    writes the value into most reasons, so a schema failing a large value many times costs accordingly)."""

    def counted(validator: Any, value: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
        left = _steps.get()
        _charge(left, 1)
        for error in keyword(validator, value, instance, schema):
            _charge(left, len(error.message) // 64)
            yield error

    return counted


_OWN = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "uniqueItems": _unique_items,
}
AnswerValidator = jsonschema.validators.extend(
    _BASE, {name: _counted(_OWN.get(name, keyword)) for name, keyword in {**_BASE.VALIDATORS, **_OWN}.items()}
)
"""Draft 2020-12, with every regular expression matched by `search`, `uniqueItems` in linear time, and every
keyword counted against the step budget of `first_error`'s caller."""


def first_error(schema: Any, value: Any, budget: int | None) -> ValidationError | None:
    """The most relevant reason `value` does not fit `schema` (None when it fits). With `budget`, raises
    `TooCostly` past that many keyword applications; without, checks as long as it takes (what a decision
    the workflow took before the budget existed replays with)."""
    token = _steps.set([budget] if budget is not None else None)
    try:
        error: ValidationError | None = jsonschema.exceptions.best_match(answer_validator(schema).iter_errors(value))
        return error
    finally:
        _steps.reset(token)


def answer_validator(schema: Any) -> Any:
    """An `AnswerValidator` for `schema`. A top-level `$schema` naming draft 2020-12 is left out: jsonschema
    would otherwise check a `$ref` to the root ("#") with its stock validator, which matches with `re`."""
    if isinstance(schema, dict) and schema.get("$schema") in _DIALECT:
        schema = {k: v for k, v in schema.items() if k != "$schema"}
    return AnswerValidator(schema)


_FORMATS = jsonschema.FormatChecker(formats=())
_FORMATS.checks("regex", raises=ValueError)(lambda p: not isinstance(p, str) or _compiles(p))
_METASCHEMA = _BASE(_BASE.META_SCHEMA, format_checker=_FORMATS)


def _compiles(pattern: str) -> bool:
    reason = re2_error(pattern)
    if reason is not None:
        raise ValueError(reason)
    return True


def schema_unusable(schema: Any, what: str) -> str | None:
    """One line naming the key where `schema` is not a JSON Schema hitl can check answers with: refused
    by the draft 2020-12 metaschema, a regular expression RE2 cannot compile, or keywords that would make
    jsonschema match a pattern with Python's `re` after all (see `_backtracking`). None when usable."""
    if isinstance(schema, bool):
        return None
    error = jsonschema.exceptions.best_match(_METASCHEMA.iter_errors(schema))
    if error is None:
        backtracking = _backtracking(schema)
        return f"{what} cannot be checked in linear time: {backtracking}" if backtracking else None
    where = "/".join(str(p) for p in error.absolute_path) or "its top level"
    if error.validator == "format" and error.cause is not None:
        return (
            f"{what} is not a valid JSON Schema: at {where}, {error.instance!r} is not an RE2 regular "
            f"expression ({error.cause}); {RE2_SYNTAX}"
        )
    return f"{what} is not a valid JSON Schema: at {where}, {error.message}; {ACCEPTED}"


def _backtracking(schema: dict[str, Any]) -> str | None:
    """Where jsonschema would leave `AnswerValidator` and match patterns with Python's backtracking `re`:
    a `$schema` in a subschema (or a dialect other than 2020-12) switches to jsonschema's stock validator
    for it, and `unevaluatedProperties` matches `patternProperties` itself. Looked for anywhere in the
    schema (a `const` holding such a key is refused too: a rare and harmless over-approximation)."""
    declared = schema.get("$schema")
    if declared is not None and declared not in _DIALECT:
        return f"$schema names {declared!r}; hitl checks answers with draft 2020-12 ({_DIALECT[0]}): drop it"
    keys: dict[str, str] = {}
    stack: list[tuple[Any, str]] = [(v, k) for k, v in schema.items()]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                keys.setdefault(str(key), f"{path}/{key}")
                stack.append((value, f"{path}/{key}"))
        elif isinstance(item, list):
            stack.extend((v, f"{path}/{i}") for i, v in enumerate(item))
    if "$schema" in keys:
        return f"at {keys['$schema']}, a subschema declares its own $schema; hitl checks the whole schema as draft 2020-12: drop it"
    uses = {k for k in ("unevaluatedProperties", "patternProperties") if k in keys or k in schema}
    if len(uses) == 2:
        return (
            "unevaluatedProperties together with patternProperties would match the patterns with a backtracking "
            "engine; use additionalProperties instead of unevaluatedProperties"
        )
    return None


_DIALECT = ("https://json-schema.org/draft/2020-12/schema", "https://json-schema.org/draft/2020-12/schema#")
