"""Graphs of the Send tests (tests/test_send.py): map-reduce fan-out from a router and from a
node's Command, a question inside each mapped task, Sends mixed with node names, empty
Sends, a breakpoint before a node reached by Send, and the mistakes refused where they
are made (an unknown node, an arg that is not JSON, a subgraph)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from hitl import END, START, Command, Send, StateGraph, interrupt


class MapState(TypedDict, total=False):
    subjects: list[str]
    jokes: Annotated[list[str], operator.add]
    best: str
    log: Annotated[list[str], operator.add]


def _fan_out(state: MapState) -> list[Send]:
    return [Send("joke", {"subject": s}) for s in state.get("subjects", [])]


def _joke(arg: dict[str, Any]) -> dict:
    return {"jokes": [f"a joke about {arg['subject']}"]}


def _reviewed_joke(arg: dict[str, Any]) -> dict:
    verdict = interrupt({"subject": arg["subject"], "question": f"keep the joke about {arg['subject']}?"})
    return {"jokes": [f"{arg['subject']}:{verdict}"]}


def _pick(state: MapState) -> dict:
    return {"best": max(state.get("jokes") or [""], key=len), "log": [f"pick:{len(state.get('jokes', []))}"]}


def _map_reduce(name: str, joke: Any, **compile_options: Any) -> Any:
    b = StateGraph(MapState)
    b.add_node("joke", joke)
    b.add_node("pick", _pick)
    b.add_conditional_edges(START, _fan_out)
    b.add_edge("joke", "pick")
    b.add_edge("pick", END)
    return b.compile(name=name, **compile_options)


send_map = _map_reduce("send_map", _joke)
"""START fans out one `joke` per subject; `pick` runs once after all of them."""

send_review = _map_reduce("send_review", _reviewed_joke)
"""Each mapped `joke` asks a person about its own subject."""

send_breaks = _map_reduce("send_breaks", _joke, interrupt_before=["joke"])
"""A breakpoint before the node the Sends reach."""


def _owned_joke(arg: dict[str, Any]) -> dict:
    """Each mapped task asks its own subject's owner (a long e-mail address): many reviewers at once."""
    subject = arg["subject"]
    verdict = interrupt(f"keep the joke about {subject}?", reviewers=[f"{subject}.reviewer@example-company.com"])
    return {"jokes": [f"{subject}:{verdict}"]}


send_owned = _map_reduce("send_owned", _owned_joke)
"""As send_review, each question limited to its own owner: 90 subjects index far past Temporal's 2 kB per
search attribute value (HitlReviewers), which once made Temporal terminate the run as it paused."""


def _plan(state: MapState) -> Command:
    """A node fans out with Command(goto=[Send, ..., "audit"]): Sends mixed with a node name."""
    return Command(
        update={"log": ["plan"]},
        goto=[*(Send("joke", {"subject": s}) for s in state["subjects"]), "audit"],
    )


def _audit(state: MapState) -> dict:
    return {"log": ["audit"]}


def _mixed() -> Any:
    b = StateGraph(MapState)
    b.add_node("plan", _plan)
    b.add_node("joke", _joke)
    b.add_node("audit", _audit)
    b.add_node("pick", _pick)
    b.add_edge(START, "plan")
    b.add_edge("joke", "pick")
    b.add_edge("audit", "pick")
    return b.compile(name="send_mixed")


send_mixed = _mixed()


class BadState(TypedDict, total=False):
    mode: str
    log: Annotated[list[str], operator.add]


def _bad_route(state: BadState) -> list[Any]:
    if state["mode"] == "unknown":
        return [Send("nowhere", {"x": 1})]
    if state["mode"] == "not_json":
        return [Send("work", {"when": object()})]
    if state["mode"] == "subgraph":
        return [Send("team", {"x": 1})]
    if state["mode"] == "too_large":
        return [Send("work", {"blob": "x" * 1_100_000})]
    return [Send("work", {"x": 1})]


def _work(arg: dict[str, Any]) -> dict:
    return {"log": [f"work:{arg}"]}


def _child_step(state: BadState) -> dict:
    return {"log": ["child"]}


_child_b = StateGraph(BadState)
_child_b.add_node("child_step", _child_step)
_child_b.add_edge(START, "child_step")
send_child = _child_b.compile(name="send_child")

_bad_b = StateGraph(BadState)
_bad_b.add_node("work", _work)
_bad_b.add_node("team", send_child)
_bad_b.add_conditional_edges(START, _bad_route)
send_bad = _bad_b.compile(name="send_bad")
"""Mode `unknown`, `not_json`, `subgraph` or `too_large`: a router's Send refused at the routing; else one Send."""


def _limited_joke(arg: dict[str, Any]) -> dict:
    verdict = interrupt(f"keep {arg['subject']}?", reviewers=["role:editor"])
    return {"jokes": [f"{arg['subject']}:{verdict}"]}


send_limited = _map_reduce("send_limited", _limited_joke)
"""Each mapped question may be answered only by an editor."""

send_team_child = _map_reduce("send_team_child", _reviewed_joke)
_team_b = StateGraph(MapState)
_team_b.add_node("team", send_team_child)
_team_b.add_node("wrap", lambda state: {"log": [f"wrap:{len(state.get('jokes', []))}"]})
_team_b.add_edge(START, "team")
_team_b.add_edge("team", "wrap")
send_team = _team_b.compile(name="send_team")
"""A subgraph that maps inside: its mapped questions surface on the parent as team/joke."""


GRAPHS = [send_map, send_review, send_breaks, send_mixed, send_bad, send_limited, send_team, send_owned]
