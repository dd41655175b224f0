"""What commands connect with: the graphs they know, a client, a named run, and how a wait ends.

Each takes typed options (options.Common), never argv.
"""

from __future__ import annotations

import sys

from hitl import catalog
from hitl.cli import render
from hitl.cli.options import Common
from hitl.cli.values import names
from hitl.client.client import Client, Run, check_run_id, connect
from hitl.graph import CompiledGraph
from hitl.types import RunFailedError, StateSnapshot


def graphs(opts: Common) -> list[CompiledGraph]:
    """The graphs this command knows: --graphs, else HITL_GRAPHS, else the examples."""
    return catalog.load(opts.graphs) if opts.graphs else list(catalog.by_name().values())


async def client(opts: Common) -> Client:
    """A client; without --graphs it imports the catalog only if a command needs a graph."""
    known = catalog.load(opts.graphs) if opts.graphs else None
    return await connect(
        opts.address,
        namespace=opts.namespace,
        task_queue=opts.task_queue,
        identity=opts.identity,
        roles=names(opts.roles) or (),
        graphs=known,
    )


async def open_run(opts: Common, run_id: str) -> Run:
    """The run a command names; its id is checked before connecting, like all bad input."""
    check_run_id(run_id)
    return (await client(opts)).get_run(run_id)


async def wait_until_settled(run: Run, *, quiet: bool = False) -> StateSnapshot:
    """Wait until the run pauses or ends, showing progress on stderr."""

    def progress(s: StateSnapshot) -> None:
        render.say(f"  ... {run.run_id} running, step {s.step}, next: {', '.join(s.next) or '-'}", file=sys.stderr)

    return await run.wait(on_progress=None if quiet else progress)


def ended_badly(run: Run, snapshot: StateSnapshot) -> RunFailedError | None:
    """Whoever waited for a run that failed or was cancelled gets exit 1 and one line
    saying why, even though its state was shown: scripts must not read it as success."""
    if snapshot.status == "failed":
        return RunFailedError(f"run '{run.run_id}' failed: {snapshot.error or 'no reason recorded'} — {run.where()}")
    if snapshot.status == "cancelled":
        return RunFailedError(f"run '{run.run_id}' was cancelled — {run.where()}")
    if snapshot.status == "interrupted" and snapshot.error:  # the answer or edit was put back: its node failed on it
        return RunFailedError(f"run '{run.run_id}': {snapshot.error} — {run.where()}")
    return None


def settled(run: Run, snapshot: StateSnapshot) -> render.Shown:
    """A run's state after a wait or a decision: shown, and exit 1 with why if it ended badly."""
    return render.Shown(snapshot, render.state, failure=ended_badly(run, snapshot))
