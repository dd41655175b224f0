"""`hitl worker --metrics HOST:PORT`: Temporal's own worker metrics on a Prometheus endpoint, and hitl's.

Temporal's runtime serves the endpoint (`Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(...)))`);
hitl's figures go through the same runtime's metric meter, from a worker interceptor that watches what the
workflow does: `workflow.metric_meter()` records nothing while a run replays, so a figure counts once however
often a history is replayed, and nothing here writes to the history (no patch, same runs). Off (no
`--metrics`), the interceptor is not added and nothing changes.

- `hitl_decisions{decision, outcome, reason}`: each decision sent as an update (resume, update_state, claim,
  cancel), applied or refused; `reason` is a short class of the refusal (`REASONS`), never its text.
- `hitl_time_to_decision_seconds{graph, kind}`: from a question to the answer, deadline or goto that moved
  the run on; "asked" is the run's previous record that moved it on (its start, an answer, an edit, what
  ran after a decision), exactly as `hitl stats` measures it.
- `hitl_escalation_steps{graph}`, `hitl_rollbacks{graph}`, `hitl_claims{graph, action}`: read off the
  run's decision log (its records' sequence numbers) when the run next does something an interceptor sees
  (takes a decision or signal, starts a node or a subgraph, continues as new or ends): an escalation step
  taken while the run waits is counted when it next moves, not at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

import temporalio.workflow
from temporalio.common import MetricMeter
from temporalio.exceptions import ApplicationError
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import (
    ContinueAsNewInput,
    ExecuteWorkflowInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    StartActivityInput,
    StartChildWorkflowInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)
from temporalio.workflow import ActivityHandle, ChildWorkflowHandle

DECIDING_UPDATES = ("resume", "update_state", "claim", "cancel")
ANSWERED = frozenset({"resume", "goto", "deadline"})
"""Records that end a wait: an answer, a goto, a deadline's default."""
DURING_PAUSE = frozenset({"claim", "release", "delegate", "escalate"})
"""Records made while a question waits: not when it was asked (as `hitl stats` measures, hitl/stats/figures.py)."""
REASONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("schema", ("schema",)),
    ("claimed", ("claimed", "holds it", "held by")),
    ("not_allowed", ("may not", "not on", "reviewer", "role", "guard", "identity")),
    ("not_waiting", ("ended", "not interrupted", "no pending", "not pending", "only while", "no longer")),
    ("resent", ("request id", "request_id")),
)
"""Refusal classes by what their one line says, first match wins; anything else is `other`."""


def refusal_reason(message: str) -> str:
    text = message.lower()
    return next((name for name, words in REASONS if any(w in text for w in words)), "other")


WAIT_BUCKETS = (1.0, 10.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 86400.0, 3 * 86400.0, 7 * 86400.0)
"""Seconds to a decision: people answer in minutes to days (Temporal's default buckets are milliseconds' 1 to 10,000)."""


def runtime(bind_address: str) -> Runtime:
    """A Temporal runtime serving its metrics (and hitl's) in Prometheus' format on `bind_address` (HOST:PORT)."""
    prometheus = PrometheusConfig(
        bind_address=bind_address, histogram_bucket_overrides={"hitl_time_to_decision_seconds": list(WAIT_BUCKETS)}
    )
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))


class WorkerMetrics(Interceptor):
    """The worker interceptor recording hitl's figures (add it only when the worker's runtime has metrics)."""

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _Inbound


def _meter() -> MetricMeter:
    return temporalio.workflow.metric_meter()


def _graph() -> str:
    inp = getattr(temporalio.workflow.instance(), "inp", None)
    return str(getattr(getattr(inp, "graph", None), "name", "") or "")


class _Inbound(WorkflowInboundInterceptor):
    def __init__(self, next: WorkflowInboundInterceptor) -> None:
        super().__init__(next)
        self.log = _Log()

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound, self.log))

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        try:
            return await super().execute_workflow(input)
        finally:
            self.log.read()

    async def handle_signal(self, input: HandleSignalInput) -> None:
        await super().handle_signal(input)
        self.log.read()

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        try:
            super().handle_update_validator(input)
        except Exception as e:
            _decided(input.update, e)
            raise

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        try:
            result = await super().handle_update_handler(input)
        except Exception as e:
            _decided(input.update, e)
            raise
        _decided(input.update, None)
        self.log.read()
        return result


def _decided(update: str, refused: Exception | None) -> None:
    if update not in DECIDING_UPDATES:
        return
    reason = ""
    if refused is not None:
        reason = refusal_reason(refused.message if isinstance(refused, ApplicationError) else str(refused))
    _meter().create_counter("hitl_decisions", "Decisions sent as updates, applied or refused").add(
        1, {"decision": update, "outcome": "refused" if refused else "applied", "reason": reason, "graph": _graph()}
    )


class _Outbound(WorkflowOutboundInterceptor):
    """Reads the decision log's new records whenever the run starts a node, a subgraph or a new history."""

    def __init__(self, next: WorkflowOutboundInterceptor, log: _Log) -> None:
        super().__init__(next)
        self.log = log

    def start_activity(self, input: StartActivityInput) -> ActivityHandle[Any]:
        self.log.read()
        return super().start_activity(input)

    async def start_child_workflow(self, input: StartChildWorkflowInput) -> ChildWorkflowHandle[Any, Any]:
        self.log.read()
        return await super().start_child_workflow(input)

    def continue_as_new(self, input: ContinueAsNewInput) -> NoReturn:
        self.log.read()
        super().continue_as_new(input)


class _Log:
    """The records of the run's decision log not yet counted (by their chain sequence numbers)."""

    def __init__(self) -> None:
        self.seen = -1

    def read(self) -> None:
        state = getattr(temporalio.workflow.instance(), "state", None)
        log = [d for d in getattr(state, "decisions", None) or [] if isinstance(getattr(d, "seq", None), int)]
        fresh = [d for d in log if d.seq > self.seen]
        if not fresh:
            return
        first, self.seen = self.seen < 0, max(d.seq for d in fresh)
        if first and temporalio.workflow.info().continued_run_id is not None:
            return  # records carried over from the run's previous history: counted there
        meter, graph = _meter(), _graph()
        started = getattr(state, "created_at", None)
        for d in fresh:
            if d.kind in ANSWERED:
                asked = next((e.at for e in reversed(log) if e.seq < d.seq and e.kind not in DURING_PAUSE), started)
                if isinstance(asked, datetime):
                    meter.create_histogram_float(
                        "hitl_time_to_decision_seconds", "From a question to the answer that moved the run on", "s"
                    ).record(max(0.0, (d.at - asked).total_seconds()), {"graph": graph, "kind": d.kind})
            elif d.kind == "escalate":
                meter.create_counter("hitl_escalation_steps", "Escalation steps taken").add(1, {"graph": graph})
            elif d.kind == "rollback":
                meter.create_counter("hitl_rollbacks", "Answers put back: the node they let run failed").add(
                    1, {"graph": graph}
                )
            elif d.kind in ("claim", "release", "delegate"):
                meter.create_counter("hitl_claims", "Claims taken, released and delegated").add(
                    1, {"graph": graph, "action": d.kind}
                )
