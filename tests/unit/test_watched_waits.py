"""Every condition the workflow waits on goes through `Execution.until`, which asks `watch` first: a wait of
its own, asked before `watch` in the activation a query ran ahead, would wake its waiter, and that waiter
would run (and give commands) in the query's activation (docs/durability.md)."""

from __future__ import annotations

import ast
from pathlib import Path

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def _waits(tree: ast.AST) -> list[tuple[str, int]]:
    """(enclosing function, line) of every `wait_condition(...)` call."""
    found: list[tuple[str, int]] = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "wait_condition":
                    found.append((fn.name, node.lineno))
    return found


def test_the_workflow_waits_on_conditions_only_through_until() -> None:
    files = sorted(WORKFLOWS.rglob("*.py"))
    waits = {(path.name, fn) for path in files for fn, _ in _waits(ast.parse(path.read_text()))}
    assert waits == {("execution.py", "until")}, waits


def test_a_wait_of_its_own_is_found() -> None:
    tree = ast.parse("async def f():\n    await workflow.wait_condition(lambda: True)\n")
    assert _waits(tree) == [("f", 2)]
