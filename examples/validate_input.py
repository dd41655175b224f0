"""Validate a person's input, two ways.

`ask_age` loops on `interrupt()` until the answer makes sense, re-asking with
the reason (each question has its own interrupt id). `confirm_age` declares
the answer's type on the interrupt instead: an answer that does not fit is
refused at the edge, before anything is written to the run's history.
"""

from __future__ import annotations

from typing import Annotated, TypedDict

import pydantic

from hitl import END, START, StateGraph, interrupt

Age = Annotated[int, pydantic.Field(gt=0, lt=150)]


class State(TypedDict, total=False):
    name: str
    age: int
    confirmed: bool


def ask_age(state: State) -> dict:
    question = f"How old is {state.get('name', 'the customer')}? (a whole number)"
    while True:
        answer = interrupt(question)
        if isinstance(answer, int) and not isinstance(answer, bool) and 0 < answer < 150:
            return {"age": answer}
        question = f"{answer!r} is not an age between 1 and 149; how old is {state.get('name', 'the customer')}?"


def confirm_age(state: State) -> dict:
    again = interrupt(f"Type the age once more to confirm (it was {state['age']}).", schema=Age)
    return {"confirmed": again == state["age"]}


builder = StateGraph(State)
builder.add_node("ask_age", ask_age)
builder.add_node("confirm_age", confirm_age)
builder.add_edge(START, "ask_age")
builder.add_edge("ask_age", "confirm_age")
builder.add_edge("confirm_age", END)
graph = builder.compile(name="validate_input")
