"""Every patch the workflow checks is one a new run has from its start (`RUN_PATCHES`), and no other."""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path

import pytest

import hitl.protocol.patches as patches
from hitl import workflows
from hitl.protocol.wire import RUN_PATCHES, RunInput

SOURCES = {p.name: p.read_text() for p in sorted(Path(workflows.__file__).parent.rglob("*.py"))}
SOURCE = "\n".join(SOURCES.values())
HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))

RELEASED = (
    "hitl-held-signals",
    "hitl-edit-reasks",
    "hitl-goto-adds",
    "hitl-send",
    "hitl-cancel-race",
    "hitl-answer-rollback",
    "hitl-nothing-next-ends",
    "hitl-changed-attributes",
    "hitl-local-rerun",
    "hitl-subgraph-ids",
    "hitl-child-failures",
    "hitl-edit-rollback",
    "hitl-finite-signals",
    "hitl-bounded-checks",
    "hitl-step-inputs",
    "hitl-local-race",
)
"""RUN_PATCHES as released: workers count the first N of it, so it may only grow at its end. Add a new
patch here too, once it ships; never edit what is here."""


def _checked_patch_ids() -> set[str]:
    """The ids passed to `_patched(...)`, or to the `patched` it is handed on as, anywhere under workflows/."""
    ids: set[str] = set()
    for node in ast.walk(ast.parse(SOURCE)):
        if isinstance(node, ast.Call) and (
            (isinstance(node.func, ast.Attribute) and node.func.attr in ("_patched", "patched"))
            or (isinstance(node.func, ast.Name) and node.func.id == "patched")  # handed on (workflows/calls.py)
        ):
            arg = node.args[0]
            if isinstance(arg, ast.Name) and arg.id != "patch_id":  # `_patched` hands its argument on
                ids.add(getattr(patches, arg.id))
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

    from hitl.client.serving import advertised_keys, advertised_patches, worker_identity

    class _Client:
        identity = "123@host"
        data_converter = temporalio.converter.DataConverter()  # no codec: it holds no keys

    identity = worker_identity(_Client())  # type: ignore[arg-type]
    assert identity == f"123@host hitl-patches={len(RUN_PATCHES)} hitl-keys=none"
    assert advertised_patches(identity) == len(RUN_PATCHES)
    assert advertised_patches("123@host hitl-keys=none") == 0  # an older hitl says nothing
    assert advertised_keys("123@host hitl-patches=9 hitl-keys=ab12cd34") == ["ab12cd34"]  # keys read as before


def test_new_runs_list_only_the_patches_every_live_worker_has() -> None:
    from hitl.client.serving import WorkerInfo, run_patches

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


def test_the_patch_list_only_grows_at_its_end() -> None:
    assert RUN_PATCHES[: len(RELEASED)] == RELEASED, "RUN_PATCHES is append only: never reorder or remove an entry"
    assert len(set(RUN_PATCHES)) == len(RUN_PATCHES)


def test_the_workflow_names_patches_only_through_the_patch_list() -> None:
    """One source: no patch id is spelled out under workflows/ (a literal there could drift from RUN_PATCHES)."""
    spelled = sorted(name for name, text in SOURCES.items() for p in RUN_PATCHES if f'"{p}"' in text)
    assert not spelled, f"patch ids written out in {spelled}; import them from hitl.protocol.patches"


def _recorded_patches(path: Path) -> tuple[list[str], list[str]]:
    """The patch markers a recorded history holds, and the patches its run listed from its start."""
    events = json.loads(path.read_text())["history"]["events"]
    markers: list[str] = []
    listed: list[str] = []
    for event in events:
        marker = event.get("markerRecordedEventAttributes")
        if marker and marker.get("markerName") == "core_patch":
            (details,) = marker["details"].values()
            markers.append(json.loads(base64.b64decode(details["payloads"][0]["data"]))["id"])
        started = event.get("workflowExecutionStartedEventAttributes")
        if started:
            listed = json.loads(base64.b64decode(started["input"]["payloads"][0]["data"])).get("patches") or []
    return markers, listed


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
def test_recorded_histories_name_only_listed_patches_in_their_order(path: Path) -> None:
    """What runs in flight recorded (markers, `RunInput.patches`) stays in RUN_PATCHES, at its place."""
    markers, listed = _recorded_patches(path)
    assert set(markers) <= set(RUN_PATCHES), f"{path.name} recorded {sorted(set(markers) - set(RUN_PATCHES))}"
    assert listed == [p for p in RUN_PATCHES if p in listed], f"{path.name} lists {listed}, not in RUN_PATCHES' order"


def test_the_recorded_histories_cover_patches() -> None:
    """The fixtures exercise the patch list (the parser above reads them), not an empty case."""
    seen = {p for path in HISTORIES for group in _recorded_patches(path) for p in group}
    assert len(seen) >= len(RUN_PATCHES) // 2
