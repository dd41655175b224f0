"""Decisions other than answers: claim, release, delegate, update-state, fork, and signed answer links."""

from __future__ import annotations

from hitl.cli import render, session
from hitl.cli.options import ClaimOptions, DelegateOptions, ForkOptions, LinkOptions, ReleaseOptions, UpdateStateOptions
from hitl.cli.render import Shown
from hitl.cli.values import parse_duration, parse_json
from hitl.client.client import check_run_id


async def claim(opts: ClaimOptions) -> Shown:
    ttl = parse_duration(opts.ttl, "--for")
    run = await session.open_run(opts, opts.run_id)
    return Shown(await run.claim(opts.interrupt, ttl=ttl), render.state)


async def release(opts: ReleaseOptions) -> Shown:
    run = await session.open_run(opts, opts.run_id)
    return Shown(await run.release(opts.interrupt), render.state)


async def delegate(opts: DelegateOptions) -> Shown:
    ttl = parse_duration(opts.ttl, "--for")
    run = await session.open_run(opts, opts.run_id)
    return Shown(await run.delegate(opts.to, opts.interrupt, ttl=ttl), render.state)


async def update_state(opts: UpdateStateOptions) -> Shown:
    run = await session.open_run(opts, opts.run_id)
    values = parse_json(opts.values, "--values", object_only=True)
    snapshot = await run.update_state(values, as_node=opts.as_node)
    return session.settled(run, snapshot)  # an edit its node failed on was put back: exit 1 with why


async def fork(opts: ForkOptions) -> Shown:
    client = await session.client(opts)
    values = parse_json(opts.values, "--values", object_only=True) if opts.values else None
    run = await client.fork(opts.run_id, opts.step, values, new_run_id=opts.new_id)
    return Shown(
        {"run_id": run.run_id, "forked_from": opts.run_id, "step": opts.step},
        lambda _: render.forked(run.run_id, opts.run_id, opts.step),
    )


async def link(opts: LinkOptions) -> Shown:
    """A signed link letting one reviewer answer one question once; checked before connecting."""
    from hitl.client import signed_links as links

    check_run_id(opts.run_id)
    expires = links.parse_duration(opts.expires, "--expires")
    base_url = links.base_url(opts.base_url)
    key = links.require_key()
    client = await session.client(opts)
    made = await links.create(client, opts.run_id, opts.interrupt, expires=expires, base_url=base_url, key=key)
    return Shown(
        {
            "url": made.url,
            "run_id": made.link.run_id,
            "interrupt_id": made.link.interrupt_id,
            "identity": made.link.identity,
            "roles": list(made.link.roles),
            "expires_at": made.link.expires_at.isoformat(),
        },
        lambda d: render.link(d, made.link.expires_at),
    )
