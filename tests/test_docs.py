"""The docs site builds with --strict (a broken link, anchor, included section or docstring reference
fails) and fetches nothing from another host; the README's "your own graph" example runs as printed."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import hitl
from tests.helpers import ROOT

EXTERNAL_ASSET = re.compile(
    r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="(?:https?:)?//(?!localhost|127\.0\.0\.1)'
)


def test_the_docs_build_strictly_and_load_nothing_from_the_internet(tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    pages = list(site.rglob("*.html"))
    assert len(pages) > 20 and (site / "reference" / "client" / "index.html").is_file()
    # A stylesheet or script link on another host would be fetched each time a page is viewed
    # (a footer link to Material's site is an <a>, which is fine).
    assert [p.name for p in pages if EXTERNAL_ASSET.search(p.read_text())] == []
    # The pages include README sections and bench/README.md rather than copying them.
    assert "send this?" in (site / "getting-started" / "index.html").read_text()
    assert "Resume latency" in (site / "benchmarks" / "index.html").read_text()


async def test_the_readme_own_graph_example_runs_as_printed(
    client: hitl.Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Your own graph") :]
    source = section[section.index("```python\n") + len("```python\n") : section.index("\n```\n")]
    assert len(source.splitlines()) <= 40, "the README's example stays short"
    module = types.ModuleType("readme_own_graph")
    sys.modules["readme_own_graph"] = module  # the state's annotations resolve here
    exec(compile(source, "README.md", "exec"), module.__dict__)
    monkeypatch.setenv("TEMPORAL_ADDRESS", client.temporal.service_client.config.target_host)
    values = await module.main()
    assert values == {"email": "Hello, Ada!", "sent": True}
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["interrupted {'send this?': 'Hello, Ada!'}", f"completed {values}"]
