"""Keeping a run findable: its search attributes and its summary memo, what they should read now, and
upserting only what changed (`publish`). All but `publish` is pure, so it is tested without a server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from hitl.protocol.patches import CHANGED_ATTRIBUTES
    from hitl.protocol.policy import assignees, deciders
    from hitl.protocol.wire import (
        ANYONE,
        ASSIGNED,
        PENDING_NODES,
        REVIEWERS,
        STATUS,
        SUMMARY_MEMO,
        WAITING_SINCE,
        Phase,
        RunInput,
        RunState,
    )
    from hitl.types import Interrupt
    from hitl.workflows.core import records

_NEVER_WRITTEN = object()


def changed_updates(
    updates: Sequence[SearchAttributeUpdate[Any]], written: Mapping[str, Any]
) -> list[SearchAttributeUpdate[Any]]:
    """The updates that would change something: those whose attribute was never written (by this
    execution: `written`, by name; None stands for unset) or was written with another value."""
    return [u for u in updates if written.get(u.key.name, _NEVER_WRITTEN) != u.value]


def remember(updates: Sequence[SearchAttributeUpdate[Any]], written: dict[str, Any]) -> None:
    """Note what an upsert wrote, for the next `changed_updates`."""
    written.update({u.key.name: u.value for u in updates})


MAX_VALUE_BYTES = 2048
"""Temporal's default limit on one search attribute value (`limit.searchAttributeValueSize`): an upsert past
it fails the workflow task with BadSearchAttributes, and Temporal terminates the run."""


def fit_keywords(values: list[str], overflow: list[str] | None = None) -> list[str]:
    """`values` as a keyword list within MAX_VALUE_BYTES (measured as the SDK encodes it: compact JSON,
    non-ASCII escaped): all of them when they fit (so whatever a run wrote before is written the same), else
    `overflow` when given, else the longest prefix that fits. Many questions, holders or long names must cost
    a filter some precision, never the run."""
    sizes = [len(json.dumps(v)) for v in values]
    if 2 + sum(sizes) + max(len(values) - 1, 0) <= MAX_VALUE_BYTES:
        return values
    if overflow is not None:
        return overflow
    kept, used = [], 1
    for value, size in zip(values, sizes, strict=True):
        if used + size + 1 > MAX_VALUE_BYTES:  # its comma (or the opening bracket's place) and the closing one
            break
        kept.append(value)
        used += size + 1
    return kept


def indexes_who(inp: RunInput) -> bool:
    """Does this run index who may decide or who holds what? Then a change of those while it stays paused (a
    claim taken, handed on, given back or run out; a vote that leaves its quorum open) is indexed again.

    One upsert per such change, and only where those attributes are indexed, so that the inbox's "I may
    decide" and "assigned to me" are filtered server-side, paging and counts included (see `deciders`).
    Only runs with a claim or a quorum question reach this: no older history holds one (issue 14)."""
    return inp.search_attributes and (inp.index_reviewers or inp.index_assigned)


def publish(
    inp: RunInput,
    run: RunState,
    *,
    paused_at: datetime | None,
    ended_in: Phase | None,
    written: dict[str, Any],
    summary: str,
    starter: str,
    patched: Callable[[str], bool],
) -> str:
    """Keep the run findable: status and pending nodes as search attributes, and the summary memo. Returns
    the memo as it now reads (`summary`: as last written; `written`: the attributes as written, kept up to date; `starter`: who asked for the run, whom a quorum may bar).

    A run that ended while paused (cancelled) keeps showing that pause's nodes and summary,
    as it always has: `ended_in` is that pause.
    """
    if not inp.search_attributes:
        return summary
    pause = run.phase if run.phase.paused else ended_in
    pending = records.pending(run)
    nodes = records.pending_nodes(run, paused=pause is not None)
    updates = attribute_updates(inp, run.phase, pending, nodes, paused_at, starter, paused=pause is not None)
    changed = changed_updates(updates, written)
    if changed != updates and patched(CHANGED_ATTRIBUTES):
        updates = changed
    if updates:
        workflow.upsert_search_attributes(updates)
        remember(updates, written)
    if pause is None:
        return summary  # the summary is read only while a run waits: no event spent clearing it
    now_reads = records.summary(pending, pause, nodes)
    if now_reads != summary:
        workflow.upsert_memo({SUMMARY_MEMO: now_reads})
    return now_reads


def attribute_updates(
    inp: RunInput,
    phase: Phase,
    pending: list[Interrupt],
    nodes: list[str],
    paused_at: datetime | None,
    starter: str,
    *,
    paused: bool,
) -> list[SearchAttributeUpdate[Any]]:
    """Every search attribute this run indexes, as it should read now."""
    updates: list[SearchAttributeUpdate[Any]] = [
        STATUS.value_set(phase.status),
        PENDING_NODES.value_set(fit_keywords(nodes)),
        WAITING_SINCE.value_set(paused_at) if paused_at else WAITING_SINCE.value_unset(),
    ]
    if inp.index_reviewers:  # in the same upsert: no extra history event
        # Too many to index: listed for anyone's "I may decide" (a filter's false positive; answering is
        # still checked), never an upsert Temporal refuses by terminating the run.
        reviewers = fit_keywords(deciders(pending, starter), overflow=[ANYONE]) if paused else []
        updates.append(REVIEWERS.value_set(reviewers))
    if inp.index_assigned:
        updates.append(ASSIGNED.value_set(fit_keywords(assignees(pending)) if paused else []))
    return updates
