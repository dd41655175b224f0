"""Read scoping in `hitl serve`: which runs the caller may see (a view-only credential's refusal is in
`context.decider`, where every changing route gets its client).

The rule is `hitl.protocol.policy.may_read` over the served graphs' `compile(readers=[...])` (a graph's
own, every enclosing graph's and every nested subgraph's: `hitl.web.readers.rules`), looked up by a run's graph name (the HitlGraph search attribute, or its state). It lives with the graphs
this server serves, not in the run, because the visibility store can only filter by what a run
indexes: `HitlGraph IN (the graphs the caller may read)` keeps lists, counts and paging exact
without a new search attribute, and a changed readers list applies at the next deploy to every
run of the graph, older ones too (access is revoked by redeploying the server). A run of a graph
this server does not serve (nor holds as a subgraph) is nobody's here: its rule is unknown, so it
is hidden rather than shown to everyone.

Whether a question may be handed to someone who could act on it here (`delegation_refused`) is read
off the same rule.

A run the caller may not read answers exactly as an id no run has (404 with the same body, or
the empty thread LangGraph clients expect), so nothing tells the two apart.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request

import hitl
from hitl import catalog
from hitl.client.batch import BatchReport, Waiting, resume_many
from hitl.graph import CompiledGraph
from hitl.protocol.policy import ROLE, may_read
from hitl.types import RunNotFoundError, StateSnapshot
from hitl.web import search
from hitl.web.auth import Auth, Identity, TokenAuth
from hitl.web.context import Web, caller, decider, web


def people(auth: Auth) -> list[Identity] | None:
    """Everyone who can sign in to this server, when it knows them all (tokens); None otherwise."""
    return list(auth.tokens.values()) if isinstance(auth, TokenAuth) else None


def delegation_refused(to: str, readers: list[list[str]], known: list[Identity] | None) -> str | None:
    """Why a question of a run whose graph takes `readers` may not be handed to `to` here (None when it may).

    `known`: everyone who can sign in (`people`); None when the server cannot know (then only a name no
    role could let read the run is refused: a reader list naming no role and not naming them)."""
    role = to[len(ROLE) :] if to.startswith(ROLE) else None
    unreadable = f"may not read this run (its readers are {readers}), so could not answer it; delegate to a reader"
    if known is None:
        if role is None and any(to not in r and not any(e.startswith(ROLE) for e in r) for r in readers):
            return f"cannot delegate to '{to}': they {unreadable}"
        return None
    named = [p for p in known if (role in p.roles if role is not None else p.name == to)]
    if not named:
        nobody = (
            f"nobody signing in here holds role {role}"
            if role is not None
            else f"no token of this server is for '{to}'"
        )
        return f"cannot delegate to '{to}': {nobody}, so nobody could answer it here; delegate to someone who signs in here"
    deciding = [p for p in named if not p.view_only]
    if not deciding:
        return f"cannot delegate to '{to}': they sign in view-only here (read, never decide), so could not answer it"
    if not any(may_read(readers, p.name, list(p.roles)) for p in deciding):
        return f"cannot delegate to '{to}': {'its holders' if role is not None else 'they'} {unreadable}"
    return None


class Unread:
    """`Reader.state`'s graph when no describe was read yet (None is a run that indexes none)."""


UNREAD = Unread()
Reading = asyncio.Future[StateSnapshot]


def start_reading(run: hitl.Run) -> Reading:
    """The run's state asked now, to be awaited (or dropped) once its read check is known."""
    return asyncio.ensure_future(run.get_state())


def drop(reading: Reading) -> None:
    """A state asked but not wanted (not readable, or the describe failed): cancelled, its error unreported."""
    reading.cancel()
    reading.add_done_callback(lambda f: f.cancelled() or f.exception())


@dataclass(frozen=True)
class Reader:
    """One caller as the read rule sees them: the graphs whose runs they may see."""

    web: Web
    who: Identity
    graphs: frozenset[str]

    @classmethod
    def of(cls, w: Web, who: Identity) -> Reader:
        allowed = {g for g, r in w.readers.items() if may_read(r, who.name, list(who.roles))}
        return cls(w, who, frozenset(allowed))

    def may_read(self, graph: str) -> bool:
        return graph in self.graphs

    @property
    def served(self) -> dict[str, CompiledGraph]:
        """The served graphs they may read (and start): the others are unknown to them."""
        return {n: g for n, g in self.web.graphs.items() if n in self.graphs}

    def graph(self, name: str) -> CompiledGraph:
        """A graph they may read, or the unknown-graph error naming only those (no existence leak)."""
        return catalog.lookup(self.served, name)

    def filter(self, f: search.Filter) -> search.Filter:
        """`f` narrowed to the runs they may read, in the visibility query itself (counts and pages stay exact)."""
        return dataclasses.replace(f, graphs_in=tuple(sorted(self.graphs)))

    async def snapshot_or_none(
        self, run_id: str, graph: str | None | Unread = UNREAD, reading: Reading | None = None
    ) -> StateSnapshot | None:
        """The run's state; None when no run has the id or they may not read it (a thread not started yet)."""
        try:
            return await self.state(run_id, graph, reading)
        except RunNotFoundError:
            return None

    async def state(
        self,
        run_id: str,
        graph: str | None | Unread = UNREAD,
        reading: Reading | None = None,
        run: hitl.Run | None = None,
    ) -> StateSnapshot:
        """The run's state, or the very error an unknown id gets when they may not read it.

        The graph is read from the run's HitlGraph search attribute first (one describe, no worker,
        no payload to decrypt; `graph`: as a describe just read it), so a run they may not read stays
        unknown to them even while its workers are down or its key is missing here; runs without the
        attribute are checked on their state. The state is asked meanwhile (or was, `reading`: a
        `start_reading`), and dropped unseen when the describe says no: one round trip, not two. `run`: the
        handle to read through (the caller's, which a decision is then sent on: the describe tells it its
        task queue, so the decision's worker check needs no describe of its own)."""
        run = run or self.web.base.get_run(run_id)
        reading = reading or start_reading(run)
        try:
            indexed = await run.indexed_graph() if isinstance(graph, Unread) else graph
            if indexed is not None and not self.may_read(indexed):
                raise run.not_found()
            snapshot = await reading
        except BaseException:
            drop(reading)
            raise
        if not self.may_read(snapshot.graph):
            raise run.not_found()
        return snapshot

    async def check(self, run_id: str, run: hitl.Run | None = None) -> None:
        """`state`'s check alone, where the state itself is not needed: the describe, and the state only for a
        run that does not index its graph. `run`: as `state`'s."""
        run = run or self.web.base.get_run(run_id)
        graph = await run.indexed_graph()
        if graph is None:
            await self.state(run_id, run=run)
        elif not self.may_read(graph):
            raise run.not_found()


def reader(request: Request) -> Reader:
    """The caller's read scope (FastAPI dependency; once per request)."""
    cached = request.scope.get("hitl_reader")
    if cached is None:
        cached = request.scope["hitl_reader"] = Reader.of(web(request), caller(request))
    found: Reader = cached
    return found


async def run_to_change(request: Request, run_id: str) -> hitl.Run:
    """The run a state-changing route acts on, as the caller: 403 when view-only, and the unknown-id
    404 when they may not read it (checked before anything is sent)."""
    return (await run_and_state(request, run_id))[0]


async def run_and_state(request: Request, run_id: str) -> tuple[hitl.Run, StateSnapshot]:
    """`run_to_change`, and the run's state as that check read it (not read twice)."""
    run = decider(request).get_run(run_id)
    return run, await reader(request).state(run_id, run=run)


async def answer_many(
    request: Request, runs: list[str] | Mapping[str, str] | None, value: Any, **options: Any
) -> BatchReport:
    """A batch answer as the caller, over the runs they may read only: a filter selects among those, and a
    named (or pinned: run id to interrupt id) run they may not read is reported exactly as an unknown id
    (`Run.not_found`)."""
    client = decider(request)
    scope = reader(request)
    among = runs if runs is not None else Waiting(graphs=tuple(sorted(scope.graphs)))
    return await resume_many(client, among, value, readable=scope.may_read, **options)
