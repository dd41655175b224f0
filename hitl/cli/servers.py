"""Long-running commands: worker (serves graphs), serve (the review inbox and HTTP API), dev (the local stack).

They print their banners as they start and run until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta
from typing import Any, Protocol

from hitl import catalog
from hitl._whole import whole_number
from hitl.cli import render, session, values
from hitl.cli.options import DEV_DATA_DIR, DEV_PORT, DevOptions, ServeOptions, WorkerOptions
from hitl.client.client import connect
from hitl.health import Health
from hitl.health import serve as health_endpoint
from hitl.payloads.codec import from_env as codec_from_env
from hitl.types import InvalidInputError
from hitl.web.serve import dev_web

STICKY_ENV = "HITL_STICKY_QUEUE_SECONDS"
"""How long a run's next workflow task waits on the queue of the worker that ran its last one before any worker
may take it (Temporal's default, 10 s, when unset). The tests set it low for the workers they kill, so a run
moves on to another worker within a second or two; a deployment has no reason to set it."""


class WorkerTuning(Protocol):
    """`hitl worker`'s tuning flags, as worker_settings reads them."""

    @property
    def max_cached_runs(self) -> int | None: ...
    @property
    def nodes_at_once(self) -> int | None: ...
    @property
    def workflow_tasks_at_once(self) -> int | None: ...
    @property
    def pollers(self) -> str | None: ...


async def worker(opts: WorkerOptions) -> int:
    settings = worker_settings(opts)
    graphs = catalog.load(opts.refs or opts.graphs or None)
    metrics = opts.metrics or os.environ.get(WORKER_METRICS_ENV) or None
    runtime = worker_metrics(metrics, "--metrics", settings)
    client = await connect(
        opts.address, namespace=opts.namespace, task_queue=opts.task_queue, graphs=graphs, runtime=runtime
    )
    address = client.temporal.service_client.config.target_host
    health = Health(client.temporal, serving=False)
    probes = await serve_health(health, opts.health)
    render.say(
        f"worker serving graphs {', '.join(g.name for g in graphs)} on task queue '{client.task_queue}' at {address}"
        + (f"; metrics at http://{metrics}/metrics" if metrics else "")
        + (f"; /livez and /readyz at http://{opts.health or os.environ.get(HEALTH_ENV)}" if probes else "")
    )
    try:
        settings["graceful_shutdown_timeout"] = timedelta(seconds=opts.drain)
        async with client.worker(max_cached_workflows=opts.max_cached_runs, **settings):
            health.serving = True  # client.worker() returns once the worker polls its task queue
            code = await until_stopped()
            health.draining = True  # leaving the block stops polling and lets running nodes finish (--drain)
            render.say(f"stopping: no new work taken; nodes running here get up to {opts.drain:g} s to finish")
            return code
    finally:
        if probes is not None:
            probes.close()


HEALTH_ENV = "HITL_WORKER_HEALTH"
"""Where `hitl worker` answers its probes when --health is not given (HOST:PORT; unset: nowhere)."""


async def serve_health(health: Health, given: str | None) -> asyncio.Server | None:
    """`hitl worker --health HOST:PORT` (or HITL_WORKER_HEALTH): the probes' endpoint, or None when off."""
    where = given or os.environ.get(HEALTH_ENV) or None
    if where is None:
        return None
    host, _, port = values.host_port(where, "--health").rpartition(":")
    try:
        return await health_endpoint(health, host.strip("[]"), int(port))
    except OSError as e:
        raise InvalidInputError(
            f"--health {where}: cannot listen there ({e.strerror or e}); give a free port on an address of this "
            "machine, e.g. 127.0.0.1:8081 or 0.0.0.0:8081"
        ) from None


WORKER_METRICS_ENV = "HITL_WORKER_METRICS"
"""Where a worker serves its metrics when no flag says (`hitl worker --metrics`, `hitl dev --worker-metrics`)."""


def worker_metrics(where: str | None, flag: str, settings: dict[str, Any]) -> Any:
    """The Temporal runtime serving worker metrics at `where` (HOST:PORT), with hitl's metrics interceptor
    added to the worker `settings`; None (nothing added) when `where` is None. A bad address is one line."""
    if not where:
        return None
    from hitl.worker_metrics import WorkerMetrics
    from hitl.worker_metrics import runtime as metrics_runtime

    try:
        runtime = metrics_runtime(values.host_port(where, flag))
    except ValueError as e:  # Temporal's: a port in use, a host name instead of an address
        raise InvalidInputError(
            f"{flag} {where}: cannot serve metrics there ({str(e).split(': ', 1)[-1]}); give a free port "
            "on an IP address of this machine, e.g. 127.0.0.1:9464 or 0.0.0.0:9464"
        ) from None
    settings["interceptors"] = [WorkerMetrics()]
    return runtime


def worker_settings(opts: WorkerTuning) -> dict[str, Any]:
    """`hitl worker`'s tuning flags as Temporal worker settings, checked before anything connects; a
    flag left out keeps hitl's default (bench/README.md, table 3b: measured, not guessed)."""
    from temporalio.worker import PollerBehaviorAutoscaling, PollerBehaviorSimpleMaximum

    def at_least(flag: str, value: int | None, least: int) -> None:
        if value is not None and value < least:
            raise InvalidInputError(f"{flag} must be a whole number of at least {least}; got {value}")

    at_least("--max-cached-runs", opts.max_cached_runs, 1)
    at_least("--nodes-at-once", opts.nodes_at_once, 1)
    at_least("--workflow-tasks-at-once", opts.workflow_tasks_at_once, 2)  # Temporal's need with a run cache
    settings: dict[str, Any] = {}
    if opts.nodes_at_once is not None:
        settings["max_concurrent_activities"] = opts.nodes_at_once
    if opts.workflow_tasks_at_once is not None:
        settings["max_concurrent_workflow_tasks"] = opts.workflow_tasks_at_once
    if opts.pollers is not None:
        if opts.pollers == "auto":
            behavior: PollerBehaviorAutoscaling | PollerBehaviorSimpleMaximum = PollerBehaviorAutoscaling()
        else:
            pollers = whole_number(opts.pollers, least=2)
            if pollers is None:
                raise InvalidInputError(f"--pollers takes a whole number of at least 2, or auto; got {opts.pollers!r}")
            behavior = PollerBehaviorSimpleMaximum(pollers)
        settings["workflow_task_poller_behavior"] = settings["activity_task_poller_behavior"] = behavior
    sticky = os.environ.get(STICKY_ENV)
    if sticky:
        try:
            seconds = float(sticky)
        except ValueError:
            seconds = 0.0
        if not 0 < seconds <= 3600:
            raise InvalidInputError(f"{STICKY_ENV} takes seconds, more than 0 and at most 3600; got {sticky!r}")
        settings["sticky_queue_schedule_to_start_timeout"] = timedelta(seconds=seconds)
    return settings


async def serve(opts: ServeOptions) -> int:
    from hitl.web.serve import build_app, describe, serving

    client = await connect(
        opts.address, namespace=opts.namespace, task_queue=opts.task_queue, graphs=session.graphs(opts)
    )
    app = build_app(client, opts)
    async with serving(app, opts.web_host, opts.web_port) as url:
        render.say(f"review inbox and HTTP API on {url} (API docs {url}/docs); sign-in: {describe(app)}")
        code = await until_stopped()
        if code == 0:  # SIGTERM: /readyz fails while it serves on, so the load balancer takes it out first
            app.state.web.health.draining = True
            render.say(f"SIGTERM: draining for {opts.drain:g} s (/readyz answers 503), then stopping")
            try:  # a second SIGTERM (or Ctrl-C) cuts the drain short
                code = await asyncio.wait_for(until_stopped(), opts.drain)
            except asyncio.TimeoutError:
                pass
        return code


async def dev(opts: DevOptions) -> int:
    """Server (unless TEMPORAL_ADDRESS names one) + worker + a demo run, until Ctrl-C."""
    from hitl.server import DevServer

    codec_from_env()  # a bad HITL_ENCRYPTION_* or HITL_CLAIM_CHECK* stops here, before a server starts
    settings: dict[str, Any] = {}
    metrics = opts.worker_metrics or os.environ.get(WORKER_METRICS_ENV) or None
    runtime = worker_metrics(metrics, "--worker-metrics", settings)  # a bad address stops here too
    server = None
    address = opts.address or os.environ.get("TEMPORAL_ADDRESS")
    if address:
        refuse_server_flags(opts)
    else:
        server = DevServer(opts.data_dir or DEV_DATA_DIR, port=opts.port or DEV_PORT)
        render.say(f"starting Temporal dev server on {server.address} (data: {server.db_file}) ...")
        server.launch()  # no await before the try: Ctrl-C from here on reaches the finally below
        address = server.address
    try:
        if server:
            await asyncio.to_thread(server.wait_ready)
        graphs = session.graphs(opts)
        client = await connect(
            address,
            namespace=opts.namespace,
            task_queue=opts.task_queue,
            identity=opts.identity,
            graphs=graphs,
            runtime=runtime,
        )
        async with client.worker(**settings), dev_web(client, opts) as web:
            render.say(
                f"worker serving graphs: {', '.join(g.name for g in graphs)}",
                f"Temporal Web UI:      {server.ui_url if server else client.ui_url()}",
                *([f"worker metrics:       http://{metrics}/metrics"] if metrics else []),
            )
            if web:
                render.say(f"review inbox and API: {web[0]}   (sign-in: {web[1]})")
            if not opts.no_demo and "approval" in {g.name for g in graphs}:
                run = await client.start("approval", {"topic": "our new release"})
                snapshot = await session.wait_until_settled(run, quiet=True)
                render.say(
                    "",
                    f"demo run {run.run_id} is {snapshot.status}, waiting for a person:",
                    *(f"  {i.node}: {render.to_json(i.value)}" for i in snapshot.interrupts),
                    "",
                    "in another terminal (same virtualenv):",
                    "  hitl inbox",
                    f"  hitl resume {run.run_id} --value '\"approve\"'",
                    f"  hitl state {run.run_id}",
                    *([f"or in the browser: {web[0]}/runs/{run.run_id}"] if web else []),
                )
            render.say("", "ready; Ctrl-C to stop.")
            return await until_stopped()
    finally:
        if server:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the server's shutdown short
            server.stop()


def refuse_server_flags(opts: DevOptions) -> None:
    """--port and --data-dir configure the embedded server; when another server is named
    they would do nothing, and silently ignoring them hides which server is in use."""
    given = [flag for flag, value in (("--port", opts.port), ("--data-dir", opts.data_dir)) if value is not None]
    if not given:
        return
    flags = " and ".join(given)
    if opts.address:
        because, fix = f"--address {opts.address} is given", "drop --address"
    else:
        because, fix = f"TEMPORAL_ADDRESS={os.environ['TEMPORAL_ADDRESS']} is set", "unset TEMPORAL_ADDRESS"
    raise InvalidInputError(
        f"not starting the embedded server (so {flags} would do nothing) because {because}; "
        f"{fix} to run it, or drop {flags} to use that server"
    )


async def until_stopped() -> int:
    """Wait for Ctrl-C or SIGTERM; the exit code: 130 after Ctrl-C, as at any other moment
    of the command, and 0 after SIGTERM, a requested shutdown."""
    stopped: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def stop(code: int) -> None:
        if not stopped.done():
            stopped.set_result(code)

    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 0)):
        asyncio.get_running_loop().add_signal_handler(sig, stop, code)
    return await stopped
