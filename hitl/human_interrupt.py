"""Agent Inbox's interrupt shape: a `HumanInterrupt` asks, a list of `HumanResponse` answers.

LangChain's Agent Inbox (and graphs written for it) ask with `interrupt([HumanInterrupt])`: an
`action_request` (`action`, `args`), a `config` of four `allow_*` flags and a `description`. The answer
is a list with one `HumanResponse` per request, `{"type": "accept"|"edit"|"response"|"ignore", "args":
...}`: `accept` and `ignore` carry nothing (Agent Inbox sends the action request with an `accept` when
editing was also allowed), `edit` the changed `ActionRequest`, `response` the person's text.

The models here have LangGraph's field names, so a graph that builds them with keywords runs unchanged.
`response_schema` is the answer's JSON Schema: only the types each request's config allows, the right
`args` for each. `interrupt()` publishes it for a question in this shape that names no schema of its own
(`implied_schema`), so the run refuses an answer its config does not allow, and hitl's inbox shows each
request as a card with the allowed choices (hitl/web/forms.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pydantic

ResponseType = Literal["accept", "edit", "response", "ignore"]
RESPONSE_TYPES: tuple[ResponseType, ...] = ("accept", "edit", "response", "ignore")


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class ActionRequest(_Model):
    """What the agent wants to do: an action's name and its arguments."""

    action: str
    args: dict[str, Any] = pydantic.Field(default_factory=dict)


class HumanInterruptConfig(_Model):
    """Which answers a person may give. LangGraph's TypedDict has no defaults; all four allowed here."""

    allow_ignore: bool = True
    allow_respond: bool = True
    allow_edit: bool = True
    allow_accept: bool = True

    def allowed(self) -> list[ResponseType]:
        flags = (self.allow_accept, self.allow_edit, self.allow_respond, self.allow_ignore)
        return [t for t, on in zip(RESPONSE_TYPES, flags, strict=True) if on]


class HumanInterrupt(_Model):
    """One request to a person, as Agent Inbox shows it."""

    action_request: ActionRequest
    config: HumanInterruptConfig = pydantic.Field(default_factory=HumanInterruptConfig)
    description: str | None = None


class HumanResponse(_Model):
    """A person's answer to one `HumanInterrupt`."""

    type: ResponseType
    args: None | str | ActionRequest = None

    @pydantic.model_validator(mode="after")
    def _args_fit_type(self) -> HumanResponse:
        fits = {
            "accept": self.args is None or isinstance(self.args, ActionRequest),
            "ignore": self.args is None,
            "edit": isinstance(self.args, ActionRequest),
            "response": isinstance(self.args, str),
        }[self.type]
        if not fits:
            raise ValueError(f"a '{self.type}' response takes args {ARGS_TAKEN[self.type]}")
        return self

    @property
    def edited(self) -> ActionRequest | None:
        """The changed action of an `edit`; None for any other type."""
        return self.args if self.type == "edit" and isinstance(self.args, ActionRequest) else None

    @property
    def text(self) -> str | None:
        """The person's text of a `response`; None for any other type."""
        return self.args if self.type == "response" and isinstance(self.args, str) else None


ARGS_TAKEN: dict[ResponseType, str] = {
    "accept": "null (or the action request)",
    "ignore": "null",
    "edit": "the edited action request {action, args}",
    "response": "the person's text",
}


_ACTION = {
    "type": "object",
    "properties": {"action": {"type": "string"}, "args": {"type": "object"}},
    "required": ["args"],
}
"""An edited action. Its args are any object: Agent Inbox sends every edited value as text."""
_ARGS: dict[ResponseType, dict[str, Any]] = {
    "accept": {"anyOf": [{"type": "null"}, _ACTION]},
    "ignore": {"type": "null"},
    "edit": _ACTION,
    "response": {"type": "string"},
}


def response_schema(requests: Sequence[HumanInterrupt]) -> dict[str, Any]:
    """JSON Schema of the answer to `interrupt([requests...])`: a list of responses, one per request in
    order (at least the first: Agent Inbox answers only the first), each of a type its config allows."""
    items = []
    for request in requests:
        options = []
        for kind in request.config.allowed():
            required = ["type", "args"] if kind in ("edit", "response") else ["type"]
            options.append(
                {
                    "type": "object",
                    "properties": {"type": {"const": kind}, "args": _ARGS[kind]},
                    "required": required,
                    "additionalProperties": False,
                }
            )
        items.append({"oneOf": options} if options else False)
    return {"type": "array", "prefixItems": items, "items": False, "minItems": 1, "maxItems": len(items)}


def as_requests(value: Any) -> list[HumanInterrupt] | None:
    """The requests of an interrupt value in Agent Inbox's shape (a list of them, or one), else None."""
    listed = value if isinstance(value, list) else [value]
    if not listed or not all(isinstance(v, dict) and "action_request" in v and "config" in v for v in listed):
        return None
    try:
        return [HumanInterrupt.model_validate(v) for v in listed]
    except pydantic.ValidationError:
        return None


def implied_schema(value: Any) -> dict[str, Any] | None:
    """The answer schema a question in Agent Inbox's list shape implies; None for any other question.

    Only the list (`interrupt([request])`, how Agent Inbox graphs ask) implies one: its answer is a list.
    A lone request's answer shape is the graph's own business, and so is a request that allows no answer
    (LangGraph lets the graph take whatever comes)."""
    requests = as_requests(value) if isinstance(value, list) else None
    if not requests or not all(r.config.allowed() for r in requests):
        return None
    return response_schema(requests)
