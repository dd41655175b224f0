"""Tools a model may call, and a node that has a person review the calls first.

A tool is a plain Python function with type hints; its argument schema is a
pydantic model derived from the signature. `tool_node(tools, interrupt_on=...)`
is a graph node: it takes the tool calls of the last assistant message, raises
**one interrupt per model turn** for the calls that need review, and runs the
calls as the person decided, inside the node's activity. The vocabulary is
LangChain's `HumanInTheLoopMiddleware`: the interrupt value has
`action_requests` and `review_configs`; the answer is `{"decisions": [...]}`,
one per reviewed call in order, each `approve`, `edit` (with
`edited_action.args`, checked against the tool's schema before the run accepts
it), `reject` (with a `message` fed back to the model; the call never runs) or
`respond` (a person answers in the tool's place). Calls to tools with no
policy run without a pause.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, overload

import pydantic
from typing_extensions import NotRequired

from hitl._interrupt import interrupt
from hitl.messages import Message, ToolCall
from hitl.state import to_json
from hitl.types import GraphValidationError

DecisionType = Literal["approve", "edit", "reject", "respond"]
ALL_DECISIONS: list[DecisionType] = ["approve", "edit", "reject", "respond"]


class InterruptOnConfig(TypedDict):
    """Review policy of one tool: which decisions a person may take."""

    allowed_decisions: list[DecisionType]
    description: NotRequired[str]


Policy = bool | InterruptOnConfig


@dataclass(frozen=True)
class Tool:
    """A function the model can call, with a pydantic schema for its arguments."""

    name: str
    description: str
    fn: Callable[..., Any]
    args_model: type[pydantic.BaseModel]

    def json_schema(self) -> dict[str, Any]:
        return self.args_model.model_json_schema()

    def openai_schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.json_schema()},
        }

    async def run(self, args: Mapping[str, Any]) -> str:
        parsed = self.args_model.model_validate(dict(args))
        kwargs = {k: getattr(parsed, k) for k in self.args_model.model_fields}
        result = self.fn(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result if isinstance(result, str) else json.dumps(to_json(result, what=f"result of tool '{self.name}'"))


@overload
def tool(fn: Callable[..., Any], *, name: str | None = None, description: str | None = None) -> Tool: ...
@overload
def tool(
    fn: None = None, *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], Tool]: ...
def tool(
    fn: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a `Tool` from a typed function; its docstring is the description the model sees.

    `@tool` or `tool(fn)` gives the `Tool`; `@tool(name=..., description=...)` gives a decorator.
    """

    def wrap(f: Callable[..., Any]) -> Tool:
        params = inspect.signature(f).parameters
        fields: dict[str, Any] = {}
        hints = _hints(f)
        for pname, param in params.items():
            annotation = hints.get(pname, Any)
            default = param.default if param.default is not inspect.Parameter.empty else ...
            fields[pname] = (annotation, default)
        model = pydantic.create_model(f"{f.__name__}_args", **fields)
        return Tool(name or f.__name__, description or inspect.getdoc(f) or f.__name__, f, model)

    return wrap(fn) if fn is not None else wrap


def as_tools(tools: Sequence[Tool | Callable[..., Any]]) -> dict[str, Tool]:
    out: dict[str, Tool] = {}
    for t in tools:
        t = t if isinstance(t, Tool) else tool(t)
        if t.name in out:
            raise GraphValidationError(f"two tools are named '{t.name}'; tool names must be unique")
        out[t.name] = t
    return out


def tool_node(
    tools: Sequence[Tool | Callable[..., Any]],
    interrupt_on: Mapping[str, Policy] | None = None,
    *,
    messages_key: str = "messages",
) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    """A node that runs the last assistant message's tool calls, after review where asked."""
    by_name = as_tools(tools)
    policies: dict[str, list[DecisionType]] = {}
    descriptions: dict[str, str] = {}
    for tool_name, policy in (interrupt_on or {}).items():
        if tool_name not in by_name:
            raise GraphValidationError(f"interrupt_on names unknown tool '{tool_name}'; tools are {sorted(by_name)}")
        if policy is True:
            policies[tool_name] = list(ALL_DECISIONS)
        elif isinstance(policy, dict):
            bad = [d for d in policy["allowed_decisions"] if d not in ALL_DECISIONS]
            if bad:
                raise GraphValidationError(
                    f"tool '{tool_name}': unknown decision(s) {bad}; allowed are {ALL_DECISIONS}"
                )
            policies[tool_name] = list(policy["allowed_decisions"])
            if "description" in policy:
                descriptions[tool_name] = policy["description"]

    async def run_tools(state: Any) -> dict[str, Any]:
        messages = state[messages_key] if isinstance(state, dict) else getattr(state, messages_key)
        last = Message.model_validate(messages[-1]) if messages else None
        calls = last.tool_calls if last and last.role == "assistant" else []
        reviewed = [c for c in calls if c.name in policies]
        decisions: dict[str, dict[str, Any]] = {}
        if reviewed:
            request = {
                "action_requests": [
                    {
                        "name": c.name,
                        "args": c.args,
                        "description": descriptions.get(c.name, f"Tool call {c.name} needs review"),
                    }
                    for c in reviewed
                ],
                "review_configs": [{"action_name": c.name, "allowed_decisions": policies[c.name]} for c in reviewed],
            }
            answer = interrupt(request, schema=review_schema([(by_name[c.name], policies[c.name]) for c in reviewed]))
            decisions = {c.id: d for c, d in zip(reviewed, answer["decisions"], strict=False)}
        results = [await _execute(by_name, call, decisions.get(call.id)) for call in calls]
        return {messages_key: [m.to_state() for m in results]}

    run_tools.__name__ = "tools"  # `add_node(tool_node(...))` names the node 'tools'
    return run_tools


async def _execute(by_name: dict[str, Tool], call: ToolCall, decision: dict[str, Any] | None) -> Message:
    kind = decision["type"] if decision else "approve"
    if kind == "reject":
        reason = decision.get("message") if decision else None
        return Message.tool(
            f"The reviewer rejected this call to {call.name}" + (f": {reason}" if reason else "."), call.id, call.name
        )
    if kind == "respond":
        return Message.tool(str(decision.get("message", "")) if decision else "", call.id, call.name)
    args = decision["edited_action"]["args"] if kind == "edit" and decision else call.args
    target = by_name.get(call.name)
    if target is None:
        return Message.tool(
            f"Error: there is no tool named {call.name}; tools are {sorted(by_name)}", call.id, call.name
        )
    try:
        return Message.tool(await target.run(args), call.id, call.name)
    except pydantic.ValidationError as e:
        return Message.tool(f"Error: invalid arguments for {call.name}: {e.errors()[0]['msg']}", call.id, call.name)


def review_schema(reviewed: Sequence[tuple[Tool, list[DecisionType]]]) -> dict[str, Any]:
    """JSON Schema of the answer: one allowed decision per reviewed call, edits fit the tool.

    Published with the interrupt, so the workflow refuses a bad answer at the edge.
    """
    items = []
    for t, allowed in reviewed:
        options: list[dict[str, Any]] = []
        if "approve" in allowed:
            options.append(_decision("approve", {}))
        if "edit" in allowed:
            edited = {
                "type": "object",
                "properties": {"name": {"const": t.name}, "args": _inline(t.json_schema())},
                "required": ["args"],
            }
            options.append(_decision("edit", {"edited_action": edited}, ["edited_action"]))
        if "reject" in allowed:
            options.append(_decision("reject", {"message": {"type": "string"}}))
        if "respond" in allowed:
            options.append(_decision("respond", {"message": {"type": "string"}}, ["message"]))
        items.append({"oneOf": options})
    return {
        "type": "object",
        "properties": {
            "decisions": {
                "type": "array",
                "prefixItems": items,
                "items": False,
                "minItems": len(items),
                "maxItems": len(items),
            }
        },
        "required": ["decisions"],
    }


def _decision(kind: str, properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"type": {"const": kind}, **properties},
        "required": ["type", *(required or [])],
    }


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A tool's args schema with its `$defs` kept valid when nested in a larger schema."""
    defs = schema.get("$defs")
    if not defs:
        return schema
    text = json.dumps({k: v for k, v in schema.items() if k != "$defs"})
    for name, body in defs.items():
        text = text.replace(json.dumps({"$ref": f"#/$defs/{name}"}), json.dumps(body))
    inlined: dict[str, Any] = json.loads(text)
    return inlined


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(fn)
    except Exception:
        return {}
