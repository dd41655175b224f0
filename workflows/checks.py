"""Is a human decision acceptable right now? Pure checks, one clear line when not.

The workflow calls these from its update validators, so a refused decision
never reaches the run's history, and again in the handlers, in case two
decisions raced past validation together.
"""

from __future__ import annotations

from typing import Any, Optional

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import jsonschema

    from hitl._protocol import GraphSpec, ResumeRequest, UpdateStateRequest
    from hitl.types import Interrupt


def reject(message: str) -> None:
    raise ApplicationError(message, type="DecisionRejected", non_retryable=True)


def answers(req: ResumeRequest, pending: list[Interrupt]) -> dict[str, Any]:
    """The interrupt answers a resume request carries, by interrupt id."""
    if req.resume_map is not None:
        return dict(req.resume_map)
    if req.has_resume and pending:
        return {pending[0].id: req.resume}
    return {}


def check_resume(spec: GraphSpec, pause: Optional[str], next_nodes: list[str], pending: list[Interrupt], req: ResumeRequest) -> None:
    by_id = {i.id: i for i in pending}
    if req.goto:
        unknown = [g for g in req.goto if g not in spec.node_names]
        if unknown:
            reject(f"goto names unknown node(s) {unknown}; nodes are {spec.node_names}")
        if req.has_resume or req.resume_map:
            reject("goto replaces the paused step, so a resume value would be lost; send goto or resume, not both")
    if req.update:
        check_values(spec, req.update, "update")
    if req.resume_map is not None:
        if not req.resume_map:
            reject(f"the resume map is empty; pending interrupt ids are {sorted(by_id)}")
        unknown = [k for k in req.resume_map if k not in by_id]
        if unknown:
            reject(f"unknown interrupt id(s) {unknown}; pending interrupt ids are {sorted(by_id) or 'none'}")
    elif req.has_resume:
        if not pending:
            reject(
                f"run is paused at a breakpoint {pause} {next_nodes}, which takes no resume value; "
                "resume with no value (optionally with update or goto)"
            )
        if len(pending) > 1:
            reject(f"{len(pending)} interrupts are pending ({', '.join(sorted(by_id))}); answer with a map of interrupt id to value")
    elif pending and not req.goto:
        reject(f"interrupt(s) {sorted(by_id)} are waiting for an answer; resume with a value, a map, or goto")
    for interrupt_id, value in answers(req, pending).items():
        interrupt = by_id[interrupt_id]
        if interrupt.reviewers and not may_review(interrupt.reviewers, req.identity, req.roles):
            reject(f"'{req.identity}' may not answer interrupt {interrupt_id}; its reviewers are {interrupt.reviewers}")
        if interrupt.schema is not None:
            check_schema(value, interrupt.schema, f"answer to interrupt {interrupt_id}")


def may_review(reviewers: list[str], identity: str, roles: list[str]) -> bool:
    """A reviewer entry is an identity, or `role:NAME` for anyone who holds that role."""
    return identity in reviewers or any(f"role:{r}" in reviewers for r in roles)


def check_edit(spec: GraphSpec, req: UpdateStateRequest) -> None:
    if req.as_node is not None and req.as_node not in spec.node_names:
        reject(f"as_node '{req.as_node}' is not a node; nodes are {spec.node_names}")
    check_values(spec, req.values, "values")


def check_values(spec: GraphSpec, values: dict[str, Any], what: str) -> None:
    unknown = [k for k in values if k not in spec.channels]
    if unknown:
        reject(f"{what} has unknown key(s) {unknown}; the state keys are {sorted(spec.channels)}")
    for key, value in values.items():
        schema = spec.channels[key].json_schema
        if schema is not None:
            check_schema(value, schema, f"{what} key '{key}'")


def check_schema(value: Any, schema: dict[str, Any], what: str) -> None:
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path)
        reject(f"{what}{' at ' + where if where else ''} does not fit its schema: {error.message}")
