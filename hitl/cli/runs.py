"""Commands that start runs and read them: start, state, result, history, watch, cancel, list, inbox."""

from __future__ import annotations

from hitl import catalog
from hitl.cli import render, session
from hitl.cli.options import CancelOptions, Common, RunOptions, StartOptions, WatchOptions
from hitl.cli.render import Shown
from hitl.cli.values import names, parse_json
from hitl.client.client import check_run_id
from hitl.types import RunFailedError


async def start(opts: StartOptions) -> Shown:
    data = parse_json(opts.input, "--input", object_only=True)
    graph = catalog.lookup({g.name: g for g in session.graphs(opts)}, opts.graph)
    graph.validate_input(data)  # before connecting: bad input never reaches the server
    if opts.run_id is not None:
        check_run_id(opts.run_id, new=True)
    client = await session.client(opts)
    run = await client.start(
        graph,
        data,
        run_id=opts.run_id,
        interrupt_before=names(opts.interrupt_before),
        interrupt_after=names(opts.interrupt_after),
    )
    if opts.wait:
        return session.settled(run, await session.wait_until_settled(run, quiet=opts.json))
    return Shown(
        {"run_id": run.run_id, "graph": opts.graph},
        lambda _: render.started(run.run_id, opts.graph, client.ui_url(run.run_id)),
    )


async def state(opts: RunOptions) -> Shown:
    run = await session.open_run(opts, opts.run_id)
    return Shown(await run.get_state(), render.state)


async def result(opts: RunOptions) -> Shown:
    run = await session.open_run(opts, opts.run_id)
    return Shown(await run.result(), render.result)


async def history(opts: RunOptions) -> Shown:
    run = await session.open_run(opts, opts.run_id)
    return Shown(await run.get_state_history(), render.history)


async def watch(opts: WatchOptions) -> int:
    """Print each event as it comes: one readable line, or one JSON object a line with --json.
    Exit 0 when the run completed (or paused, with --until-pause), 1 when it failed or was cancelled."""
    run = await session.open_run(opts, opts.run_id)
    last = None
    async for event in run.events(since=opts.since, until_pause=opts.until_pause, custom=opts.custom):
        last = event
        if opts.json:
            render.json_line(event.to_json())
        else:
            render.say(event.describe())
    if last is not None and last.kind in ("failed", "cancelled"):
        raise RunFailedError(
            f"run '{run.run_id}' {'failed' if last.kind == 'failed' else 'was cancelled'}: "
            f"{last.error or 'no reason recorded'} — {run.where()}"
        )
    return 0


async def cancel(opts: CancelOptions) -> Shown:
    run = await session.open_run(opts, opts.run_id)
    return Shown(await run.cancel(opts.reason), render.state)


async def list_runs(opts: Common) -> Shown:
    return Shown(await (await session.client(opts)).list_runs(), render.runs)


async def inbox(opts: Common) -> Shown:
    return Shown(await (await session.client(opts)).pending(), render.inbox)
