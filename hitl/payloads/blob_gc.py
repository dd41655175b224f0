"""`hitl gc`: delete the claim-check blobs that no history names any more.

A blob may be read for as long as any history naming it exists: a run paused for
months, a closed run the namespace still retains (its state, its `hitl history`).
So the collector reads every history the namespace holds (open and closed runs,
every execution of a continued-as-new run, subgraph runs) and what open runs hold
outside their history (pending activities' heartbeat details), collects the references
in them, and deletes only the blobs that none names and that were last written
before the scan began, less a grace period. The grace covers what is on its way
into a history while the scan runs: a client's start input, a node's result, a
reference a codec reuses without writing again (`ClaimCheckCodec.REUSE_SECONDS`).

Nothing is deleted unless every history was read: a failed listing or fetch stops
the collection with one line, before any delete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import temporalio.client
import temporalio.service
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest

from hitl._temporal_errors import namespace_missing
from hitl.payloads.blobs import ClaimCheckError, CollectableStore, claim_checked, reference
from hitl.types import HitlError, InvalidInputError

DEFAULT_GRACE = timedelta(days=1)
MIN_GRACE = timedelta(hours=1)
"""Well over `ClaimCheckCodec.REUSE_SECONDS` (10 minutes without a write) plus clock skew between this
machine and the store's: a blob younger than this may be named by a history any moment."""


@dataclass
class Collected:
    """What `hitl gc` found and did."""

    runs: int = 0
    """Histories read (every execution the namespace holds)."""
    named: int = 0
    """Distinct blobs those histories name."""
    blobs: int = 0
    """Blobs in the store."""
    young: int = 0
    """Named by no history but written within the grace period: kept."""
    deleted: list[str] = field(default_factory=list)
    """Keys deleted (with `dry_run`: that would be)."""
    deleted_bytes: int = 0
    dry_run: bool = False


def payloads(message: Message) -> Iterator[Payload]:
    """Every Payload anywhere in a protobuf message (a history event's inputs, results, memos, headers,
    failure details...), found by walking its fields, so no kind of event can be missed."""
    if isinstance(message, Payload):
        yield message
        return
    for descriptor, value in message.ListFields():
        kind = descriptor.message_type
        if descriptor.type != FieldDescriptor.TYPE_MESSAGE or kind is None:
            continue
        if kind.GetOptions().map_entry:
            if kind.fields_by_name["value"].type != FieldDescriptor.TYPE_MESSAGE:
                continue
            items = list(value.values())
        elif _repeated(descriptor):
            items = list(value)
        else:
            items = [value]
        for item in items:
            yield from payloads(item)


def _repeated(descriptor: FieldDescriptor) -> bool:
    """`is_repeated` exists from protobuf 6.31 (7 dropped `label`); temporalio accepts protobuf from 3.20."""
    flag = getattr(descriptor, "is_repeated", None)
    if flag is None:
        return bool(getattr(descriptor, "label", None) == FieldDescriptor.LABEL_REPEATED)
    return bool(flag() if callable(flag) else flag)


async def collect(
    temporal: temporalio.client.Client,
    store: CollectableStore,
    *,
    grace: timedelta = DEFAULT_GRACE,
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> Collected:
    """Delete the blobs of `store` that no history in `temporal`'s namespace names and that were last
    written more than `grace` before the scan began (with `dry_run`, only say which)."""
    check_grace(grace)
    began = datetime.now(timezone.utc)
    done = Collected(dry_run=dry_run)
    named = await _named(temporal, done, progress)
    done.named = len(named)
    cutoff = began - grace
    candidates = []
    async for blob in store.blobs():
        done.blobs += 1
        if blob.key in named:
            continue
        if blob.written >= cutoff:
            done.young += 1
        else:
            candidates.append(blob)
    progress(f"{len(candidates)} of {done.blobs} blobs are named by no history and older than {span(grace)}")
    for blob in candidates:
        if dry_run or await store.delete(blob):
            done.deleted.append(blob.key)
            done.deleted_bytes += blob.size
        else:
            done.young += 1  # written again since it was listed
    return done


def check_grace(grace: timedelta) -> None:
    """One line for a grace too short for what is on its way into a history."""
    if grace < MIN_GRACE:
        raise InvalidInputError(f"the grace period must be at least {span(MIN_GRACE)}; got {span(grace)}")


async def _named(temporal: temporalio.client.Client, done: Collected, progress: Callable[[str], None]) -> set[str]:
    """The keys every history of the namespace names; one line and nothing deleted if any cannot be read."""
    named: set[str] = set()
    try:
        total = (await temporal.count_workflows()).count
        async for execution in temporal.list_workflows(page_size=1000):
            handle = temporal.get_workflow_handle(execution.id, run_id=execution.run_id)
            try:
                if execution.status in (None, temporalio.client.WorkflowExecutionStatus.RUNNING):
                    named.update(await _pending(temporal, execution))
                async for event in handle.fetch_history_events():
                    named.update(_keys(event))
            except temporalio.service.RPCError as e:
                if e.status != temporalio.service.RPCStatusCode.NOT_FOUND or namespace_missing(temporal, e):
                    raise
                continue  # gone since it was listed (retention): what it named is no longer needed
            done.runs += 1
            if done.runs % 500 == 0:
                progress(f"read {done.runs} of about {total} histories; {len(named)} blobs named so far")
    except temporalio.service.RPCError as e:
        missing = namespace_missing(temporal, e)
        if missing:
            raise missing from None
        raise HitlError(
            f"hitl gc stopped after reading {done.runs} histories, nothing deleted: {e.message} "
            "(check the Temporal address and namespace, then run it again)"
        ) from None
    progress(f"read {done.runs} histories; they name {len(named)} blobs")
    return named


async def _pending(temporal: temporalio.client.Client, execution: temporalio.client.WorkflowExecution) -> set[str]:
    """The blobs an open run holds outside its history: a pending activity's heartbeat details (its next
    attempt reads them; Temporal copies them into the history only if it times out) and last failure.
    Read before the history, so what leaves the pending state meanwhile is in the history read next.
    The raw call: nothing here is decoded, so no blob is fetched."""
    described = await temporal.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=temporal.namespace,
            execution=WorkflowExecution(workflow_id=execution.id, run_id=execution.run_id),
        ),
        retry=True,
    )
    return set(_keys(described))


def _keys(event: Message) -> Iterator[str]:
    """The blobs an event names. A reference whose key is no sha256 (crafted by someone who can write to
    Temporal) names no blob: skipped, so it cannot stop the collection."""
    for p in payloads(event):
        if claim_checked(p):
            try:
                yield reference(p)[0]
            except ClaimCheckError:
                continue


def span(t: timedelta) -> str:
    """A duration as `hitl gc` and `hitl claim` spell it: 2d, 4h, 30m, 90s (the largest whole unit)."""
    for unit, seconds in (("d", 86400), ("h", 3600), ("m", 60)):
        if t and t % timedelta(seconds=seconds) == timedelta(0):
            return f"{int(t.total_seconds()) // seconds}{unit}"
    return f"{int(t.total_seconds())}s"
