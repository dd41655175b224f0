"""Every command's options as typed values, each field declaring the flag that fills it.

This is the command line's spec: parser.py builds argparse from these fields
(in their order, which is --help's) and turns argv into one of these objects,
so no command and nothing below it sees an argparse namespace.
"""

from __future__ import annotations

from dataclasses import dataclass

from hitl.cli import values
from hitl.cli.spec import common, option, positional, required, switch
from hitl.payloads.blob_gc import DEFAULT_GRACE, span
from hitl.protocol.wire import DEFAULT_TASK_QUEUE
from hitl.server import UI_PORT_OFFSET
from hitl.stats import SAMPLE
from hitl.web.serve import drain_seconds

DEV_DATA_DIR, DEV_PORT = ".hitl", 7233
DRAIN_WORKER_SECONDS = 20.0
"""How long a worker's running nodes may take to finish after SIGTERM: under Kubernetes' default grace (30 s)."""
"""Where `hitl dev` keeps its server's SQLite file, and the server's port, unless told."""

BATCH = "batch answers (one --value to many runs; each applies it once)"
"""The --help section of `hitl resume`'s batch flags."""


@dataclass(frozen=True, kw_only=True)
class Common:
    """The options every command takes, before or after its name."""

    address: str | None = common(
        "--address", help="Temporal host:port (default: TEMPORAL_ADDRESS, envconfig, or localhost:7233)"
    )
    namespace: str | None = common("--namespace", help="Temporal namespace (default: envconfig or 'default')")
    task_queue: str = common(
        "--task-queue", default=DEFAULT_TASK_QUEUE, help=f"task queue (default: {DEFAULT_TASK_QUEUE})"
    )
    graphs: list[str] | None = common(
        "--graphs",
        nargs="+",
        metavar="MODULE[:ATTR]",
        help="where the graphs live (default: HITL_GRAPHS or the bundled examples)",
    )
    identity: str | None = common("--identity", help="who is deciding (default: HITL_IDENTITY or the OS user)")
    roles: str | None = common("--roles", help="comma-separated roles the decider holds (default: HITL_ROLES)")
    json: bool = common("--json", default=False, action="store_true", help="machine-readable output")


# ------------------------------------------------------------------ servers


@dataclass(frozen=True, kw_only=True)
class WebServer:
    """The web server's settings; their flags are hitl/web/serve.py's (`add_options`), which reads them back."""

    web_host: str
    web_port: int
    tokens: str | None
    trust_header: str | None
    roles_header: str | None
    view_role: str | None
    cors_origins: list[str] | None
    poll_interval: float
    max_streams: int
    metrics: bool


@dataclass(frozen=True, kw_only=True)
class DevOptions(Common, WebServer):
    data_dir: str | None = option(
        "--data-dir", help=f"where the server keeps its SQLite file (default: {DEV_DATA_DIR})"
    )
    port: int | None = option(
        "--port",
        type=values.port,
        help=f"Temporal port, 1 to 64535 (default: {DEV_PORT}; Web UI on port+{UI_PORT_OFFSET})",
    )
    no_demo: bool = switch("--no-demo", help="do not start a demo run")
    no_web: bool = switch("--no-web", help="do not start the review inbox and HTTP API")
    worker_metrics: str | None = option(
        "--worker-metrics",
        metavar="HOST:PORT",
        help="serve the worker's metrics (Temporal's and hitl's: decisions, time to decision, escalations, "
        "rollbacks, claims) for Prometheus at http://HOST:PORT/metrics, as `hitl worker --metrics` does "
        "(default: HITL_WORKER_METRICS; off). --metrics serves the inbox's at its /metrics",
    )


@dataclass(frozen=True, kw_only=True)
class ServeOptions(Common, WebServer):
    no_auth: bool
    drain: float


@dataclass(frozen=True, kw_only=True)
class WorkerOptions(Common):
    refs: list[str] = positional(
        nargs="*", metavar="MODULE[:ATTR]", help="graphs to serve (default: HITL_GRAPHS or the examples)"
    )
    max_cached_runs: int | None = option(
        "--max-cached-runs",
        type=int,
        metavar="N",
        help="runs kept in memory between tasks (default 200; paused runs replay their short history instead)",
    )
    nodes_at_once: int | None = option(
        "--nodes-at-once", type=int, metavar="N", help="nodes this worker runs at once (default 100)"
    )
    workflow_tasks_at_once: int | None = option(
        "--workflow-tasks-at-once",
        type=int,
        metavar="N",
        help="workflow tasks this worker handles at once, at least 2 (default 100)",
    )
    metrics: str | None = option(
        "--metrics",
        metavar="HOST:PORT",
        help="serve Temporal's worker metrics and hitl's (decisions, time to decision, escalations, rollbacks, "
        "claims) for Prometheus at http://HOST:PORT/metrics (default: HITL_WORKER_METRICS; off)",
    )
    pollers: str | None = option(
        "--pollers",
        metavar="N|auto",
        help="polls of the task queue at once, for workflow tasks and for node tasks each, at least 2 "
        "(default 5; 'auto' lets Temporal scale them with the work waiting)",
    )
    drain: float = option(
        "--drain",
        type=drain_seconds,
        default=DRAIN_WORKER_SECONDS,
        metavar="SECONDS",
        help="on SIGTERM, stop taking work and give the nodes running here this long to finish before they are "
        f"cancelled (and retried by another worker); 0 to 3600 (default {DRAIN_WORKER_SECONDS:g})",
    )
    health: str | None = option(
        "--health",
        metavar="HOST:PORT",
        help="answer GET /livez and GET /readyz (Temporal reachable, not draining) at http://HOST:PORT for "
        "probes (default: HITL_WORKER_HEALTH; off)",
    )


# ---------------------------------------------------------------------- ops


@dataclass(frozen=True, kw_only=True)
class GcOptions(Common):
    grace: str = option(
        "--grace",
        default=span(DEFAULT_GRACE),
        help=f"keep blobs written within this long, 1h to 3650d (default {span(DEFAULT_GRACE)})",
    )
    dry_run: bool = switch("--dry-run", help="say which blobs would go; delete nothing")


@dataclass(frozen=True, kw_only=True)
class AuditOptions(Common):
    run_id: str | None = positional(
        nargs="?", default=None, help="the run (with --verify: compare the file with its whole chain)"
    )
    verify: str | None = option(
        "--verify", metavar="FILE", help="verify an exported file instead of exporting ('-': stdin)"
    )


@dataclass(frozen=True, kw_only=True)
class StatsOptions(Common):
    sample: int = option(
        "--sample",
        type=values.sample,
        default=SAMPLE,
        metavar="N",
        help=f"finished runs (newest first) whose decision logs are read, 0 to 1000 (default {SAMPLE})",
    )


# --------------------------------------------------------------------- runs


@dataclass(frozen=True, kw_only=True)
class StartOptions(Common):
    graph: str = positional()
    input: str = option("--input", default="{}", help="the run's input, a JSON object")
    run_id: str | None = option("--id", help="run id (default: GRAPH-<random>)")
    wait: bool = switch("--wait", help="wait until the run pauses or ends, then show its state")
    interrupt_before: str | None = option(
        "--interrupt-before", help="comma-separated node names (or '*') to pause before"
    )
    interrupt_after: str | None = option("--interrupt-after", help="comma-separated node names (or '*') to pause after")


@dataclass(frozen=True, kw_only=True)
class RunOptions(Common):
    """A command about one run (state, result, history, and the base of the others)."""

    run_id: str = positional()


@dataclass(frozen=True, kw_only=True)
class WatchOptions(RunOptions):
    until_pause: bool = switch("--until-pause", help="stop at the run's next pause instead of waiting")
    since: int | None = option(
        "--since", type=values.seq, metavar="SEQ", help="replay from this checkpoint first (0: from the run's input)"
    )
    custom: bool = switch(
        "--custom", help="also what nodes write with their stream writer (get_stream_writer()), read from history"
    )


@dataclass(frozen=True, kw_only=True)
class CancelOptions(RunOptions):
    reason: str = option("--reason", default="", help="why, kept with the decision")


# ---------------------------------------------------------------- decisions


@dataclass(frozen=True, kw_only=True)
class ResumeOptions(Common):
    run_ids: list[str] = positional(nargs="*", metavar="RUN_ID", help="the run; several run ids answer each (a batch)")
    value: str | None = option("--value", exclusive="answer", help="the answer to the one pending interrupt, as JSON")
    map: str | None = option("--map", exclusive="answer", help="answers by interrupt id, a JSON object")
    update: str | None = option("--update", help="state update applied before continuing, a JSON object")
    goto: list[str] | None = option("--goto", nargs="+", help="run these node(s) too, added to the paused step")
    no_wait: bool = switch("--no-wait", help="return at once instead of at the next pause")
    request_id: str | None = option("--request-id", help="idempotency key: the same id twice answers once")
    signal: bool = switch("--signal", help="send as a signal (no answer; works while workers are down)")
    queue: bool = switch(
        "--queue",
        help="if no worker is up, queue the decision in the run's history (applied when one is back) instead of refusing",
    )
    all: bool = switch("--all", group=BATCH, help="every waiting run matching --graph, --node, --question")
    graph: str | None = option("--graph", group=BATCH, help="with --all: runs of this graph")
    node: str | None = option("--node", group=BATCH, help="answer the question asked at this node")
    question: str | None = option("--question", group=BATCH, help="only questions whose text contains this")
    dry_run: bool = switch("--dry-run", group=BATCH, help="list what would be answered; send nothing")
    batch_id: str | None = option(
        "--batch-id", group=BATCH, help="resend a batch under its id: nothing is applied twice (default: new)"
    )
    concurrency: int = option(
        "--concurrency", default=8, type=int, group=BATCH, help="runs answered at once (default 8)"
    )


@dataclass(frozen=True, kw_only=True)
class LinkOptions(RunOptions):
    interrupt: str | None = option(
        "--interrupt", help="the question's interrupt id (default: the run's one pending question)"
    )
    expires: str = option("--expires", default="24h", help="how long the link works: 30m, 24h, 7d (default 24h)")
    base_url: str | None = option("--base-url", help="the inbox server's URL (default: HITL_LINK_BASE_URL)")


@dataclass(frozen=True, kw_only=True)
class UpdateStateOptions(RunOptions):
    values: str = required("--values", help="state keys to write, a JSON object")
    as_node: str | None = option("--as-node", help="write as this node: routing continues from its edges")


@dataclass(frozen=True, kw_only=True)
class ClaimOptions(RunOptions):
    interrupt: str | None = option("--interrupt", help="the question's id (default: the one pending)")
    ttl: str = option("--for", default="30m", help="how long: 90s, 30m, 4h, 2d (default 30m; at most 30d)")


@dataclass(frozen=True, kw_only=True)
class ReleaseOptions(RunOptions):
    interrupt: str | None = option("--interrupt", help="the question's id (default: the one pending)")


@dataclass(frozen=True, kw_only=True)
class DelegateOptions(RunOptions):
    to: str = required("--to", help="an identity or role:NAME on the question's reviewer list")
    interrupt: str | None = option("--interrupt", help="the question's id (default: the one pending)")
    ttl: str = option("--for", default="30m", help="how long the delegate holds it (default 30m)")


@dataclass(frozen=True, kw_only=True)
class ForkOptions(RunOptions):
    step: int = required("--step", type=int)
    values: str | None = option("--values", help="state edits for the new run, a JSON object")
    new_id: str | None = option("--id", help="id of the new run")
