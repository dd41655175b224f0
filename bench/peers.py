"""What users would pick instead: LangGraph in process with its SQLite checkpointer,
and LangGraph under Temporal's own plugin (`temporalio-langgraph`). Both run the
approval scenario with the same node bodies as bench/graphs.py."""

from __future__ import annotations

import sqlite3
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Command, interrupt

    from bench.graphs import Approval, publish, write_draft
    from bench.plain import AwaitsSignal


def _review(state: Approval) -> dict:
    return {"status": "approved" if interrupt({"draft": state["draft"]}) == "approve" else "rejected"}


def approval_builder(metadata: dict[str, Any] | None = None) -> StateGraph:
    b = StateGraph(Approval)
    b.add_node("write_draft", write_draft, metadata=metadata)
    b.add_node("review", _review, metadata=metadata)
    b.add_node("publish", publish, metadata=metadata)
    b.add_edge(START, "write_draft")
    b.add_edge("write_draft", "review")
    b.add_edge("review", "publish")
    b.add_edge("publish", END)
    return b


def langgraph_sqlite(n: int) -> float:
    """Seconds for n approval runs in process, each checkpointed to SQLite, paused and resumed."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "checkpoints.db", check_same_thread=False)
        app = approval_builder().compile(checkpointer=SqliteSaver(conn))
        start = time.perf_counter()
        for i in range(n):
            config = {"configurable": {"thread_id": f"t{i}"}}
            paused = app.invoke({"topic": "tea"}, config)
            assert "__interrupt__" in paused
        for i in range(n):
            done = app.invoke(Command(resume="approve"), {"configurable": {"thread_id": f"t{i}"}})
            assert done["status"] == "published"
        elapsed = time.perf_counter() - start
        conn.close()
    return elapsed


PLUGIN_GRAPH = "bench-approval"


def plugin() -> Any:
    from temporalio.langgraph import LangGraphPlugin

    metadata = {"execute_in": "activity", "start_to_close_timeout": timedelta(seconds=30)}
    return LangGraphPlugin(graphs={PLUGIN_GRAPH: approval_builder(metadata)})


@workflow.defn(name="bench.LangGraphPluginApproval")
class PluginApproval(AwaitsSignal):
    """LangGraph's own run loop inside a workflow; a signal carries the decision."""

    @workflow.run
    async def run(self, topic: str) -> dict:
        from temporalio.langgraph import graph

        app = graph(PLUGIN_GRAPH).compile(checkpointer=InMemorySaver())
        config = {"configurable": {"thread_id": workflow.info().workflow_id}}
        await app.ainvoke({"topic": topic}, config)
        decision = await self.decided()
        return dict(await app.ainvoke(Command(resume=decision), config))
