"""Operators' commands: gc (claim-check blobs), audit (decision chains), graphs (what is known here), stats
(the queue's picture)."""

from __future__ import annotations

import dataclasses
import os
import sys

from hitl.cli import render, session
from hitl.cli.options import AuditOptions, Common, GcOptions, StatsOptions
from hitl.cli.render import Shown
from hitl.cli.values import parse_duration
from hitl.client.client import connect
from hitl.payloads import blobs as claim_check
from hitl.payloads.blob_gc import check_grace, collect
from hitl.protocol.audit import differs, read_lines, verify
from hitl.stats import reader as stats_reader
from hitl.types import AuditChainBroken, InvalidInputError

GC_MOST_S = 3650 * 86400.0
"""The longest grace `hitl gc --grace` takes (ten years: longer keeps every blob anyway)."""


async def gc(opts: GcOptions) -> Shown:
    """Delete the claim-check blobs no history of the namespace names any more (hitl/payloads/blob_gc.py)."""
    grace = parse_duration(opts.grace, "--grace", most_s=GC_MOST_S, why="the grace is from 1h to 3650d")
    check_grace(grace)  # before connecting: a refused grace says so even with no server up
    url = os.environ.get(claim_check.VARIABLE, "").strip()
    if not url:
        raise InvalidInputError(
            f"hitl gc cleans the claim-check store that {claim_check.VARIABLE} names, and it is not set; "
            f"set it as the workers have it ({claim_check.ACCEPTED})"
        )
    store = claim_check.store_from_url(url)
    client = await connect(opts.address, namespace=opts.namespace)
    done = await collect(
        client.temporal,
        store,
        grace=grace,
        dry_run=opts.dry_run,
        progress=lambda line: render.say(f"hitl gc: {line}", file=sys.stderr),  # stderr: --json output stays clean
    )
    return Shown(done, lambda d: render.collected(d, store.url, client.namespace, grace))


async def audit(opts: AuditOptions) -> int:
    """Export and verify; or verify an export, against the run too when one is named."""
    if opts.verify is None and opts.run_id is None:
        raise InvalidInputError("hitl audit needs a RUN_ID to export, or --verify FILE to check an export")
    if opts.verify is not None:
        text = sys.stdin.read() if opts.verify == "-" else _read_file(opts.verify, "--verify")
        try:
            records = read_lines(text, opts.verify)
        except ValueError as e:
            raise InvalidInputError(str(e)) from None
        verdict = verify(records)
        what = f"{opts.verify}"
        if verdict.broken is None and opts.run_id is not None:
            live = await (await session.open_run(opts, opts.run_id)).audit()
            verdict = dataclasses.replace(verdict, broken=differs(records, live.records))
            what += f" against run {opts.run_id}"
    else:
        assert opts.run_id is not None  # checked above
        trail = await (await session.open_run(opts, opts.run_id)).audit()
        for line in trail.lines():
            render.raw(line)
        verdict, what = trail.verify(), f"run {opts.run_id}"
    if verdict.broken is not None:
        raise AuditChainBroken(f"audit chain of {what} is broken at {verdict.broken}")
    anchor = f", continuing {verdict.anchor}" if verdict.anchor else ""
    render.say(f"chain ok: {what}, {verdict.records} record(s), head {verdict.head}{anchor}", file=sys.stderr)
    return 0


def _read_file(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise InvalidInputError(
            f"{what} {path}: cannot read it ({e.strerror}); give a file `hitl audit` wrote"
        ) from None


async def graphs(opts: Common) -> Shown:
    known = session.graphs(opts)
    return Shown([{"name": g.name, "nodes": list(g.nodes)} for g in known], lambda _: render.graphs(known))


async def stats(opts: StatsOptions) -> Shown:
    """The queue's figures over every run of the namespace: the CLI reads with the namespace access its
    Temporal connection has, like every other command (`hitl serve`'s /stats counts only what the caller may read)."""
    client = await session.client(opts)
    return Shown(await stats_reader.read(client, sample=opts.sample), render.stats)
