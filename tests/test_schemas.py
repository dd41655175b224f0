"""Answer schemas and number values at every edge (issue 24): NaN and infinities refused in one line with
nothing written to the run's history, patterns checked in linear time, unusable schemas refused when asked."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError

import hitl
from hitl.protocol.wire import ResumeRequest
from hitl.types import Interrupt
from hitl.web import Identity, forms
from hitl.web.pages import question
from hitl.web.rendering import templates
from tests.helpers import cli, event_count, one_line_error, wait_for
from tests.schema_graphs import BACKTRACKING, BAD_SCHEMAS, SCORE_SCHEMA
from tests.web_fixtures import Served

TOKENS = ["NaN", "Infinity", "-Infinity", "1e999"]
NUMBERS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "1e999": float("1e999")}
EVIL = "a" * 36 + "!"
"""Python's `re` would take about a thousand seconds on `^(a+)+$` for this one (26 characters took about one)."""


def _named(token: str) -> str:
    return "NaN" if token == "NaN" else "-Infinity" if token.startswith("-") else "Infinity"


async def _paused(client: hitl.Client, graph: str, values: dict[str, Any] | None = None) -> tuple[hitl.Run, str]:
    run = await client.start(graph, values or {})
    [asked] = (await wait_for(run, "interrupted")).interrupts
    return run, asked.id


async def _refused_without_a_trace(
    client: hitl.Client, run: hitl.Run, attempt: Callable[[], Awaitable[object]], *expected: str
) -> str:
    before = await event_count(client, run.run_id)
    with pytest.raises((hitl.HitlError, WorkflowUpdateFailedError)) as caught:
        await attempt()
    error = caught.value
    line = error.cause.message if isinstance(error, WorkflowUpdateFailedError) and error.cause else str(error)
    assert isinstance(line, str) and "\n" not in line and "finite numbers only" in line, line
    for part in expected:
        assert part in line, line
    assert await event_count(client, run.run_id) == before
    return line


@pytest.mark.parametrize("token", TOKENS)
async def test_a_non_finite_number_is_refused_at_every_edge_in_one_line(
    client: hitl.Client, served: Served, token: str
) -> None:
    number, named = NUMBERS[token], _named(token)
    run, iid = await _paused(client, "scored")
    edges: list[tuple[Callable[[], Awaitable[object]], str]] = [
        (lambda: run.resume(number), f"the answer is {named}"),
        (lambda: run.resume(map={iid: {"x": [number]}}), f"the answer to {iid} at x/0 is {named}"),
        (lambda: run.resume(map={iid: 5}, update={"score": number}), f"the update at score is {named}"),
        (lambda: run.update_state({"score": number}), f"values at score is {named}"),
        (lambda: run.send_resume(number), f"the answer is {named}"),
        (lambda: client.fork(run.run_id, 0, {"score": number}), f"fork edit at score is {named}"),
        # Past the client, a raw Temporal update: the run's own validator refuses it.
        (
            lambda: client.temporal.get_workflow_handle(run.run_id).execute_update(
                "resume", ResumeRequest(identity="tester", has_resume=True, resume=number)
            ),
            f"the answer is {named}",
        ),
        (
            lambda: client.temporal.get_workflow_handle(run.run_id).execute_update(
                "resume", ResumeRequest(identity="tester", resume_map={iid: number})
            ),
            f"the answer map at {iid} is {named}",
        ),
    ]
    for attempt, says in edges:
        await _refused_without_a_trace(client, run, attempt, says)
    with pytest.raises(hitl.InvalidInputError, match=f"^input at score is {named}"):
        await client.start("scored", {"score": number})

    before = await event_count(client, run.run_id)
    async with served.http() as http:
        for path, body in [
            (f"/threads/{run.run_id}/runs/wait", f'{{"assistant_id": "scored", "command": {{"resume": {token}}}}}'),
            (f"/threads/{run.run_id}/state", f'{{"values": {{"score": [{token}]}}}}'),
            ("/threads", f'{{"metadata": {{"n": {token}}}}}'),
        ]:
            r = await http.post(path, content=body, headers={"content-type": "application/json"})
            assert r.status_code == 422, (path, r.text)
            assert r.json()["detail"].startswith("the request body at ") and f"is {named}" in r.json()["detail"]
    for args in (
        ["resume", run.run_id, f"--value={token}"],
        ["resume", run.run_id, "--value", "5", "--update", f'{{"score": {token}}}'],
        ["update-state", run.run_id, "--values", f'{{"score": {token}}}'],
        ["start", "scored", "--input", f'{{"score": {token}}}'],
    ):
        line = one_line_error(await cli(client, *args))
        assert "finite numbers only" in line and named in line, line
    assert await event_count(client, run.run_id) == before
    done = await run.resume(50)
    assert done.values["score"] == 50


@pytest.mark.parametrize("typed", ["nan", "inf", "-Infinity", "1e999"])
def test_the_run_page_number_field_refuses_what_float_reads_as_non_finite(typed: str) -> None:
    with pytest.raises(hitl.InvalidInputError, match=r"^the answer is (NaN|-?Infinity)"):
        forms.parse(forms.build(SCORE_SCHEMA), {"v": typed})
    assert forms.parse(forms.build(SCORE_SCHEMA), {"v": "42.5"}) == 42.5


async def test_a_signal_carrying_nan_is_refused_and_recorded_not_applied(client: hitl.Client) -> None:
    """A signal cannot be refused up front: the run refuses it when it would apply it, and says so."""
    run, iid = await _paused(client, "scored")
    handle = client.temporal.get_workflow_handle(run.run_id)
    await handle.signal("resume_signal", ResumeRequest(identity="mallory", resume_map={iid: math.nan}))
    for _ in range(100):
        state = await run.get_state()
        if state.refused:
            break
        await asyncio.sleep(0.1)
    [refusal] = state.refused
    assert refusal.identity == "mallory" and refusal.reason.startswith(f"the answer map at {iid} is NaN; ")
    assert state.status == "interrupted" and [i.id for i in state.interrupts] == [iid]
    assert (await run.resume(map={iid: 7})).values["score"] == 7


async def test_a_backtracking_pattern_is_checked_quickly_and_holds_no_other_run(
    client: hitl.Client, served: Served
) -> None:
    """`^(a+)+$` with a 37-character answer: Python's `re` held the worker (and the web server) for hours."""
    patterned, code_id = await _paused(client, "patterned")
    other, score_id = await _paused(client, "scored")

    async def evil_answer() -> str:
        with pytest.raises(hitl.DecisionRejectedError) as caught:
            await patterned.resume(EVIL, identity="alice")
        return str(caught.value)

    refused, done = await asyncio.gather(evil_answer(), other.resume(map={score_id: 99}))
    assert f"does not fit its schema: {EVIL!r} does not match {BACKTRACKING!r}" in refused
    assert done.status == "completed" and done.values["score"] == 99

    async with served.http("tok-alice") as alice, served.http("tok-bob") as bob:
        body = {"run_id": patterned.run_id, "interrupt_id": code_id, "value": EVIL}
        r = await alice.post("/ui/api/check", json=body)
        assert r.status_code == 422 and "does not match" in r.json()["detail"]
        assert (await alice.post("/ui/api/check", json={**body, "value": "aaaa"})).json() == {"ok": True}
        # Only those who may answer the question may probe its schema.
        for value in (EVIL, "aaaa"):
            r = await bob.post("/ui/api/check", json={**body, "value": value})
            assert r.status_code == 403, r.text
            assert r.json() == {"detail": f"'bob' may not answer question {code_id}, so cannot check answers to it"}
    assert (await patterned.resume("aaaa", identity="alice")).values["code"] == "aaaa"


@pytest.mark.parametrize("key", sorted(BAD_SCHEMAS))
async def test_an_unusable_answer_schema_fails_the_node_at_once_naming_the_key(client: hitl.Client, key: str) -> None:
    run = await client.start("bad_schema", {"which": key})
    state = await wait_for(run, "failed")
    assert state.error is not None and "\n" not in state.error
    assert f"the answer schema of interrupt() in node 'ask' is not a valid JSON Schema: at {key}, " in state.error


async def test_a_question_showing_nan_fails_the_node_in_one_line(client: hitl.Client) -> None:
    state = await wait_for(await client.start("bad_schema", {"which": "nan"}), "failed")
    assert state.error is not None and "\n" not in state.error
    assert "the interrupt() value of node 'ask' at score is NaN; JSON takes finite numbers only" in state.error


@pytest.mark.parametrize("key", sorted(BAD_SCHEMAS))
def test_the_run_page_shows_a_question_with_an_unusable_schema_with_a_note(key: str) -> None:
    """A question asked before schemas were checked when asking can still be pending: its page must render."""
    pending = Interrupt(id="q1", value="anything?", node="ask", schema=BAD_SCHEMAS[key])
    q = question(pending, Identity("alice", ()))
    assert q.form is None and q.unusable is not None and f"at {key}, " in q.unusable
    html = templates.get_template("_question.html").render(q=q, answer_action="/ui/runs/r/answer", csrf="t")
    assert 'data-testid="unusable-schema"' in html and "anything?" in html and 'class="answer"' not in html


def _deep(depth: int, leaf: Any) -> Any:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


COSTLY = {
    "tagged": ([{"tag": i} for i in range(6000)], "does not fit its schema", ["urgent", "billing"]),
    "nested": (_deep(60, "x"), "steps to check against its schema", _deep(3, 7)),
}
"""Per graph: an answer whose check jsonschema alone would run for seconds to ages (6,000 objects for a set's
uniqueness; a deep list failing at its bottom under two equal branches), what its refusal says, a good answer."""


@pytest.mark.parametrize("graph", sorted(COSTLY))
async def test_an_answer_costly_to_check_is_refused_in_one_line_and_the_run_answers_on(
    client: hitl.Client, graph: str
) -> None:
    bad, says, good = COSTLY[graph]
    run, iid = await _paused(client, graph)
    before = await event_count(client, run.run_id)
    with pytest.raises(hitl.HitlError) as caught:
        await run.resume(bad, identity="mallory")
    assert says in str(caught.value) and "\n" not in str(caught.value), str(caught.value)
    assert await event_count(client, run.run_id) == before  # a refused update writes nothing
    # The same answer as a signal: the run checks it in its own code, bounded, and records the refusal.
    await client.temporal.get_workflow_handle(run.run_id).signal(
        "resume_signal", ResumeRequest(identity="mallory", resume_map={iid: bad})
    )
    for _ in range(200):
        refused = (await run.get_state()).refused
        if refused:
            break
        await asyncio.sleep(0.1)
    assert refused and refused[-1].identity == "mallory" and says in refused[-1].reason, refused
    snapshot = await run.resume(good, identity="alice")
    assert snapshot.status == "completed" and snapshot.values["score"] == good


async def test_an_integer_too_long_to_write_is_refused_by_the_client_in_one_line(client: hitl.Client) -> None:
    """Python cannot write an integer over 4,300 digits as JSON: one line (a HitlError), not a ValueError."""
    run, iid = await _paused(client, "scored")
    before = await event_count(client, run.run_id)
    for attempt in (lambda: run.resume(10**5000), lambda: run.send_resume(map={iid: [10**5000]})):
        with pytest.raises(hitl.InvalidInputError) as caught:
            await attempt()
        assert "digits, which cannot be written as JSON here" in str(caught.value) and "\n" not in str(caught.value)
    assert await event_count(client, run.run_id) == before
    await run.cancel()
