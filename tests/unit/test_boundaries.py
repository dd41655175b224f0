"""Import boundaries of the workflow side.

The workflow (`workflows/`) runs in Temporal's sandbox and must replay
deterministically: it may import only hitl's protocol, types and pure rules,
and those may not reach back into the workflow, the activities, the client, or
anything that loads user code or pydantic models. Checked twice: statically
(every import statement) and for real (a fresh interpreter's `sys.modules`).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CORE = sorted(f"workflows.core.{p.stem}" for p in (ROOT / "workflows" / "core").glob("*.py") if p.stem != "__init__")
"""The decision core: the run's rules, which import nothing from Temporal."""
WORKFLOW_SIDE = [
    "workflows.graph_workflow",
    "workflows.topology",
    "workflows.checks",
    "workflows.attributes",
    "workflows.calls",
    "workflows.failures",
    "workflows.execution",
    "workflows.turns",
    "workflows.decisions",
    *CORE,
]
ALLOWED = [
    "hitl._protocol",
    "hitl.types",
    "hitl._reducers",
    "hitl._limits",
    "hitl._policy",
    "hitl._audit",
    "hitl._finite",
    "hitl._schema",
    "hitl._patches",
    "hitl._row_memo",
]
"""The hitl modules the workflow side may import (pure: plain data and rules)."""

NEVER_ON_THE_WORKFLOW_SIDE = ("activities", "examples", "bench", "tests", "pydantic", "fastapi", "hitl.web")


def _file(module: str) -> Path:
    path = ROOT.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _modules(folder: str) -> list[str]:
    """Every module under a top-level folder, by dotted name (a package by its own name)."""
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def _imports(module: str) -> set[str]:
    """Every module an import statement in `module`'s source names (relative ones resolved)."""
    found: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(_file(module).read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from workflows import checks`
    return found


def _first_party(names: set[str]) -> set[str]:
    return {n for n in names if n.split(".")[0] in ("hitl", "workflows", "activities", "examples", "bench", "tests")}


@pytest.mark.parametrize("module", WORKFLOW_SIDE)
def test_workflow_code_imports_only_the_pure_hitl_modules(module: str) -> None:
    hitl_imports = {n for n in _first_party(_imports(module)) if n.split(".")[0] == "hitl"}
    # `from hitl._limits import clip` names hitl._limits and hitl._limits.clip: keep the modules.
    modules = {n for n in hitl_imports if n in ALLOWED or n.rsplit(".", 1)[0] not in ALLOWED}
    assert modules <= set(ALLOWED), f"{module} imports {sorted(modules - set(ALLOWED))}; allowed: {ALLOWED}"
    others = {n for n in _first_party(_imports(module)) if n.split(".")[0] not in ("hitl", "workflows")}
    assert not others, f"{module} imports {sorted(others)}"


@pytest.mark.parametrize("module", CORE)
def test_the_decision_core_imports_nothing_from_temporal(module: str) -> None:
    """The core's rules run in unit tests without a server: no temporalio, and of workflows/ only the core
    itself and the pure topology rules (checks.py raises Temporal's errors; graph_workflow.py is Temporal)."""
    names = _imports(module)
    temporal = sorted(n for n in names if n.split(".")[0] == "temporalio")
    assert not temporal, f"{module} imports {temporal}"
    workflow_side = {n for n in names if n.split(".")[0] == "workflows"}
    allowed = {"workflows", "workflows.topology", "workflows.core"}
    outside = sorted(n for n in workflow_side if n not in allowed and not n.startswith("workflows.core."))
    assert not outside, f"{module} imports {outside}; the core may use only workflows.core and workflows.topology"


@pytest.mark.parametrize("module", ALLOWED)
def test_the_pure_modules_import_nothing_but_each_other(module: str) -> None:
    names = _first_party(_imports(module))
    modules = {n for n in names if n in ALLOWED or n.rsplit(".", 1)[0] not in ALLOWED}
    assert modules <= set(ALLOWED), f"{module} imports {sorted(modules - set(ALLOWED))}; allowed: {ALLOWED}"


def _loaded_by(module: str) -> list[str]:
    """What importing `module` in a fresh interpreter loads (no conftest, no other test in the way)."""
    code = f"import importlib, json, sys; importlib.import_module({module!r}); print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    loaded: list[str] = json.loads(out)
    return loaded


@pytest.mark.parametrize("module", ["workflows", *ALLOWED])
def test_importing_the_workflow_side_loads_nothing_forbidden(module: str) -> None:
    loaded = _loaded_by(module)
    hitl_modules = {m for m in loaded if m.split(".")[0] == "hitl"} - {"hitl"}
    assert hitl_modules <= set(ALLOWED), f"importing {module} loads {sorted(hitl_modules - set(ALLOWED))}"
    forbidden = sorted(m for m in loaded if m.startswith(NEVER_ON_THE_WORKFLOW_SIDE))
    assert not forbidden, f"importing {module} loads {forbidden[:10]}"
    if module.startswith("hitl."):
        assert not [m for m in loaded if m.split(".")[0] == "workflows"], f"{module} reaches back into workflows"


@pytest.mark.parametrize(
    "first",
    ["import hitl.worker", "from hitl import DeadlineExceeded", "import hitl.interrupt", "import activities.nodes"],
)
def test_from_hitl_import_interrupt_is_the_function_whatever_came_first(first: str) -> None:
    # `hitl.interrupt` is also a submodule: importing it first must not leave the module in its place.
    code = f"{first}\nfrom hitl import interrupt\nimport hitl\nprint(callable(interrupt), hitl.interrupt is interrupt)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True"]


# ------------------------------------------------------------------ the CLI

CLI_BELOW_COMMANDS = ["hitl.cli.spec", "hitl.cli.options", "hitl.cli.values", "hitl.cli.session", "hitl.cli.render"]
"""What the command modules build on: typed options, option values, the client, the renderer."""
CLI_COMMAND_GROUPS = ["hitl.cli.runs", "hitl.cli.answer", "hitl.cli.decide", "hitl.cli.ops", "hitl.cli.servers"]
CLI_ABOVE_COMMANDS = ("hitl.cli.commands", "hitl.cli.parser", "hitl.cli.entry")


def _in_cli(module: str) -> bool:
    return module == "hitl.cli" or module.startswith("hitl.cli.")


@pytest.mark.parametrize(
    "module", [m for top in ("hitl", "workflows", "activities") for m in _modules(top) if not _in_cli(m)]
)
def test_nothing_below_the_cli_imports_it(module: str) -> None:
    """The CLI may import the client and the rest of hitl; nothing in hitl may import the CLI."""
    cli = sorted(n for n in _imports(module) if _in_cli(n))
    assert not cli, f"{module} imports {cli}"


@pytest.mark.parametrize("module", CLI_BELOW_COMMANDS + CLI_COMMAND_GROUPS)
def test_the_cli_s_lower_layers_do_not_reach_up(module: str) -> None:
    """Commands and what they build on never import the table, the parser or the entry point; the
    modules below the commands import no command group either."""
    above = CLI_ABOVE_COMMANDS + (tuple(CLI_COMMAND_GROUPS) if module in CLI_BELOW_COMMANDS else ())
    reached = sorted(n for n in _imports(module) if any(n == m or n.startswith(f"{m}.") for m in above))
    assert not reached, f"{module} imports {reached}"


@pytest.mark.parametrize("module", [m for m in _modules("hitl") if _in_cli(m) and m != "hitl.cli.parser"])
def test_only_the_cli_s_parser_sees_an_argparse_namespace(module: str) -> None:
    """Below the parser only typed options travel: no other CLI module names argparse's Namespace."""
    tree = ast.parse(_file(module).read_text())
    named = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute | ast.Name) and "Namespace" in ast.unparse(n)]
    assert not named, f"{module} handles an argparse namespace: {ast.unparse(named[0])}"
