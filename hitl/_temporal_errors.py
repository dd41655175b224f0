"""Temporal errors that mean something other than what they say, named once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import temporalio.client
import temporalio.service

from hitl.types import HitlError

T = TypeVar("T")


def namespace_missing(temporal: temporalio.client.Client, e: temporalio.service.RPCError) -> HitlError | None:
    """The error for a namespace that does not exist, else None: Temporal answers NOT_FOUND,
    which callers would otherwise read as a missing run, missing search attributes or no workers."""
    if e.status != temporalio.service.RPCStatusCode.NOT_FOUND or "namespace" not in e.message.lower():
        return None
    address = temporal.service_client.config.target_host
    return HitlError(
        f"namespace '{temporal.namespace}' does not exist on {address}; pass an existing one with "
        f"--namespace or TEMPORAL_NAMESPACE, or create it with `temporal operator namespace create --namespace {temporal.namespace}`"
    )


def unreachable(temporal: temporalio.client.Client, e: temporalio.service.RPCError) -> HitlError | None:
    """The error for a Temporal service that cannot be reached (stopped, restarting, a wrong address), else
    None: UNAVAILABLE, which callers would otherwise read as a refusal (search attributes "not registered")
    or let through as a 500."""
    if e.status != temporalio.service.RPCStatusCode.UNAVAILABLE:
        return None
    address = temporal.service_client.config.target_host
    return HitlError(
        f"cannot reach Temporal at {address}: {e.message}; it is down or restarting: try again once it is back"
    )


def rpc_error(temporal: temporalio.client.Client, e: temporalio.service.RPCError) -> HitlError:
    """Any RPC error no caller translated, as one line naming its real cause where one is known."""
    return (
        namespace_missing(temporal, e)
        or unreachable(temporal, e)
        or HitlError(f"Temporal refused the request ({e.status.name if e.status else 'unknown status'}): {e.message}")
    )


TRANSIENT = frozenset(
    {
        temporalio.service.RPCStatusCode.CANCELLED,
        temporalio.service.RPCStatusCode.UNAVAILABLE,
        temporalio.service.RPCStatusCode.RESOURCE_EXHAUSTED,
    }
)
"""Statuses a loaded server returns for a read that would succeed a moment later
(its own context cancelled, a partition moving, a busy frontend). Not a deadline:
that read already waited as long as it should."""


async def read_with_retries(read: Callable[[], Awaitable[T]], *, attempts: int = 4, pause: float = 0.25) -> T:
    """Run an idempotent read again after a transient RPC error; never used for writes."""
    for attempt in range(1, attempts + 1):
        try:
            return await read()
        except temporalio.service.RPCError as e:
            if e.status not in TRANSIENT or attempt == attempts:
                raise
        await asyncio.sleep(pause * attempt)
    raise AssertionError("unreachable")


def ended_outside(how: str, why: str) -> str:
    """The one wording of a run Temporal ended by something other than hitl's own endings (a terminate by
    hand, a timeout): the client's snapshot of it and a stream following it both say it this way."""
    return f"{how} {OUTSIDE_HITL}: {why}"


OUTSIDE_HITL = "in Temporal, outside hitl"
