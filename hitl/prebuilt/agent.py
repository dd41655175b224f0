"""Ready-made human review: a tool-calling agent whose tool calls a person reviews, and `human_review`,
which asks about one action in Agent Inbox's shape.

`create_agent(model, tools, interrupt_on=...)` is the classic loop: the model
node calls the model; if it asked for tools, the tools node runs them (after
review, per `interrupt_on`) and the model sees the results; otherwise the run
ends. Both nodes are activities: the model call and every tool run happen
there, never in the workflow. Its reviews ask in HumanInTheLoopMiddleware's
shape (hitl/prebuilt/tools.py); `human_review` asks in Agent Inbox's (hitl/human_interrupt.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Annotated, Any, TypedDict

from hitl._interrupt import interrupt
from hitl.graph import CompiledGraph, StateGraph
from hitl.human_interrupt import ActionRequest, HumanInterrupt, HumanInterruptConfig, HumanResponse, response_schema
from hitl.messages import Message, add_messages
from hitl.prebuilt.chat_models import ChatModel
from hitl.prebuilt.tools import Policy, Tool, as_tools, tool_node
from hitl.types import END, START, GraphValidationError


class AgentState(TypedDict):
    messages: Annotated[list[Message], add_messages]


def create_agent(
    model: ChatModel,
    tools: Sequence[Tool | Callable[..., Any]],
    *,
    interrupt_on: Mapping[str, Policy] | None = None,
    system_prompt: str | None = None,
    name: str = "agent",
    **compile_options: Any,
) -> CompiledGraph:
    by_name = as_tools(tools)

    async def call_model(state: AgentState) -> dict[str, Any]:
        messages = list(state["messages"])
        if system_prompt:
            messages = [Message(role="system", content=system_prompt), *messages]
        reply = await model.ainvoke(messages, list(by_name.values()))
        return {"messages": [reply.to_state()]}

    def wants_tools(state: AgentState) -> str:
        last = state["messages"][-1]
        return "tools" if last.role == "assistant" and last.tool_calls else END

    builder = StateGraph(AgentState)
    builder.add_node("model", call_model)
    builder.add_node("tools", tool_node(list(by_name.values()), interrupt_on))
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", wants_tools, ["tools", END])
    builder.add_edge("tools", "model")
    return builder.compile(name=name, **compile_options)


def human_review(
    action: str,
    args: Mapping[str, Any] | None = None,
    *,
    description: str | None = None,
    config: HumanInterruptConfig | None = None,
    reviewers: Sequence[str] | None = None,
    timeout: timedelta | None = None,
) -> HumanResponse:
    """Inside a node: ask a person about one action as Agent Inbox asks, and return their response.

    The question is `[HumanInterrupt]`, the list Agent Inbox graphs ask with, so Agent Inbox (and hitl's
    inbox) show it with the choices `config` allows (all four by default); its answer schema
    (`response_schema`) lets the run refuse any other answer before the node sees it. The answer is the
    list of `HumanResponse` Agent Inbox sends; this returns its one response, typed: `.type`, and
    `.edited` (an edit's action) or `.text` (a response's text). `reviewers` and `timeout` are
    `interrupt()`'s (a timeout without an answer raises `DeadlineExceeded` there).
    """
    request = HumanInterrupt(
        action_request=ActionRequest(action=action, args=dict(args or {})),
        config=config or HumanInterruptConfig(),
        description=description,
    )
    if not request.config.allowed():
        raise GraphValidationError(f"human_review of '{action}' allows no answer; allow at least one in its config")
    answer = interrupt(
        [request.model_dump(exclude_none=True)], schema=response_schema([request]), reviewers=reviewers, timeout=timeout
    )
    return HumanResponse.model_validate(answer[0])
