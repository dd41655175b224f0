"""`Send` (issue #12): map-reduce fan-out, a question inside each mapped task answered one by
one and by a map, breakpoints, empty fan-outs, edits, forks and the mistakes refused where
they are made. Each on the real dev server."""

from __future__ import annotations

import asyncio
import sys
import types

import pytest

import hitl
from hitl import Command, Send
from tests.helpers import ROOT, subgraph_run_id, wait_for


async def _paused(client: hitl.Client, graph: str, input: dict) -> hitl.Run:
    run = await client.start(graph, input)
    await wait_for(run, "interrupted")
    return run


def _by_subject(state: hitl.StateSnapshot) -> dict[str, str]:
    return {i.value["subject"]: i.id for i in state.interrupts}


def _by_subject_text(state: hitl.StateSnapshot) -> dict[str, str]:
    return {i.value.removeprefix("keep ").removesuffix("?"): i.id for i in state.interrupts}


async def test_a_router_maps_one_task_per_send_and_the_reduce_runs_once(client: hitl.Client) -> None:
    run = await client.start("send_map", {"subjects": ["cats", "dogs", "ants"]})
    done = await run.result()
    # the writes of the mapped tasks merge through the reducer in Send order
    assert done["jokes"] == ["a joke about cats", "a joke about dogs", "a joke about ants"]
    assert done["log"] == ["pick:3"] and done["best"] == "a joke about cats"
    history = await run.get_state_history()
    mapped = next(c for c in history if c.writes and "joke#0" in c.writes)
    assert sorted(mapped.writes or {}) == ["joke#0", "joke#1", "joke#2"], "one task (and one activity) per Send"


async def test_each_mapped_task_asks_its_own_question_answered_by_id_then_by_map(client: hitl.Client) -> None:
    run = await _paused(client, "send_review", {"subjects": ["cats", "dogs", "cats"]})
    state = await run.get_state()
    assert state.next == ["joke", "joke", "joke"], "one entry per pending Send, as LangGraph's next"
    assert [i.value["subject"] for i in state.interrupts] == ["cats", "dogs", "cats"]
    assert len({i.id for i in state.interrupts}) == 3, "two Sends with the same arg still ask two questions"
    assert {i.node for i in state.interrupts} == {"joke"}
    with pytest.raises(hitl.DecisionRejectedError, match="3 interrupts are pending"):
        await run.resume("keep")
    dogs = _by_subject(state)["dogs"]
    state = await run.resume(map={dogs: "keep"})
    assert state.status == "interrupted" and state.next == ["joke", "joke"]
    assert [i.value["subject"] for i in state.interrupts] == ["cats", "cats"]
    assert dogs not in {i.id for i in state.interrupts}
    with pytest.raises(hitl.DecisionRejectedError, match=f"interrupt {dogs} was answered by tester"):
        await run.resume(map={dogs: "again"})
    first, second = (i.id for i in state.interrupts)
    done = await run.resume(Command(resume={first: "drop", second: "keep"}))
    assert done.status == "completed"
    # each resumed task ran again with its own arg; writes merge in Send order
    assert done.values["jokes"] == ["cats:drop", "dogs:keep", "cats:keep"]
    assert done.values["log"] == ["pick:3"]
    answered = [(d.interrupt_id, d.value) for d in done.decisions if d.kind == "resume"]
    assert answered == [(dogs, "keep"), (first, "drop"), (second, "keep")], "each answer applied once"


async def test_an_empty_list_of_sends_runs_nothing(client: hitl.Client) -> None:
    done = await (await client.start("send_map", {"subjects": []})).result()
    assert done == {"subjects": [], "jokes": [], "log": []}


async def test_a_breakpoint_before_a_node_reached_by_send(client: hitl.Client) -> None:
    run = await _paused(client, "send_breaks", {"subjects": ["cats", "dogs"]})
    state = await run.get_state()
    assert (state.breakpoint, state.next, state.interrupts) == ("before", ["joke", "joke"], [])
    done = await run.resume()
    assert done.values["jokes"] == ["a joke about cats", "a joke about dogs"]


async def test_a_node_sends_with_command_goto_mixed_with_a_node_name(client: hitl.Client) -> None:
    done = await (await client.start("send_mixed", {"subjects": ["cats", "dogs"]})).result()
    assert done["jokes"] == ["a joke about cats", "a joke about dogs"]
    assert done["log"] == ["plan", "audit", "pick:2"], "audit (by name) and the Sends run in one step; pick once"


async def test_an_edit_while_a_mapped_task_asks_reasks_with_the_same_arg(client: hitl.Client) -> None:
    run = await _paused(client, "send_review", {"subjects": ["cats", "dogs"]})
    before = _by_subject(await run.get_state())
    edited = await run.update_state({"log": ["edited"]})
    after = _by_subject(edited)
    assert sorted(after) == ["cats", "dogs"] and not set(after.values()) & set(before.values())
    done = await run.resume(map={after["cats"]: "a", after["dogs"]: "b"})
    assert done.values["jokes"] == ["cats:a", "dogs:b"]


async def test_a_fork_of_a_step_with_sends_runs_them_with_their_args(client: hitl.Client) -> None:
    run = await client.start("send_map", {"subjects": ["cats", "dogs"]})
    await run.result()
    [start] = [c for c in await run.get_state_history() if c.source == "input"]
    assert start.next == ["joke", "joke"]
    assert start.sends == [Send("joke", {"subject": "cats"}), Send("joke", {"subject": "dogs"})]
    fork = await client.fork(run.run_id, start.step)
    done = await fork.result()
    assert done["jokes"] == ["a joke about cats", "a joke about dogs"] and done["log"] == ["pick:2"]


@pytest.mark.parametrize(
    "mode, message",
    [
        (
            "unknown",
            r"router of '__start__' returned Send\('nowhere', \.\.\.\); a Send must name a node of graph "
            r"'send_bad' \(work, team\)",
        ),
        ("not_json", r"router of '__start__' returned Send\('work', \.\.\.\) whose arg: dict is not JSON-serialisable"),
        (
            "subgraph",
            r"returned Send\('team', \.\.\.\), but 'team' is a subgraph: hitl runs a subgraph on the parent's state",
        ),
        ("too_large", r"the arg of Send\('work', \.\.\.\) from router of '__start__' is 1\.1 MB"),
    ],
)
async def test_a_bad_send_fails_the_run_at_the_routing_naming_it(client: hitl.Client, mode: str, message: str) -> None:
    run = await client.start("send_bad", {"mode": mode})
    with pytest.raises(hitl.RunFailedError, match=message) as caught:
        await run.result()
    assert f"run '{run.run_id}' ended: router of '__start__' failed" in str(caught.value)
    assert "\n" not in str(caught.value)


async def test_a_decision_cannot_goto_a_send(client: hitl.Client) -> None:
    run = await _paused(client, "send_review", {"subjects": ["cats"]})
    with pytest.raises(hitl.InvalidInputError, match="a decision's goto names nodes to add to the paused step"):
        await run.resume(Command(goto=Send("joke", {"subject": "x"})))
    assert len((await run.get_state()).decisions) == 0


async def test_pending_sends_and_their_answers_survive_continue_as_new(client: hitl.Client) -> None:
    # A bound this small hands over at every step boundary, even mid-way through answers.
    run = await client.start("send_review", {"subjects": ["cats", "dogs", "ants"]}, max_history_events=8)
    state = await wait_for(run, "interrupted")
    asked = _by_subject(state)
    state = await run.resume(map={asked["dogs"]: "keep"})
    assert _by_subject(state) == {"cats": asked["cats"], "ants": asked["ants"]}, "same questions, same ids"
    state = await run.resume(map={asked["ants"]: "drop"})
    assert state.next == ["joke"]
    runs = [w async for w in client.temporal.list_workflows(f'WorkflowId = "{run.run_id}"')]
    assert len(runs) > 1, "the run continued as new while its Sends waited"
    done = await run.resume("keep")
    assert done.values["jokes"] == ["cats:keep", "dogs:keep", "ants:drop"]


async def test_the_docs_send_example_runs_as_printed(
    client: hitl.Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (ROOT / "docs" / "graphs.md").read_text()
    section = page[page.index("## Send (map-reduce)") :]
    source = section[section.index("```python\n") + len("```python\n") : section.index("\n```\n")]
    module = types.ModuleType("docs_send")
    sys.modules["docs_send"] = module  # the state's annotations resolve here
    exec(compile(source, "docs/graphs.md", "exec"), module.__dict__)
    monkeypatch.setenv("TEMPORAL_ADDRESS", client.temporal.service_client.config.target_host)
    values = await module.main()
    assert values["jokes"] == ["cats: drop", "dogs: keep", "ants: drop", "3 reviewed"]
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["['joke', 'joke', 'joke']", str(values["jokes"])]


async def test_a_mapped_question_limited_to_a_role_refuses_others_and_takes_an_editor(client: hitl.Client) -> None:
    run = await _paused(client, "send_limited", {"subjects": ["cats", "dogs"]})
    asked = _by_subject_text(await run.get_state())
    with pytest.raises(hitl.DecisionRejectedError, match=f"'mallory' may not answer interrupt {asked['cats']}"):
        await run.resume(map={asked["cats"]: "keep"}, identity="mallory")
    state = await run.resume(map={asked["cats"]: "keep"}, identity="alice", roles=["editor"])
    assert list(_by_subject_text(state)) == ["dogs"]
    done = await run.resume("drop", identity="bob", roles=["editor"])
    assert done.values["jokes"] == ["cats:keep", "dogs:drop"]
    assert [(d.identity, d.value) for d in done.decisions if d.kind == "resume"] == [("alice", "keep"), ("bob", "drop")]


async def test_a_mapped_question_answered_by_signal(client: hitl.Client) -> None:
    run = await _paused(client, "send_review", {"subjects": ["cats", "dogs"]})
    asked = _by_subject(await run.get_state())
    await run.send_resume(map={asked["dogs"]: "keep"})
    for _ in range(100):
        state = await run.get_state()
        if state.status == "interrupted" and len(state.interrupts) == 1:
            break
        await asyncio.sleep(0.1)
    assert list(_by_subject(state)) == ["cats"]
    done = await run.resume("drop")
    assert done.values["jokes"] == ["cats:drop", "dogs:keep"]


async def test_a_subgraph_that_maps_inside_asks_through_the_parent(client: hitl.Client) -> None:
    run = await _paused(client, "send_team", {"subjects": ["cats", "dogs", "ants"]})
    state = await run.get_state()
    assert [i.node for i in state.interrupts] == ["team/joke"] * 3
    asked = _by_subject(state)
    await run.resume(map={asked["ants"]: "keep"})
    # The child applies the answer, tells the parent its pause is over, runs that task again and reports
    # its two questions again (the parent runs meanwhile): wait until the child paused again after the
    # answer (its report reached the parent before it went on), not for the parent's first snapshot.
    child = client.get_run(await subgraph_run_id(client, run.run_id))
    for _ in range(100):
        theirs = await child.get_state()
        again = theirs.status == "interrupted" and len(theirs.decisions) == 1 and theirs.paused_at is not None
        if again and theirs.paused_at > theirs.decisions[0].at:
            state = await run.get_state()
            if state.status == "interrupted" and len(state.interrupts) == 2:
                break
        await asyncio.sleep(0.1)
    assert sorted(_by_subject(state)) == ["cats", "dogs"]
    assert [d.interrupt_id for d in (await child.get_state()).decisions] == [asked["ants"]], "passed down once"
    done = await run.resume({asked["cats"]: "drop", asked["dogs"]: "keep"})
    assert done.status == "completed"
    assert done.values["jokes"] == ["cats:drop", "dogs:keep", "ants:keep"]
    assert done.values["log"] == ["pick:3", "wrap:3"]


async def test_a_subgraph_s_other_questions_stay_answerable_while_it_applies_one_answer(client: hitl.Client) -> None:
    """Answer one mapped question of a subgraph, then the other two at once: the subgraph is still running the
    first one's task again. They stay pending on the parent meanwhile (before: refused as "run is running"
    until the subgraph asked again), and each answer is applied once."""
    for _ in range(3):
        run = await _paused(client, "send_team", {"subjects": ["cats", "dogs", "ants"]})
        asked = _by_subject(await run.get_state())
        await run.resume(map={asked["ants"]: "keep"})
        await run.resume(map={asked["cats"]: "drop", asked["dogs"]: "keep"})
        done = await run.result()
        assert done["jokes"] == ["cats:drop", "dogs:keep", "ants:keep"]
        child = await client.get_run(await subgraph_run_id(client, run.run_id)).get_state()
        answered = sorted(d.interrupt_id for d in child.decisions if d.kind == "resume" and d.interrupt_id)
        assert answered == sorted(asked.values()) and child.refused == [], "each answer applied once, none refused"


async def test_ninety_questions_for_ninety_owners_index_what_fits_and_the_run_lives(client: hitl.Client) -> None:
    """Their reviewers index far past Temporal's 2 kB per search attribute value, which once made Temporal
    terminate the run as it paused: the run stays open and answerable, indexed as open to anyone's filter."""
    from temporalio.client import WorkflowExecutionStatus

    from hitl.protocol.wire import REVIEWERS

    subjects = [f"s{i:02}" for i in range(90)]
    run = await client.start("send_owned", {"subjects": subjects})
    snapshot = await wait_for(run, "interrupted")
    assert len(snapshot.interrupts) == 90
    handle = client.temporal.get_workflow_handle(run.run_id)
    first = snapshot.interrupts[0]
    owner = f"{first.value.split()[-1].rstrip('?')}.reviewer@example-company.com"
    after = await run.resume(map={first.id: "keep"}, identity=owner)
    assert after.status == "interrupted" and len(after.interrupts) == 89
    described = await handle.describe()
    assert described.status == WorkflowExecutionStatus.RUNNING
    if await client.reviewers_indexed():
        assert described.typed_search_attributes.get(REVIEWERS) == ["*"]
    await handle.terminate("test cleanup")


async def test_sends_carrying_more_than_a_step_may_send_at_once_fail_the_run_in_one_line(client: hitl.Client) -> None:
    """Each Send's task gets the whole state: six of a 700 kB state went to Temporal in one workflow task
    completion past its 4 MB, and Temporal terminated the run. Four fit, and run."""
    from temporalio.client import WorkflowExecutionStatus

    from hitl.protocol.limits import MAX_STEP_INPUT_BYTES

    big = "x" * 700_000
    fits = await client.start("send_map", {"subjects": ["a", "b", "c", "d"], "best": big})
    assert (await fits.result())["best"] is not None
    run = await client.start("send_map", {"subjects": ["a", "b", "c", "d", "e", "f"], "best": big})
    with pytest.raises(hitl.RunFailedError) as caught:
        await run.result()
    said = str(caught.value)
    assert "step 0 starts 6 node task(s) that carry 4.2 MB in all" in said and "\n" not in said, said
    assert f"at most {MAX_STEP_INPUT_BYTES / 1e6:.1f} MB" in said
    described = await client.temporal.get_workflow_handle(run.run_id).describe()
    assert described.status == WorkflowExecutionStatus.FAILED  # failed by hitl, not terminated by Temporal
