"""What a wheel installs: no generic top-level names besides hitl's own, and the examples
still served by default (as `hitl.examples`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hitl import catalog

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is new in 3.11")
def test_examples_and_bench_do_not_land_at_the_top_of_site_packages() -> None:
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    top = {p.split(".")[0] for p in setuptools["packages"]}
    assert "examples" not in top and "bench" not in top, top
    assert setuptools["package-dir"]["hitl.examples"] == "examples"


def test_the_default_graphs_are_the_bundled_examples() -> None:
    assert catalog.DEFAULT_REFS == ["hitl.examples"]
    names = {g.name for g in catalog.load(catalog.DEFAULT_REFS)}
    assert names == {"approval", "edit_state", "tool_review", "validate_input", "email_review"}
