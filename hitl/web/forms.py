"""Answer forms generated from an interrupt's JSON Schema, and read back.

An enum becomes buttons (or a select inside an object), an object becomes
fields, numbers and strings become inputs; anything else (arrays, unions) falls
back to a JSON editor. Reading a submitted form back follows the same schema,
so the value sent to the run has the types the schema asks for; the run
still validates it (the page only helps).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from hitl._whole import MOST, whole_number
from hitl.human_interrupt import HumanInterrupt, as_requests
from hitl.protocol import finite
from hitl.protocol.limits import too_deep
from hitl.types import InvalidInputError
from hitl.web import constraints

Kind = Literal["buttons", "select", "integer", "number", "text", "textarea", "checkbox", "object", "const", "json"]
NOTHING: Any = object()


@dataclass
class Field:
    name: str
    label: str
    kind: Kind
    schema: dict[str, Any]
    required: bool = True
    options: list[Any] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)
    value: Any = NOTHING
    description: str | None = None
    typed: str | None = None
    """What the person typed into it before a refusal (`refill`): shown instead of `value`."""

    @property
    def shown(self) -> str:
        """The current value as an input shows it (what was typed, after a refusal)."""
        if self.typed is not None:
            return self.typed
        if self.value is NOTHING or self.value is None:
            return "" if self.kind != "json" else "null"
        if self.kind == "json":
            return finite.dumps(self.value, indent=2)
        return str(self.value)

    def encoded(self, option: Any) -> str:
        return finite.dumps(option)

    def chosen(self, option: Any) -> bool:
        """Whether a select shows `option` as chosen."""
        return self.typed == self.encoded(option) if self.typed is not None else bool(self.value == option)

    @property
    def attrs(self) -> dict[str, str]:
        """The schema's constraints as the input's HTML attributes (hitl/web/constraints.py)."""
        if self.kind in ("integer", "number"):
            return constraints.number_attrs(self.schema, self.kind == "integer", self.shown)
        if self.kind in ("text", "textarea"):
            return constraints.text_attrs(self.schema, single_line=self.kind == "text")
        return {}


def refill(f: Field, typed: Mapping[str, str]) -> None:
    """Show in `f` (and its fields) what the person typed before a refusal; a checkbox left unticked is
    absent from a form, so it shows unticked."""
    if f.kind == "object":
        for child in f.children:
            refill(child, typed)
    elif f.kind == "checkbox":
        f.value = f.name in typed
    elif f.kind not in ("const", "buttons") and f.name in typed:
        f.typed = typed[f.name]


def build(
    schema: dict[str, Any] | None, name: str = "v", label: str = "Answer", value: Any = NOTHING, required: bool = True
) -> Field:
    """The form for values of `schema`, prefilled with `value` where given."""
    s = simplify(schema or {})
    desc = s.get("description")
    title = s.get("title") or label
    if "const" in s:
        return Field(name, title, "const", s, required, [s["const"]], value=s["const"], description=desc)
    if "enum" in s:
        return Field(
            name,
            title,
            "buttons" if name == "v" else "select",
            s,
            required,
            list(s["enum"]),
            value=value,
            description=desc,
        )
    kind = s.get("type")
    if kind == "object" and isinstance(s.get("properties"), dict) and not s.get("additionalProperties"):
        needed = set(s.get("required", []))
        current = value if isinstance(value, dict) else {}
        children = [
            build(sub, f"{name}.{key}", str(key), current.get(key, NOTHING), key in needed)
            for key, sub in s["properties"].items()
        ]
        return Field(name, title, "object", s, required, children=children, value=value, description=desc)
    if kind == "boolean":
        return Field(
            name,
            title,
            "checkbox" if name != "v" else "buttons",
            s,
            required,
            [True, False] if name == "v" else [],
            value=value,
            description=desc,
        )
    if kind in ("integer", "number"):
        return Field(name, title, kind, s, required, value=value, description=desc)
    if kind == "string" and not s.get("format"):
        limit = s.get("maxLength")
        # One line where a pattern applies (the browser checks patterns on inputs only) or the text is short.
        long = (limit > 200 if isinstance(limit, int) else not s.get("pattern")) or (
            isinstance(value, str) and len(value) > 80
        )
        return Field(name, title, "textarea" if long else "text", s, required, value=value, description=desc)
    return Field(name, title, "json", s, required, value=value, description=desc)


def simplify(schema: dict[str, Any]) -> dict[str, Any]:
    """Optional[X] (anyOf X | null) as X; local $refs resolved; the rest as is."""
    defs = schema.get("$defs", {})

    def resolve(s: Any) -> Any:
        if isinstance(s, dict) and "$ref" in s and s["$ref"].startswith("#/$defs/"):
            return resolve(defs.get(s["$ref"].split("/")[-1], {}))
        return s

    s = resolve(schema)
    options = s.get("anyOf") if isinstance(s, dict) else None
    if options:
        real = [resolve(o) for o in options if resolve(o).get("type") != "null"]
        if len(real) == 1:
            return {**{k: v for k, v in s.items() if k != "anyOf"}, **real[0]}
    if isinstance(s, dict) and s.get("type") == "object" and isinstance(s.get("properties"), dict):
        return {
            **s,
            "properties": {
                k: {**resolve(v), "$defs": defs} if defs else resolve(v) for k, v in s["properties"].items()
            },
        }
    resolved: dict[str, Any] = s
    return resolved


def parse(f: Field, form: Mapping[str, str]) -> Any:
    """The value a submitted form means for field `f` (NOTHING when an optional field is left empty)."""
    raw = form.get(f.name)
    if f.kind == "const":
        return f.options[0]
    if f.kind == "object":
        out = {}
        for child in f.children:
            v = parse(child, form)
            if v is not NOTHING:
                out[child.name.rsplit(".", 1)[-1]] = v
        return out
    if f.kind == "checkbox":
        return raw is not None and raw not in ("", "false", "off")
    text = f.kind in ("text", "textarea")
    if raw is None or (raw == "" if text else raw.strip() == ""):
        if not f.required:
            return NOTHING
        if text:
            raise InvalidInputError(
                f"{label_of(f)} is required: write some text (an empty string can be sent with 'Answer as JSON')"
            )
        raise InvalidInputError(f"{label_of(f)} needs a value")
    if f.kind in ("buttons", "select", "json"):
        return loads(raw, label_of(f))
    if f.kind == "integer":
        whole = whole_number(raw.strip(), least=-MOST)
        if whole is None:
            raise InvalidInputError(
                f"{label_of(f)} must be a whole number (ASCII digits, optionally after '-', within ±{MOST}); got {raw!r}"
            )
        return whole
    if f.kind == "number":
        try:
            number = float(raw.strip())
        except ValueError:
            raise InvalidInputError(f"{label_of(f)} must be a number; got {raw!r}") from None
        if refused := finite.non_finite(number, label_of(f)):  # float() reads "nan", "inf" and "1e999" too
            raise InvalidInputError(refused)
        return int(number) if number.is_integer() and "." not in raw else number
    return raw


def loads(text: str, what: str) -> Any:
    """A form field's JSON; nesting past MAX_JSON_DEPTH is refused before parsing."""
    refused = too_deep(text, what, text=True)
    if refused:
        raise InvalidInputError(refused)
    try:
        return finite.loads(text, what)
    except json.JSONDecodeError as e:
        raise InvalidInputError(f"{what} is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except ValueError as e:  # NaN, Infinity or 1e999
        raise InvalidInputError(str(e)) from None


def label_of(f: Field) -> str:
    return "the answer" if f.name == "v" else f"'{f.name.split('.', 1)[-1]}'"


# ------------------------------------------------------------------ reviews of actions

ReviewShape = Literal["tool_review", "human_interrupt"]
"""HumanInTheLoopMiddleware's (hitl/prebuilt/tools.py) or Agent Inbox's (hitl/human_interrupt.py)."""
LABELS = {
    "approve": "Approve",
    "edit": "Edit",
    "reject": "Reject",
    "respond": "Respond",
    "accept": "Accept",
    "response": "Respond",
    "ignore": "Ignore",
}
ORDER: dict[ReviewShape, tuple[str, ...]] = {
    "tool_review": ("approve", "edit", "reject", "respond"),
    "human_interrupt": ("accept", "edit", "response", "ignore"),
}
WITH_MESSAGE: dict[ReviewShape, tuple[str, ...]] = {
    "tool_review": ("reject", "respond"),
    "human_interrupt": ("response",),
}
"""The decisions that carry the person's text."""


@dataclass
class ToolCard:
    """One reviewed action (a tool call): what the agent wants, what the reviewer may decide."""

    index: int
    name: str
    args: dict[str, Any]
    description: str | None
    allowed: list[str]
    args_form: Field | None
    shape: ReviewShape = "tool_review"

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(decision, label) of the allowed decisions, in the shape's order."""
        return [(d, LABELS[d]) for d in ORDER[self.shape] if d in self.allowed]

    @property
    def message_for(self) -> list[str]:
        return [d for d in WITH_MESSAGE[self.shape] if d in self.allowed]


def is_tool_review(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("action_requests"), list)
        and isinstance(value.get("review_configs"), list)
    )


def review_cards(value: Any, schema: dict[str, Any] | None) -> list[ToolCard]:
    """The cards of a question that reviews actions, in either shape; [] for any other question."""
    if is_tool_review(value):
        return tool_cards(value, schema)
    requests = as_requests(value) if isinstance(value, list) else None
    return human_interrupt_cards(requests) if requests else []


def tool_cards(value: dict[str, Any], schema: dict[str, Any] | None) -> list[ToolCard]:
    """One card per action request, its edit form from the tool's argument schema."""
    items = (((schema or {}).get("properties") or {}).get("decisions") or {}).get("prefixItems") or []
    cards = []
    for i, request in enumerate(value["action_requests"]):
        action: dict[str, Any] = request if isinstance(request, dict) else {}
        allowed = list(review_config(value["review_configs"], i, action).get("allowed_decisions") or [])
        args_schema = edit_args_schema(items[i] if i < len(items) else {})
        args = action.get("args") or {}
        form = build(args_schema, f"d{i}.args", "Arguments", args) if "edit" in allowed else None
        cards.append(ToolCard(i, action.get("name", "?"), args, action.get("description"), allowed, form))
    return cards


def review_config(configs: list[Any], i: int, action: dict[str, Any]) -> dict[str, Any]:
    """The review config of action request `i`: LangChain's middleware sends one per request, in order, each
    naming its action (`action_name`); one naming another action is looked up by name instead, and a request
    with no config of its own allows nothing (only the decisions a config names are ever offered)."""
    name = action.get("name")
    mine = configs[i] if i < len(configs) and isinstance(configs[i], dict) else {}
    if mine.get("action_name", name) == name:
        return mine
    return next((c for c in configs if isinstance(c, dict) and c.get("action_name") == name), {})


def human_interrupt_cards(requests: list[HumanInterrupt]) -> list[ToolCard]:
    """One card per Agent Inbox request; its edit form has a field per argument, typed as the argument is."""
    cards = []
    for i, r in enumerate(requests):
        allowed: list[str] = list(r.config.allowed())
        args = r.action_request.args
        form = build(args_schema_of(args), f"d{i}.args", "Arguments", args) if "edit" in allowed else None
        cards.append(ToolCard(i, r.action_request.action, args, r.description, allowed, form, "human_interrupt"))
    return cards


JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"))


def args_schema_of(args: dict[str, Any]) -> dict[str, Any]:
    """A form schema for arguments known only by their values (Agent Inbox's requests carry no schema):
    each keeps its JSON type (bool before int: a bool is an int in Python); lists and objects edit as JSON."""

    def typed(v: Any) -> dict[str, Any]:
        return next(({"type": name} for t, name in JSON_TYPES if isinstance(v, t)), {})

    return {"type": "object", "properties": {k: typed(v) for k, v in args.items()}, "required": list(args)}


def edit_args_schema(item: dict[str, Any]) -> dict[str, Any] | None:
    for option in item.get("oneOf", []):
        props = option.get("properties", {})
        if props.get("type", {}).get("const") == "edit":
            args: dict[str, Any] | None = props.get("edited_action", {}).get("properties", {}).get("args")
            return args
    return None


def parse_review(cards: list[ToolCard], form: Mapping[str, str]) -> Any:
    """The answer the cards' fields say, in the question's shape: `{"decisions": [...]}` for a tool review
    (an edit keeps the original arguments beside the new), a list of HumanResponse for Agent Inbox's."""
    decisions = []
    for card in cards:
        kind = form.get("all") or form.get(f"d{card.index}.type") or ""
        if kind not in card.allowed:
            raise InvalidInputError(f"choose one of {card.allowed} for call {card.index + 1} ({card.name})")
        args = parse(card.args_form, form) if kind == "edit" and card.args_form is not None else None
        message = form.get(f"d{card.index}.message", "").strip()
        if card.shape == "human_interrupt":
            decisions.append(human_response(card, kind, args, message))
            continue
        decision: dict[str, Any] = {"type": kind}
        if args is not None:
            decision["edited_action"] = {"name": card.name, "args": args}
            decision["original_args"] = card.args
        if kind == "respond" and not message:
            raise InvalidInputError(
                f"write a message for call {card.index + 1} ({card.name}): 'respond' sends it to the agent in "
                "the tool's place; or choose another decision"
            )
        if kind in ("reject", "respond") and message:
            decision["message"] = message
        decisions.append(decision)
    return decisions if cards and cards[0].shape == "human_interrupt" else {"decisions": decisions}


def human_response(card: ToolCard, kind: str, args: Any, message: str) -> dict[str, Any]:
    """One HumanResponse, as Agent Inbox sends it."""
    if kind == "edit":
        return {"type": "edit", "args": {"action": card.name, "args": card.args if args is None else args}}
    if kind == "response":
        if not message:
            raise InvalidInputError(f"write a response for {card.name}, or choose another answer")
        return {"type": "response", "args": message}
    return {"type": kind, "args": None}
