"""Run one sequence of steps (langgraph_sdk calls, a few raw HTTP ones) against two servers and compare.

Each step yields up to three checks, compared between LangGraph's server and hitl's:

* `status`: "ok", or the HTTP status of the error the call raised;
* `shape`: the answer's structure: dict keys and JSON value types, recursively (ids, timestamps and
  other values never matter here, only their types; lists element by element);
* `meaning`: what a front-end shows, picked out per step (status, values, next, interrupts' values,
  history length, stream event names...), with ids and timestamps left out.

A check "agrees" when both sides are equal. The test asserts the exact set of disagreeing checks,
so an entry of its known-difference list goes when a fix lands.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

CHECKS = ("status", "shape", "meaning")


@dataclass
class Ctx:
    """One server's side of a run of the steps: its SDK client, raw HTTP, and the ids its steps made."""

    sdk: Any
    http: httpx.AsyncClient
    ids: dict[str, str] = field(default_factory=dict)


@dataclass
class Step:
    name: str
    call: Callable[[Ctx], Awaitable[Any]]
    meaning: Callable[[Any], Any] | None = None
    """What a front-end reads from the answer; None: only status and shape are compared."""
    apart: bool = False
    """The step works on a thread of its own that it makes, and leaves no id for a later step: a run of such
    steps goes at the same time on each side (LangGraph's server takes each run from its queue within 0.5 s
    to 1 s, one after another; together, they wait once)."""


@dataclass
class Outcome:
    status: str | int
    value: Any = None


async def perform(step: Step, ctx: Ctx) -> Outcome:
    try:
        return Outcome("ok", await step.call(ctx))
    except httpx.HTTPStatusError as e:
        return Outcome(e.response.status_code)


OPAQUE = {"metadata", "config", "parent_config", "kwargs"}
"""Free-form maps whose keys each server fills with its own bookkeeping: only their type is compared."""


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys and types, not values (keys that are ids count as `<id>`)."""
    if isinstance(value, dict):
        return {
            ("<id>" if IDS.match(k) else k): ("dict" if k in OPAQUE and isinstance(v, dict) else shape(v))
            for k, v in sorted(value.items())
        }
    if isinstance(value, (list, tuple)):
        return [shape(v) for v in value]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def checks(step: Step, outcome: Outcome) -> dict[str, Any]:
    found: dict[str, Any] = {"status": outcome.status}
    if outcome.status == "ok":
        found["shape"] = shape(outcome.value)
        if step.meaning is not None:
            found["meaning"] = step.meaning(outcome.value)
    return found


@dataclass
class Report:
    compared: list[str] = field(default_factory=list)
    """`step.check` names compared, in order."""
    differences: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """`step.check` -> (LangGraph's, hitl's), for each check that disagrees."""

    @property
    def agreeing(self) -> int:
        return len(self.compared) - len(self.differences)

    def summary(self) -> str:
        return f"{self.agreeing}/{len(self.compared)} checks agree"


async def differential(steps: list[Step], reference: Ctx, ours: Ctx) -> Report:
    """The steps against LangGraph's server and against hitl's, each side in step order (so later steps see
    what earlier ones did on the same side). The two sides share nothing, so they run at the same time: the
    test waits as long as the slower side (LangGraph's, which polls its run queue every 0.5 s), not both."""
    async with asyncio.TaskGroup() as sides:  # a step that raises on one side stops the other
        reference_side, our_side = (
            sides.create_task(run_steps(steps, reference)),
            sides.create_task(run_steps(steps, ours)),
        )
    report = Report()
    for step, theirs, mine in zip(steps, reference_side.result(), our_side.result(), strict=True):
        for check in CHECKS:
            if check in theirs or check in mine:
                key = f"{step.name}.{check}"
                report.compared.append(key)
                if theirs.get(check) != mine.get(check):
                    report.differences[key] = (theirs.get(check), mine.get(check))
    return report


APART_AT_ONCE = 8
"""Steps `apart` in flight at once on a side: each holds a stream open, and hitl refuses one identity's streams
past 16 (`--max-streams`) with 429."""


async def run_steps(steps: list[Step], ctx: Ctx) -> list[dict[str, Any]]:
    """Each step's checks on one side, the steps one after another (a run of steps `apart` at once)."""
    found: list[dict[str, Any]] = []
    room = asyncio.Semaphore(APART_AT_ONCE)

    async def performed(step: Step) -> Outcome:
        async with room:
            return await perform(step, ctx)

    for _, group in itertools.groupby(steps, key=lambda step: step.apart or object()):
        together = list(group)
        outcomes = await asyncio.gather(*(performed(step) for step in together))
        found += [checks(step, outcome) for step, outcome in zip(together, outcomes, strict=True)]
    return found


def interrupts(found: Any) -> list[Any]:
    """The questions' values, in order (ids differ between servers)."""
    return [i.get("value") for i in found or []]


def state_meaning(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "values": state.get("values"),
        "next": state.get("next"),
        "tasks": [(t.get("name"), interrupts(t.get("interrupts"))) for t in state.get("tasks") or []],
        "interrupts": interrupts(state.get("interrupts")),
    }


def thread_meaning(thread: dict[str, Any]) -> dict[str, Any]:
    found = thread.get("interrupts") or {}
    return {
        "status": thread.get("status"),
        "values": thread.get("values"),
        "interrupts": [interrupts(v) for v in found.values()] if isinstance(found, dict) else found,
    }


def wait_meaning(result: dict[str, Any]) -> dict[str, Any]:
    return {k: (interrupts(v) if k == "__interrupt__" else v) for k, v in result.items()}


def stream_meaning(parts: list[tuple[str, Any]]) -> dict[str, Any]:
    """Event names in order (metadata's run id left out) and the data of the others."""
    return {
        "events": [event for event, _ in parts],
        "data": [scrub(data) for event, data in parts if event != "metadata"],
    }


PER_SERVER = {"metadata", "config", "parent_config", "checkpoint", "parent_checkpoint", "timestamp"}
"""Stream data each server fills with its own bookkeeping (checkpoint ids, times, server metadata): the
shape check compares their keys and types, the meaning leaves them out."""


def parts_meaning(parts: list[tuple[str, Any]]) -> dict[str, Any]:
    """Event names in order, and each part's data without ids and per-server bookkeeping."""
    return {
        "events": [event for event, _ in parts],
        "data": [without(scrub(data), PER_SERVER) for event, data in parts if event != "metadata"],
    }


def without(value: Any, keys: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [without(v, keys) for v in value]
    return value


IDS = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^[0-9a-f]{16,}$")


def scrub(value: Any) -> Any:
    """Ids (uuids, hex) replaced, so values that carry them (interrupts in a stream) compare."""
    if isinstance(value, dict):
        return {k: ("<id>" if k == "id" else scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, str) and IDS.match(value):
        return "<id>"
    return value
