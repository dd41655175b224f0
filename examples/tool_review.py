"""Review tool calls: a support agent proposes a refund and an email; a person decides.

The agent is `create_agent` with a deterministic scripted model (no network).
`lookup_order` runs freely; `issue_refund` and `send_email` need review, and
both arrive in one interrupt for the model's turn. Decide per call:
approve, edit (changed arguments, checked against the tool's schema), reject
(the model is told why; the call never runs), or respond (answer in the tool's
place). Set HITL_OPENAI_MODEL to use a real OpenAI-compatible endpoint instead.
"""

from __future__ import annotations

import os

from hitl.messages import Message, ToolCall
from hitl.prebuilt import create_agent
from hitl.prebuilt.chat_models import ChatModel, OpenAIChatModel, Reply, ScriptedModel

LEDGER: list[str] = []
"""What the tools really did, in this worker process (the tests read it)."""


def lookup_order(order_id: int) -> dict:
    """Look up an order by its number."""
    return {"order_id": order_id, "customer": "ada@example.com", "paid": 30.0, "item": "teapot"}


def issue_refund(order_id: int, amount: float) -> str:
    """Refund part or all of an order."""
    LEDGER.append(f"refund {order_id} {amount:.2f}")
    return f"refunded {amount:.2f} on order {order_id}"


def send_email(to: str, subject: str, body: str) -> str:
    """Send an email to a customer."""
    LEDGER.append(f"email {to} {subject}")
    return f"email sent to {to}"


def _summary(messages: list[Message]) -> Message:
    results = [m.text for m in messages if m.role == "tool"][1:]
    return Message.assistant("Done. " + " | ".join(results))


SCRIPT: list[Reply] = [
    Message.assistant(
        "Let me look up the order.", [ToolCall(id="call_lookup", name="lookup_order", args={"order_id": 42})]
    ),
    Message.assistant(
        "I will refund the teapot and tell the customer.",
        [
            ToolCall(id="call_refund", name="issue_refund", args={"order_id": 42, "amount": 30.0}),
            ToolCall(
                id="call_email",
                name="send_email",
                args={"to": "ada@example.com", "subject": "Your refund", "body": "We refunded 30.00 for your teapot."},
            ),
        ],
    ),
    _summary,
]


def _model() -> ChatModel:
    name = os.environ.get("HITL_OPENAI_MODEL")
    return OpenAIChatModel(name) if name else ScriptedModel(SCRIPT)


graph = create_agent(
    _model(),
    [lookup_order, issue_refund, send_email],
    interrupt_on={
        "issue_refund": {"allowed_decisions": ["approve", "edit", "reject"]},
        "send_email": True,
    },
    system_prompt="You are a support agent. Use the tools; a person reviews refunds and emails.",
    name="tool_review",
)
