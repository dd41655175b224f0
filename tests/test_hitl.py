"""Human-in-the-loop semantics (issue: HITL core), each on the real dev server."""

from __future__ import annotations

import asyncio
import uuid

import pytest

import hitl
from hitl import Command
from tests import graphs, hitl_graphs
from tests.helpers import WorkerProcess, event_count, wait_for


async def _paused(client: hitl.Client, graph: str, input: dict | None = None, **kw: object) -> hitl.Run:
    run = await client.start(graph, input or {}, **kw)  # type: ignore[arg-type]
    await wait_for(run, "interrupted")
    return run


async def test_approve_route(client: hitl.Client) -> None:
    run = await _paused(client, "review")
    state = await run.get_state()
    assert state.status == "interrupted"
    assert state.next == ["review"]
    [pending] = state.interrupts
    assert (pending.node, pending.value) == ("review", {"draft": "first draft"})
    assert pending.schema == {"enum": ["approve", "reject"], "type": "string"}
    done = await run.resume("approve")
    assert done.status == "completed"
    assert done.values["status"] == "published"
    assert done.values["log"] == ["write", "review:approve:first draft", "publish"]


async def test_reject_route(client: hitl.Client) -> None:
    run = await _paused(client, "review")
    done = await run.resume(Command(resume="reject"))
    assert (done.status, done.values["status"]) == ("completed", "discarded")


async def test_edit_state_while_paused_then_resume(client: hitl.Client) -> None:
    run = await _paused(client, "review")
    edited = await run.update_state({"draft": "better draft"})
    assert edited.status == "interrupted" and edited.values["draft"] == "better draft"
    assert edited.interrupts, "an edit without as_node keeps the pending question"
    done = await run.resume("approve")
    # The node re-ran from its start on the edited state.
    assert "review:approve:better draft" in done.values["log"]


async def test_node_with_two_interrupts_answered_one_at_a_time(client: hitl.Client) -> None:
    run = await _paused(client, "two_questions")
    [first] = (await run.get_state()).interrupts
    assert (first.value, first.index) == ("name?", 0)
    state = await run.resume("Ada")
    [second] = state.interrupts
    assert (second.value, second.index) == ("age of Ada?", 1)
    assert second.id != first.id
    assert second.schema == {"type": "integer"}
    with pytest.raises(hitl.DecisionRejectedError, match="does not fit its schema: 'old' is not of type 'integer'"):
        await run.resume("old")
    done = await run.resume(36)
    assert done.values == {"name": "Ada", "age": 36, "prompts": []}


async def test_validation_loop_two_bad_answers_then_a_good_one(client: hitl.Client) -> None:
    run = await _paused(client, "validation_loop")
    state = await run.resume("twelve")
    assert state.interrupts[0].value == "'twelve' is not a valid age; how old are you?"
    state = await run.resume(-4)
    assert state.interrupts[0].value == "'-4' is not a valid age; how old are you?"
    ids = {d.interrupt_id for d in state.decisions}
    assert len(ids) == 2, "each interrupt() call has its own id"
    done = await run.resume(42)
    assert (done.status, done.values["age"]) == ("completed", 42)


async def test_parallel_interrupts_answered_with_a_map(client: hitl.Client) -> None:
    run = await _paused(client, "parallel")
    state = await run.get_state()
    assert sorted(i.node for i in state.interrupts) == ["left", "right"]
    with pytest.raises(hitl.DecisionRejectedError, match="2 interrupts are pending .*; answer with a map"):
        await run.resume("both?")
    done = await run.resume({i.id: i.node.upper() for i in state.interrupts})
    assert done.status == "completed"
    assert sorted(done.values["answers"]) == ["left=LEFT", "quiet", "right=RIGHT"]


async def test_a_dict_is_a_map_only_when_asked_or_its_keys_are_pending_ids(client: hitl.Client) -> None:
    run = await _paused(client, "parallel")
    left, right = sorted((await run.get_state()).interrupts, key=lambda i: i.node)
    id_like = {left.id: "L", "0123456789abcdef": "?"}  # looks like a map, but one key is no pending id
    with pytest.raises(hitl.DecisionRejectedError, match="2 interrupts are pending"):
        await run.resume(id_like)  # so it is one answer, and one answer cannot go to two questions
    with pytest.raises(hitl.DecisionRejectedError, match=r"unknown interrupt id\(s\) \['0123456789abcdef'\]"):
        await run.resume(map=id_like)  # asked for as a map: every key must be pending
    state = await run.resume({right.id: "R"})  # every key pending: a map
    assert [i.node for i in state.interrupts] == ["left"]
    done = await run.resume(Command(resume={left.id: "L"}))
    assert sorted(done.values["answers"]) == ["left=L", "quiet", "right=R"]


async def test_parallel_interrupts_answered_one_at_a_time(client: hitl.Client) -> None:
    hitl_graphs.RUNS.clear()
    run = await _paused(client, "parallel")
    left = next(i for i in (await run.get_state()).interrupts if i.node == "left")
    state = await run.resume(map={left.id: "L"})
    assert state.status == "interrupted"
    assert [i.node for i in state.interrupts] == ["right"], "the unanswered one stays pending"
    assert "answers" not in state.values or state.values["answers"] == [], "the step is not applied until all answer"
    done = await run.resume("R")
    assert sorted(done.values["answers"]) == ["left=L", "quiet", "right=R"]
    # quiet finished in the first pass and was never re-run; left ran twice, right ran twice.
    assert hitl_graphs.RUNS == {"left": 2, "right": 2, "quiet": 1}


async def test_interrupt_before_and_after_with_update_state_between(client: hitl.Client) -> None:
    run = await client.start("review_breaks", {})
    after = await wait_for(run, "interrupted")
    assert (after.breakpoint, after.next, after.interrupts) == ("after", ["review"], [])
    assert after.values["draft"] == "first draft"
    await run.update_state({"draft": "edited at the breakpoint"})
    state = await run.resume()
    [question] = state.interrupts
    assert question.value == {"draft": "edited at the breakpoint"}
    before = await run.resume("approve")
    assert (before.status, before.breakpoint, before.next) == ("interrupted", "before", ["publish"])
    assert "status" not in before.values
    done = await run.resume()
    assert done.values["status"] == "published"


async def test_breakpoints_overridden_per_run(client: hitl.Client) -> None:
    run = await client.start("chain", {}, interrupt_before=["b"])
    state = await wait_for(run, "interrupted")
    assert (state.breakpoint, state.next, state.values["trail"]) == ("before", ["b"], ["a"])
    with pytest.raises(hitl.DecisionRejectedError, match="breakpoint before \\['b'\\], which takes no resume value"):
        await run.resume("x")
    assert (await run.resume()).values["trail"] == ["a", "b", "c"]


async def test_interrupt_before_star_pauses_before_every_node(client: hitl.Client) -> None:
    run = await client.start("chain", {}, interrupt_before="*")
    seen = []
    state = await wait_for(run, "interrupted")
    while state.status == "interrupted":
        seen.append(state.next[0])
        state = await run.resume()
    assert seen == ["a", "b", "c"]


async def test_update_state_as_node_continues_from_that_nodes_edges(client: hitl.Client) -> None:
    run = await _paused(client, "review")
    edited = await run.update_state({"log": ["human-approved"]}, as_node="review")
    # review has no static edges (it routes by Command); writing as review leads nowhere: nothing to
    # answer and nothing next, so the run is done (as LangGraph's thread is)
    assert (edited.status, edited.next, edited.interrupts) == ("completed", [], [])
    assert edited.values["log"][-1] == "human-approved"
    run2 = await _paused(client, "review")
    edited = await run2.update_state({"draft": "d2"}, as_node="write")
    assert (edited.next, edited.interrupts) == (["review"], [])
    state = await run2.resume()
    assert state.interrupts[0].value == {"draft": "d2"}


async def test_command_update_and_goto_as_resume(client: hitl.Client) -> None:
    run = await _paused(client, "review")
    [asked] = (await run.get_state()).interrupts
    # goto adds publish to the waiting step (as LangGraph does); the update changed what review
    # asked about, so review asks again about the new draft
    state = await run.resume(Command(update={"draft": "skipped review"}, goto="publish"))
    assert (state.status, state.next) == ("interrupted", ["review"])
    [again] = state.interrupts
    assert again.id != asked.id and again.value == {"draft": "skipped review"}
    assert "publish" not in state.values["log"], "the step's writes apply when the step completes"
    done = await run.resume("reject")
    assert done.status == "completed"
    assert done.values["log"] == ["write", "publish", "review:reject:skipped review", "discard"]
    kinds = [d.kind for d in done.decisions]
    assert kinds == ["update_state", "goto", "resume"]


async def test_resume_with_goto_answers_and_runs_the_target_too(client: hitl.Client) -> None:
    run = await _paused(client, "review")
    done = await run.resume(Command(resume="reject", goto="publish"))
    assert done.status == "completed"
    assert done.values["log"] == ["write", "publish", "review:reject:first draft", "discard"]
    assert [d.kind for d in done.decisions] == ["resume", "goto"]


async def test_goto_while_asked_keeps_the_question(client: hitl.Client) -> None:
    run = await _paused(client, "review")
    [asked] = (await run.get_state()).interrupts
    state = await run.resume(goto="publish")
    assert (state.status, state.next, state.interrupts) == ("interrupted", ["review"], [asked])
    done = await run.resume("approve")
    assert done.values["log"] == ["write", "publish", "review:approve:first draft", "publish"]


async def test_refusals_write_nothing_to_history(client: hitl.Client) -> None:
    run = await _paused(client, "review")
    before = await event_count(client, run.run_id)
    refusals = [
        (dict(map={"0123456789abcdef": "approve"}), "unknown interrupt id"),
        (dict(value="maybe"), "does not fit its schema"),
        (dict(value="maybe", goto="publish"), "does not fit its schema"),
        (dict(goto="nowhere"), r"goto names unknown node\(s\) \['nowhere'\]"),
        (dict(update={"nope": 1}), r"update has unknown key\(s\) \['nope'\]"),
        (dict(update={"draft": 5}), "update key 'draft' does not fit its schema"),
        (dict(), "are waiting for an answer"),
    ]
    for kwargs, message in refusals:
        value = kwargs.pop("value", hitl.client.client.NO_VALUE)
        with pytest.raises(hitl.DecisionRejectedError, match=message):
            await run.resume(value, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(hitl.DecisionRejectedError, match="as_node 'ghost' is not a node"):
        await run.update_state({"draft": "x"}, as_node="ghost")
    assert await event_count(client, run.run_id) == before
    await run.resume("approve")
    finished = await event_count(client, run.run_id)
    with pytest.raises(
        hitl.DecisionRejectedError,
        match=r"has ended \(completed\); its last decision was a resume by .*; it accepts a decision only while interrupted",
    ):
        await run.resume("approve")
    assert await event_count(client, run.run_id) == finished


async def test_resume_refused_while_the_run_is_busy(client: hitl.Client, tmp_path: object) -> None:
    run = await client.start("slow", {"marker": f"/tmp/hitl-busy-{uuid.uuid4().hex}"})
    await asyncio.sleep(0.5)
    with pytest.raises(
        hitl.DecisionRejectedError, match="run is running; it accepts a decision only while interrupted"
    ):
        await run.update_state({"done": ["x"]})
    await run.result()


async def test_same_request_id_twice_answers_once(client: hitl.Client) -> None:
    run = await _paused(client, "validation_loop")
    request = uuid.uuid4().hex
    first = await run.resume("bad answer", request_id=request)
    second = await run.resume("bad answer", request_id=request)
    assert first.decisions == second.decisions
    state = await run.get_state()
    assert len(state.decisions) == 1, "the double click was answered once"
    assert len(state.interrupts) == 1


async def test_decisions_are_recorded_with_who_and_when(client: hitl.Client) -> None:
    run = await _paused(client, "review")
    await run.resume("approve", identity="alice")
    history = await run.get_state_history()
    decided = [d for c in history for d in c.decisions]
    assert len(decided) == 1
    assert (decided[0].identity, decided[0].value, decided[0].node) == ("alice", "approve", "review")
    assert decided[0].at is not None
    # And in Temporal's own history: the update's payload names the identity.
    handle = client.temporal.get_workflow_handle(run.run_id)
    raw = [e async for e in handle.fetch_history_events()]
    accepted = [e for e in raw if e.HasField("workflow_execution_update_accepted_event_attributes")]
    assert accepted and b"alice" in accepted[0].SerializeToString()


async def test_history_lists_every_step_newest_first(client: hitl.Client) -> None:
    run = await client.start("chain", {})
    await run.result()
    history = await run.get_state_history()
    assert [c.step for c in history] == [3, 2, 1, 0]
    assert [c.source for c in history] == ["loop", "loop", "loop", "input"]
    assert history[1].values["trail"] == ["a", "b"]


async def test_fork_from_an_earlier_step(client: hitl.Client) -> None:
    run = await client.start("chain", {"text": ">"})
    await run.result()
    fork = await run.fork(1, {"text": "forked:"})
    final = await fork.result()
    # From step 1 (after a): b and c run again on the edited text.
    assert final == {"text": "forked:bc", "trail": ["a", "b", "c"]}
    assert (await fork.get_state_history())[-1].source == "fork"
    with pytest.raises(hitl.InvalidInputError, match="has no checkpoint at step 99"):
        await run.fork(99)


async def test_signal_resume_for_senders_that_must_not_wait(client: hitl.Client) -> None:
    run = await _paused(client, "review")
    await run.send_resume("approve")
    assert (await run.result())["status"] == "published"


async def test_inbox_lists_waiting_runs(client: hitl.Client) -> None:
    run = await _paused(client, "review", {"draft": "inbox draft"})
    for _ in range(100):
        pending = {p.run_id: p for p in await client.pending()}
        if run.run_id in pending:
            break
        await asyncio.sleep(0.1)
    entry = pending[run.run_id]
    assert (entry.graph, entry.nodes) == ("review", ["review"])
    assert "inbox draft" in entry.summary
    assert entry.waiting_since is not None
    await run.resume("approve")
    for _ in range(100):
        if run.run_id not in {p.run_id for p in await client.pending()}:
            break
        await asyncio.sleep(0.1)
    assert run.run_id not in {p.run_id for p in await client.pending()}


async def test_worker_killed_while_paused_then_resumed(client: hitl.Client, worker_process: WorkerProcess) -> None:
    other = await hitl.connect(
        client.temporal.service_client.config.target_host, task_queue=worker_process.task_queue, graphs=graphs.GRAPHS
    )
    await worker_process.start().polling(client)
    run = await other.start("review", {})
    await wait_for(run, "interrupted")
    worker_process.kill()
    await worker_process.start().polling(client)
    done = await asyncio.wait_for(run.resume("approve"), 60)
    assert done.values["status"] == "published"


async def test_cancel_a_paused_run(client: hitl.Client) -> None:
    run = await _paused(client, "review")
    await run.cancel()
    with pytest.raises(hitl.RunFailedError, match="ended"):
        await run.result()
    assert (await run.get_state()).status == "cancelled"


async def test_inbox_explains_missing_search_attributes(client: hitl.Client, server: object) -> None:
    """A namespace without hitl's search attributes: runs still work, the inbox says how to fix it."""
    import subprocess

    from hitl.server import temporal_binary

    address = client.temporal.service_client.config.target_host
    await asyncio.to_thread(
        subprocess.run,
        [temporal_binary(), "operator", "namespace", "create", "--namespace", "bare", "--address", address],
        check=True,
        capture_output=True,
    )
    bare = await hitl.connect(address, namespace="bare", task_queue="hitl-bare", graphs=graphs.GRAPHS)
    with pytest.raises(
        hitl.HitlError,
        match="not registered on namespace 'bare'; register them with: temporal operator search-attribute create --namespace bare --name HitlStatus --type Keyword",
    ):
        await bare.pending()
    for _ in range(100):  # a fresh namespace takes a moment to be served
        try:
            async with bare.worker():
                run = await bare.start("review", {})
                paused = await run.wait(timeout=30)
                assert paused.status == "interrupted"
                assert (await run.resume("approve")).values["status"] == "published"
            return
        except hitl.HitlError as e:
            if "not found" not in str(e).lower():
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("namespace 'bare' never became usable")


# ------------------------------------------------------- decisions taking turns
# The `turns` graph's `notes` reducer takes about a second on each new write (it fails its first try), so a
# decision that writes notes is still being applied when the second decision of each test arrives.


async def _accepted_updates(client: hitl.Client, run_id: str) -> list[str]:
    """The request ids of the decisions Temporal recorded as accepted updates of a run (an update id is
    the request id and a suffix)."""
    handle = client.temporal.get_workflow_handle(run_id)
    return [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id.rsplit(".", 1)[0]
        async for e in handle.fetch_history_events()
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]


async def _soon(seconds: float, work: asyncio.Future[object] | object) -> object:
    await asyncio.sleep(seconds)
    return await work  # type: ignore[misc]


async def test_a_decision_arriving_while_another_is_applied_is_checked_against_its_outcome(
    client: hitl.Client,
) -> None:
    """Two people answer the same question at the same moment: the first answer is applied, the second is
    refused up front, naming who answered, and writes nothing to the run's history."""
    run = await _paused(client, "turns")
    left = next(i for i in (await run.get_state()).interrupts if i.node == "left")
    note = f"alice-{uuid.uuid4().hex[:6]}"
    first = asyncio.ensure_future(
        run.resume(map={left.id: "A"}, update={"notes": [note]}, identity="alice", request_id=f"a-{note}")
    )
    with pytest.raises(hitl.DecisionRejectedError, match=f"interrupt {left.id}, was answered by alice"):
        await _soon(0.3, run.resume(map={left.id: "B"}, identity="bob", request_id=f"b-{note}"))
    await first
    state = await run.get_state()
    assert [(d.identity, d.interrupt_id) for d in state.decisions if d.kind == "resume"] == [("alice", left.id)]
    assert state.values["notes"] == ["start", note]
    assert await _accepted_updates(client, run.run_id) == [f"a-{note}"]


async def test_a_decision_queued_behind_an_edit_waits_its_turn(client: hitl.Client) -> None:
    """An edit that runs a user reducer and a resume sent meanwhile: the resume is not refused as
    'busy', it waits, is checked against the edited state, and applies after the edit, once each."""
    run = await _paused(client, "turns")
    await run.resume(map={i.id: i.node for i in (await run.get_state()).interrupts})
    assert (await wait_for(run, "interrupted")).breakpoint == "before"
    note = f"edit-{uuid.uuid4().hex[:6]}"
    edit = asyncio.ensure_future(run.update_state({"notes": [note]}, identity="alice"))
    resumed = await _soon(0.3, run.resume(identity="bob"))
    await edit
    assert isinstance(resumed, hitl.StateSnapshot)
    final = await run.result()
    assert final["notes"] == ["start", note]
    assert final["answers"].count("finish") == 1
    state = await run.get_state()
    assert [(d.kind, d.identity) for d in state.decisions][-2:] == [("update_state", "alice"), ("resume", "bob")]


async def test_a_queued_decision_that_user_code_made_unfit_is_refused_in_its_turn(client: hitl.Client) -> None:
    """The one refusal after acceptance: a resume queued behind an edit that, once its user reducer ran,
    ended the run (as_node of the last node). The resume is refused with the reason and changes nothing;
    Temporal's history shows its update accepted and failed (see 'decisions' in graph_workflow.py)."""
    run = await _paused(client, "turns")
    await run.resume(map={i.id: i.node for i in (await run.get_state()).interrupts})
    await wait_for(run, "interrupted")
    note = f"end-{uuid.uuid4().hex[:6]}"
    edit = asyncio.ensure_future(run.update_state({"notes": [note]}, as_node="finish", identity="alice"))
    with pytest.raises(hitl.DecisionRejectedError, match="refused the decision: run is running"):
        await _soon(0.3, run.resume(identity="bob", request_id=f"b-{note}"))
    await edit
    final = await run.result()
    assert final["notes"] == ["start", note] and "finish" not in final["answers"]
    state = await run.get_state()
    assert all(d.identity != "bob" for d in state.decisions)
    assert f"b-{note}" in await _accepted_updates(client, run.run_id)
