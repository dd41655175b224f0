"""Every graph the tests run, in one list. A module of its own so a worker
subprocess serves them (`python worker.py tests.graphs`) exactly as the
in-process test worker does.

The graphs live by feature, next to the tests that use them:
`runtime_graphs.py` (test_runtime), `hitl_graphs.py` (test_hitl),
`composition_graphs.py` (test_composition), `long_run_graphs.py`
(test_long_runs), `fault_graphs.py` (test_faults), `trust_graphs.py`
(test_trust), `send_graphs.py` (test_send), `batch_graphs.py` (test_batch, test_links),
`quorum_graphs.py` (test_quorum), `escalation_graphs.py` (test_escalation), `call_graphs.py` (test_graph_calls),
`schema_graphs.py` (test_schemas), `functional_graphs.py` (test_functional). A new graph goes into its
feature's module and that module's
GRAPHS list. Graph names are what recorded histories (tests/histories/)
refer to: never rename one.
"""

from __future__ import annotations

import examples
from hitl import CompiledGraph
from tests import (
    batch_graphs,
    call_graphs,
    composition_graphs,
    escalation_graphs,
    fault_graphs,
    form_graphs,
    functional_graphs,
    hitl_graphs,
    long_run_graphs,
    quorum_graphs,
    row_graphs,
    runtime_graphs,
    schema_graphs,
    send_graphs,
    trust_graphs,
)

GRAPHS: list[CompiledGraph] = [
    *runtime_graphs.GRAPHS,
    *hitl_graphs.GRAPHS,
    *composition_graphs.GRAPHS,
    *long_run_graphs.GRAPHS,
    *fault_graphs.GRAPHS,
    *send_graphs.GRAPHS,
    *batch_graphs.GRAPHS,
    *quorum_graphs.GRAPHS,
    *escalation_graphs.GRAPHS,
    *schema_graphs.GRAPHS,
    *row_graphs.GRAPHS,
    *call_graphs.GRAPHS,
    *functional_graphs.GRAPHS,
]
"""The test graphs (`--graphs tests.graphs`, `python worker.py tests.graphs`)."""

SERVED: list[CompiledGraph] = [*GRAPHS, *trust_graphs.GRAPHS, *examples.GRAPHS, *form_graphs.GRAPHS]
"""What the session's in-process worker serves (conftest) and the history recorder runs."""
