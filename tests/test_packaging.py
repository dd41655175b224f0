"""What a wheel installs: everything under `hitl` (no generic top-level names such as `workflows`),
every module of the checkout, and the examples served by default (as `hitl.examples`)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hitl import catalog

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"hitl": "hitl", "workflows": "hitl/workflows", "activities": "hitl/activities", "examples": "hitl/examples"}
"""Each source folder, and where its modules land in the wheel."""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("hitl-*.whl")
    with zipfile.ZipFile(built) as z:
        return z.namelist()


def test_the_wheel_installs_one_top_level_name(wheel: list[str]) -> None:
    top = {name.split("/")[0] for name in wheel if ".dist-info/" not in name}
    assert top == {"hitl"}, f"the wheel puts {sorted(top - {'hitl'})} at the top of site-packages"


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_every_module_of_the_checkout_is_in_the_wheel(wheel: list[str], folder: str) -> None:
    """A package missing from pyproject's list would work from the checkout and fail once installed."""
    source = ROOT / folder
    modules = {
        f"{FOLDERS[folder]}/{p.relative_to(source).as_posix()}"
        for p in source.rglob("*.py")
        if not (folder == "hitl" and p.relative_to(source).parts[0] in ("workflows", "activities", "examples"))
    }
    missing = sorted(modules - set(wheel))
    assert not missing, f"not in the wheel (add their packages to [tool.setuptools] packages): {missing}"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is new in 3.11")
def test_pyproject_lists_every_package_of_the_checkout() -> None:
    """setuptools installs the packages listed, and a stale egg-info can hide a missing one from a local
    wheel build, so the list itself is compared with the checkout's packages."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for folder, installed in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            if folder == "hitl" and parts and parts[0] in ("workflows", "activities", "examples"):
                continue
            found.add(".".join([*installed.split("/"), *parts]))
    assert listed == found, f"missing: {sorted(found - listed)}; listed but absent: {sorted(listed - found)}"


def test_the_workflow_and_activities_install_under_hitl(wheel: list[str]) -> None:
    assert "hitl/workflows/graph_workflow.py" in wheel and "hitl/workflows/core/answers.py" in wheel
    assert "hitl/activities/nodes.py" in wheel
    assert not [n for n in wheel if n.startswith(("workflows/", "activities/", "examples/", "bench/"))]


def test_the_default_graphs_are_the_bundled_examples() -> None:
    assert catalog.DEFAULT_REFS == ["hitl.examples"]
    names = {g.name for g in catalog.load(catalog.DEFAULT_REFS)}
    assert names == {"approval", "edit_state", "tool_review", "validate_input", "email_review"}
