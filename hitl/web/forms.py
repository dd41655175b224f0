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

from hitl import _finite as finite
from hitl._limits import too_deep
from hitl._whole import MOST, whole_number
from hitl.types import InvalidInputError

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

    @property
    def shown(self) -> str:
        """The current value as an input shows it."""
        if self.value is NOTHING or self.value is None:
            return "" if self.kind != "json" else "null"
        if self.kind == "json":
            return finite.dumps(self.value, indent=2)
        return str(self.value)

    def encoded(self, option: Any) -> str:
        return finite.dumps(option)


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
    if kind == "string" and not s.get("format") and not s.get("pattern"):
        long = s.get("maxLength", 201) > 200 or (isinstance(value, str) and len(value) > 80)
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
    if raw is None or (raw.strip() == "" and f.kind != "text"):
        if not f.required:
            return NOTHING
        if f.kind in ("text", "textarea"):
            return ""
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


# ------------------------------------------------------------------ tool-call reviews


@dataclass
class ToolCard:
    """One reviewed tool call: what the agent wants, what the reviewer may decide."""

    index: int
    name: str
    args: dict[str, Any]
    description: str | None
    allowed: list[str]
    args_form: Field | None


def is_tool_review(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("action_requests"), list)
        and isinstance(value.get("review_configs"), list)
    )


def tool_cards(value: dict[str, Any], schema: dict[str, Any] | None) -> list[ToolCard]:
    """One card per action request, its edit form from the tool's argument schema."""
    items = (((schema or {}).get("properties") or {}).get("decisions") or {}).get("prefixItems") or []
    cards = []
    for i, (action, config) in enumerate(zip(value["action_requests"], value["review_configs"], strict=False)):
        allowed = list(config.get("allowed_decisions") or [])
        args_schema = edit_args_schema(items[i] if i < len(items) else {})
        args = action.get("args") or {}
        form = build(args_schema, f"d{i}.args", "Arguments", args) if "edit" in allowed else None
        cards.append(ToolCard(i, action.get("name", "?"), args, action.get("description"), allowed, form))
    return cards


def edit_args_schema(item: dict[str, Any]) -> dict[str, Any] | None:
    for option in item.get("oneOf", []):
        props = option.get("properties", {})
        if props.get("type", {}).get("const") == "edit":
            args: dict[str, Any] | None = props.get("edited_action", {}).get("properties", {}).get("args")
            return args
    return None


def parse_review(cards: list[ToolCard], form: Mapping[str, str]) -> dict[str, Any]:
    """`{"decisions": [...]}` from the cards' fields; an edit keeps the original arguments beside the new."""
    decisions = []
    for card in cards:
        kind = form.get("all") or form.get(f"d{card.index}.type") or ""
        if kind not in card.allowed:
            raise InvalidInputError(f"choose one of {card.allowed} for call {card.index + 1} ({card.name})")
        decision: dict[str, Any] = {"type": kind}
        if kind == "edit" and card.args_form is not None:
            args = parse(card.args_form, form)
            decision["edited_action"] = {"name": card.name, "args": args}
            decision["original_args"] = card.args
        if kind in ("reject", "respond"):
            message = form.get(f"d{card.index}.message", "").strip()
            if message or kind == "respond":
                decision["message"] = message
        decisions.append(decision)
    return {"decisions": decisions}
