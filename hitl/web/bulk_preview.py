"""The inbox's bulk answer before anything is sent: the question each ticked run waits on, whether they are
one kind of question, what the typed answer means for it, and what each run's own checks say of it.

A bulk answer is offered only over runs whose questions share one graph, node and answer shape (the
answer's schema, or a tool review's): one answer for two kinds of question is how an approval reached an
age question. The typed answer is JSON; a plain word is read as that text when the question takes text
(its schema, or none), else refused here. Each run then gets a dry run of its own checks
(hitl/client/batch.py: reviewers, claims, schema, quorum, finite numbers), and the preview pins what may be
sent: each run to the interrupt id it showed, never to row positions or a filter read again later.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from hitl.client import batch
from hitl.client.batch import BatchResult, Waiting
from hitl.protocol.limits import shorten, too_deep
from hitl.protocol.policy import schema_refused
from hitl.types import Interrupt, InvalidInputError, StateSnapshot
from hitl.web import forms
from hitl.web.context import decider
from hitl.web.scope import reader

MAX_SELECTED = 1000
SHOWN_IDS = 4
"""Run ids a refusal names per kind of question (the rest counted)."""


@dataclass
class Kind:
    """One kind of question: the graph and node asking, and the shape its answer takes."""

    graph: str
    node: str
    shape: str
    schema: dict[str, Any] | None
    runs: list[str] = field(default_factory=list)

    def line(self) -> str:
        ids = ", ".join(self.runs[:SHOWN_IDS]) + (
            f" and {len(self.runs) - SHOWN_IDS} more" if len(self.runs) > SHOWN_IDS else ""
        )
        return f"{len(self.runs)} at {self.graph} · {self.node} ({self.shape}): {ids}"


@dataclass
class Item:
    """One ticked run in the preview: the question it will be answered at (if any) and its dry run."""

    result: BatchResult
    question: Interrupt | None = None

    @property
    def asks(self) -> str:
        if self.question is None:
            return ""
        value = self.question.value
        return shorten(value["question"] if isinstance(value, dict) and "question" in value else value, 110)


@dataclass
class Preview:
    text: str
    node: str | None
    batch_id: str
    items: list[Item] = field(default_factory=list)
    kinds: list[Kind] = field(default_factory=list)
    value: Any = None
    note: str = ""
    refusal: str | None = None

    @property
    def pins(self) -> dict[str, str]:
        """What confirming sends: each run whose own checks pass, at the interrupt id it showed."""
        return {
            i.result.run_id: i.result.interrupt_id
            for i in self.items
            if i.result.outcome == "would_apply" and i.result.interrupt_id
        }

    @property
    def kind(self) -> Kind | None:
        return self.kinds[0] if len(self.kinds) == 1 else None

    @property
    def value_json(self) -> str:
        return json.dumps(self.value, ensure_ascii=False)


def ticked(runs: list[str]) -> list[str]:
    ids = list(dict.fromkeys(r for r in runs if r))
    if not ids:
        raise InvalidInputError("tick the runs to answer first")
    if len(ids) > MAX_SELECTED:
        raise InvalidInputError(f"{len(ids)} runs ticked; answer at most {MAX_SELECTED} at once")
    return ids


async def preview(request: Request, runs: list[str], text: str, node: str | None, batch_id: str) -> Preview:
    """What a bulk answer of `text` to the ticked `runs` (at `node`, when the inbox was filtered by one) would
    do, as the caller: refused as a whole (no answer, mixed questions, a word the question cannot take), or
    a dry run per run. Nothing is sent."""
    client, scope = decider(request), reader(request)
    ids = ticked(runs)
    if not text.strip():
        raise InvalidInputError("type the answer first (JSON, or a plain word for a question that takes text)")
    if refused := too_deep(text, "the answer", text=True):
        raise InvalidInputError(refused)
    found = Preview(text, node, batch.check_batch_id(batch_id or None))
    gate = asyncio.Semaphore(batch.DEFAULT_CONCURRENCY)

    async def read(run_id: str) -> tuple[Item, StateSnapshot | None]:
        async with gate:
            try:
                snapshot = await batch.readable_state(client.get_run(run_id), scope.may_read)
            except Exception as e:  # reported per run, like a batch's
                return Item(BatchResult(run_id, *batch.failure(run_id, e))), None
        target, why = batch.pick_question(snapshot, Waiting(node=node))
        result = BatchResult(run_id, "refused", why, target.id if target else None)
        return Item(result, target), snapshot

    read_runs = await asyncio.gather(*(read(r) for r in ids))
    found.items = [item for item, _ in read_runs]
    found.kinds = kinds_of([(item, s) for item, s in read_runs if s is not None and item.question is not None])
    if len(found.kinds) > 1:
        found.refusal = (
            f"the ticked runs wait on {len(found.kinds)} kinds of question, and one answer goes to one kind: "
            + "; ".join(k.line() for k in found.kinds)
            + ". Untick the others, or filter by graph and node"
        )
        return found
    if not found.kinds:
        found.refusal = "none of the ticked runs waits on a question this answer could go to: " + "; ".join(
            f"{i.result.reason}" for i in found.items[:SHOWN_IDS]
        )
        return found
    try:
        found.value, found.note = read_answer(text, found.kinds[0])
    except InvalidInputError as e:
        found.refusal = str(e)
        return found
    snapshots = {item.result.run_id: s for item, s in read_runs}

    async def dry(item: Item) -> None:
        snapshot = snapshots[item.result.run_id]
        if item.question is None or snapshot is None:
            return
        async with gate:
            result = await batch.answer_one(
                client,
                item.result.run_id,
                found.value,
                Waiting(),
                found.batch_id,
                True,
                pinned=item.question.id,
                snapshot=snapshot,
            )
        if result is not None:
            item.result = result

    await asyncio.gather(*(dry(i) for i in found.items))
    return found


def kinds_of(asked: list[tuple[Item, StateSnapshot]]) -> list[Kind]:
    """The kinds of question the runs wait on, the most common first."""
    kinds: dict[tuple[str, str, str], Kind] = {}
    for item, snapshot in asked:
        question = item.question
        assert question is not None
        shape = shape_of(question)
        key = (snapshot.graph, question.node, json.dumps([shape, question.schema], sort_keys=True, default=str))
        kind = kinds.setdefault(key, Kind(snapshot.graph, question.node, shape, question.schema))
        kind.runs.append(item.result.run_id)
    return sorted(kinds.values(), key=lambda k: -len(k.runs))


def shape_of(question: Interrupt) -> str:
    """The answer a question takes, in words."""
    if forms.review_cards(question.value, question.schema):
        return "a review of tool calls"
    if question.schema is None:
        return "any JSON answer"
    s = forms.simplify(question.schema)
    if "const" in s:
        return f"exactly {json.dumps(s['const'])}"
    if "enum" in s:
        return "one of " + ", ".join(json.dumps(v) for v in s["enum"])
    kind = s.get("type")
    if kind in ("integer", "number"):
        low, high = s.get("minimum"), s.get("maximum")
        bounds = f" from {low} to {high}" if low is not None and high is not None else ""
        return ("a whole number" if kind == "integer" else "a number") + bounds
    if kind == "string":
        return "text"
    if kind == "boolean":
        return "true or false"
    if kind == "object" and isinstance(s.get("properties"), dict):
        return "an object with " + ", ".join(s["properties"])
    return "an answer fitting its JSON Schema"


def read_answer(text: str, kind: Kind) -> tuple[Any, str]:
    """The typed answer's JSON value, and a note when a plain word was read as text.

    A word that is not JSON is read as that text when the question takes text (its schema accepts it,
    or it has none: the run page's text field sends what is typed the same way); else refused, naming
    what the question takes."""
    try:
        return forms.loads(text, "the answer"), ""
    except InvalidInputError:
        word = text.strip()
        if word[:1] in ("{", "[", '"'):  # meant as JSON: read as text it would be a different answer
            raise
        if kind.schema is None or schema_refused(word, kind.schema, "the answer") is None:
            return word, f"{word} read as the text {json.dumps(word)}"
        raise InvalidInputError(
            f"{shorten(word, 40)!r} is not JSON, and as text it does not fit the question at {kind.node}, which "
            f"takes {kind.shape}; type the answer as JSON (text in double quotes)"
        ) from None
