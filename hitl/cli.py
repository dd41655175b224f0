"""The `hitl` command line (also `python starter.py` and `python worker.py`).

Human-readable output by default, `--json` for machines. Bad input gets one
line on stderr naming what was wrong and what is accepted, exit code 2; a run
that failed exits 1 with its id and where to look.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO

from hitl import _claim_check as claim_check
from hitl import _finite as finite
from hitl import catalog
from hitl._audit import differs, read_lines, verify
from hitl._blob_gc import DEFAULT_GRACE, Collected, check_grace, collect, span
from hitl._limits import shorten, too_deep
from hitl._policy import CLAIM_MAX_S
from hitl._protocol import DEFAULT_TASK_QUEUE
from hitl._text import split_names
from hitl._whole import whole_number
from hitl.batch import BatchReport, BatchResult
from hitl.client import NO_VALUE, Client, Run, check_run_id, connect
from hitl.codec import from_env as codec_from_env
from hitl.graph import CompiledGraph
from hitl.server import UI_PORT_OFFSET
from hitl.types import AuditChainBroken, Checkpoint, HitlError, InvalidInputError, Queued, RunFailedError, StateSnapshot
from hitl.web.serve import add_options as web_options
from hitl.web.serve import dev_web

BROKEN_PIPE_EXIT = 141
"""Exit code when the reader of our output went away (`hitl state X | head -3`): 128 + SIGPIPE, as a shell reports it."""


GC_MOST_S = 3650 * 86400.0
"""The longest grace `hitl gc --grace` takes (ten years: longer keeps every blob anyway)."""

DEV_DATA_DIR, DEV_PORT = ".hitl", 7233
"""Where `hitl dev` keeps its server's SQLite file, and the server's port, unless told."""


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "handler", None):
            parser.print_help()
            return 2
        return asyncio.run(args.handler(args)) or 0
    except KeyboardInterrupt:  # Ctrl-C before a command set up its own handling, or while it started
        return 130
    except BrokenPipeError:
        return _reader_gone()
    except (RunFailedError, AuditChainBroken) as e:
        _fail(str(e))
        return 1
    except HitlError as e:
        _fail(str(e))
        return 2


def console_main() -> None:
    """Entry point of the `hitl` script and starter.py. A terminal whose encoding lacks a
    letter shown gets an escape for it, not a UnicodeEncodeError."""
    sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    _exit(main())


def worker_main() -> None:
    _exit(main(["worker", *sys.argv[1:]]))


def _exit(code: int) -> None:
    """Leave without interpreter teardown: the SDK's Rust runtime threads can crash
    a finalising interpreter (temporalio/sdk-python#300), turning a clean exit into SIGSEGV."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _reader_gone()
    sys.stderr.flush()
    os._exit(code)


def _reader_gone() -> int:
    """Our stdout's reader closed it: drop what is still buffered (pointing stdout at
    /dev/null, so no later flush raises again) and exit quietly, as `cat` would."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return BROKEN_PIPE_EXIT


# ------------------------------------------------------------------ parser


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (plus where to read more), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        _fail(f"{message}; see `{self.prog} --help`")
        sys.exit(2)


def _add_common(parser: argparse.ArgumentParser, *, on_command: bool) -> None:
    """The options every command takes. On a command they default to SUPPRESS, so
    an option given before the command name is not overwritten by the command's default."""

    def add(*flags: str, default: Any = None, **kw: Any) -> None:
        parser.add_argument(*flags, default=argparse.SUPPRESS if on_command else default, **kw)

    add("--address", help="Temporal host:port (default: TEMPORAL_ADDRESS, envconfig, or localhost:7233)")
    add("--namespace", help="Temporal namespace (default: envconfig or 'default')")
    add("--task-queue", default=DEFAULT_TASK_QUEUE, help=f"task queue (default: {DEFAULT_TASK_QUEUE})")
    add(
        "--graphs",
        nargs="+",
        metavar="MODULE[:ATTR]",
        help="where the graphs live (default: HITL_GRAPHS or the bundled examples)",
    )
    add("--identity", help="who is deciding (default: HITL_IDENTITY or the OS user)")
    add("--roles", help="comma-separated roles the decider holds (default: HITL_ROLES)")
    add("--json", default=False, action="store_true", help="machine-readable output")


def _port(text: str) -> int:
    """A port for `hitl dev`: the Web UI listens on port+1000, which must be a port too."""
    port = whole_number(text, least=1, most=65535 - UI_PORT_OFFSET)
    if port is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port from 1 to {65535 - UI_PORT_OFFSET} (the Web UI takes port+{UI_PORT_OFFSET}, at most 65535)"
        )
    return port


def _seq(text: str) -> int:
    """A checkpoint seq for --since: a whole number from 0."""
    seq = whole_number(text)
    if seq is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a checkpoint number (a whole number from 0)")
    return seq


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hitl", description="Human-in-the-loop graphs on Temporal.")
    _add_common(parser, on_command=False)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)

    def command(
        name: str, handler: Callable[[argparse.Namespace], Coroutine[Any, Any, int | None]], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        _add_common(p, on_command=True)
        p.set_defaults(handler=handler, command=name)
        return p

    p = command("dev", cmd_dev, "run the local stack: Temporal dev server (SQLite) + worker with the example graphs")
    p.add_argument("--data-dir", help=f"where the server keeps its SQLite file (default: {DEV_DATA_DIR})")
    p.add_argument(
        "--port", type=_port, help=f"Temporal port, 1 to 64535 (default: {DEV_PORT}; Web UI on port+{UI_PORT_OFFSET})"
    )
    p.add_argument("--no-demo", action="store_true", help="do not start a demo run")
    p.add_argument("--no-web", action="store_true", help="do not start the review inbox and HTTP API")
    web_options(p, dev=True)

    web_options(command("serve", cmd_serve, "serve the review inbox and the LangGraph-shaped HTTP API"))

    p = command("worker", cmd_worker, "serve graphs on a task queue")
    p.add_argument(
        "refs", nargs="*", metavar="MODULE[:ATTR]", help="graphs to serve (default: HITL_GRAPHS or the examples)"
    )
    p.add_argument(
        "--max-cached-runs",
        type=int,
        default=None,
        metavar="N",
        help="runs kept in memory between tasks (default 200; paused runs replay their short history instead)",
    )
    p.add_argument("--nodes-at-once", type=int, metavar="N", help="nodes this worker runs at once (default 100)")
    p.add_argument(
        "--workflow-tasks-at-once",
        type=int,
        metavar="N",
        help="workflow tasks this worker handles at once, at least 2 (default 100)",
    )
    p.add_argument(
        "--pollers",
        metavar="N|auto",
        help="polls of the task queue at once, for workflow tasks and for node tasks each, at least 2 "
        "(default 5; 'auto' lets Temporal scale them with the work waiting)",
    )

    p = command("gc", cmd_gc, "delete claim-check blobs that no history names any more")
    p.add_argument(
        "--grace",
        default=span(DEFAULT_GRACE),
        help=f"keep blobs written within this long, 1h to 3650d (default {span(DEFAULT_GRACE)})",
    )
    p.add_argument("--dry-run", action="store_true", help="say which blobs would go; delete nothing")

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
    ):
        command(name, handler, help).add_argument("run_id")

    p = command("watch", cmd_watch, "follow a run: one line per event until it ends (exit 0 completed, 1 failed)")
    p.add_argument("run_id")
    p.add_argument("--until-pause", action="store_true", help="stop at the run's next pause instead of waiting")
    p.add_argument(
        "--since", type=_seq, metavar="SEQ", help="replay from this checkpoint first (0: from the run's input)"
    )

    p = command("cancel", cmd_cancel, "cancel a run (a decision: checked and recorded like any other)")
    p.add_argument("run_id")
    p.add_argument("--reason", default="", help="why, kept with the decision")

    command("list", cmd_list, "list recent runs")
    command("inbox", cmd_inbox, "list runs waiting for a person")

    p = command("resume", cmd_resume, "answer a paused run, or many at once (--all, or several run ids)")
    p.add_argument("run_ids", nargs="*", metavar="RUN_ID", help="the run; several run ids answer each (a batch)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--value", help="the answer to the one pending interrupt, as JSON")
    group.add_argument("--map", help="answers by interrupt id, a JSON object")
    p.add_argument("--update", help="state update applied before continuing, a JSON object")
    p.add_argument("--goto", nargs="+", help="run these node(s) too, added to the paused step")
    p.add_argument("--no-wait", action="store_true", help="return at once instead of at the next pause")
    p.add_argument("--request-id", help="idempotency key: the same id twice answers once")
    p.add_argument("--signal", action="store_true", help="send as a signal (no answer; works while workers are down)")
    p.add_argument(
        "--queue",
        action="store_true",
        help="if no worker is up, queue the decision in the run's history (applied when one is back) instead of refusing",
    )
    batch = p.add_argument_group("batch answers (one --value to many runs; each applies it once)")
    batch.add_argument("--all", action="store_true", help="every waiting run matching --graph, --node, --question")
    batch.add_argument("--graph", help="with --all: runs of this graph")
    batch.add_argument("--node", help="answer the question asked at this node")
    batch.add_argument("--question", help="only questions whose text contains this")
    batch.add_argument("--dry-run", action="store_true", help="list what would be answered; send nothing")
    batch.add_argument("--batch-id", help="resend a batch under its id: nothing is applied twice (default: new)")
    batch.add_argument("--concurrency", type=int, default=8, help="runs answered at once (default 8)")

    p = command("link", cmd_link, "print a signed link that lets one reviewer answer one question, once")
    p.add_argument("run_id")
    p.add_argument("--interrupt", help="the question's interrupt id (default: the run's one pending question)")
    p.add_argument("--expires", default="24h", help="how long the link works: 30m, 24h, 7d (default 24h)")
    p.add_argument("--base-url", help="the inbox server's URL (default: HITL_LINK_BASE_URL)")

    p = command("update-state", cmd_update_state, "edit a paused run's state")
    p.add_argument("run_id")
    p.add_argument("--values", required=True, help="state keys to write, a JSON object")
    p.add_argument("--as-node", help="write as this node: routing continues from its edges")

    p = command("claim", cmd_claim, "hold a pending question: nobody else may answer it until released or expired")
    p.add_argument("run_id")
    p.add_argument("--interrupt", help="the question's id (default: the one pending)")
    p.add_argument("--for", dest="ttl", default="30m", help="how long: 90s, 30m, 4h, 2d (default 30m; at most 30d)")
    p = command("release", cmd_claim, "give a claimed question back to everyone allowed to answer it")
    p.add_argument("run_id")
    p.add_argument("--interrupt", help="the question's id (default: the one pending)")
    p = command("delegate", cmd_claim, "hand a pending question to another identity or role:NAME (recorded)")
    p.add_argument("run_id")
    p.add_argument("--to", required=True, help="an identity or role:NAME on the question's reviewer list")
    p.add_argument("--interrupt", help="the question's id (default: the one pending)")
    p.add_argument("--for", dest="ttl", default="30m", help="how long the delegate holds it (default 30m)")

    p = command(
        "audit",
        cmd_audit,
        "export a run's decision chain as JSON Lines and verify it (exit 1 naming the first broken record)",
    )
    p.add_argument("run_id", nargs="?", help="the run (with --verify: compare the file with its whole chain)")
    p.add_argument("--verify", metavar="FILE", help="verify an exported file instead of exporting ('-': stdin)")

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


async def _run(args: argparse.Namespace) -> Run:
    """The run a command names; its id is checked before connecting, like all bad input."""
    check_run_id(args.run_id)
    return (await _client(args)).get_run(args.run_id)


async def cmd_start(args: argparse.Namespace) -> int:
    data = parse_json(args.input, "--input", object_only=True)
    graph = catalog.lookup({g.name: g for g in _graphs(args)}, args.graph)
    graph.validate_input(data)  # before connecting: bad input never reaches the server
    if args.run_id is not None:
        check_run_id(args.run_id, new=True)
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
        emit(args, snapshot, render_state)
        _check_ended_well(run, snapshot)
        return 0
    return emit(
        args,
        {"run_id": run.run_id, "graph": args.graph},
        lambda _: [
            f"started run {run.run_id} (graph {args.graph})",
            f"  state:  hitl state {run.run_id}",
            f"  web UI: {client.ui_url(run.run_id)}",
        ],
    )


async def cmd_state(args: argparse.Namespace) -> int:
    run = await _run(args)
    return emit(args, await run.get_state(), render_state)


async def cmd_result(args: argparse.Namespace) -> int:
    run = await _run(args)
    return emit(args, await run.result(), lambda v: _json(v, indent=2).split("\n"))


async def cmd_history(args: argparse.Namespace) -> int:
    run = await _run(args)
    return emit(args, await run.get_state_history(), render_history)


async def cmd_watch(args: argparse.Namespace) -> int:
    """Print each event as it comes: one readable line, or one JSON object a line with --json.
    Exit 0 when the run completed (or paused, with --until-pause), 1 when it failed or was cancelled."""
    run = await _run(args)
    last = None
    async for event in run.events(since=args.since, until_pause=args.until_pause):
        last = event
        if args.json:
            print(_json(event.to_json()), flush=True)
        else:
            say(event.describe())
    if last is not None and last.kind in ("failed", "cancelled"):
        raise RunFailedError(
            f"run '{run.run_id}' {'failed' if last.kind == 'failed' else 'was cancelled'}: "
            f"{last.error or 'no reason recorded'} — {run.where()}"
        )
    return 0


async def cmd_cancel(args: argparse.Namespace) -> int:
    run = await _run(args)
    return emit(args, await run.cancel(args.reason), render_state)


async def cmd_claim(args: argparse.Namespace) -> int:
    """claim, release and delegate: one command each, one request kind."""
    ttl = parse_duration(getattr(args, "ttl", "30m"), "--for")
    run = await _run(args)
    if args.command == "claim":
        snapshot = await run.claim(args.interrupt, ttl=ttl)
    elif args.command == "release":
        snapshot = await run.release(args.interrupt)
    else:
        snapshot = await run.delegate(args.to, args.interrupt, ttl=ttl)
    return emit(args, snapshot, render_state)


def parse_duration(
    text: str, what: str, *, most_s: float = CLAIM_MAX_S, why: str = "a claim holds from 1 second to 30 days"
) -> timedelta:
    """`90s`, `30m`, `4h`, `2d` (by default a claim's length, 1 second to 30 days); one clear line for anything else."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = whole_number(text[:-1], least=1, most=10**100), text[-1:]
    if unit not in units or number is None:
        raise InvalidInputError(f"{what} takes a whole number and a unit, like 90s, 30m, 4h or 2d; got {text[:60]!r}")
    if number * units[unit] > most_s:  # before timedelta(), which overflows on huge numbers
        raise InvalidInputError(f"{what} is at most {span(timedelta(seconds=most_s))} ({why}); got {text!r}")
    return timedelta(seconds=number * units[unit])


async def cmd_gc(args: argparse.Namespace) -> int:
    """Delete the claim-check blobs no history of the namespace names any more (hitl/_blob_gc.py)."""
    grace = parse_duration(args.grace, "--grace", most_s=GC_MOST_S, why="the grace is from 1h to 3650d")
    check_grace(grace)  # before connecting: a refused grace says so even with no server up
    url = os.environ.get(claim_check.VARIABLE, "").strip()
    if not url:
        raise InvalidInputError(
            f"hitl gc cleans the claim-check store that {claim_check.VARIABLE} names, and it is not set; "
            f"set it as the workers have it ({claim_check.ACCEPTED})"
        )
    store = claim_check.store_from_url(url)
    client = await connect(args.address, namespace=args.namespace)
    done = await collect(
        client.temporal,
        store,
        grace=grace,
        dry_run=args.dry_run,
        progress=lambda line: say(f"hitl gc: {line}", file=sys.stderr),  # stderr: --json output stays clean
    )

    def render(d: Collected) -> list[str]:
        verb = "would delete" if d.dry_run else "deleted"
        return [
            f"{store.url}: {d.blobs} blobs; {d.named} named by the {d.runs} histories of namespace "
            f"'{client.namespace}'; {d.young} named by none but written within {span(grace)} (kept); "
            f"{verb} {len(d.deleted)} ({d.deleted_bytes:,} bytes)",
            *([f"  {key}" for key in d.deleted] if d.dry_run else []),
        ]

    return emit(args, done, render)


async def cmd_audit(args: argparse.Namespace) -> int:
    """Export and verify; or verify an export, against the run too when one is named."""
    if args.verify is None and args.run_id is None:
        raise InvalidInputError("hitl audit needs a RUN_ID to export, or --verify FILE to check an export")
    if args.verify is not None:
        text = sys.stdin.read() if args.verify == "-" else _read_file(args.verify, "--verify")
        try:
            records = read_lines(text, args.verify)
        except ValueError as e:
            raise InvalidInputError(str(e)) from None
        verdict = verify(records)
        what = f"{args.verify}"
        if verdict.broken is None and args.run_id is not None:
            live = await (await _run(args)).audit()
            broken = differs(records, live.records)
            verdict = dataclasses.replace(verdict, broken=broken)
            what += f" against run {args.run_id}"
    else:
        trail = await (await _run(args)).audit()
        for line in trail.lines():
            print(line, flush=True)
        verdict, what = trail.verify(), f"run {args.run_id}"
    if verdict.broken is not None:
        raise AuditChainBroken(f"audit chain of {what} is broken at {verdict.broken}")
    anchor = f", continuing {verdict.anchor}" if verdict.anchor else ""
    say(f"chain ok: {what}, {verdict.records} record(s), head {verdict.head}{anchor}", file=sys.stderr)
    return 0


def _read_file(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise InvalidInputError(
            f"{what} {path}: cannot read it ({e.strerror}); give a file `hitl audit` wrote"
        ) from None


async def cmd_list(args: argparse.Namespace) -> int:
    runs = await (await _client(args)).list_runs()
    rows = [[r.run_id, r.graph, r.status, _when(r.started_at)] for r in runs]
    return emit(args, runs, lambda _: table(["RUN ID", "GRAPH", "STATUS", "STARTED"], rows, empty="no runs yet"))


async def cmd_inbox(args: argparse.Namespace) -> int:
    pending = await (await _client(args)).pending()
    rows = [[p.run_id, p.graph, ",".join(p.nodes), shorten(p.summary, 60), _when(p.waiting_since)] for p in pending]
    headers = ["RUN ID", "GRAPH", "NODE", "WAITING FOR", "SINCE"]
    if any(p.assigned for p in pending):  # claims: who holds a question (where the server indexes it)
        headers.append("HELD BY")
        rows = [[*row, ",".join(p.assigned)] for row, p in zip(rows, pending, strict=True)]
    return emit(args, pending, lambda _: table(headers, rows, empty="nobody is waiting: the inbox is empty"))


async def cmd_resume(args: argparse.Namespace) -> int:
    batch_flags = [
        f
        for f, on in (
            ("--graph", args.graph),
            ("--node", args.node),
            ("--question", args.question),
            ("--dry-run", args.dry_run),
            ("--batch-id", args.batch_id),
        )
        if on
    ]
    if args.all or len(args.run_ids) > 1 or batch_flags:
        return await cmd_resume_many(args, batch_flags)
    if not args.run_ids:
        raise InvalidInputError("name the run to answer (hitl resume RUN_ID), several run ids, or --all with filters")
    args.run_id = args.run_ids[0]
    run = await _run(args)
    kwargs: dict[str, Any] = {
        "map": parse_json(args.map, "--map", object_only=True) if args.map is not None else None,
        "update": parse_json(args.update, "--update", object_only=True) if args.update is not None else None,
        "goto": args.goto,
    }
    value = parse_json(args.value, "--value") if args.value is not None else NO_VALUE
    if args.signal:
        await run.send_resume(value, request_id=args.request_id, **kwargs)
        return emit(
            args,
            {"run_id": run.run_id, "sent": True},
            lambda _: [
                f"decision sent to run {run.run_id} as a signal: it applies when the run next pauses, "
                f"or is refused there and listed by `hitl state {run.run_id}`"
            ],
        )
    snapshot = await run.resume(value, wait=not args.no_wait, request_id=args.request_id, queue=args.queue, **kwargs)
    if isinstance(snapshot, Queued):
        return emit(args, {"run_id": run.run_id, "queued": True}, lambda _: [str(snapshot)])
    emit(args, snapshot, render_state)
    _check_ended_well(run, snapshot)  # the decision was applied, but a script must not read a failed run as success
    return 0


async def cmd_resume_many(args: argparse.Namespace, batch_flags: list[str]) -> int:
    """A batch: one answer to many runs, a line per run, exit 0 only when each has the answer."""
    if args.all and args.run_ids:
        raise InvalidInputError("pass run ids or --all with filters, not both")
    if not args.all and len(args.run_ids) < 2:
        raise InvalidInputError(f"{batch_flags[0]} answers a batch: add --all (with filters) or several run ids")
    single = [
        f
        for f, on in (
            ("--map", args.map),
            ("--update", args.update),
            ("--goto", args.goto),
            ("--request-id", args.request_id),
            ("--signal", args.signal),
            ("--queue", args.queue),
            ("--no-wait", args.no_wait),
        )
        if on
    ]
    if single:
        raise InvalidInputError(f"{single[0]} is for one run; a batch sends one --value to each run")
    if args.value is None:
        raise InvalidInputError("a batch needs --value JSON: the answer each run gets")
    value = parse_json(args.value, "--value")
    for run_id in args.run_ids:
        check_run_id(run_id)
    client = await _client(args)

    def progress(result: BatchResult, done: int, total: int) -> None:
        if sys.stderr.isatty() and not args.json:
            say(f"  [{done}/{total}] {result.run_id} {result.outcome.replace('_', ' ')}", file=sys.stderr)

    report = await client.resume_many(
        None if args.all else args.run_ids,
        value,
        graph=args.graph,
        node=args.node,
        question=args.question,
        batch_id=args.batch_id,
        concurrency=args.concurrency,
        dry_run=args.dry_run,
        on_result=progress,
    )
    emit(args, {**asdict(report), "ok": report.ok}, lambda _: render_batch(report))
    return 0 if report.ok else 1


def render_batch(report: BatchReport) -> list[str]:
    shown = {"would_apply": "", "already_applied": "already applied", "applied": "applied"}
    lines = []
    for r in report.results:
        what = r.reason if r.outcome == "would_apply" else shown.get(r.outcome, r.outcome)
        extra = (
            f": {r.reason}"
            if r.outcome in ("refused", "unreachable")
            else (f" ({r.reason})" if r.outcome == "already_applied" else "")
        )
        lines.append(f"{r.run_id}  {what}{extra}")
    counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in report.counts().items()) or "no waiting run matched"
    verb = "would answer" if report.dry_run else "answered"
    lines.append(f"batch id {report.batch_id}: {verb} {len(report.results)} run(s): {counts}")
    if not report.ok:
        lines.append(
            f"resend with --batch-id {report.batch_id} to retry: runs that have the answer are not answered twice"
        )
    return lines


async def cmd_link(args: argparse.Namespace) -> int:
    from hitl import links

    check_run_id(args.run_id)
    expires = links.parse_duration(args.expires, "--expires")
    base_url = links.base_url(args.base_url)
    key = links.require_key()
    client = await _client(args)
    made = await links.create(client, args.run_id, args.interrupt, expires=expires, base_url=base_url, key=key)
    return emit(
        args,
        {
            "url": made.url,
            "run_id": made.link.run_id,
            "interrupt_id": made.link.interrupt_id,
            "identity": made.link.identity,
            "roles": list(made.link.roles),
            "expires_at": made.link.expires_at.isoformat(),
        },
        lambda d: [
            d["url"],
            f"lets {d['identity']} answer interrupt {d['interrupt_id']} of run {d['run_id']} once, until {_when(made.link.expires_at)} UTC",
        ],
    )


async def cmd_update_state(args: argparse.Namespace) -> int:
    run = await _run(args)
    values = parse_json(args.values, "--values", object_only=True)
    snapshot = await run.update_state(values, as_node=args.as_node)
    emit(args, snapshot, render_state)
    _check_ended_well(run, snapshot)  # an edit its node failed on was put back: exit 1 with why
    return 0


async def cmd_fork(args: argparse.Namespace) -> int:
    client = await _client(args)
    values = parse_json(args.values, "--values", object_only=True) if args.values else None
    run = await client.fork(args.run_id, args.step, values, new_run_id=args.new_id)
    return emit(
        args,
        {"run_id": run.run_id, "forked_from": args.run_id, "step": args.step},
        lambda _: [
            f"forked run {run.run_id} from {args.run_id} at step {args.step}",
            f"  state:  hitl state {run.run_id}",
        ],
    )


async def cmd_graphs(args: argparse.Namespace) -> int:
    graphs = _graphs(args)
    rows = [[g.name, ", ".join(g.nodes)] for g in graphs]
    return emit(
        args, [{"name": g.name, "nodes": list(g.nodes)} for g in graphs], lambda _: table(["GRAPH", "NODES"], rows)
    )


async def cmd_worker(args: argparse.Namespace) -> int:
    options = _worker_options(args)
    graphs = catalog.load(args.refs or args.graphs or None)
    client = await connect(args.address, namespace=args.namespace, task_queue=args.task_queue, graphs=graphs)
    address = client.temporal.service_client.config.target_host
    say(f"worker serving graphs {', '.join(g.name for g in graphs)} on task queue '{client.task_queue}' at {address}")
    async with client.worker(max_cached_workflows=args.max_cached_runs, **options):
        return await _until_stopped()


def _worker_options(args: argparse.Namespace) -> dict[str, Any]:
    """`hitl worker`'s tuning flags as Temporal worker settings, checked before anything connects; a
    flag left out keeps hitl's default (README, Benchmarks, table 3b: measured, not guessed)."""
    from temporalio.worker import PollerBehaviorAutoscaling, PollerBehaviorSimpleMaximum

    def at_least(flag: str, value: int | None, least: int) -> None:
        if value is not None and value < least:
            raise InvalidInputError(f"{flag} must be a whole number of at least {least}; got {value}")

    at_least("--max-cached-runs", args.max_cached_runs, 1)
    at_least("--nodes-at-once", args.nodes_at_once, 1)
    at_least("--workflow-tasks-at-once", args.workflow_tasks_at_once, 2)  # Temporal's need with a run cache
    options: dict[str, Any] = {}
    if args.nodes_at_once is not None:
        options["max_concurrent_activities"] = args.nodes_at_once
    if args.workflow_tasks_at_once is not None:
        options["max_concurrent_workflow_tasks"] = args.workflow_tasks_at_once
    if args.pollers is not None:
        if args.pollers == "auto":
            behavior: PollerBehaviorAutoscaling | PollerBehaviorSimpleMaximum = PollerBehaviorAutoscaling()
        else:
            pollers = whole_number(args.pollers, least=2)
            if pollers is None:
                raise InvalidInputError(f"--pollers takes a whole number of at least 2, or auto; got {args.pollers!r}")
            behavior = PollerBehaviorSimpleMaximum(pollers)
        options["workflow_task_poller_behavior"] = options["activity_task_poller_behavior"] = behavior
    return options


async def cmd_serve(args: argparse.Namespace) -> int:
    from hitl.web.serve import build_app, describe, serving

    client = await connect(args.address, namespace=args.namespace, task_queue=args.task_queue, graphs=_graphs(args))
    app = build_app(client, args)
    async with serving(app, args.web_host, args.web_port) as url:
        say(f"review inbox and HTTP API on {url} (API docs {url}/docs); sign-in: {describe(app)}")
        return await _until_stopped()


async def cmd_dev(args: argparse.Namespace) -> int:
    """Server (unless TEMPORAL_ADDRESS names one) + worker + a demo run, until Ctrl-C."""
    from hitl.server import DevServer

    codec_from_env()  # a bad HITL_ENCRYPTION_* or HITL_CLAIM_CHECK* stops here, before a server starts
    server = None
    address = args.address or os.environ.get("TEMPORAL_ADDRESS")
    if address:
        _refuse_server_flags(args)
    else:
        server = DevServer(args.data_dir or DEV_DATA_DIR, port=args.port or DEV_PORT)
        say(f"starting Temporal dev server on {server.address} (data: {server.db_file}) ...")
        server.launch()  # no await before the try: Ctrl-C from here on reaches the finally below
        address = server.address
    try:
        if server:
            await asyncio.to_thread(server.wait_ready)
        graphs = _graphs(args)
        client = await connect(
            address, namespace=args.namespace, task_queue=args.task_queue, identity=args.identity, graphs=graphs
        )
        async with client.worker(), dev_web(client, args) as web:
            say(
                f"worker serving graphs: {', '.join(g.name for g in graphs)}",
                f"Temporal Web UI:      {server.ui_url if server else client.ui_url()}",
            )
            if web:
                say(f"review inbox and API: {web[0]}   (sign-in: {web[1]})")
            if not args.no_demo and "approval" in {g.name for g in graphs}:
                run = await client.start("approval", {"topic": "our new release"})
                snapshot = await wait_until_settled(run, quiet=True)
                say(
                    "",
                    f"demo run {run.run_id} is {snapshot.status}, waiting for a person:",
                    *(f"  {i.node}: {_json(i.value)}" for i in snapshot.interrupts),
                    "",
                    "in another terminal (same virtualenv):",
                    "  hitl inbox",
                    f"  hitl resume {run.run_id} --value '\"approve\"'",
                    f"  hitl state {run.run_id}",
                    *([f"or in the browser: {web[0]}/runs/{run.run_id}"] if web else []),
                )
            say("", "ready; Ctrl-C to stop.")
            return await _until_stopped()
    finally:
        if server:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the server's shutdown short
            server.stop()


# ----------------------------------------------------------------- helpers


def _refuse_server_flags(args: argparse.Namespace) -> None:
    """--port and --data-dir configure the embedded server; when another server is named
    they would do nothing, and silently ignoring them hides which server is in use."""
    given = [flag for flag, value in (("--port", args.port), ("--data-dir", args.data_dir)) if value is not None]
    if not given:
        return
    flags = " and ".join(given)
    if args.address:
        because, fix = f"--address {args.address} is given", "drop --address"
    else:
        because, fix = f"TEMPORAL_ADDRESS={os.environ['TEMPORAL_ADDRESS']} is set", "unset TEMPORAL_ADDRESS"
    raise InvalidInputError(
        f"not starting the embedded server (so {flags} would do nothing) because {because}; "
        f"{fix} to run it, or drop {flags} to use that server"
    )


async def wait_until_settled(run: Run, *, quiet: bool = False) -> StateSnapshot:
    """Wait until the run pauses or ends, showing progress on stderr."""

    def progress(s: StateSnapshot) -> None:
        say(f"  ... {run.run_id} running, step {s.step}, next: {', '.join(s.next) or '-'}", file=sys.stderr)

    return await run.wait(on_progress=None if quiet else progress)


def _check_ended_well(run: Run, snapshot: StateSnapshot) -> None:
    """Whoever waited for a run that failed or was cancelled gets exit 1 and one line
    saying why, even though its state was shown: scripts must not read it as success."""
    if snapshot.status == "failed":
        raise RunFailedError(f"run '{run.run_id}' failed: {snapshot.error or 'no reason recorded'} — {run.where()}")
    if snapshot.status == "cancelled":
        raise RunFailedError(f"run '{run.run_id}' was cancelled — {run.where()}")
    if snapshot.status == "interrupted" and snapshot.error:  # the answer or edit was put back: its node failed on it
        raise RunFailedError(f"run '{run.run_id}': {snapshot.error} — {run.where()}")


async def _until_stopped() -> int:
    """Wait for Ctrl-C or SIGTERM; the exit code: 130 after Ctrl-C, as at any other moment
    of the command, and 0 after SIGTERM, a requested shutdown."""
    stopped: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def stop(code: int) -> None:
        if not stopped.done():
            stopped.set_result(code)

    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 0)):
        asyncio.get_running_loop().add_signal_handler(sig, stop, code)
    return await stopped


def parse_json(text: str, what: str, *, object_only: bool = False) -> Any:
    refused = too_deep(text, what, text=True)  # before parsing: Python's json recurses
    if refused:
        raise InvalidInputError(refused)
    try:
        value = finite.loads(text, what)
    except json.JSONDecodeError as e:
        hint = (
            'a JSON object like \'{"key": "value"}\''
            if object_only
            else "JSON, e.g. '\"approve\"', 42 or '{\"key\": 1}'"
        )
        raise InvalidInputError(f"{what} is not valid JSON ({e.msg} at column {e.colno}); pass {hint}") from None
    except ValueError as e:  # NaN, Infinity or 1e999: not JSON, whatever Python's json reads
        raise InvalidInputError(str(e)) from None
    if object_only and not isinstance(value, dict):
        raise InvalidInputError(f'{what} must be a JSON object like \'{{"key": "value"}}\'; got {type(value).__name__}')
    return value


def _names(text: str | None) -> list[str] | None:
    """A comma-separated option's names; None when the option was not given (or empty)."""
    return split_names(text) if text else None


def emit(args: argparse.Namespace, data: Any, render: Callable[[Any], list[str]]) -> int:
    """Print `data`: as JSON with --json, else as the lines `render` makes of it, for a person."""
    if args.json:
        print(_json(_plain(data), indent=2), flush=True)
    else:
        say(*render(data))
    return 0


def say(*lines: str, file: TextIO | None = None) -> None:
    """Print lines for a person, each escaped: a run id or value can neither break the layout nor drive the terminal."""
    print("\n".join(_escape(line) for line in lines), file=file or sys.stdout, flush=True)


def _fail(message: str) -> None:
    say(f"error: {message}", file=sys.stderr)


def _escape(text: str, *, in_json: bool = False) -> str:
    """Characters a terminal acts on (control characters, line breaks, bidi overrides) as
    escapes: `\\x1b` in text, `\\u001b` inside JSON (still the same JSON value; json.dumps
    splits no string across lines, so a line at a time is safe). Letters print as themselves."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _json_escape(c) if in_json else repr(c)[1:-1] for c in text)


def _json_escape(c: str) -> str:
    """`c` as JSON `\\uXXXX` escapes (a surrogate pair beyond the BMP)."""
    units = c.encode("utf-16-be", "surrogatepass")
    return "".join(f"\\u{int.from_bytes(units[i : i + 2], 'big'):04x}" for i in range(0, len(units), 2))


def _json(value: Any, indent: int | None = None) -> str:
    """JSON as the CLI prints it, for machines and people alike: letters as themselves, what a
    terminal acts on as `\\u` escapes, so a value shown can be pasted back as --value."""
    text = finite.dumps(value, indent=indent, default=str, ensure_ascii=False)
    return "\n".join(_escape(line, in_json=True) for line in text.split("\n"))


def _plain(data: Any) -> Any:
    if is_dataclass(data) and not isinstance(data, type):
        return asdict(data)
    if isinstance(data, list):
        return [_plain(d) for d in data]
    return data


def render_state(s: StateSnapshot) -> list[str]:
    values = _json(s.values, indent=2).split("\n")
    lines = [
        f"run      {s.run_id}  (graph {s.graph})",
        f"status   {s.status}" + (f" since {_when(s.paused_at)}" if s.paused_at else "") + f"  (step {s.step})",
        f"next     {', '.join(s.next) or '-'}",
        f"values   {values[0]}",
        *(f"         {line}" for line in values[1:]),
    ]
    if s.breakpoint:
        lines.append(
            f"paused   at a breakpoint {s.breakpoint} {', '.join(s.next) if s.breakpoint == 'before' else 'the last step'}"
        )
        lines.append(f"continue with: hitl resume {s.run_id}")
    for i in s.interrupts:
        lines.append(f"waiting  [{i.id}] {i.node}: {_json(i.value)}")
        if i.schema:
            lines.append(f"         answer must fit: {_json(i.schema)}")
        if i.claimed_by is not None:
            lines.append(f"         claimed by {i.claimed_by} until {_when(i.claimed_until)}")
        if i.quorum is not None:
            voted = ", ".join(f"{v.identity} ({_json(v.value)})" for v in i.votes) or "nobody yet"
            lines.append(f"         needs {i.quorum.n} people, {len(i.votes)} answered: {voted}")
    if s.interrupts:
        if len(s.interrupts) == 1:
            lines.append(f"answer with: hitl resume {s.run_id} --value JSON")
        else:
            lines.append(f"answer with: hitl resume {s.run_id} --map '{{\"{s.interrupts[0].id}\": ...}}'")
    for r in s.refused:
        what = "a decision by {} (its node failed on it)" if r.rolled_back else "a decision by {} sent as a signal"
        lines.append(f"refused  {_when(r.at)} {what.format(r.identity)}: {r.reason}")
    if s.guarded_by:
        lines.append(f"guarded  changes other than answers need someone allowed by each of: {s.guarded_by}")
    if s.error:
        lines.append(f"error    {s.error}")
    return lines


def render_history(checkpoints: list[Checkpoint]) -> list[str]:
    lines = []
    for c in checkpoints:
        who = "; ".join(
            f"{d.kind} by {d.identity}" + (f" -> {_json(d.value)}" if d.value is not None else "") for d in c.decisions
        )
        lines.append(
            f"step {c.step:>3}  {c.source:<6}  next: {', '.join(c.next) or '-':<20} {_when(c.created_at)}"
            + (f"  [{who}]" if who else "")
        )
        lines.append(f"          values: {_json(c.values) if c.values is not None else '(no longer kept)'}")
    return lines or ["no checkpoints"]


def table(headers: list[str], rows: list[list[str]], empty: str = "nothing to show") -> list[str]:
    """Aligned columns; cells are escaped first, so the widths are those shown."""
    if not rows:
        return [empty]
    cells = [[_escape(str(x)) for x in r] for r in [headers, *rows]]
    widths = [max(len(x) for x in col) for col in zip(*cells, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*r).rstrip() for r in cells]


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else "-"


if __name__ == "__main__":  # python -m hitl.cli
    console_main()
