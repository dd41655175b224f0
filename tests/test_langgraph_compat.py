"""A graph written for LangGraph runs here with only the import line changed,
and ends in the same state as under LangGraph itself (installed from PyPI)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

import hitl

langgraph = pytest.importorskip("langgraph", reason="the test extra installs langgraph")

SOURCE = (Path(__file__).parent / "compat" / "app.py.txt").read_text()
LANGGRAPH_IMPORT = "from langgraph.graph import StateGraph, START, END; from langgraph.types import interrupt, Command"
HITL_IMPORT = "from hitl import StateGraph, START, END, interrupt, Command"


def load(import_line: str, name: str) -> types.ModuleType:
    assert LANGGRAPH_IMPORT in SOURCE
    module = types.ModuleType(name)
    sys.modules[name] = module  # typing.get_type_hints resolves the state's annotations here
    exec(compile(SOURCE.replace(LANGGRAPH_IMPORT, import_line), name, "exec"), module.__dict__)
    return module


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
