"""Agent Inbox's shape: a person accepts, edits, answers or ignores an email before it is sent.

`human_review` asks with `[HumanInterrupt]` as graphs written for LangChain's Agent Inbox do, so Agent
Inbox pointed at `hitl serve` shows the email with its four choices (and hitl's own inbox shows a card).
"""

from __future__ import annotations

from typing import TypedDict

from hitl import END, START, StateGraph
from hitl.prebuilt import human_review


class State(TypedDict, total=False):
    to: str
    subject: str
    body: str
    outcome: str
    note: str


def draft(state: State) -> dict:
    return {"subject": state.get("subject") or "Re: your question", "body": f"Hello {state['to']}, thanks!"}


def review(state: State) -> dict:
    email = {"to": state["to"], "subject": state["subject"], "body": state["body"]}
    response = human_review("send_email", email, description=f"Send this email to {state['to']}?")
    if response.edited is not None:
        edited = {k: str(v) for k, v in response.edited.args.items() if k in email}  # Agent Inbox edits text
        return {**edited, "outcome": "sent"}
    if response.text is not None:
        return {"outcome": "not sent", "note": response.text}
    return {"outcome": "sent" if response.type == "accept" else "ignored"}


builder = StateGraph(State)
builder.add_node("draft", draft)
builder.add_node("review", review)
builder.add_edge(START, "draft")
builder.add_edge("draft", "review")
builder.add_edge("review", END)
graph = builder.compile(name="email_review")
