"""Temporal's tracing interceptor, with one span per human decision the workflow applies or refuses.

Imported only when tracing is on (hitl/client/tracing.py): it imports OpenTelemetry.

Why here and not in the workflow: the workflow imports nothing but the protocol and must replay
deterministically. Temporal's workflow interceptor already makes workflow spans safely (not on replay,
stamped with workflow time, created outside the sandbox through an extern function, no command in the
history), and it sees every update: what the request was and how it ended. So the decision span is made
there, by subclassing it as its docs suggest, and the workflow code is unchanged (no patch, same histories).
The span sits in the run's trace, next to Temporal's `HandleUpdate` span, with a link to the caller's span
(the HTTP request or CLI command that sent it); the node activities the decision lets run follow it in the
same trace.
"""

from __future__ import annotations

from typing import Any

import opentelemetry.trace
import temporalio.worker
import temporalio.workflow
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
from temporalio.contrib.opentelemetry._interceptor import _CompletedWorkflowSpanParams
from temporalio.exceptions import ApplicationError

DECIDING_UPDATES = ("resume", "update_state", "claim", "cancel")
"""The workflow's updates that are human decisions (workflows/graph_workflow.py)."""

DECISION_SPAN = "hitl.decision"


class HitlTracingInterceptor(TracingInterceptor):
    """`TracingInterceptor` whose workflow side also records decisions; workflow spans are made for every
    run, also one started by a client that was not tracing (its decisions are traced from then on)."""

    def __init__(self, tracer: opentelemetry.trace.Tracer) -> None:
        super().__init__(tracer, always_create_workflow_spans=True)

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(input)  # registers the extern functions the spans go through
        return _DecisionSpans


class _DecisionSpans(TracingWorkflowInboundInterceptor):
    """Records `hitl.decision` for each deciding update: who, which question(s), applied or refused (why)."""

    def handle_update_validator(self, input: temporalio.worker.HandleUpdateInput) -> None:
        try:
            super().handle_update_validator(input)
        except Exception as e:  # refused up front: nothing is written to the history
            self._decision(input, temporalio.workflow.time_ns(), refused=e, recorded=[])
            raise

    async def handle_update_handler(self, input: temporalio.worker.HandleUpdateInput) -> Any:
        # Stamped when the update arrives (the workflow task that applies it), so it sorts before the node
        # runs it lets go; not recorded when the handler started on replay (recorded the first time).
        at = temporalio.workflow.time_ns()
        replaying = temporalio.workflow.unsafe.is_replaying()
        log = _decision_log()
        before = len(log) if log is not None else 0
        try:
            result = await super().handle_update_handler(input)
        except Exception as e:
            if not replaying:
                self._decision(input, at, refused=e, recorded=[])
            raise
        if not replaying:
            self._decision(input, at, refused=None, recorded=list(log[before:]) if log is not None else [])
        return result

    def _decision(
        self, input: temporalio.worker.HandleUpdateInput, at: int, *, refused: Exception | None, recorded: list[Any]
    ) -> None:
        if input.update not in DECIDING_UPDATES or temporalio.workflow.unsafe.is_replaying():
            return
        req = input.args[0] if input.args else None
        attributes: dict[str, Any] = {
            "hitl.decision": input.update,
            "hitl.outcome": "refused" if refused is not None else "applied",
            "hitl.identity": str(getattr(req, "identity", "")),
        }
        asked = _questions(req)
        ids = [str(d.interrupt_id) for d in recorded if getattr(d, "interrupt_id", None)] or asked
        if ids:
            attributes["hitl.interrupt_ids"] = ids
        nodes = sorted({str(d.node) for d in recorded if getattr(d, "node", None)})
        if nodes:
            attributes["hitl.nodes"] = nodes
        if refused is not None:
            reason = refused.message if isinstance(refused, ApplicationError) else str(refused)
            attributes["hitl.refusal"] = reason[:500]
        if getattr(req, "request_id", None):
            attributes["hitl.request_id"] = str(req.request_id)  # type: ignore[union-attr]
        info = temporalio.workflow.info()
        attributes.update(temporalWorkflowID=info.workflow_id, temporalRunID=info.run_id)
        header = input.headers.get(self.header_key)
        link = self.payload_converter.from_payloads([header])[0] if header else None
        with self._top_level_workflow_context(success_is_complete=False):
            carrier: dict[str, str | list[str]] = {}
            self.text_map_propagator.inject(carrier)
            self._extern_functions["__temporal_opentelemetry_completed_span"](
                _CompletedWorkflowSpanParams(
                    context=carrier,
                    name=f"{DECISION_SPAN}:{input.update}",
                    attributes=attributes,
                    time_ns=at,
                    link_context=link,
                    exception=None,
                    kind=opentelemetry.trace.SpanKind.INTERNAL,
                    parent_missing=opentelemetry.trace.get_current_span() is opentelemetry.trace.INVALID_SPAN,
                )
            )


def _decision_log() -> list[Any] | None:
    """The run's decision log as the workflow holds it (read only), to name what a decision answered."""
    state = getattr(temporalio.workflow.instance(), "state", None)
    log = getattr(state, "decisions", None)
    return log if isinstance(log, list) else None


def _questions(req: Any) -> list[str]:
    """The questions a request names itself (an answer by id, a claim of one)."""
    named = list(getattr(req, "resume_map", None) or {})
    one = getattr(req, "interrupt_id", None)
    return [str(i) for i in (*named, *([one] if one else []))]
