"""workflows/core/records.py: the decision log, its chain, checkpoints and the bounded record lists."""

from __future__ import annotations

import dataclasses

from hitl.protocol.limits import CHECKPOINT_VALUES_BYTES, PAGE_BYTES
from hitl.protocol.wire import CancelRequest, ForkFrom, GraphSpec, NodeResult, Notified, Phase, RunInput, SendPacket
from hitl.types import Decision
from hitl.workflows.core import records
from tests.unit.core.builders import NOW, ask, run, task


def test_each_record_is_sealed_into_the_chain_and_kept_for_the_next_checkpoint() -> None:
    state = run()
    records.record(state, "resume", CancelRequest(identity="ann", request_id="r1"), NOW, {"ok": True})
    records.note(state, "escalate", "escalation", {"step": 0}, ("q1", "n"), NOW)
    assert [d.seq for d in state.decisions] == [0, 1]
    assert state.decisions[1].prev_hash == state.decisions[0].hash == state.unrecorded[0].hash
    assert state.audit_head == state.decisions[1].hash and state.audit_owed  # a resume decides what runs


def test_what_ran_is_recorded_only_when_a_decision_owed_it() -> None:
    state = run()
    assert records.executed(state, ["a"], {"a": 1}, NOW) == []
    records.note(state, "deadline", "deadline", None, ("q", "n"), NOW)
    (done,) = records.executed(state, ["a", "b"], {"a": 1}, NOW)
    assert (done.kind, done.node, done.seq, state.audit_owed) == ("executed", "a,b", 1, False)


def test_request_ids_retired_questions_and_refusals_keep_only_the_newest() -> None:
    state = run(task("n", ask("q1"), ask("q2")))
    for i in range(records.KEEP_REQUEST_IDS + 2):
        records.remember(state, CancelRequest(identity="ann", request_id=f"r{i}"), NOW)
    records.remember(state, CancelRequest(identity="ann"), NOW)  # no id: nothing to keep
    assert len(state.requests) == records.KEEP_REQUEST_IDS and "r0" not in state.requests
    assert state.requests["r5"].endswith("ann at 2026-01-02 03:04:05 UTC")
    records.retire_all(state, "gone")
    assert state.retired == {"q1": "gone", "q2": "gone"}
    for i in range(records.KEEP_REFUSALS + 1):
        records.refuse(state, "bob", None, f"no {i}", NOW)
    assert len(state.refused) == records.KEEP_REFUSALS and state.refused[0].reason == "no 1"


def test_an_answer_put_back_is_refused_and_recorded_as_a_rollback() -> None:
    state = run()
    records.put_back(state, "n", ("ann", "r1"), ("q1", "yes"), "boom", "answer yes was rolled back", NOW)
    assert state.refused[-1].rolled_back and state.refused[-1].request_id == "r1"
    last = state.decisions[-1]
    assert (last.kind, last.value, last.interrupt_id, last.node) == (
        "rollback",
        {"answer": "yes", "error": "boom"},
        "q1",
        "n",
    )


def test_a_limited_question_guards_the_run_once() -> None:
    state = run()
    records.guard_with(state, [ask("q1", reviewers=["ann"]), ask("q2", reviewers=["ann"]), ask("q3")])
    assert state.guard == [["ann"]]


def test_an_edit_is_recorded_as_a_json_patch_of_the_keys_it_wrote() -> None:
    assert records.edit_patch({"a": 1, "b": 2}, {"a": 3, "b": 2, "c": 4}, {"a": 3, "c": 4}) == [
        {"op": "replace", "path": "/a", "value": 3},
        {"op": "add", "path": "/c", "value": 4},
    ]


def test_checkpoints_keep_state_copies_within_a_budget_and_a_count() -> None:
    state = run(values={"x": 1}, next=["b"], sends=[SendPacket(node="s", arg={"i": 1})])
    sizes: list[int] = []
    records.log(state, Decision(kind="fork", identity="ann", at=NOW, step=0))
    records.checkpoint(state, sizes, 10, "input", NOW, writes={"__input__": {"x": 1}})
    first = state.checkpoints[0]
    assert (first.seq, first.next, first.writes, len(first.decisions), state.unrecorded) == (
        0,
        ["s", "b"],
        {"__input__": {"x": 1}},
        1,
        [],
    )
    big = CHECKPOINT_VALUES_BYTES
    records.checkpoint(state, sizes, big, "loop", NOW)
    records.checkpoint(state, sizes, 5, "loop", NOW)  # the one before it fits; the first no longer does
    assert [c.values is None for c in state.checkpoints] == [True, False, False]
    records.checkpoint(state, sizes, 5, "update", NOW)  # an older copy already dropped is passed over
    assert state.checkpoints[0].values is None and state.checkpoints[-1].seq == 3
    for _ in range(records.KEEP_CHECKPOINTS):
        records.checkpoint(state, sizes, 0, "loop", NOW)
    assert len(state.checkpoints) == len(sizes) == records.KEEP_CHECKPOINTS


def test_pending_lists_every_tasks_questions() -> None:
    state = run(task("a", ask("q1")), task("b", ask("q2", node="b")), task("c"))
    state.tasks[2].result = NodeResult(writes={})
    assert [i.id for i in records.pending(state)] == ["q1", "q2"]


def test_a_paused_run_is_summed_up_by_its_questions_or_its_breakpoint() -> None:
    asking = run(task("b", ask("q1", node="b")), task("a", ask("q2", node="a")), next=["a", "b"])
    assert records.pending_nodes(asking, paused=True) == ["a", "b"]
    assert records.summary(records.pending(asking), Phase.ASKING, ["a", "b"]) == "question q1; question q2"
    at_breakpoint = run(next=["c", "c"])
    assert records.pending_nodes(at_breakpoint, paused=True) == ["c"]
    assert records.pending_nodes(at_breakpoint, paused=False) == []
    assert records.summary([], Phase.BEFORE, ["c"]) == "breakpoint before c"


def test_history_pages_go_newest_first_within_a_byte_budget() -> None:
    state = run()
    sizes: list[int] = []
    for _ in range(5):
        records.checkpoint(state, sizes, 10, "loop", NOW)
    assert [c.seq for c in records.page(state.checkpoints, sizes, None, None)] == [4, 3, 2, 1, 0]
    assert [c.seq for c in records.page(state.checkpoints, sizes, 3, 2)] == [2, 1]
    sizes[-2] = PAGE_BYTES  # too large to share a page with the newest
    assert [c.seq for c in records.page(state.checkpoints, sizes, None, None)] == [4]
    state.checkpoints[-2] = dataclasses.replace(state.checkpoints[-2], values=None)  # no copy: costs nothing
    assert [c.seq for c in records.page(state.checkpoints, sizes, None, 3)] == [4, 3, 2]


def test_the_snapshot_shows_the_run_with_only_the_nodes_still_to_run_as_next() -> None:
    done = task("a")
    done.result = NodeResult(writes={})
    state = run(done, task("b", ask("q1")), phase=Phase.ASKING, next=["a", "b"], values={"x": 1}, guard=[["ann"]])
    records.record(state, "resume", CancelRequest(identity="ann"), NOW)
    shot = records.snapshot(state, run_id="r", graph="g", updated_at=NOW, paused_at=NOW, error=None)
    assert (shot.run_id, shot.graph, shot.status, shot.next, shot.step) == ("r", "g", "interrupted", ["b"], 0)
    assert [i.id for i in shot.interrupts] == ["q1"] and shot.values == {"x": 1} and shot.paused_at == NOW
    assert shot.decisions == state.decisions and shot.decisions is not state.decisions
    assert shot.guarded_by == [["ann"]] and shot.guarded_by[0] is not state.guard[0]
    assert (shot.breakpoint, shot.audit_head) == (None, state.audit_head)


def test_what_the_run_was_started_with_leaves_out_its_input_fork_and_carry() -> None:
    graph = GraphSpec(name="g", nodes=[], edges=[], channels={})
    inp = RunInput(
        graph=graph,
        input={"x": 1},
        identity="ann",
        requester="bob",
        fork=ForkFrom(run_id="src", step=1, values={}, next=[]),
        search_attributes=True,
        index_reviewers=True,
        index_assigned=True,
        patches=["p"],
    )
    shown = records.started_with(inp, ["a"], ["b"])
    assert (shown.input, shown.fork, shown.carry, shown.patches) == ({}, None, None, [])
    assert (shown.identity, shown.requester, shown.interrupt_before, shown.interrupt_after) == (
        "ann",
        "bob",
        ["a"],
        ["b"],
    )
    assert shown.search_attributes and shown.index_reviewers and shown.index_assigned and shown.graph is graph


def test_a_question_naming_its_row_is_summed_up_by_that_row() -> None:
    from hitl.protocol.row_memo import from_memo

    titled = dataclasses.replace(ask("i1"), title="Order for Ada", summary={"total": "12.50"})
    plain = ask("i2")
    memo = records.summary([titled, plain], Phase.BEFORE, [])
    row, rest = memo.split("; ")
    card = from_memo(row)
    assert card is not None and (card.title, card.fields) == ("Order for Ada", {"total": "12.50"})
    assert rest == records.summary([plain], Phase.BEFORE, [])  # an untitled question keeps its old memo


def test_a_notification_is_recorded_as_sent_or_failed_and_a_silent_hook_leaves_none() -> None:
    state = run()
    records.notified(state, None, NOW)  # a hook reporting nothing, and every notify activity before reports
    records.notified(state, Notified(), NOW)
    assert state.decisions == []
    records.notified(state, Notified(sent=["email to b@x"], skipped=["email to a@x"]), NOW)
    records.notified(state, Notified(sent=["slack message"]), NOW)
    records.notified(state, "ConnectionRefusedError: [Errno 111]", NOW)
    assert [(d.kind, d.identity, d.value) for d in state.decisions] == [
        ("notify", "notify", {"sent": ["email to b@x"], "already_sent": ["email to a@x"]}),
        ("notify", "notify", {"sent": ["slack message"]}),
        ("notify", "notify", {"failed": "ConnectionRefusedError: [Errno 111]"}),
    ]
    assert not state.audit_owed  # a notification decides nothing about what runs
