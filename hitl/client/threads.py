"""What a run keeps of the `hitl serve` thread it starts on: the thread's metadata and creation time (its
memo, set at start), and which execution under the same id it replaces (the thread's record before its
first run, or the thread's previous turn). The record itself and the design are in hitl/web/threads.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import temporalio.api.common.v1
import temporalio.api.workflowservice.v1
import temporalio.client
import temporalio.service

from hitl.protocol.wire import THREAD_MEMO


@dataclass(frozen=True)
class ThreadStart:
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    replaces: str | None = None
    """The Temporal run id of the execution this start supersedes (ended first if still open); None: a new id."""

    def memo(self) -> dict[str, Any]:
        return {THREAD_MEMO: {"metadata": self.metadata, "created_at": self.created_at.isoformat()}}

    @classmethod
    def of(cls, memo: object, replaces: str | None = None) -> ThreadStart:
        """From a thread memo as stored (anything else: no metadata, created now)."""
        if not isinstance(memo, dict):
            return cls(replaces=replaces)
        metadata = memo.get("metadata")
        try:
            created = datetime.fromisoformat(str(memo.get("created_at")))
        except ValueError:
            created = datetime.now(timezone.utc)
        return cls(metadata if isinstance(metadata, dict) else {}, created, replaces)

    async def supersede(self, temporal: temporalio.client.Client, workflow_id: str) -> None:
        """End the replaced execution if it is still open (a concurrent start may have ended it already:
        then this start meets the other's run and is refused as a duplicate)."""
        if self.replaces is None:
            return
        try:
            await temporal.get_workflow_handle(workflow_id, run_id=self.replaces).terminate("superseded by a run")
        except temporalio.service.RPCError as e:
            if e.status != temporalio.service.RPCStatusCode.NOT_FOUND:
                raise


async def delete_executions(
    temporal: temporalio.client.Client,
    workflow_id: str,
    *,
    keep: str | None = None,
    known: Sequence[str] = (),
    started_by: datetime | None = None,
) -> None:
    """Delete every execution under `workflow_id` but `keep` (a Temporal run id), open ones too: those the
    visibility store lists (with `started_by`, only those started by then), and `known` ones it may not list
    yet; with no `keep`, the current one as well."""
    executions = {
        x.run_id
        async for x in temporal.list_workflows(f'WorkflowId = "{workflow_id}"')
        if x.id == workflow_id and (started_by is None or x.start_time <= started_by)
    } | set(known)
    if keep is None:
        executions.add("")
    for run_id in executions - {keep}:
        try:
            await temporal.workflow_service.delete_workflow_execution(
                temporalio.api.workflowservice.v1.DeleteWorkflowExecutionRequest(
                    namespace=temporal.namespace,
                    workflow_execution=temporalio.api.common.v1.WorkflowExecution(
                        workflow_id=workflow_id, run_id=run_id
                    ),
                ),
                retry=True,
            )
        except temporalio.service.RPCError as e:
            if e.status != temporalio.service.RPCStatusCode.NOT_FOUND:
                raise
