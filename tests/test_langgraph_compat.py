"""A graph written for LangGraph runs here with only the import line changed,
and ends in the same state as under LangGraph itself (installed from PyPI)."""

from __future__ import annotations

import asyncio
import json
import types
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import pytest
import pytest_asyncio

import hitl
from tests.compat import load_source

langgraph = pytest.importorskip("langgraph", reason="the test extra installs langgraph")

SOURCE = (Path(__file__).parent / "compat" / "app.py.txt").read_text()
LANGGRAPH_IMPORT = (
    "from langgraph.graph import StateGraph, START, END; from langgraph.types import interrupt, Command, Send"
)
HITL_IMPORT = "from hitl import StateGraph, START, END, interrupt, Command, Send"
RUNTIME_IMPORT = "from langgraph.runtime import Runtime; from langgraph.config import get_stream_writer"
HITL_RUNTIME_IMPORT = "from hitl import Runtime, get_stream_writer"


def load(import_line: str, name: str) -> types.ModuleType:
    return load_source(SOURCE, {LANGGRAPH_IMPORT: import_line}, name)


def run_langgraph(answer: dict) -> dict:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command

    app = load(LANGGRAPH_IMPORT, "lg_app").builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "1"}}
    paused = app.invoke({"question": "why?"}, config)
    assert "__interrupt__" in paused
    app.invoke(Command(resume=answer), config)
    return dict(app.get_state(config).values)


@pytest.mark.parametrize("answer", [{"ok": True, "text": "because"}, {"ok": False, "text": ""}])
async def test_same_final_state_as_langgraph(client: hitl.Client, answer: dict) -> None:
    expected = run_langgraph(answer)
    graph = load(HITL_IMPORT, "hitl_app").builder.compile(name="compat_app")
    other = hitl.Client(client.temporal, task_queue="hitl-compat", graphs=[graph])
    async with other.worker():
        run = await other.start("compat_app", {"question": "why?"})
        for _ in range(200):
            state = await run.get_state()
            if state.status == "interrupted":
                break
        assert state.status == "interrupted"
        assert state.interrupts[0].value == {"notes": expected["notes"][: len(state.interrupts[0].value["notes"])]}
        await run.resume(answer)
        final = await run.result()
    assert final == expected


# ------------------------------------------------------------------ differential
#
# Each case runs one graph source (tests/compat/cases.py.txt) under LangGraph,
# in process with an InMemorySaver, and under hitl on the session's Temporal
# dev server, drives both with the same decisions, and compares what a person
# saw at each pause (status, `next`, the questions) and the final state.

CASES_SOURCE = (Path(__file__).parent / "compat" / "cases.py.txt").read_text()
COMPAT_QUEUE = "hitl-compat-diff"

Action = tuple  # ("resume", value) | ("answer", {question: value}) | ("continue",) | ("goto", node) | ("command", kwargs) | ("update", values, as_node)


@dataclass
class Case:
    id: str
    builder: str
    input: dict
    actions: list[Action] = field(default_factory=list)
    interrupt_before: list[str] | str | None = None
    interrupt_after: list[str] | str | None = None
    fails_today: str | None = None
    """Which behaviour of the parity issue still differs (an expected failure until fixed)."""
    context: dict | None = None
    """The runtime context the run starts with (LangGraph: passed with every invoke, as an app would)."""


NEXT, DONE, MAP, GOTO_RESUME, GOTO_ADDS = (
    "1: next lists finished siblings",
    "2: nothing next yet waiting",
    "3: a dict's shape decides whether it is a map",
    "4: resume with goto refused",
    "5: goto replaces the paused step",
)

CASES = [
    # 1. while a parallel step waits, `next` lists only the nodes that still have to run
    Case("parallel_partial_resume", "parallel", {}, [("answer", {"q-left": "L"}), ("resume", "R")]),
    Case("parallel_answer_all_by_id", "parallel", {}, [("answer", {"q-left": "L", "q-right": "R"})]),
    # 2. nothing to answer and nothing next: the run is done
    Case("interrupt_after_last_node", "chain_ab", {}, interrupt_after=["b"]),
    Case("interrupt_after_star", "chain_ab", {}, [("continue",)], interrupt_after="*"),
    Case("update_as_node_to_end", "chain_ab", {}, [("update", {"log": ["human"]}, "b")], interrupt_before=["b"]),
    # 3. a dict answer is a map only when its keys are pending interrupt ids
    Case("dict_answer_with_id_like_keys", "echo", {}, [("resume", {"0123456789abcdef": "yes"})]),
    Case("dict_answer", "echo", {}, [("resume", {"ok": True})]),
    Case("narrow_input", "narrow_input", {"draft": "d1", "status": "new"}, [("resume", "yes")]),
    # 4. resume and goto together: the question is answered and the target runs too
    Case("resume_and_goto", "side_exit_asks", {}, [("command", {"resume": "yes", "goto": "c"})]),
    # 5. goto while paused adds to the paused step
    Case("goto_while_asked", "side_exit_asks", {}, [("goto", "c"), ("resume", "yes")]),
    Case("goto_at_breakpoint_before", "side_exit", {}, [("goto", "c")], interrupt_before=["b"]),
    Case("goto_at_breakpoint_after", "side_exit", {}, [("goto", "c")], interrupt_after=["a"]),
    Case(
        "update_and_goto_while_asked",
        "side_exit_asks",
        {},
        [("command", {"update": {"draft": "x"}, "goto": "c"}), ("resume", "ok")],
    ),
    # the four patterns
    Case("approval_approve", "approval", {"draft": "tea"}, [("resume", "approve")]),
    Case("approval_reject", "approval", {"draft": "tea"}, [("resume", "reject")]),
    Case(
        "edit_state",
        "edit_state",
        {},
        [("update", {"draft": "edited"}, None), ("continue",)],
        interrupt_before=["publish"],
    ),
    Case("validate_input", "validate_input", {}, [("resume", "old"), ("resume", 0), ("resume", 36)]),
    Case("tool_review_edit", "tool_review", {}, [("resume", {"type": "edit", "args": {"order": 42, "amount": 12}})]),
    Case("tool_review_reject", "tool_review", {}, [("resume", {"type": "reject", "message": "call her"})]),
    # breakpoints, loops, joins, reducers, pydantic state, subgraphs
    Case("breakpoint_before", "chain_abc", {}, [("continue",)], interrupt_before=["b"]),
    Case("breakpoint_after", "chain_abc", {}, [("continue",)], interrupt_after=["b"]),
    Case("breakpoint_before_star", "chain_abc", {}, [("continue",)] * 3, interrupt_before="*"),
    Case("breakpoint_after_star", "chain_abc", {}, [("continue",)] * 2, interrupt_after="*"),
    Case("loop", "loop", {"i": 0}, [("resume", "more"), ("resume", "more")]),
    Case("loop_stopped", "loop", {"i": 0}, [("resume", "stop")]),
    Case("join", "join", {}, [("resume", "ok")]),
    Case("reducers", "reducers", {}, [("resume", "seen")]),
    Case("pydantic_state", "pydantic_state", {"customer": "Ada"}, [("resume", "yes")]),
    Case("subgraph", "subgraph", {"topic": "tea"}, [("resume", "fine")]),
    Case("parent_command_escalate", "parent_command", {"topic": "tea"}, [("resume", "escalate")]),
    Case("parent_command_not_taken", "parent_command", {"topic": "tea"}, [("resume", "fine")]),
    Case("called_subgraph", "called_subgraph", {}, [("resume", "fine")]),
    # 7. Send: map-reduce fan-out, a question in each mapped task answered one by id and by a map
    Case("send_map", "send_map", {"subjects": ["cats", "dogs", "ants"]}),
    Case("send_empty", "send_map", {"subjects": []}),
    Case(
        "send_questions_one_then_map",
        "send_questions",
        {"subjects": ["cats", "dogs", "ants"]},
        [("answer", {"keep dogs?": "yes"}), ("answer", {"keep cats?": "no", "keep ants?": "yes"})],
    ),
    Case(
        "send_questions_all_by_map",
        "send_questions",
        {"subjects": ["cats", "dogs"]},
        [("answer", {"keep dogs?": "yes", "keep cats?": "no"})],
    ),
    Case("send_single_question", "send_questions", {"subjects": ["cats"]}, [("resume", "yes")]),
    Case(
        "send_from_command", "send_from_command", {"subjects": ["a", "b"]}, [("answer", {"b": 2}), ("answer", {"a": 1})]
    ),
    Case(
        "send_breakpoint_before", "send_map", {"subjects": ["cats", "dogs"]}, [("continue",)], interrupt_before=["joke"]
    ),
    Case(
        "send_breakpoint_after", "send_map", {"subjects": ["cats", "dogs"]}, [("continue",)], interrupt_after=["joke"]
    ),
    # runtime context: read by nodes before and after a pause, by a subgraph's nodes; none given
    Case("context", "with_context", {}, [("resume", "yes")], context={"user": "ada", "tone": "warm"}),
    Case("context_default_field", "with_context", {}, [("resume", "no")], context={"user": "bob"}),
    Case("context_none", "with_context", {}, [("resume", "yes")]),
    Case("context_subgraph", "context_in_subgraph", {}, [("resume", "ok")], context={"user": "cy"}),
    # custom stream events: the graph runs the same whatever it writes
    Case("stream_writer", "progress", {}, [("resume", "yes")]),
]

# Where hitl differs on purpose (README, "Where hitl differs from LangGraph"): run like the cases
# above, with the difference asserted instead of equality.
DIFFERENCES = [
    Case("edit_while_asked", "edit_while_asked", {}, [("update", {"draft": "d2"}, None), ("resume", "ok")]),
    Case("values_while_a_step_waits", "parallel", {}, [("answer", {"q-left": "L"}), ("resume", "R")]),
    Case(
        "edit_after_goto",
        "goto_from_node",
        {},
        [("update", {"draft": "x"}, None), ("continue",)],
        interrupt_after=["a"],
    ),
    Case("stream_past_bound", "chatty", {}),
]

BUILDERS = {
    "chain_ab": lambda m: m.chain("a", "b"),
    "chain_abc": lambda m: m.chain("a", "b", "c"),
}


def load_cases(import_line: str, name: str) -> types.ModuleType:
    runtime = RUNTIME_IMPORT if import_line == LANGGRAPH_IMPORT else HITL_RUNTIME_IMPORT
    return load_source(CASES_SOURCE, {LANGGRAPH_IMPORT: import_line, RUNTIME_IMPORT: runtime}, name)


def builder_of(module: types.ModuleType, case: Case):
    return BUILDERS[case.builder](module) if case.builder in BUILDERS else getattr(module, case.builder)()


def plain(value):
    """Values as JSON, whichever side produced them (pydantic models, tuples)."""
    return json.loads(
        json.dumps(value, default=lambda o: o.model_dump() if hasattr(o, "model_dump") else str(o), sort_keys=True)
    )


def seen(status: str, next_nodes, questions) -> dict:
    return {
        "status": status,
        "next": sorted(next_nodes),
        "questions": sorted(json.dumps(plain(q), sort_keys=True) for q in questions),
    }


def answers_by_question(pending, answers: dict) -> dict:
    """{question value: answer} as {interrupt id: answer}, whichever side's ids."""
    out = {}
    for question, answer in answers.items():
        [match] = [i for i in pending if i.value == question]
        out[match.id] = answer
    return out


def run_langgraph_case(case: Case, values: list | None = None) -> tuple[list[dict], dict]:
    """What a person saw at each pause and the final state; `values` collects the state at each pause."""
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command

    module = load_cases(LANGGRAPH_IMPORT, "lg_cases")
    app = builder_of(module, case).compile(
        checkpointer=InMemorySaver(), interrupt_before=case.interrupt_before, interrupt_after=case.interrupt_after
    )
    config = {"configurable": {"thread_id": case.id}}

    def look() -> dict:
        snap = app.get_state(config)
        if values is not None:
            values.append(plain(dict(snap.values)))
        return seen("interrupted" if snap.next else "completed", snap.next, [i.value for i in snap.interrupts])

    def invoke(given) -> None:
        app.invoke(given, config, context=case.context)

    invoke(case.input)
    pauses = [look()]
    for action in case.actions:
        kind, *args = action
        if kind == "resume":
            invoke(Command(resume=args[0]))
        elif kind == "answer":
            invoke(Command(resume=answers_by_question(app.get_state(config).interrupts, args[0])))
        elif kind == "continue":
            invoke(None)
        elif kind == "goto":
            invoke(Command(goto=args[0]))
        elif kind == "command":
            invoke(Command(**args[0]))
        elif kind == "update":
            app.update_state(config, args[0], as_node=args[1])
        pauses.append(look())
    return pauses, plain(dict(app.get_state(config).values))


async def run_hitl_case(client: hitl.Client, case: Case, values: list | None = None) -> tuple[list[dict], dict]:
    run = await client.start(f"compat_{case.id}", case.input, context=case.context)

    def look(snap: hitl.StateSnapshot) -> dict:
        if values is not None:
            values.append(plain(snap.values))
        return seen(snap.status, snap.next, [i.value for i in snap.interrupts])

    state = await run.wait(timeout=60)
    pauses = [look(state)]
    for action in case.actions:
        kind, *args = action
        if kind == "resume":
            state = await run.resume(args[0])
        elif kind == "answer":
            state = await run.resume(answers_by_question(state.interrupts, args[0]))
        elif kind == "continue":
            state = await run.resume()
        elif kind == "goto":
            state = await run.resume(goto=args[0])
        elif kind == "command":
            state = await run.resume(hitl.Command(**args[0]))
        elif kind == "update":
            state = await run.update_state(args[0], as_node=args[1])
        if state.status == "running":
            state = await run.wait(timeout=60)
        pauses.append(look(state))
    return pauses, plain(state.values)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def compat_client(client: hitl.Client) -> AsyncIterator[hitl.Client]:
    """One worker serving every case's graph, compiled from the hitl side of the source."""
    module = load_cases(HITL_IMPORT, "hitl_cases")
    graphs = [
        builder_of(module, case).compile(
            name=f"compat_{case.id}", interrupt_before=case.interrupt_before, interrupt_after=case.interrupt_after
        )
        for case in [*CASES, *DIFFERENCES]
    ]
    other = hitl.Client(client.temporal, task_queue=COMPAT_QUEUE, graphs=graphs, identity="tester")
    async with other.worker():
        yield other


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.fails_today)] if c.fails_today else [])
        for c in CASES
    ],
)
async def test_same_pauses_and_final_state_as_langgraph(compat_client: hitl.Client, case: Case) -> None:
    expected_pauses, expected_final = run_langgraph_case(case)
    pauses, final = await run_hitl_case(compat_client, case)
    assert pauses == expected_pauses
    assert pauses[-1]["status"] == "completed", "each case drives its run to the end"
    assert final == expected_final


# ------------------------------------------------------------------ options


class _Typo(TypedDict, total=False):
    drafts: str


def _tiny(module: types.ModuleType):
    b = module.StateGraph(module.S)
    b.add_node("a", module.step("a"))
    b.add_edge(module.START, "a")
    return b


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda m: m.StateGraph(m.S, bogus=1),
            r"StateGraph\(\) got an unknown option 'bogus'; it accepts state_schema",
        ),
        (
            lambda m: _tiny(m).add_node("b", m.step("b"), retry=3),
            r"add_node\(\) got an unknown option 'retry'; did you mean 'retry_policy'\?",
        ),
        (
            lambda m: _tiny(m).add_node("b", m.step("b"), timout=3),
            r"unknown option 'timout'; did you mean 'timeout'\? it accepts retry_policy, timeout",
        ),
        (
            lambda m: _tiny(m).compile(interupt_before=["a"]),
            r"compile\(\) got an unknown option 'interupt_before'; did you mean 'interrupt_before'\?",
        ),
        (
            lambda m: _tiny(m).compile(gaurd=["alice"]),
            r"compile\(\) got an unknown option 'gaurd'; did you mean 'guard'\? it accepts .*guard",
        ),
        (
            lambda m: _tiny(m).compile(guard="alice"),
            r"guard must be a list of reviewer entries, e.g. guard=\['alice', 'role:finance'\]; got str",
        ),
        (
            lambda m: _tiny(m).compile(guard=[]),
            r"guard is empty \(nobody could cancel or fix a run\); it must be a list of reviewer entries",
        ),
        (
            lambda m: _tiny(m).compile(guard=["alice", ""]),
            r"guard has entries that are not names \[''\]",
        ),
        (
            lambda m: _tiny(m).add_node("b", m.step("b"), input_schema=_Typo),
            r"node 'b': input_schema _Typo names key\(s\) 'drafts' not in the state \(did you mean 'draft'\?\); "
            r"the state has log, draft, status",
        ),
        (
            lambda m: _tiny(m).add_node("b", m.step("b"), input_schema=dict),
            r"node 'b': input_schema <class 'dict'> is not a TypedDict or a pydantic BaseModel",
        ),
        (
            lambda m: _tiny(m).add_node("b", _tiny(m).compile(name="sub"), input_schema=m.Draft),
            r"node 'b': a subgraph runs on the parent's state; drop input_schema",
        ),
    ],
)
def test_a_mistyped_option_is_an_error_naming_the_accepted_ones(call, message: str) -> None:
    # LangGraph drops such typos in StateGraph() and add_node() (its **kwargs) and raises a bare
    # TypeError in compile(); here each is one line naming what is accepted.
    with pytest.raises(hitl.GraphValidationError, match=message):
        call(load_cases(HITL_IMPORT, "hitl_options"))


@pytest.mark.parametrize(
    "call, option",
    [
        (lambda m: m.StateGraph(m.S, output_schema=m.S), "output_schema"),
        (lambda m: _tiny(m).add_node("b", m.step("b"), defer=True), "defer"),
        (lambda m: _tiny(m).add_node("b", m.step("b"), metadata={"team": "x"}), "metadata"),
        (lambda m: _tiny(m).compile(checkpointer=object(), name="opts"), "checkpointer"),
        (lambda m: _tiny(m).compile(store=object(), name="opts"), "store"),
        (lambda m: _tiny(m).compile(debug=True, name="opts"), "debug"),
    ],
)
def test_a_langgraph_option_hitl_ignores_is_a_warning(call, option: str) -> None:
    with pytest.warns(UserWarning, match=f"hitl ignores LangGraph's option '{option}' \\("):
        call(load_cases(HITL_IMPORT, "hitl_options"))


def test_options_left_at_langgraph_defaults_pass_quietly() -> None:
    import warnings

    module = load_cases(HITL_IMPORT, "hitl_options")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = module.StateGraph(module.S, None, input_schema=None)
        b.add_node("a", module.step("a"), defer=False, metadata=None, timeout=2.5)
        b.add_edge(module.START, "a")
        graph = b.compile(None, debug=False, store=None, name="opts")
    assert graph.nodes["a"].spec.start_to_close_s == 2.5, "LangGraph's timeout in seconds"


async def test_start_by_name_knows_the_graphs_this_process_serves(client: hitl.Client) -> None:
    graph = _tiny(load_cases(HITL_IMPORT, "hitl_served")).compile(name="compat_served_only")
    plain_client = hitl.Client(client.temporal, task_queue="hitl-compat-served")  # no graphs of its own
    with pytest.raises(hitl.UnknownGraphError, match="unknown graph 'compat_served_only'"):
        await plain_client.start("compat_served_only", {})
    async with plain_client.worker(graphs=[graph]):
        run = await plain_client.start("compat_served_only", {})
        assert (await run.result())["log"] == ["a"]
        # a client with graphs of its own knows them first, then what this process serves
        assert client.graph("compat_served_only") is graph
    with pytest.raises(hitl.UnknownGraphError):
        plain_client.graph("compat_served_only")


async def test_an_edit_while_asked_asks_again_where_langgraph_forgets_the_question(compat_client: hitl.Client) -> None:
    """LangGraph drops the pending question on update_state and the next answer goes to a
    question nobody saw about the edited draft; hitl asks again, so the answer is about what runs."""
    case = DIFFERENCES[0]
    lg_pauses, lg_final = run_langgraph_case(case)
    pauses, final = await run_hitl_case(compat_client, case)
    asked, edited = (
        seen("interrupted", ["review"], [{"draft": "d1"}]),
        seen("interrupted", ["review"], [{"draft": "d2"}]),
    )
    assert lg_pauses[:2] == [asked, seen("interrupted", ["review"], [])]
    assert pauses[:2] == [asked, edited]
    assert pauses[2:] == lg_pauses[2:] and final == lg_final == {"draft": "d2", "log": ["d2:ok"]}


async def test_a_waiting_step_applies_its_writes_together(compat_client: hitl.Client) -> None:
    """LangGraph's get_state() shows the writes of siblings that finished while the step waits;
    hitl applies a step's writes when the step completes, so an edit or a fork made meanwhile
    starts from a state no node of the step has half-changed. Same pauses, same final state."""
    case = DIFFERENCES[1]
    lg_values: list = []
    hitl_values: list = []
    lg_pauses, lg_final = run_langgraph_case(case, lg_values)
    pauses, final = await run_hitl_case(compat_client, case, hitl_values)
    assert pauses == lg_pauses and final == lg_final
    assert lg_values[:2] == [{"log": ["quiet"]}, {"log": ["left=L", "quiet"]}]
    assert [v.get("log", []) for v in hitl_values[:2]] == [[], []]


async def test_an_edit_after_a_goto_keeps_the_goto_where_langgraph_drops_it(compat_client: hitl.Client) -> None:
    """Paused by interrupt_after on a node that returned Command(goto="c"), an update_state without as_node:
    LangGraph takes the edit as a new write of that node (as_node inferred), which carries no goto, so the
    run ends without c; hitl applies the edit and keeps where the node said to go, so c runs next."""
    case = DIFFERENCES[2]
    lg_pauses, lg_final = run_langgraph_case(case)
    pauses, final = await run_hitl_case(compat_client, case)
    after_a = seen("interrupted", ["c"], [])
    assert lg_pauses[0] == pauses[0] == after_a
    assert lg_pauses[1:] == [seen("completed", [], [])] * 2
    assert lg_final == {"log": ["a"], "draft": "x"}
    assert pauses[1:] == [after_a, seen("completed", [], [])]
    assert final == {"log": ["a", "c"], "draft": "x"}


# ------------------------------------------------------------------ streaming
#
# The same cases streamed: LangGraph's `astream(stream_mode=["updates", "values"])` for the input
# and then for each decision, against one `run.astream([...], since=0)` over the whole hitl run.
# hitl's stream is one stream across pauses, so LangGraph's repeat of the current values at the
# start of each resumed `astream` has no counterpart (README, "Watching a run"); interrupts are
# compared by value (each side makes its own ids).

STREAM_CASES = [
    "approval_approve",
    "approval_reject",
    "edit_state",
    "validate_input",
    "tool_review_edit",
    "breakpoint_before",
    "breakpoint_after",
    "breakpoint_before_star",
    "breakpoint_after_star",
    "loop",
    "loop_stopped",
    "join",
    "reducers",
    "subgraph",
    "send_map",
    "send_empty",
    "send_breakpoint_before",
]
MODES = ["updates", "values"]


def chunk_of(mode: str, chunk) -> tuple:
    if isinstance(chunk, dict) and "__interrupt__" in chunk:
        chunk = {**chunk, "__interrupt__": [plain(i.value) for i in chunk["__interrupt__"]]}
    return mode, plain(chunk)


def lg_decision(kind: str, args: list):
    from langgraph.types import Command

    return {
        "resume": lambda: Command(resume=args[0]),
        "continue": lambda: None,
        "goto": lambda: Command(goto=args[0]),
    }.get(kind, lambda: Command(**args[0]))()


def hitl_decision(kind: str, args: list):
    return {
        "resume": lambda: args[0],
        "continue": lambda: hitl.client.client.NO_VALUE,
        "goto": lambda: hitl.Command(goto=args[0]),
    }.get(kind, lambda: hitl.Command(**args[0]))()


async def stream_langgraph_case(case: Case, modes: list[str] = MODES) -> list[tuple]:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command

    module = load_cases(LANGGRAPH_IMPORT, "lg_stream_cases")
    app = builder_of(module, case).compile(
        checkpointer=InMemorySaver(), interrupt_before=case.interrupt_before, interrupt_after=case.interrupt_after
    )
    config = {"configurable": {"thread_id": case.id}}
    out = [chunk_of(m, c) async for m, c in app.astream(case.input, config, stream_mode=modes, context=case.context)]
    for kind, *args in case.actions:
        if kind == "update":
            app.update_state(config, args[0], as_node=args[1])
            continue
        if kind == "answer":
            given = Command(resume=answers_by_question(app.get_state(config).interrupts, args[0]))
        else:
            given = lg_decision(kind, args)
        resumed = [chunk_of(m, c) async for m, c in app.astream(given, config, stream_mode=modes, context=case.context)]
        assert resumed[0][0] == "values", "a resumed LangGraph stream starts with the current values"
        out += resumed[1:]
    return out


async def stream_hitl_case(client: hitl.Client, case: Case, modes: list[str] = MODES) -> list[tuple]:
    run = await client.start(f"compat_{case.id}", case.input, context=case.context)
    actions = list(case.actions)
    out = []
    async for mode, chunk in run.astream(modes, since=0):
        out.append(chunk_of(mode, chunk))
        if mode != "updates" or "__interrupt__" not in chunk:
            continue
        while actions:
            kind, *args = actions.pop(0)
            if kind == "update":
                await run.update_state(args[0], as_node=args[1])
                continue  # an edit leaves the run waiting: the next decision goes at once
            if kind == "answer":
                value = hitl.Command(resume=answers_by_question(chunk["__interrupt__"], args[0]))
            else:
                value = hitl_decision(kind, args)
            await run.resume(value, wait=False)
            break
    return out


@pytest.mark.parametrize("case", [c for c in CASES if c.id in STREAM_CASES], ids=lambda c: c.id)
async def test_same_stream_chunks_as_langgraph(compat_client: hitl.Client, case: Case) -> None:
    expected = await stream_langgraph_case(case)
    got = await asyncio.wait_for(stream_hitl_case(compat_client, case), 60)
    if case.interrupt_after == "*":
        # A breakpoint after the last node: LangGraph streams an empty interrupt although its thread is
        # done (next == []); hitl's run completes without pausing (README: "Breakpoints"), so no pause to show.
        assert expected[-1] == ("updates", {"__interrupt__": []})
        expected = expected[:-1]
    assert got == expected


# What nodes write with their stream writer, streamed with the other modes: the same chunks in the same
# order as LangGraph's (a node that asks writes again when it runs again after the answer, on both sides).
CUSTOM_STREAM_CASES = ["stream_writer", "context", "approval_approve", "subgraph", "send_map"]


@pytest.mark.parametrize("case", [c for c in CASES if c.id in CUSTOM_STREAM_CASES], ids=lambda c: c.id)
async def test_same_custom_stream_chunks_as_langgraph(compat_client: hitl.Client, case: Case) -> None:
    modes = [*MODES, "custom"]
    expected = await stream_langgraph_case(case, modes)
    got = await asyncio.wait_for(stream_hitl_case(compat_client, case, modes), 60)
    assert got == expected
    if case.id == "stream_writer":
        assert [c for m, c in got if m == "custom"] == [
            {"progress": "started"},
            "half way",
            {"progress": "started"},
            "half way",
            {"progress": "answered yes"},
            {"progress": "finishing"},
        ]


async def test_a_finished_run_streams_its_custom_chunks_again_in_the_same_order(compat_client: hitl.Client) -> None:
    """Read afterwards (since=0), the pause is rebuilt from its answer: what the asking node wrote before it
    asked comes before the pause, what it wrote when it ran again after the answer comes after."""
    [case] = [c for c in CASES if c.id == "stream_writer"]
    modes = [*MODES, "custom"]
    expected = await stream_langgraph_case(case, modes)
    run = await compat_client.start(f"compat_{case.id}", case.input)
    await run.wait(timeout=60)
    await run.resume("yes")
    assert (await run.wait(timeout=60)).status == "completed"
    got = [chunk_of(m, c) async for m, c in run.astream(modes, since=0)]
    assert got == expected


async def test_a_node_writing_past_the_bound_keeps_the_first_events_and_one_counted_marker(
    compat_client: hitl.Client,
) -> None:
    """LangGraph streams every event a node writes; hitl keeps a node run's events in its result (history),
    so it keeps the first MAX_CUSTOM_EVENTS and shows one marker counting the rest; the node does not fail."""
    from hitl.protocol.limits import MAX_CUSTOM_EVENTS

    case = DIFFERENCES[3]
    modes = [*MODES, "custom"]
    expected = await stream_langgraph_case(case, modes)
    got = await asyncio.wait_for(stream_hitl_case(compat_client, case, modes), 60)
    lg_custom = [c for m, c in expected if m == "custom"]
    custom = [c for m, c in got if m == "custom"]
    assert lg_custom == [{"i": i} for i in range(150)]
    assert custom == [*lg_custom[:MAX_CUSTOM_EVENTS], {"__hitl__": "custom_dropped", "node": "talk", "dropped": 50}]
    assert [x for x in got if x[0] != "custom"] == [x for x in expected if x[0] != "custom"]
