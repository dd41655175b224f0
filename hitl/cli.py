"""The `hitl` command line (also `python starter.py` and `python worker.py`).

Human-readable output by default, `--json` for machines. Bad input gets one
line on stderr naming what was wrong and what is accepted, exit code 2; a run
that failed exits 1 with its id and where to look.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any, Callable, Coroutine, Sequence

from hitl import catalog
from hitl._protocol import DEFAULT_TASK_QUEUE
from hitl.client import NO_VALUE, Client, Run, connect
from hitl.graph import CompiledGraph
from hitl.types import HitlError, InvalidInputError, RunFailedError, StateSnapshot
from hitl.web.serve import add_options as web_options, dev_web

def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return asyncio.run(args.handler(args)) or 0
    except KeyboardInterrupt:
        return 130
    except RunFailedError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except HitlError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def console_main() -> None:
    """Entry point of the `hitl` script and starter.py."""
    _exit(main())


def worker_main() -> None:
    _exit(main(["worker", *sys.argv[1:]]))


def _exit(code: int) -> None:
    """Leave without interpreter teardown: the SDK's Rust runtime threads can crash
    a finalising interpreter (temporalio/sdk-python#300), turning a clean exit into SIGSEGV."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


# ------------------------------------------------------------------ parser


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (plus where to read more), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {message}; see `{self.prog} --help`", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--address", help="Temporal host:port (default: TEMPORAL_ADDRESS, envconfig, or localhost:7233)")
    common.add_argument("--namespace", help="Temporal namespace (default: envconfig or 'default')")
    common.add_argument("--task-queue", default=DEFAULT_TASK_QUEUE, help=f"task queue (default: {DEFAULT_TASK_QUEUE})")
    common.add_argument("--graphs", nargs="+", metavar="MODULE[:ATTR]", help="where the graphs live (default: HITL_GRAPHS or the bundled examples)")
    common.add_argument("--identity", help="who is deciding (default: HITL_IDENTITY or the OS user)")
    common.add_argument("--roles", help="comma-separated roles the decider holds (default: HITL_ROLES)")
    common.add_argument("--json", action="store_true", help="machine-readable output")

    parser = _Parser(prog="hitl", description="Human-in-the-loop graphs on Temporal.", parents=[common])
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, handler: Callable[[argparse.Namespace], Coroutine[Any, Any, int | None]], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(handler=handler)
        return p

    p = command("dev", cmd_dev, "run the local stack: Temporal dev server (SQLite) + worker with the example graphs")
    p.add_argument("--data-dir", default=".hitl", help="where the server keeps its SQLite file (default: .hitl)")
    p.add_argument("--port", type=int, default=7233, help="Temporal port (Web UI on port+1000)")
    p.add_argument("--no-demo", action="store_true", help="do not start a demo run")
    p.add_argument("--no-web", action="store_true", help="do not start the review inbox and HTTP API")
    web_options(p, dev=True)

    web_options(command("serve", cmd_serve, "serve the review inbox and the LangGraph-shaped HTTP API"))

    p = command("worker", cmd_worker, "serve graphs on a task queue")
    p.add_argument("refs", nargs="*", metavar="MODULE[:ATTR]", help="graphs to serve (default: HITL_GRAPHS or the examples)")
    p.add_argument("--max-cached-runs", type=int, default=None, metavar="N",
                   help="runs kept in memory between tasks (default 200; paused runs replay their short history instead)")

    command("graphs", cmd_graphs, "list the graphs known here")

    p = command("start", cmd_start, "start a run of a graph")
    p.add_argument("graph")
    p.add_argument("--input", default="{}", help="the run's input, a JSON object")
    p.add_argument("--id", dest="run_id", help="run id (default: GRAPH-<random>)")
    p.add_argument("--wait", action="store_true", help="wait until the run pauses or ends, then show its state")
    p.add_argument("--interrupt-before", help="comma-separated node names (or '*') to pause before")
    p.add_argument("--interrupt-after", help="comma-separated node names (or '*') to pause after")

    for name, handler, help in (
        ("state", cmd_state, "show a run's state"),
        ("result", cmd_result, "wait for a run to end and print its final state"),
        ("history", cmd_history, "list a run's checkpoints, newest first"),
        ("cancel", cmd_cancel, "cancel a run"),
    ):
        command(name, handler, help).add_argument("run_id")

    command("list", cmd_list, "list recent runs")
    command("inbox", cmd_inbox, "list runs waiting for a person")

    p = command("resume", cmd_resume, "answer a paused run")
    p.add_argument("run_id")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--value", help="the answer to the one pending interrupt, as JSON")
    group.add_argument("--map", help="answers by interrupt id, a JSON object")
    p.add_argument("--update", help="state update applied before continuing, a JSON object")
    p.add_argument("--goto", nargs="+", help="continue at these node(s) instead of the paused step")
    p.add_argument("--no-wait", action="store_true", help="return at once instead of at the next pause")
    p.add_argument("--request-id", help="idempotency key: the same id twice answers once")
    p.add_argument("--signal", action="store_true", help="send as a signal (no answer; works while workers are down)")

    p = command("update-state", cmd_update_state, "edit a paused run's state")
    p.add_argument("run_id")
    p.add_argument("--values", required=True, help="state keys to write, a JSON object")
    p.add_argument("--as-node", help="write as this node: routing continues from its edges")

    p = command("fork", cmd_fork, "start a new run from a run's checkpoint (time travel)")
    p.add_argument("run_id")
    p.add_argument("--step", type=int, required=True)
    p.add_argument("--values", help="state edits for the new run, a JSON object")
    p.add_argument("--id", dest="new_id", help="id of the new run")
    return parser


# ---------------------------------------------------------------- commands


def _graphs(args: argparse.Namespace) -> list[CompiledGraph]:
    """The graphs this command knows: --graphs, else HITL_GRAPHS, else the examples."""
    return catalog.load(args.graphs) if args.graphs else list(catalog.by_name().values())


async def _client(args: argparse.Namespace) -> Client:
    """A client; without --graphs it imports the catalog only if a command needs a graph."""
    graphs = catalog.load(args.graphs) if args.graphs else None
    return await connect(
        args.address,
        namespace=args.namespace,
        task_queue=args.task_queue,
        identity=args.identity,
        roles=_names(args.roles) or (),
        graphs=graphs,
    )


async def cmd_start(args: argparse.Namespace) -> int:
    data = parse_json(args.input, "--input", object_only=True)
    graph = catalog.lookup({g.name: g for g in _graphs(args)}, args.graph)
    graph.validate_input(data)  # before connecting: bad input never reaches the server
    client = await _client(args)
    run = await client.start(
        graph,
        data,
        run_id=args.run_id,
        interrupt_before=_names(args.interrupt_before),
        interrupt_after=_names(args.interrupt_after),
    )
    if args.wait:
        snapshot = await wait_until_settled(run, quiet=args.json)
        return emit(args, snapshot, render_state)
    if args.json:
        return emit(args, {"run_id": run.run_id, "graph": args.graph}, str)
    print(f"started run {run.run_id} (graph {args.graph})")
    print(f"  state:  hitl state {run.run_id}")
    print(f"  web UI: {client.ui_url(run.run_id)}")
    return 0


async def cmd_state(args: argparse.Namespace) -> int:
    run = (await _client(args)).get_run(args.run_id)
    return emit(args, await run.get_state(), render_state)


async def cmd_result(args: argparse.Namespace) -> int:
    run = (await _client(args)).get_run(args.run_id)
    return emit(args, await run.result(), lambda v: json.dumps(v, indent=2, default=str))


async def cmd_history(args: argparse.Namespace) -> int:
    run = (await _client(args)).get_run(args.run_id)
    return emit(args, await run.get_state_history(), render_history)


async def cmd_cancel(args: argparse.Namespace) -> int:
    run = (await _client(args)).get_run(args.run_id)
    await run.cancel()
    return emit(args, {"run_id": run.run_id, "cancelled": True}, lambda _: f"cancel requested for run {run.run_id}")


async def cmd_list(args: argparse.Namespace) -> int:
    runs = await (await _client(args)).list_runs()
    rows = [[r.run_id, r.graph, r.status, _when(r.started_at)] for r in runs]
    return emit(args, runs, lambda _: table(["RUN ID", "GRAPH", "STATUS", "STARTED"], rows, empty="no runs yet"))


async def cmd_inbox(args: argparse.Namespace) -> int:
    pending = await (await _client(args)).pending()
    rows = [[p.run_id, p.graph, ",".join(p.nodes), _clip(p.summary, 60), _when(p.waiting_since)] for p in pending]
    return emit(
        args, pending, lambda _: table(["RUN ID", "GRAPH", "NODE", "WAITING FOR", "SINCE"], rows, empty="nobody is waiting: the inbox is empty")
    )


async def cmd_resume(args: argparse.Namespace) -> int:
    run = (await _client(args)).get_run(args.run_id)
    kwargs: dict[str, Any] = {
        "map": parse_json(args.map, "--map", object_only=True) if args.map is not None else None,
        "update": parse_json(args.update, "--update", object_only=True) if args.update is not None else None,
        "goto": args.goto,
    }
    value = parse_json(args.value, "--value") if args.value is not None else NO_VALUE
    if args.signal:
        await run.send_resume(value, **kwargs)
        return emit(args, {"run_id": run.run_id, "sent": True}, lambda _: f"decision sent to run {run.run_id} as a signal")
    snapshot = await run.resume(value, wait=not args.no_wait, request_id=args.request_id, **kwargs)
    return emit(args, snapshot, render_state)


async def cmd_update_state(args: argparse.Namespace) -> int:
    run = (await _client(args)).get_run(args.run_id)
    values = parse_json(args.values, "--values", object_only=True)
    return emit(args, await run.update_state(values, as_node=args.as_node), render_state)


async def cmd_fork(args: argparse.Namespace) -> int:
    client = await _client(args)
    values = parse_json(args.values, "--values", object_only=True) if args.values else None
    run = await client.fork(args.run_id, args.step, values, new_run_id=args.new_id)
    return emit(args, {"run_id": run.run_id, "forked_from": args.run_id, "step": args.step},
                lambda _: f"forked run {run.run_id} from {args.run_id} at step {args.step}\n  state:  hitl state {run.run_id}")


async def cmd_graphs(args: argparse.Namespace) -> int:
    graphs = _graphs(args)
    rows = [[g.name, ", ".join(g.nodes)] for g in graphs]
    return emit(args, [{"name": g.name, "nodes": list(g.nodes)} for g in graphs], lambda _: table(["GRAPH", "NODES"], rows))


async def cmd_worker(args: argparse.Namespace) -> int:
    if args.max_cached_runs is not None and args.max_cached_runs < 1:
        raise InvalidInputError(f"--max-cached-runs must be a whole number of at least 1; got {args.max_cached_runs}")
    graphs = catalog.load(args.refs or args.graphs or None)
    client = await connect(args.address, namespace=args.namespace, task_queue=args.task_queue, graphs=graphs)
    address = client.temporal.service_client.config.target_host
    print(f"worker serving graphs {', '.join(g.name for g in graphs)} on task queue '{client.task_queue}' at {address}", flush=True)
    async with client.worker(max_cached_workflows=args.max_cached_runs):
        await _until_stopped()
    return 0


async def cmd_serve(args: argparse.Namespace) -> int:
    from hitl.web.serve import build_app, describe, serving

    client = await connect(args.address, namespace=args.namespace, task_queue=args.task_queue, graphs=_graphs(args))
    app = build_app(client, args)
    async with serving(app, args.web_host, args.web_port) as url:
        print(f"review inbox and HTTP API on {url} (API docs {url}/docs); sign-in: {describe(app)}", flush=True)
        await _until_stopped()
    return 0


async def cmd_dev(args: argparse.Namespace) -> int:
    """Server (unless TEMPORAL_ADDRESS names one) + worker + a demo run, until Ctrl-C."""
    from hitl.server import DevServer

    server = None
    address = args.address or os.environ.get("TEMPORAL_ADDRESS")
    if not address:
        server = DevServer(args.data_dir, port=args.port)
        print(f"starting Temporal dev server on {server.address} (data: {server.db_file}) ...", flush=True)
        await asyncio.to_thread(server.start)
        address = server.address
    try:
        graphs = _graphs(args)
        client = await connect(address, namespace=args.namespace, task_queue=args.task_queue, identity=args.identity, graphs=graphs)
        async with client.worker(), dev_web(client, args) as web:
            print(f"worker serving graphs: {', '.join(g.name for g in graphs)}")
            print(f"Temporal Web UI:      {server.ui_url if server else client.ui_url()}")
            if web:
                print(f"review inbox and API: {web[0]}   (sign-in: {web[1]})")
            if not args.no_demo and "approval" in {g.name for g in graphs}:
                run = await client.start("approval", {"topic": "our new release"})
                snapshot = await wait_until_settled(run, quiet=True)
                print(f"\ndemo run {run.run_id} is {snapshot.status}, waiting for a person:")
                for i in snapshot.interrupts:
                    print(f"  {i.node}: {json.dumps(i.value)}")
                print("\nin another terminal (same virtualenv):")
                print("  hitl inbox")
                print(f"  hitl resume {run.run_id} --value '\"approve\"'")
                print(f"  hitl state {run.run_id}")
                if web:
                    print(f"or in the browser: {web[0]}/runs/{run.run_id}")
            print("\nready; Ctrl-C to stop.", flush=True)
            await _until_stopped()
    finally:
        if server:
            await asyncio.to_thread(server.stop)
    return 0


# ----------------------------------------------------------------- helpers


async def wait_until_settled(run: Run, *, quiet: bool = False) -> StateSnapshot:
    """Wait until the run pauses or ends, showing progress on stderr."""

    def progress(s: StateSnapshot) -> None:
        print(f"  ... {run.run_id} running, step {s.step}, next: {', '.join(s.next) or '-'}", file=sys.stderr)

    return await run.wait(on_progress=None if quiet else progress)


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def parse_json(text: str, what: str, *, object_only: bool = False) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        hint = "a JSON object like '{\"key\": \"value\"}'" if object_only else "JSON, e.g. '\"approve\"', 42 or '{\"key\": 1}'"
        raise InvalidInputError(f"{what} is not valid JSON ({e.msg} at column {e.colno}); pass {hint}") from None
    if object_only and not isinstance(value, dict):
        raise InvalidInputError(f"{what} must be a JSON object like '{{\"key\": \"value\"}}'; got {type(value).__name__}")
    return value


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def emit(args: argparse.Namespace, data: Any, render: Callable[[Any], str]) -> int:
    if args.json:
        print(json.dumps(_plain(data), indent=2, default=str))
    else:
        print(render(data))
    return 0


def _plain(data: Any) -> Any:
    if is_dataclass(data) and not isinstance(data, type):
        return asdict(data)
    if isinstance(data, list):
        return [_plain(d) for d in data]
    return data


def render_state(s: StateSnapshot) -> str:
    lines = [
        f"run      {s.run_id}  (graph {s.graph})",
        f"status   {s.status}" + (f" since {_when(s.paused_at)}" if s.paused_at else "") + f"  (step {s.step})",
        f"next     {', '.join(s.next) or '-'}",
        f"values   {json.dumps(s.values, indent=2, default=str)}".replace("\n", "\n         "),
    ]
    if s.breakpoint:
        lines.append(f"paused   at a breakpoint {s.breakpoint} {', '.join(s.next) if s.breakpoint == 'before' else 'the last step'}")
        lines.append(f"continue with: hitl resume {s.run_id}")
    for i in s.interrupts:
        lines.append(f"waiting  [{i.id}] {i.node}: {json.dumps(i.value, default=str)}")
        if i.schema:
            lines.append(f"         answer must fit: {json.dumps(i.schema)}")
    if s.interrupts:
        if len(s.interrupts) == 1:
            lines.append(f"answer with: hitl resume {s.run_id} --value JSON")
        else:
            lines.append(f"answer with: hitl resume {s.run_id} --map '{{\"{s.interrupts[0].id}\": ...}}'")
    if s.error:
        lines.append(f"error    {s.error}")
    return "\n".join(lines)


def render_history(checkpoints: list[Any]) -> str:
    lines = []
    for c in checkpoints:
        who = "; ".join(f"{d.kind} by {d.identity}" + (f" -> {json.dumps(d.value, default=str)}" if d.value is not None else "") for d in c.decisions)
        lines.append(f"step {c.step:>3}  {c.source:<6}  next: {', '.join(c.next) or '-':<20} {_when(c.created_at)}" + (f"  [{who}]" if who else ""))
        lines.append(f"          values: {json.dumps(c.values, default=str)}")
    return "\n".join(lines) or "no checkpoints"


def table(headers: list[str], rows: list[list[str]], empty: str = "nothing to show") -> str:
    if not rows:
        return empty
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*map(str, r)).rstrip() for r in [headers, *rows])


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else "-"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
