"""A thread's LangGraph runs derived from its hitl run's state and decision log (hitl/web/run_records.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hitl.types import Decision, Refusal, StateSnapshot
from hitl.web.run_records import derive, start_run_id, turn_run_id

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def snapshot(status: str, **fields: Any) -> StateSnapshot:
    base: dict[str, Any] = dict(
        run_id="t1", graph="g", values={}, next=[], step=3, interrupts=[], created_at=T0, updated_at=at(99)
    )
    return StateSnapshot(status=status, **{**base, **fields})  # type: ignore[arg-type]


def answer(rid: str | None, seconds: int, value: Any, iid: str = "i1", kind: str = "resume", seq: int = 1) -> Decision:
    return Decision(
        kind=kind, identity="ann", at=at(seconds), step=1, value=value, interrupt_id=iid, request_id=rid, seq=seq
    )  # type: ignore[arg-type]


def test_the_start_and_each_answered_request_are_runs_the_newest_taking_the_threads_status() -> None:
    runs = derive(
        snapshot("running"),
        [
            answer("r1", 5, "yes", "i1"),
            answer("r1", 5, "no", "i2"),  # one request answering two questions: one run
            answer(None, 6, {"k": 1}, kind="update_state"),  # an edit is no run
            answer("r2", 7, "go"),
        ],
    )
    assert [(r.run_id, r.status) for r in runs] == [
        (start_run_id("t1"), "success"),
        ("r1", "success"),
        ("r2", "running"),
    ]
    assert runs[1].kwargs["command"] == {"resume": {"i1": "yes", "i2": "no"}}
    assert runs[2].kwargs["command"] == {"resume": "go"}


def test_an_answer_put_back_and_an_enqueued_answer_refused_are_runs_in_error() -> None:
    refused = Refusal(identity="ann", at=at(9), reason="not an answer", request_id="late")
    runs = derive(
        snapshot("interrupted", refused=[refused]),
        [answer("r1", 5, "yes"), answer("r1", 6, "yes", kind="rollback", seq=2)],
    )
    assert [(r.run_id, r.status) for r in runs] == [(start_run_id("t1"), "success"), ("r1", "error"), ("late", "error")]


def test_a_run_cancelled_while_running_is_interrupted_and_one_cancelled_while_paused_had_succeeded() -> None:
    assert [r.status for r in derive(snapshot("cancelled"), [])] == ["interrupted"]
    assert [r.status for r in derive(snapshot("cancelled", paused_at=at(3)), [])] == ["success"]
    assert [r.status for r in derive(snapshot("failed"), [answer("r1", 5, "yes")])] == ["success", "error"]


def test_an_answer_sent_without_a_request_id_gets_a_stable_id_of_its_own() -> None:
    decisions = [answer(None, 5, "yes", seq=4)]
    first, again = derive(snapshot("completed"), decisions), derive(snapshot("completed"), decisions)
    assert first[1].run_id == again[1].run_id != start_run_id("t1")


def test_a_next_turn_is_a_run_of_its_own_begun_by_its_fork_record_and_a_fork_into_a_new_thread_is_not() -> None:
    """A turn's fork names the thread itself at the turn's step; the first run keeps the thread's first start."""
    turn = Decision(kind="fork", identity="ann", at=at(20), step=4, value={"topic": "coffee"}, node="t1@4", seq=3)
    runs = derive(
        snapshot("interrupted", created_at=at(20)),
        [answer("r1", 5, "yes"), turn, answer("r2", 30, "go", seq=5)],
        started=T0,
    )
    assert [(r.run_id, r.status, r.created_at) for r in runs] == [
        (start_run_id("t1"), "success", T0),
        ("r1", "success", at(5)),
        (turn_run_id("t1", 4), "success", at(20)),
        ("r2", "success", at(30)),
    ]
    assert runs[2].kwargs == {"input": {"topic": "coffee"}, "command": None}
    forked = Decision(kind="fork", identity="ann", at=T0, step=4, value=None, node="source@4", seq=0)
    assert [r.run_id for r in derive(snapshot("interrupted"), [forked])] == [start_run_id("t1")]
