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


def test_a_worker_says_how_many_patches_it_has_and_clients_read_it() -> None:
    import temporalio.converter

    from hitl._workers import advertised_keys, advertised_patches, worker_identity

    class _Client:
        identity = "123@host"
        data_converter = temporalio.converter.DataConverter()  # no codec: it holds no keys

    identity = worker_identity(_Client())  # type: ignore[arg-type]
    assert identity == f"123@host hitl-patches={len(RUN_PATCHES)} hitl-keys=none"
    assert advertised_patches(identity) == len(RUN_PATCHES)
    assert advertised_patches("123@host hitl-keys=none") == 0  # an older hitl says nothing
    assert advertised_keys("123@host hitl-patches=9 hitl-keys=ab12cd34") == ["ab12cd34"]  # keys read as before


def test_new_runs_list_only_the_patches_every_live_worker_has() -> None:
    from hitl._workers import WorkerInfo, run_patches

    new, older, dead = (
        WorkerInfo("a", None, True, len(RUN_PATCHES)),
        WorkerInfo("b", None, True, 3),
        WorkerInfo("c", None, False, 0),
    )
    assert run_patches([new]) == list(RUN_PATCHES)
    assert run_patches([new, dead]) == list(RUN_PATCHES)  # a dead one serves nothing
    assert run_patches([new, older]) == list(RUN_PATCHES[:3])
    assert run_patches([new, WorkerInfo("d", None, True)]) == []  # one that does not say: markers for all
    assert run_patches([]) == []
