"""A ready-made tool-calling agent whose tool calls a person reviews.

`create_agent(model, tools, interrupt_on=...)` is the classic loop: the model
node calls the model; if it asked for tools, the tools node runs them (after
review, per `interrupt_on`) and the model sees the results; otherwise the run
ends. Both nodes are activities: the model call and every tool run happen
there, never in the workflow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, TypedDict

from hitl.graph import CompiledGraph, StateGraph
from hitl.messages import Message, add_messages
from hitl.models import ChatModel
from hitl.tools import Policy, Tool, as_tools, tool_node
from hitl.types import END, START


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
