"""`hitl resume`: answer one paused run, or one answer to many runs (a batch)."""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import Any

from hitl.cli import render, session
from hitl.cli.options import ResumeOptions
from hitl.cli.render import Shown
from hitl.cli.values import parse_json
from hitl.client.batch import BatchResult
from hitl.client.client import check_run_id
from hitl.protocol.wire import NO_VALUE
from hitl.types import InvalidInputError, Queued


async def resume(opts: ResumeOptions) -> Shown:
    """One run, unless the run ids, --all or a batch-only flag make it a batch."""
    batch_flags = [
        f
        for f, on in (
            ("--graph", opts.graph),
            ("--node", opts.node),
            ("--question", opts.question),
            ("--dry-run", opts.dry_run),
            ("--batch-id", opts.batch_id),
        )
        if on
    ]
    if opts.all or len(opts.run_ids) > 1 or batch_flags:
        return await resume_many(opts, batch_flags)
    if not opts.run_ids:
        raise InvalidInputError("name the run to answer (hitl resume RUN_ID), several run ids, or --all with filters")
    run = await session.open_run(opts, opts.run_ids[0])
    kwargs: dict[str, Any] = {
        "map": parse_json(opts.map, "--map", object_only=True) if opts.map is not None else None,
        "update": parse_json(opts.update, "--update", object_only=True) if opts.update is not None else None,
        "goto": opts.goto,
    }
    value = parse_json(opts.value, "--value") if opts.value is not None else NO_VALUE
    if opts.signal:
        await run.send_resume(value, request_id=opts.request_id, **kwargs)
        return Shown({"run_id": run.run_id, "sent": True}, lambda _: render.signal_sent(run.run_id))
    snapshot = await run.resume(value, wait=not opts.no_wait, request_id=opts.request_id, queue=opts.queue, **kwargs)
    if isinstance(snapshot, Queued):
        return Shown({"run_id": run.run_id, "queued": True}, lambda _: [str(snapshot)])
    return session.settled(run, snapshot)  # applied, but a script must not read a failed run as success


async def resume_many(opts: ResumeOptions, batch_flags: list[str]) -> Shown:
    """A batch: one answer to many runs, a line per run, exit 0 only when each has the answer."""
    if opts.all and opts.run_ids:
        raise InvalidInputError("pass run ids or --all with filters, not both")
    if not opts.all and len(opts.run_ids) < 2:
        raise InvalidInputError(f"{batch_flags[0]} answers a batch: add --all (with filters) or several run ids")
    single = [
        f
        for f, on in (
            ("--map", opts.map),
            ("--update", opts.update),
            ("--goto", opts.goto),
            ("--request-id", opts.request_id),
            ("--signal", opts.signal),
            ("--queue", opts.queue),
            ("--no-wait", opts.no_wait),
        )
        if on
    ]
    if single:
        raise InvalidInputError(f"{single[0]} is for one run; a batch sends one --value to each run")
    if opts.value is None:
        raise InvalidInputError("a batch needs --value JSON: the answer each run gets")
    value = parse_json(opts.value, "--value")
    for run_id in opts.run_ids:
        check_run_id(run_id)
    client = await session.client(opts)

    def progress(result: BatchResult, done: int, total: int) -> None:
        if sys.stderr.isatty() and not opts.json:
            render.say(f"  [{done}/{total}] {result.run_id} {result.outcome.replace('_', ' ')}", file=sys.stderr)

    report = await client.resume_many(
        None if opts.all else opts.run_ids,
        value,
        graph=opts.graph,
        node=opts.node,
        question=opts.question,
        batch_id=opts.batch_id,
        concurrency=opts.concurrency,
        dry_run=opts.dry_run,
        on_result=progress,
    )
    return Shown({**asdict(report), "ok": report.ok}, lambda _: render.batch(report), code=0 if report.ok else 1)
