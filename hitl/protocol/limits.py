"""How large things may get, so a run can always be read and resumed.

Temporal refuses any single payload over 2 MB (its default blob limit). Every
payload hitl creates is built from a few parts: the state, a question, a
decision, and bounded records of earlier ones. Each part gets its own limit
here and is checked where it is created (client, node activity, workflow), so
no combination can add up to a payload Temporal would refuse: a run that
cannot be read or resumed is worse than a refused value.

Pure functions over JSON values: the workflow imports this module too.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_PAYLOAD_BYTES = 2_000_000
"""Temporal's default limit on one payload (the server refuses larger ones)."""

MAX_STATE_BYTES = 1_000_000
"""A run's state as JSON. Node inputs, snapshots and the continue-as-new carry hold it once."""

MAX_DECISION_BYTES = 256_000
"""One human decision (answer, answer map, state update or edit, fork edits)."""

MAX_QUESTION_BYTES = 64_000
"""One `interrupt()` value: what a person is shown."""

CLIP_BYTES = 2_000
"""Decision values and writes kept in the run's records (decision log, checkpoints) beyond
this size are replaced by a stub naming their size; the whole value stays in Temporal's
history (the update or activity that carried it)."""

MAX_CONTEXT_BYTES = 64_000
"""A run's runtime context (`client.start(..., context=)`) as JSON: it travels with every node's input."""

MAX_CUSTOM_EVENTS = 100
"""What one node run's stream writer (`get_stream_writer()`) keeps: at most this many events. Past it (or past
MAX_CUSTOM_BYTES), further events are dropped and counted, never failing the node: the stream shows one marker
with the count after the events kept."""

MAX_CUSTOM_BYTES = 64_000
"""And at most this much JSON in all, per node run (the events travel in the node's result, in history)."""

HISTORY_BUDGET_BYTES = 40 * 1024 * 1024
"""How full a run's history may get before a node that keeps calling graphs or `@task`s runs again: each run of
the node carries what its earlier calls returned, so the history grows with the square of the calls, and
Temporal ends a run whose history passes 50 MiB (terminated, outside hitl). Past this the step fails in one line
instead, with room left for the failure and for the run's decisions."""

KEEP_DECISIONS = 50
"""Decisions a snapshot lists (the newest); older ones stay in the checkpoints' records."""

CHECKPOINT_VALUES_BYTES = 8_000_000
"""State copies a run keeps in memory for time travel; older checkpoints keep only metadata."""

PAGE_BYTES = 1_500_000
"""What one page of `get_state_history` may carry; the client asks for further pages."""


def json_size(value: Any) -> int:
    """Bytes of `value` as UTF-8 JSON, as Temporal stores it (no `\\u` escapes counted)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode())


def too_large(value: Any, limit: int, what: str) -> str | None:
    """One line saying `what` is over `limit` and what to do instead; None when it fits."""
    try:
        size = json_size(value)
    except (
        UnicodeEncodeError
    ) as e:  # a lone surrogate ("\ud800" in JSON) has no UTF-8 form: Temporal could not store it
        return (
            f"{what} is not valid Unicode text (lone surrogate {e.object[e.start : e.end]!r}); "
            "send text that encodes as UTF-8"
        )
    return over_limit(size, limit, what) if size > limit else None


def over_limit(size: int, limit: int, what: str) -> str:
    return (
        f"{what} is {_human(size)}; hitl takes at most {_human(limit)} there: "
        "keep large data outside the run (a file or a bucket) and store a reference to it"
    )


MAX_STEP_INPUT_BYTES = 3_000_000
"""What the node tasks a step starts together may carry in all: their commands go to Temporal in one workflow
task completion, which the server takes up to 4 MB (gRPC); past it Temporal terminates the run."""

TASK_COMMAND_BYTES = 2_500
"""What one scheduled node task costs in that completion besides its input (type, queue, options, headers)."""


def step_input_refused(step: int, inputs: list[int]) -> str | None:
    """Why a step cannot start its node tasks together (`inputs`: each task's input size), or None."""
    total = sum(inputs) + TASK_COMMAND_BYTES * len(inputs)
    if total <= MAX_STEP_INPUT_BYTES:
        return None
    return (
        f"step {step} starts {len(inputs)} node task(s) that carry {_human(total)} in all (each gets the state, "
        f"its answers and its Send's arg); Temporal takes at most {_human(MAX_STEP_INPUT_BYTES)} of them at once "
        "here: send fewer at once (batches over several steps), or keep large data outside the state and store "
        "a reference to it"
    )


def answer_over_state(state: int, answer: int, votes: int = 0) -> str | None:
    """Why an answer cannot be taken whole: the state and it together exceed what a run holds. Checked before
    the answer is accepted, since a node that stores it would otherwise fail the step (docs/durability.md). A
    quorum's node gets every vote at once: `answer` counts the `votes` counted before this one too."""
    if state + answer <= MAX_STATE_BYTES:
        return None
    this = f"this answer with the {votes} vote(s) before it" if votes else "this answer"
    return (
        f"the run's state is {_human(state)} and {this} {_human(answer)}; together over the "
        f"{_human(MAX_STATE_BYTES)} a run can hold: answer with less, or keep large data outside the run "
        "(a file or a bucket) and answer with a reference to it"
    )


def clip(value: Any, limit: int = CLIP_BYTES) -> Any:
    """`value` itself when small, else a stub saying how large it was (for records only)."""
    size = json_size(value)
    if size <= limit:
        return value
    return {"__clipped__": size, "preview": json.dumps(value, ensure_ascii=False, default=str)[:200]}


def shorten(value: Any, limit: int = 120) -> str:
    """`value` as one short line for people (a string as is, else JSON), cut to `limit`
    characters with a trailing `…`. The one text-clipping rule: inbox summaries, tables."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _human(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1_000_000 else f"{size / 1e3:.1f} kB"


MAX_JSON_DEPTH = 100
"""How deeply JSON may nest where it enters (HTTP bodies, form fields, CLI arguments, client values):
`[[1]]` is 2 deep. Deeper documents break parsers and serializers far from the edge (Python's json
recursion, pydantic's serialization), so they are refused where they arrive, with one line."""


STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.S)
"""A JSON string, or an unterminated one to the end: the closing quote is optional so a match never
fails, and no failed match is retried from each later quote (which would be quadratic)."""
BRACKETS = bytes(1 if c in b"[{" else 2 if c in b"]}" else 0 for c in range(256))
"""Opening brackets to 1, closing ones to 2, every other byte to 0."""
STRUCTURE = b" \t\r\n,:0123456789+-.eEtruefalsn"
"""What JSON holds outside strings besides brackets: dropped before counting."""
STEPS = (0, 1, -1)


def text_depth(text: str | bytes) -> int:
    """The deepest nesting of JSON text, counted without parsing: brackets outside strings. Linear and
    stack-free, the scanning done by the regex engine and bytes.translate (a 2 MB body costs about what
    parsing it does), so raw bytes can be refused before any parser sees them. Malformed text is not
    judged here (the parser says what is wrong; brackets after an unterminated quote do not count)."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    steps = STRING.sub(b"", raw).translate(BRACKETS, STRUCTURE)
    return max(accumulate(map(STEPS.__getitem__, steps)), default=0)


def json_depth(value: Any) -> int:
    """How deeply a parsed value nests (lists, tuples and dicts count; `[[1]]` is 2), without recursion."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict):
            todo.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, (list, tuple)):
            todo.extend((v, depth + 1) for v in item)
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
    return deepest


def too_deep(value: Any, what: str, *, text: bool = False) -> str | None:
    """One line saying `what` nests deeper than MAX_JSON_DEPTH; None when it does not.
    With `text`, `value` is JSON text (str or bytes), scanned before parsing."""
    depth = text_depth(value) if text else json_depth(value)
    return over_depth(what) if depth > MAX_JSON_DEPTH else None


def over_depth(what: str) -> str:
    return (
        f"{what} nests deeper than {MAX_JSON_DEPTH} levels of JSON objects and arrays; hitl takes at most "
        f"{MAX_JSON_DEPTH}: flatten it"
    )
