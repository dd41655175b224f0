"""Graphs of the human-in-the-loop tests (tests/test_hitl.py): review with routing,
breakpoints, several questions, re-asking, parallel questions, a limited question."""

from __future__ import annotations

import operator
import time
from datetime import timedelta
from typing import Annotated, Literal, TypedDict

from temporalio.common import RetryPolicy

from hitl import END, START, Command, StateGraph, interrupt
from hitl.messages import add_messages


class ReviewState(TypedDict, total=False):
    draft: str
    status: str
    log: Annotated[list[str], operator.add]


def _write(state: ReviewState) -> dict:
    return {"draft": state.get("draft") or "first draft", "log": ["write"]}


def _review(state: ReviewState) -> Command:
    answer = interrupt({"draft": state["draft"]}, schema=Literal["approve", "reject"])
    return Command(
        update={"log": [f"review:{answer}:{state['draft']}"]}, goto="publish" if answer == "approve" else "discard"
    )


def _publish(state: ReviewState) -> dict:
    return {"status": "published", "log": ["publish"]}


def _discard(state: ReviewState) -> dict:
    return {"status": "discarded", "log": ["discard"]}


review_b = StateGraph(ReviewState)
review_b.add_node("write", _write)
review_b.add_node("review", _review)
review_b.add_node("publish", _publish)
review_b.add_node("discard", _discard)
review_b.add_edge(START, "write")
review_b.add_edge("write", "review")
review_b.add_edge("publish", END)
review_b.add_edge("discard", END)
review = review_b.compile(name="review")
review_breaks = review_b.compile(name="review_breaks", interrupt_before=["publish"], interrupt_after=["write"])


class FormState(TypedDict, total=False):
    name: str
    age: int
    prompts: Annotated[list[str], operator.add]


def _two_questions(state: FormState) -> dict:
    name = interrupt("name?")
    age = interrupt(f"age of {name}?", schema=int)
    return {"name": name, "age": age}


two_q_b = StateGraph(FormState)
two_q_b.add_node("ask", _two_questions)
two_q_b.add_edge(START, "ask")
two_questions = two_q_b.compile(name="two_questions")


def _ask_until_valid(state: FormState) -> dict:
    prompt = "How old are you?"
    while True:
        answer = interrupt(prompt)
        if isinstance(answer, int) and 0 < answer < 150:
            return {"age": answer}
        prompt = f"'{answer}' is not a valid age; how old are you?"


validate_b = StateGraph(FormState)
validate_b.add_node("ask", _ask_until_valid)
validate_b.add_edge(START, "ask")
validation_loop = validate_b.compile(name="validation_loop")

RUNS: dict[str, int] = {}


class ParallelState(TypedDict, total=False):
    answers: Annotated[list[str], operator.add]


def _asker(name: str):
    def node(state: ParallelState) -> dict:
        RUNS[name] = RUNS.get(name, 0) + 1
        return {"answers": [f"{name}={interrupt(f'question from {name}')}"]}

    node.__name__ = name
    return node


def _quiet(state: ParallelState) -> dict:
    RUNS["quiet"] = RUNS.get("quiet", 0) + 1
    return {"answers": ["quiet"]}


par_b = StateGraph(ParallelState)
par_b.add_node("left", _asker("left"))
par_b.add_node("right", _asker("right"))
par_b.add_node("quiet", _quiet)
for n in ("left", "right", "quiet"):
    par_b.add_edge(START, n)
parallel = par_b.compile(name="parallel")

# ------------------------------------------------------------ who may decide


def _finance_review(state: ReviewState) -> dict:
    answer = interrupt({"draft": state["draft"]}, reviewers=["alice", "role:finance"])
    return {"status": f"{answer}"}


guarded_b = StateGraph(ReviewState)
guarded_b.add_node("review", _finance_review)
guarded_b.add_edge(START, "review")
guarded = guarded_b.compile(name="guarded")

# ------------------------------------------------------- decisions taking turns

FIRST_TRIES: set[str] = set()


def notes_once_slow(left: list[str], right: list[str]) -> list[str]:
    """A user reducer that fails the first try of each write, so applying a decision that writes
    `notes` takes a retry (about a second, without blocking the worker): time for a second
    decision to arrive while the first one is being applied."""
    key = ",".join(right)
    if key not in FIRST_TRIES:
        FIRST_TRIES.add(key)
        raise RuntimeError(f"first try of {key}")
    return left + right


class TurnState(TypedDict, total=False):
    notes: Annotated[list[str], notes_once_slow]
    answers: Annotated[list[str], operator.add]


def _open_notes(state: TurnState) -> dict:
    return {"notes": ["start"]}  # the key is new: set without calling the reducer


def _finish(state: TurnState) -> dict:
    return {"answers": ["finish"]}


turns_b = StateGraph(TurnState)
turns_b.add_node("open", _open_notes)
turns_b.add_node("left", _asker("left"))
turns_b.add_node("right", _asker("right"))
turns_b.add_node("finish", _finish)
turns_b.add_edge(START, "open")
turns_b.add_edge("open", "left")
turns_b.add_edge("open", "right")
turns_b.add_edge(["left", "right"], "finish")
turns_b.add_edge("finish", END)
turns = turns_b.compile(name="turns", interrupt_before=["finish"])

# ------------------------------------------- an answer that breaks its node


class NoteState(TypedDict, total=False):
    note: str
    echo: str
    bulk: str
    log: Annotated[list[str], operator.add]


def _take_note(state: NoteState) -> dict:
    """Stores the answer as given (no schema): a number for `note: str` fails the node's writes."""
    answer = interrupt("note?")
    return {"note": answer, "log": [f"noted:{str(answer)[:20]}"]}


def _echo_note(state: NoteState) -> dict:
    """Stores the answer twice: an answer that fits the state once may not fit twice."""
    answer = interrupt("note to echo?")
    return {"note": answer, "echo": answer}


def _noted(state: NoteState) -> dict:
    return {"log": ["done"]}


note_b = StateGraph(NoteState)
note_b.add_node("take", _take_note)
note_b.add_node("quiet", _noted)
note_b.add_edge(START, "take")
note_b.add_edge(START, "quiet")
note_b.add_edge("take", END)
answer_note = note_b.compile(name="answer_note")

echo_b = StateGraph(NoteState)
echo_b.add_node("take", _echo_note)
echo_b.add_edge(START, "take")
answer_echo = echo_b.compile(name="answer_echo")

note_parent_b = StateGraph(NoteState)
note_parent_b.add_node("sub", answer_note)
note_parent_b.add_node("after", _noted)
note_parent_b.add_edge(START, "sub")
note_parent_b.add_edge("sub", "after")
answer_note_parent = note_parent_b.compile(name="answer_note_parent")


class RerunState(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    flaky_left: int


def _asks(name: str, wait_s: float = 0.0, fails_once: bool = False):
    """A node that takes `wait_s` to reach its question, then (optionally) fails once after the answer."""

    def node(state: RerunState) -> dict:
        time.sleep(wait_s)
        answer = interrupt(f"{name}?")
        if fails_once and name not in _FAILED:
            _FAILED.add(name)
            raise RuntimeError(f"{name} failed once after the answer")
        return {"log": [f"{name}:{answer}"]}

    return node


_FAILED: set[str] = set()
"""Nodes of `reruns` that failed once already, in this process (the test worker's)."""

reruns_b = StateGraph(RerunState)
reruns_b.add_node("quick", _asks("quick", fails_once=True), rerun="local")
reruns_b.add_node("plain", _asks("plain"))
reruns_b.add_node("slow", _asks("slow", wait_s=1.2), rerun="local")
reruns_b.add_node("left", _asks("left"), rerun="local")
reruns_b.add_node("right", _asks("right"), rerun="local")
for a, b in [(START, "quick"), ("quick", "plain"), ("plain", "slow"), ("slow", "left"), ("slow", "right")]:
    reruns_b.add_edge(a, b)
reruns = reruns_b.compile(name="reruns")
"""How each node runs again after its answer: quick and slow (rerun="local") as local activities, plain as an
activity, left and right (rerun="local", answered together) as activities: one completion would carry both."""


def _bad_key(state: RerunState) -> dict:
    return {"nope": 1}


def _slow_after(state: RerunState) -> dict:
    answer = interrupt("how fast?")
    if answer == "slow":
        time.sleep(3)  # past the node's 1 s timeout
    return {"log": [f"timed:{answer}"]}


mistake_b = StateGraph(RerunState)
mistake_b.add_node("bad", _bad_key, local=True)
mistake_b.add_edge(START, "bad")
local_mistake = mistake_b.compile(name="local_mistake")
"""A local node's graph mistake (unknown key): fails the run at once, naming the node."""

timed_b = StateGraph(RerunState)
timed_b.add_node(
    "timed", _slow_after, timeout=timedelta(seconds=1), retry_policy=RetryPolicy(maximum_attempts=1), rerun="local"
)
timed_b.add_edge(START, "timed")
rerun_timeout = timed_b.compile(name="rerun_timeout")
"""A node whose local re-run can time out: the answer is put back, as when an activity re-run fails."""

local_timed_b = StateGraph(RerunState)
local_timed_b.add_node(
    "timed", _slow_after, timeout=timedelta(seconds=1), retry_policy=RetryPolicy(maximum_attempts=1), local=True
)
local_timed_b.add_edge(START, "timed")
local_timeout = local_timed_b.compile(name="local_timeout")
"""A local-activity node (local=True) that times out after an answer: Temporal hands that timeout to the
workflow wrapped live but bare on replay."""


class DraftState(TypedDict, total=False):
    draft: str
    verdict: str


def _review_draft(state: DraftState) -> dict:
    """Shows the draft in its question, and again when it asks to confirm: a draft edited to 100 kB (which the
    state holds) makes the question too large (64 kB), so the node fails on the edit."""
    verdict = interrupt({"ask": "approve?", "draft": state["draft"]})
    if verdict == "ok":
        verdict = interrupt({"ask": "confirm the final draft?", "draft": state["draft"]})
    return {"verdict": verdict}


draft_b = StateGraph(DraftState)
draft_b.add_node("review", _review_draft)
draft_b.add_edge(START, "review")
draft_review = draft_b.compile(name="draft_review")


def _takes_a_while(state: RerunState) -> dict:
    time.sleep(3)  # a window for a streaming client to go away while the step runs
    return {"log": ["worked"]}


slow_b = StateGraph(RerunState)
slow_b.add_node("work", _takes_a_while)
slow_b.add_node("ask", _asks("ask"))
slow_b.add_edge(START, "work")
slow_b.add_edge("work", "ask")
slow_work = slow_b.compile(name="slow_work")
"""A step that takes seconds, then a question (test_web_streams: on_disconnect)."""


class ChatState(TypedDict, total=False):
    messages: Annotated[list[dict], add_messages]


def _greet(state: ChatState) -> dict:
    return {"messages": [{"role": "assistant", "content": "hello", "id": "m-1"}]}


chat_b = StateGraph(ChatState)
chat_b.add_node("greet", _greet)
chat_b.add_node("ask", lambda state: {"messages": [{"role": "user", "content": interrupt("ok?"), "id": "m-2"}]})
chat_b.add_edge(START, "greet")
chat_b.add_edge("greet", "ask")
chat_turn = chat_b.compile(name="chat_turn")
"""A node writing a message, then a question (test_web_streams: messages-tuple)."""

GRAPHS = [
    draft_review,
    reruns,
    local_mistake,
    rerun_timeout,
    local_timeout,
    answer_note,
    answer_echo,
    answer_note_parent,
    turns,
    review,
    review_breaks,
    two_questions,
    validation_loop,
    parallel,
    guarded,
    slow_work,
    chat_turn,
]
