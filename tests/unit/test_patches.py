"""Every patch the workflow checks is one a new run has from its start (`RUN_PATCHES`), and no other."""

from __future__ import annotations

import ast
from pathlib import Path

import workflows.graph_workflow as wf
from hitl._protocol import RUN_PATCHES, RunInput

SOURCE = Path(wf.__file__).read_text()


def _checked_patch_ids() -> set[str]:
    """The ids passed to `self._patched(...)` anywhere in the workflow (by constant name or literal)."""
    ids: set[str] = set()
    for node in ast.walk(ast.parse(SOURCE)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("_patched", "patched")
        ):
            arg = node.args[0]
            if isinstance(arg, ast.Name) and arg.id != "patch_id":  # `_patched` hands its argument on
                ids.add(getattr(wf, arg.id))
            elif isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                ids.add(arg.value)
    return ids


def test_run_patches_are_exactly_the_patches_the_workflow_checks() -> None:
    checked = _checked_patch_ids()
    assert checked == set(RUN_PATCHES), (
        f"checked but not in RUN_PATCHES: {sorted(checked - set(RUN_PATCHES))}; listed but unchecked: {sorted(set(RUN_PATCHES) - checked)}"
    )


def test_the_workflow_asks_temporal_only_through_its_own_patched() -> None:
    """A bare `workflow.patched` would write a marker even for a run that has the patch from its start."""
    assert SOURCE.count("workflow.patched(") == 1  # the one inside `_patched`


def test_runs_from_before_the_field_have_no_patches() -> None:
    """Old histories' inputs decode with an empty list: they replay through `workflow.patched`."""
    from temporalio.contrib.pydantic import pydantic_data_converter

    old = b'{"graph": {"name": "g", "nodes": [], "edges": [], "channels": {}}, "input": {}, "identity": "ann"}'
    payload = pydantic_data_converter.payload_converter.to_payloads([{}])[0]
    payload.data = old
    assert pydantic_data_converter.payload_converter.from_payloads([payload], [RunInput])[0].patches == []
