"""The README stays short and its links whole; every page of the docs site's nav exists, and every
section a page includes from README.md or bench/README.md is there (the strict build: tests/test_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
SETUP_COMMANDS = [
    "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/hitl dev",
    "bash scripts/test.sh",
]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")
SNIPPET = re.compile(r'^--8<-- "([^":]+)(?::([\w-]+))?"$', re.M)


def nav_pages(nav: list[object]) -> list[str]:
    """Every page named in mkdocs.yml's nav, at any depth."""
    pages: list[str] = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += nav_pages(value) if isinstance(value, list) else [str(value)]
    return pages


def mkdocs_nav() -> list[str]:
    return nav_pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"])


def test_the_readme_is_under_300_lines() -> None:
    assert len(README.splitlines()) < 300, "move the detail into docs/ and link it from the README's contents"


def test_the_readme_keeps_exactly_the_two_setup_commands() -> None:
    setup = README[README.index("## Set up") : README.index("\n## ", README.index("## Set up") + 1)]
    commands = re.findall(r"```bash\n(.*?)\n```", setup, re.S)
    assert commands == SETUP_COMMANDS


def test_every_relative_link_in_the_readme_names_a_file_that_exists() -> None:
    targets = {m.group(1) for m in LINK.finditer(README) if "://" not in m.group(1)}
    assert "docs/index.md" in targets and "bench/README.md" in targets
    assert sorted(t for t in targets if not (ROOT / t).exists()) == []


def test_the_readme_contents_list_every_page_of_the_guide() -> None:
    contents = README[README.index("## Documentation") :]
    linked = {m.group(1).removeprefix("docs/") for m in LINK.finditer(contents)}
    top_pages = {p for p in mkdocs_nav() if "/" not in p} - {"index.md", "benchmarks.md"}
    assert sorted(top_pages - linked) == []


def test_every_page_in_the_nav_exists_and_every_page_is_in_the_nav() -> None:
    nav = mkdocs_nav()
    assert sorted(p for p in nav if not (ROOT / "docs" / p).is_file()) == []
    pages = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")}
    assert sorted(pages - set(nav)) == []
    assert len(nav) == len(set(nav)), "a page listed twice"


def test_every_included_file_and_section_exists() -> None:
    includes = [m.groups() for p in (ROOT / "docs").rglob("*.md") for m in SNIPPET.finditer(p.read_text())]
    assert ("README.md", "own-graph") in includes and ("bench/README.md", None) in includes
    for path, section in includes:
        text = (ROOT / path).read_text()
        if section:
            assert f"--8<-- [start:{section}]" in text and f"--8<-- [end:{section}]" in text, (path, section)
