"""The rules a human decision must meet, as pure functions returning why not.

One home for each rule, shared by the workflow's update validators
(`workflows/checks.py`, which turn a reason into a refusal) and the client
(which refuses a fork before starting anything). Each returns None when the
rule is met, else one line naming what was wrong and what is accepted.

Who may do what: answering a question limited by `interrupt(..., reviewers=)`
takes an identity or `role:NAME` on its list. Anything else that changes what a
run will do (edit its state, a decision's `update` or `goto`, cancel, fork) is an
override: it takes someone allowed by every reviewer list guarding the run. A
graph compiled with `guard=[...]` is guarded from the run's start; otherwise a
run is guarded only once it has asked a limited question, and until then anyone
may override it (the worker warns about such graphs).

Who may read a run (`hitl serve` only; `may_read`): a graph compiled with `readers=[...]`
shows its runs to those entries only; a run must also meet the readers of every graph around
it and within it (hitl/web/scope.py, `rules`); without any, to anyone signed in. Someone who may read a graph may
also start it there, unless their credential is view-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from hitl.protocol.limits import answer_over_state, json_size
from hitl.protocol.schema import SCHEMA_STEPS, TooCostly, first_error, schema_unusable
from hitl.protocol.wire import ANYONE, GraphSpec
from hitl.types import Interrupt, Quorum, Vote

ROLE = "role:"
"""How a list entry names a role. No identity starts with it (`identity_refused`), so an entry means one or the other."""


MAX_IDENTITY = 200
"""Longest identity (and delegate name), in characters: identities go into search attributes, which Temporal
caps at 2,048 bytes (one over the cap gets the run terminated), and into every record of a decision."""
MAX_ROLE = 100
"""Longest role name, in characters."""
MAX_ROLES = 50
"""Most roles one decider may hold (each decision records them in the run's history)."""
MAX_REASON = 2000
"""Longest reason given with a decision (a cancel's), in characters."""
MAX_REQUEST_ID = 200
"""Longest request id, in characters (it becomes part of a Temporal update id)."""


def identity_refused(identity: str, where: str = "identity") -> str | None:
    """Why `identity` cannot name a person (None when it can): one starting with `role:` would read as a role
    on every reviewer, readers and guard list, so whoever held that name would count as holding the role;
    one longer than MAX_IDENTITY would not fit the search attributes and records that carry it."""
    if len(identity) > MAX_IDENTITY:
        return f"{where} is {len(identity):,} characters long; an identity has at most {MAX_IDENTITY}"
    if identity.startswith(ROLE):
        return (
            f"{where} {identity!r} starts with '{ROLE}', which names a role on reviewer lists, not a person; "
            "use a plain name (roles are given separately: roles=, --roles, HITL_ROLES)"
        )
    return None


def roles_refused(roles: Sequence[str], where: str = "roles") -> str | None:
    """Why `roles` cannot be someone's roles (None when they can): more than MAX_ROLES, or one longer than MAX_ROLE."""
    if len(roles) > MAX_ROLES:
        return f"{where} lists {len(roles):,} roles; someone holds at most {MAX_ROLES}"
    for role in roles:
        if not isinstance(role, str):
            return f"{where} holds {type(role).__name__} {role!r}; a role is a name (a string)"
        if len(role) > MAX_ROLE:
            return f"{where} names a role {len(role):,} characters long; a role name has at most {MAX_ROLE}"
    return None


def decider_refused(
    identity: str, roles: Sequence[str], reason: str | None = None, request_id: str | None = None
) -> str | None:
    """Why a decision's who, reason and request id are out of bounds (None when within): the one size rule the
    client checks before sending and the workflow's update validators check again (`workflows/checks.py`)."""
    refused = identity_refused(identity) or roles_refused(roles)
    if refused:
        return refused
    if reason is not None and len(reason) > MAX_REASON:
        return f"reason is {len(reason):,} characters long; a reason has at most {MAX_REASON:,}"
    if request_id is not None and len(request_id) > MAX_REQUEST_ID:
        return f"request id is {len(request_id):,} characters long; a request id has at most {MAX_REQUEST_ID}"
    return None


def may_review(reviewers: list[str], identity: str, roles: list[str]) -> bool:
    """A reviewer entry is an identity, or `role:NAME` for anyone who holds that role. An identity
    starting with `role:` matches no entry as an identity (hitl refuses such identities at its edges)."""
    return (identity in reviewers and not identity.startswith(ROLE)) or any(f"{ROLE}{r}" in reviewers for r in roles)


def may_read(readers: list[list[str]], identity: str, roles: list[str]) -> bool:
    """Every reader list that applies to a run's graph allows `identity` (no lists: anyone signed in)."""
    return all(may_review(entries, identity, roles) for entries in readers)


def vote_refused(interrupt: Interrupt, identity: str, starter: str, *, changes_state: bool = False) -> str | None:
    """Why `identity`'s answer may not count toward a quorum question (None when it may).

    A vote never comes with a state update: every vote must be on the question as it was asked (an
    edit withdraws the question, votes and all, and the node asks again about the edited state).
    """
    quorum = interrupt.quorum
    if quorum is None:
        return None
    if changes_state:
        return (
            f"a vote on quorum question {interrupt.id} cannot change the state as well: the other votes are on "
            "the question as asked; edit the state first (update_state: the node asks again), then vote"
        )
    if quorum.distinct and any(v.identity == identity for v in interrupt.votes):
        return (
            f"'{identity}' already answered interrupt {interrupt.id}, which needs {quorum.n} different people "
            f"(answered so far by {', '.join(v.identity for v in interrupt.votes)}); the same person counts once"
        )
    if not quorum.requester_may_approve and identity == starter:
        return (
            f"'{identity}' started this run and may not answer its quorum question {interrupt.id} "
            "(Quorum(requester_may_approve=False)); another reviewer must answer"
        )
    return None


CLAIM_MAX_S = 30 * 86400.0
"""The longest a claim holds a question (30 days); it can be taken again."""


def holds(claimed_by: str | None, identity: str, roles: list[str]) -> bool:
    """`identity` is the claim's holder, or holds the role it was delegated to (an identity starting
    with `role:` is never the holder by name: a question delegated to `role:X` is held by X's members)."""
    return claimed_by is not None and (
        (claimed_by == identity and not identity.startswith(ROLE)) or claimed_by in {f"{ROLE}{r}" for r in roles}
    )


def live_claim(interrupt: Interrupt, now: datetime) -> bool:
    return interrupt.claimed_by is not None and interrupt.claimed_until is not None and interrupt.claimed_until > now


def claim_blocks(interrupt: Interrupt, identity: str, roles: list[str], now: datetime) -> str | None:
    """Why `identity` may not answer a question someone else holds (None when they may)."""
    if not live_claim(interrupt, now) or holds(interrupt.claimed_by, identity, roles):
        return None
    return (
        f"interrupt {interrupt.id} is claimed by {interrupt.claimed_by} until {_when(interrupt.claimed_until)}; "
        "only they may answer it until then (the holder can release or delegate it)"
    )


def claim_refused(
    interrupt: Interrupt, action: str, identity: str, roles: list[str], to: str | None, ttl_s: float, now: datetime
) -> str | None:
    """Why `identity` may not claim, release or delegate this question now (None when they may).

    Claiming takes someone who may answer it; releasing, its holder; delegating, its holder (or, when
    nobody holds it, anyone who may answer it), to an identity or role named on its reviewer list.
    A quorum question takes several people, so nobody claims it.
    """
    if action not in ("claim", "release", "delegate"):
        return f"unknown claim action '{action}'; use claim, release or delegate"
    if not 1 <= ttl_s <= CLAIM_MAX_S:
        return f"a claim holds between 1 second and 30 days; got {ttl_s:g} seconds"
    if interrupt.quorum is not None:
        return f"interrupt {interrupt.id} needs {interrupt.quorum.n} people (a quorum), so nobody can claim it alone"
    live = live_claim(interrupt, now)
    mine = live and holds(interrupt.claimed_by, identity, roles)
    allowed = not interrupt.reviewers or may_review(interrupt.reviewers, identity, roles)
    held = f"it is claimed by {interrupt.claimed_by} until {_when(interrupt.claimed_until)}"
    if action == "release":
        if not live:
            return f"interrupt {interrupt.id} is not claimed; nothing to release"
        return None if mine else f"'{identity}' may not release interrupt {interrupt.id}: {held}, and only they can"
    if live and not mine:
        return f"'{identity}' may not {action} interrupt {interrupt.id}: {held} (ask them to release or delegate it)"
    if not allowed and not mine:
        return f"'{identity}' may not {action} interrupt {interrupt.id}; its reviewers are {interrupt.reviewers}"
    if action == "delegate":
        unfit = delegate_name_refused(to)
        if unfit:
            return unfit
        assert to is not None
        if interrupt.reviewers and to not in interrupt.reviewers:
            return (
                f"interrupt {interrupt.id} cannot be delegated to '{to}': its reviewers are {interrupt.reviewers}; "
                "delegate to one of them"
            )
    return None


def delegate_name_refused(to: str | None) -> str | None:
    """Why nobody could ever hold `to` (None when someone could): the question would be locked for
    everyone until the claim ran out."""
    if not to or not to.strip():
        return "delegate needs someone to hand the question to: an identity or role:NAME"
    if len(to) > MAX_IDENTITY:
        return f"delegate names someone {len(to)} characters long; an identity or role:NAME has at most {MAX_IDENTITY}"
    if to != to.strip() or not to.isprintable() or to.split(":", 1) == ["role", ""]:
        return (
            f"delegate names {to!r}, which is no identity or role:NAME (no surrounding spaces or control "
            "characters, a role with a name)"
        )
    return None


def answer_refused(
    interrupt: Interrupt,
    value: Any,
    identity: str,
    roles: list[str],
    *,
    starter: str,
    now: datetime | None,
    changes_state: bool = False,
    budget: int | None = SCHEMA_STEPS,
) -> str | None:
    """Why `identity`'s answer `value` to this question is refused (None when it is taken): its reviewer
    list, its answer schema (within `budget` steps), its quorum's vote rules, a claim someone else holds
    (at `now`; None: not checked). The per-answer part of the run's own checks (workflows/checks.py),
    and what a batch's dry run asks of each run's snapshot (hitl/client/batch.py), so the two cannot drift."""
    if interrupt.reviewers and not may_review(interrupt.reviewers, identity, roles):
        return f"'{identity}' may not answer interrupt {interrupt.id}; its reviewers are {interrupt.reviewers}"
    if interrupt.schema is not None:
        refused = schema_refused(value, interrupt.schema, f"answer to interrupt {interrupt.id}", budget)
        if refused:
            return refused
    refused = vote_refused(interrupt, identity, starter, changes_state=changes_state)
    if refused or now is None:
        return refused
    return claim_blocks(interrupt, identity, roles, now)


def answers_over_state(values: dict[str, Any], given: list[tuple[Interrupt, Any]]) -> str | None:
    """Why these answers cannot be taken whole next to the run's state `values` (None when they can): a
    quorum's node gets every vote at once, so the votes counted before count too (`answer_over_state`)."""
    counted = [v.value for question, _ in given if question.quorum is not None for v in question.votes]
    size = json_size([*(answer for _, answer in given), *counted])
    return answer_over_state(json_size(values), size, votes=len(counted))


def may_decide(interrupt: Interrupt, identity: str, roles: list[str], now: datetime, starter: str = "") -> bool:
    """Could `identity` answer this question now: on its reviewer list (or it has none), not held by
    someone else, not already counted toward its quorum (the inbox's "I may decide")."""
    return (
        (not interrupt.reviewers or may_review(interrupt.reviewers, identity, roles))
        and claim_blocks(interrupt, identity, roles, now) is None
        and vote_refused(interrupt, identity, starter) is None
    )


DONE = "!"
"""Prefix of a decider-index entry naming an identity with nothing left to decide on the run. It is not a
character a searched entry may hold (hitl/_text.py), so no caller's identity or role ever matches one."""


def deciders(pending: list[Interrupt], starter: str) -> list[str]:
    """The run's HitlReviewers entries: who may answer what it waits for, as the visibility store matches it.

    A keyword list can only say "any entry matches", so this is the union over the pending questions:
    a claimed question counts for its holder only, an open one as ANYONE, a limited one for its
    reviewers. A quorum voter (or the starter a quorum refuses) who could not answer any pending
    question gets a `DONE` entry, which the inbox query excludes: `IN (me, role:R) AND != "!me"`.
    Their roles are not known here, so someone is marked done only when every question certainly
    excludes them (a vote or refusal as starter, a holder or a list of plain identities without them).
    """
    if not pending:
        return [ANYONE]
    who = [_answerers(i) for i in pending]
    named = sorted({e for entries in who for e in entries if e != ANYONE})
    candidates = {v.identity for i in pending for v in i.votes}
    if any(i.quorum is not None and not i.quorum.requester_may_approve for i in pending):
        candidates.add(starter)
    done = [
        f"{DONE}{c}"
        for c in sorted(candidates)
        if all(_excludes(i, entries, c, starter) for i, entries in zip(pending, who, strict=True))
    ]
    return ([ANYONE] if any(ANYONE in entries for entries in who) else []) + named + done


def assignees(pending: list[Interrupt]) -> list[str]:
    """The run's HitlAssigned entries: who holds its questions (an identity, or role:NAME it was delegated to)."""
    return sorted({i.claimed_by for i in pending if i.claimed_by})


def _answerers(interrupt: Interrupt) -> list[str]:
    if interrupt.claimed_by:
        return [interrupt.claimed_by]
    return list(interrupt.reviewers) if interrupt.reviewers else [ANYONE]


def _excludes(interrupt: Interrupt, entries: list[str], identity: str, starter: str) -> bool:
    """`identity` certainly may not answer this question, whatever roles they hold."""
    if vote_refused(interrupt, identity, starter) is not None:
        return True
    return all(e != identity and e != ANYONE and not e.startswith("role:") for e in entries)


def claim_until(now: datetime, ttl_s: float) -> datetime:
    return now + timedelta(seconds=ttl_s)


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "-"


def quorum_met(quorum: Quorum, votes: list[Vote]) -> bool:
    """The question closes: `n` answers counted, or the last one is a veto (the first rejection wins)."""
    return len(votes) >= quorum.n or (bool(votes) and votes[-1].value in quorum.veto)


def override_refused(guard: list[list[str]], identity: str, roles: list[str], action: str) -> str | None:
    """Why `identity` may not `action` a run guarded by `guard` (declared, or from questions it asked)."""
    for reviewers in guard:
        if not may_review(reviewers, identity, roles):
            return (
                f"'{identity}' may not {action}: this run is guarded by reviewers {reviewers} (declared by its "
                "graph or asked by its questions), so only someone allowed by each of its reviewer lists may "
                "change it other than by answering"
            )
    return None


def values_refused(spec: GraphSpec, values: dict[str, Any], what: str, budget: int | None = SCHEMA_STEPS) -> str | None:
    """Unknown state keys, or values outside a key's JSON Schema (each checked within `budget` steps)."""
    unknown = [k for k in values if k not in spec.channels]
    if unknown:
        return f"{what} has unknown key(s) {unknown}; the state keys are {sorted(spec.channels)}"
    for key, value in values.items():
        schema = spec.channels[key].json_schema
        if schema is not None:
            refused = schema_refused(value, schema, f"{what} key '{key}'", budget)
            if refused:
                return refused
    return None


def too_costly(what: str, budget: int) -> str:
    """The refusal of a value whose check ran out of its step budget (hitl/protocol/schema.py)."""
    return (
        f"{what} takes more than {budget:,} steps to check against its schema (a large answer, or a schema "
        "whose branches check the same value over and over); send a smaller answer"
    )


def schema_refused(value: Any, schema: dict[str, Any], what: str, budget: int | None = SCHEMA_STEPS) -> str | None:
    """Why `value` does not fit `schema` (regular expressions matched by RE2: see hitl/protocol/schema.py), checked
    within `budget` keyword applications (None: unbounded, as the workflow's replayed checks run).

    A schema that cannot be used (asked before hitl checked schemas when asking) refuses every answer
    with one line saying so, never a Python error: the run moves on by goto or an edit instead."""
    try:
        error = first_error(schema, value, budget)
    except TooCostly:
        return too_costly(what, budget or SCHEMA_STEPS)
    except Exception as e:  # an unusable schema: jsonschema fails with whatever the bad keyword caused
        why = schema_unusable(schema, "its schema") or f"its schema cannot be used ({type(e).__name__}: {e})"
        return (
            f"{what} cannot be checked: {why.partition('; ')[0]}; no answer can fit, so move the run on "
            "with goto or an edit of its state"
        )
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{what}{' at ' + where if where else ''} does not fit its schema: {error.message}"
