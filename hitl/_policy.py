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
"""

from __future__ import annotations

from typing import Any

import jsonschema

from hitl._protocol import GraphSpec


def may_review(reviewers: list[str], identity: str, roles: list[str]) -> bool:
    """A reviewer entry is an identity, or `role:NAME` for anyone who holds that role."""
    return identity in reviewers or any(f"role:{r}" in reviewers for r in roles)


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


def values_refused(spec: GraphSpec, values: dict[str, Any], what: str) -> str | None:
    """Unknown state keys, or values outside a key's JSON Schema."""
    unknown = [k for k in values if k not in spec.channels]
    if unknown:
        return f"{what} has unknown key(s) {unknown}; the state keys are {sorted(spec.channels)}"
    for key, value in values.items():
        schema = spec.channels[key].json_schema
        if schema is not None:
            refused = schema_refused(value, schema, f"{what} key '{key}'")
            if refused:
                return refused
    return None


def schema_refused(value: Any, schema: dict[str, Any], what: str) -> str | None:
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{what}{' at ' + where if where else ''} does not fit its schema: {error.message}"
