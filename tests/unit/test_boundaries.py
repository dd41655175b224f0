"""Import boundaries: the layers of hitl, and the workflow side's sandbox-safe subset.

hitl is built in layers, each importing only its own and lower ones (LAYERS); the workflow
(`hitl.workflows`, the top-level workflows/) runs in Temporal's sandbox and must replay
deterministically, so it may import only the protocol layer (pure data and rules), and
nothing but the worker may import it. Checked twice: statically (every import statement,
also inside functions and under TYPE_CHECKING) and for real (a fresh interpreter's `sys.modules`).
"""

from __future__ import annotations

import ast
import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("protocol", ("hitl.types", "hitl.protocol")),
    ("workflow", ("hitl.workflows",)),
    (
        "graph",
        (
            "hitl.graph",
            "hitl.functional",
            "hitl.state",
            "hitl._interrupt",
            "hitl.runtime",
            "hitl.messages",
            "hitl.human_interrupt",
            "hitl.row_card",
            "hitl.catalog",
            "hitl._text",
            "hitl._whole",
            "hitl._temporal_errors",
        ),
    ),
    ("payloads", ("hitl.payloads",)),
    ("client", ("hitl.client",)),
    ("agents", ("hitl.prebuilt",)),
    ("worker", ("hitl.activities", "hitl.worker", "hitl.worker_metrics", "hitl.health", "hitl.server")),
    ("surfaces", ("hitl.stats", "hitl.web", "hitl.cli", "hitl.testing")),
]
"""hitl's layers, lowest first: a module imports from its own layer and the ones before it. The workflow
is a branch of its own: only it and the worker layer import it, and it imports only the protocol."""

UPWARD_EXCEPTIONS = {
    ("hitl.client.client", "hitl.worker"): "Client.worker() runs a worker in this process; imported when called",
}
"""Imports that go up a layer on purpose, each with why."""

CORE = sorted(
    f"hitl.workflows.core.{p.stem}" for p in (ROOT / "workflows" / "core").glob("*.py") if p.stem != "__init__"
)
"""The decision core: the run's rules, which import nothing from Temporal."""


def _modules(folder: str) -> list[str]:
    """Every module under a top-level folder, by dotted name as installed (workflows/ is hitl.workflows)."""
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if folder == "hitl" and parts[1] in ("workflows", "activities"):
            continue  # links to the top-level folders, listed by their own names
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append(name if folder == "hitl" else f"hitl.{name}")
    return found


WORKFLOW_SIDE = _modules("workflows")
ALLOWED = sorted(
    {
        "hitl.types",
        *(m for m in _modules("hitl") if m.startswith("hitl.protocol.") and not m.startswith("hitl.workflows")),
    }
)
"""The hitl modules the workflow side may import: the protocol layer (pure: plain data and rules)."""

NEVER_ON_THE_WORKFLOW_SIDE = ("activities", "hitl.activities", "examples", "bench", "tests", "pydantic", "fastapi")
NEVER_ON_THE_WORKFLOW_SIDE += ("hitl.web", "hitl.client", "hitl.payloads", "hitl.prebuilt", "hitl.cli")


def _file(module: str) -> Path:
    if module.startswith(("hitl.workflows", "hitl.activities")):
        module = module.removeprefix("hitl.")  # the real folders (hitl/workflows links to them)
    path = ROOT.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


@functools.cache
def _imports(module: str) -> frozenset[str]:
    """Every module an import statement in `module`'s source names (relative ones resolved); parsed once a
    module, as several checks read each."""
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
    return frozenset(found)


def _first_party(names: frozenset[str]) -> set[str]:
    return {n for n in names if n.split(".")[0] in ("hitl", "workflows", "activities", "examples", "bench", "tests")}


def _layer(module: str) -> int | None:
    for i, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(f"{p}.") for p in prefixes):
            return i
    return None


def test_every_module_has_a_layer() -> None:
    unplaced = [
        m for m in _modules("hitl") + WORKFLOW_SIDE + _modules("activities") if m != "hitl" and _layer(m) is None
    ]
    assert not unplaced, f"add these to a layer in LAYERS: {unplaced}"


@pytest.mark.parametrize("module", [m for m in _modules("hitl") + _modules("activities") if m != "hitl"])
def test_no_module_imports_a_layer_above_its_own(module: str) -> None:
    mine = _layer(module)
    assert mine is not None
    workflow = next(i for i, (name, _) in enumerate(LAYERS) if name == "workflow")
    may_import_workflow = LAYERS[mine][0] in ("workflow", "worker")
    wrong = []
    for name in sorted(_imports(module)):
        theirs = _layer(name)
        if (
            theirs is None
            or (module, name.rsplit(".", 1)[0]) in UPWARD_EXCEPTIONS
            or (module, name) in UPWARD_EXCEPTIONS
        ):
            continue
        if theirs > mine or (theirs == workflow and not may_import_workflow):
            wrong.append(f"{name} ({LAYERS[theirs][0]})")
    assert not wrong, f"{module} ({LAYERS[mine][0]}) imports {wrong}: a layer imports only its own and the ones below"


@pytest.mark.parametrize("module", _modules("hitl") + WORKFLOW_SIDE + _modules("activities"))
def test_nothing_imports_the_generic_top_level_names(module: str) -> None:
    """workflows/ and activities/ install as hitl.workflows and hitl.activities: importing them by their
    folder names would load a second copy of every module (and fails in an installed wheel)."""
    generic = sorted(n for n in _imports(module) if n.split(".")[0] in ("workflows", "activities"))
    assert not generic, f"{module} imports {generic}; import them as hitl.workflows / hitl.activities"


def _import_graph() -> dict[str, set[str]]:
    """Module -> the hitl modules it imports (anywhere in it: also inside functions and under TYPE_CHECKING).
    `from pkg import sub` names the submodule, not the package."""
    modules = [m for m in _modules("hitl") + WORKFLOW_SIDE + _modules("activities")]
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for module in modules:
        named = _imports(module)
        names = {n for n in named if not (n in known and any(o.startswith(f"{n}.") and o in known for o in named))}
        edges = set()
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                edges.add(name)
        graph[module] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            nxt = next(edges, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_import_cycles() -> None:
    """Modules that import each other (even lazily, or for types only) cannot be read or moved one at a
    time; where one needs a little of another above it, it names that as a Protocol (client/batch.py)."""
    assert not _cycles(_import_graph())


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", WORKFLOW_SIDE)
def test_workflow_code_imports_only_the_pure_hitl_modules(module: str) -> None:
    hitl_imports = {n for n in _imports(module) if n.split(".")[0] == "hitl" and not n.startswith("hitl.workflows")}
    # `from hitl.protocol.limits import clip` names hitl.protocol.limits and hitl.protocol.limits.clip: keep modules.
    modules = {n for n in hitl_imports if n in ALLOWED or n.rsplit(".", 1)[0] not in ALLOWED}
    modules -= {"hitl", "hitl.protocol"}  # `from hitl.protocol import topology` names the package too
    assert modules <= set(ALLOWED), f"{module} imports {sorted(modules - set(ALLOWED))}; allowed: {ALLOWED}"
    others = {n for n in _first_party(_imports(module)) if n.split(".")[0] != "hitl"}
    assert not others, f"{module} imports {sorted(others)}"


@pytest.mark.parametrize("module", CORE)
def test_the_decision_core_imports_nothing_from_temporal(module: str) -> None:
    """The core's rules run in unit tests without a server: no temporalio, and of the workflow only the core
    itself (checks.py raises Temporal's errors; graph_workflow.py is Temporal)."""
    names = _imports(module)
    temporal = sorted(n for n in names if n.split(".")[0] == "temporalio")
    assert not temporal, f"{module} imports {temporal}"
    outside = sorted(
        n
        for n in names
        if n.startswith("hitl.workflows")
        and n not in ("hitl.workflows", "hitl.workflows.core")
        and not n.startswith("hitl.workflows.core.")
    )
    assert not outside, f"{module} imports {outside}; the core may use only hitl.workflows.core and the protocol"


@pytest.mark.parametrize("module", ALLOWED)
def test_the_pure_modules_import_nothing_but_each_other(module: str) -> None:
    names = _first_party(_imports(module)) - {"hitl", "hitl.protocol"}
    modules = {n for n in names if n in ALLOWED or n.rsplit(".", 1)[0] not in ALLOWED}
    assert modules <= set(ALLOWED), f"{module} imports {sorted(modules - set(ALLOWED))}; allowed: {ALLOWED}"


def _loaded_code(module: str) -> str:
    """Python that prints what importing `module` loads, as a JSON list."""
    return f"import importlib, json, sys; importlib.import_module({module!r}); print(json.dumps(sorted(sys.modules)))"


def _interrupt_code(first: str) -> str:
    """Python that imports `first`, then `interrupt` from hitl, and prints whether hitl.interrupt is that function."""
    return f"{first}\nfrom hitl import interrupt\nimport hitl\nprint(callable(interrupt), hitl.interrupt is interrupt)"


def _fresh_code(item: pytest.Item) -> str | None:
    """The code a test of this module runs in a fresh interpreter, if it runs one."""
    params = getattr(item, "callspec", None)
    name = getattr(item, "originalname", "")
    if params is None:
        return None
    if name == "test_importing_the_workflow_side_loads_nothing_forbidden":
        return _loaded_code(params.params["module"])
    if name == "test_from_hitl_import_interrupt_is_the_function_whatever_came_first":
        return _interrupt_code(params.params["first"])
    return None


@pytest.fixture(scope="module", autouse=True)
def fresh(request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
    """What a fresh interpreter (no conftest, no other test in the way) prints running some code.

    The interpreters of every selected test of this module start with the module's first test, two at a time
    (one a core), so their imports run beside each other and beside this module's static checks rather than
    one after another."""
    pool = ThreadPoolExecutor(max_workers=2)

    # The environment as of now, handed to each child: pytest sets PYTEST_CURRENT_TEST on every test, and a
    # child started from a thread (vfork) while this process rewrites its environment can exec with a freed
    # one (OSError 14, Bad address).
    env = dict(os.environ)

    def run(code: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    started: dict[str, Future[str]] = {}
    # Under pytest-xdist's test-by-test split (-n N without --dist loadfile) this process runs only some of them.
    whole_file = request.config.getoption("dist", "no") in ("no", "loadfile", "loadscope")
    for item in request.session.items if whole_file else ():
        code = _fresh_code(item) if getattr(item, "module", None) is request.module else None
        if code is not None and code not in started:
            started[code] = pool.submit(run, code)
    yield lambda code: (started.get(code) or pool.submit(run, code)).result()
    pool.shutdown(wait=True, cancel_futures=True)


def _loaded_by(fresh: Callable[[str], str], module: str) -> list[str]:
    """What importing `module` in a fresh interpreter loads."""
    loaded: list[str] = json.loads(fresh(_loaded_code(module)))
    return loaded


@pytest.mark.parametrize("module", ["hitl.workflows", *ALLOWED])
def test_importing_the_workflow_side_loads_nothing_forbidden(fresh: Callable[[str], str], module: str) -> None:
    loaded = _loaded_by(fresh, module)
    hitl_modules = {m for m in loaded if m.split(".")[0] == "hitl" and not m.startswith("hitl.workflows")}
    hitl_modules -= {"hitl", "hitl.protocol"}
    assert hitl_modules <= set(ALLOWED), f"importing {module} loads {sorted(hitl_modules - set(ALLOWED))}"
    forbidden = sorted(m for m in loaded if m.startswith(NEVER_ON_THE_WORKFLOW_SIDE) or m.split(".")[0] == "workflows")
    assert not forbidden, f"importing {module} loads {forbidden[:10]}"
    if module != "hitl.workflows":
        assert not [m for m in loaded if m.startswith("hitl.workflows")], f"{module} reaches back into the workflow"


@pytest.mark.parametrize(
    "first",
    [
        "import hitl.worker",
        "from hitl import DeadlineExceeded",
        "import hitl._interrupt",
        "import hitl.activities.nodes",
    ],
)
def test_from_hitl_import_interrupt_is_the_function_whatever_came_first(
    fresh: Callable[[str], str], first: str
) -> None:
    # The function lives in the private module hitl._interrupt: importing that module first must not
    # put a module where `hitl.interrupt` is expected.
    assert fresh(_interrupt_code(first)).split() == ["True", "True"]


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
