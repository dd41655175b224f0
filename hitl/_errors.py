"""Temporal errors that mean something other than what they say, named once."""

from __future__ import annotations

import temporalio.client
import temporalio.service

from hitl.types import HitlError


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
