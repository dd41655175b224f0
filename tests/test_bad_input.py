"""One table of malformed inputs across the Python API and the CLI.

Each case is its own test (`pytest tests/test_bad_input.py -k oversized`): one
clear line naming what was wrong and what is accepted, and no write to any
run's history (event counts are compared before and after the case); nothing
crashes the process. The last test checks the runs are still answerable.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio

import hitl
from hitl import Command
from tests.helpers import cli, event_count, one_line_error, wait_for

BIG = "x" * 2_100_000


@dataclass
class Runs:
    client: hitl.Client
    paused: hitl.Run
    parallel: hitl.Run
    completed: hitl.Run
    cancelled: hitl.Run

    def all(self) -> list[hitl.Run]:
        return [self.paused, self.parallel, self.completed, self.cancelled]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def runs(client: hitl.Client) -> Runs:
    paused = await client.start("review", {})
    parallel = await client.start("parallel", {})
    completed = await client.start("chain", {}, run_id=f"done-{uuid.uuid4().hex[:8]}")
    cancelled = await client.start("review", {})
    await wait_for(paused, "interrupted")
    await wait_for(parallel, "interrupted")
    await completed.result()
    await wait_for(cancelled, "interrupted")
    await cancelled.cancel()
    await wait_for(cancelled, "cancelled")
    return Runs(client, paused, parallel, completed, cancelled)


Case = Callable[[Runs], Awaitable[object]]


API_CASES: list[tuple[str, Case, type[Exception], str]] = [
    (
        "unknown graph",
        lambda r: r.client.start("nope", {}),
        hitl.UnknownGraphError,
        "unknown graph 'nope'; known graphs:",
    ),
    (
        "input not an object",
        lambda r: r.client.start("chain", [1]),
        hitl.InvalidInputError,
        "input must be a JSON object",
    ),  # type: ignore[arg-type]
    (
        "input unknown key",
        lambda r: r.client.start("chain", {"nope": 1}),
        hitl.InvalidInputError,
        r"unknown key\(s\) \['nope'\]; the state keys are",
    ),
    (
        "input wrong type",
        lambda r: r.client.start("chain", {"text": 5}),
        hitl.InvalidInputError,
        "key 'text': Input should be a valid string",
    ),
    (
        "pydantic input missing field",
        lambda r: r.client.start("pydantic_state", {}),
        hitl.InvalidInputError,
        "customer: Field required",
    ),
    (
        "subgraph run id",
        lambda r: r.client.start("chain", {}, run_id=f"{r.paused.run_id}.team.1~0123456789ab"),
        hitl.InvalidInputError,
        "contains '~', which only the runs of subgraphs have",
    ),
    (
        "subgraph run id for a fork",
        lambda r: r.client.fork(r.completed.run_id, 0, new_run_id="x.team.1~abc"),
        hitl.InvalidInputError,
        "contains '~', which only the runs of subgraphs have",
    ),
    (
        "duplicate run id",
        lambda r: r.client.start("chain", {}, run_id=r.completed.run_id),
        hitl.RunAlreadyExistsError,
        "exists already",
    ),
    (
        "oversized input",
        lambda r: r.client.start("chain", {"text": BIG}),
        hitl.InvalidInputError,
        r"input is 2\.1 MB; hitl takes at most 1\.0 MB there",
    ),
    (
        "unknown breakpoint",
        lambda r: r.client.start("chain", {}, interrupt_before=["zz"]),
        hitl.InvalidInputError,
        r"interrupt_before names unknown node\(s\) \['zz'\]",
    ),
    (
        "state of unknown run",
        lambda r: r.client.get_run("no-such-run").get_state(),
        hitl.RunNotFoundError,
        "no run 'no-such-run'",
    ),
    (
        "resume unknown run",
        lambda r: r.client.get_run("no-such-run").resume("x"),
        hitl.RunNotFoundError,
        "no run 'no-such-run'",
    ),
    (
        "unknown interrupt id",
        lambda r: r.paused.resume(map={"ffffffffffffffff": "approve"}),
        hitl.DecisionRejectedError,
        r"unknown interrupt id\(s\)",
    ),
    (
        "answer outside schema",
        lambda r: r.paused.resume("perhaps"),
        hitl.DecisionRejectedError,
        "does not fit its schema: 'perhaps' is not one of",
    ),
    (
        "answer wrong type",
        lambda r: r.paused.resume(3),
        hitl.DecisionRejectedError,
        "does not fit its schema: 3 is not one of",
    ),
    (
        "plain value for two questions",
        lambda r: r.parallel.resume("x"),
        hitl.DecisionRejectedError,
        "2 interrupts are pending .*; answer with a map",
    ),
    (
        "empty map",
        lambda r: r.parallel.resume(map={}),
        hitl.DecisionRejectedError,
        "the resume map is empty; pending interrupt ids are",
    ),
    (
        "resume a completed run",
        lambda r: r.completed.resume("x"),
        hitl.DecisionRejectedError,
        r"has ended \(completed\)(; its last decision was .*)?; it accepts a decision only while interrupted",
    ),
    (
        "resume a cancelled run",
        lambda r: r.cancelled.resume("approve"),
        hitl.DecisionRejectedError,
        r"has ended \(cancelled by .*\); its last decision was a cancel by .*; it accepts a decision only while",
    ),
    (
        "goto unknown node",
        lambda r: r.paused.resume(goto="nowhere"),
        hitl.DecisionRejectedError,
        r"goto names unknown node\(s\) \['nowhere'\]; nodes are",
    ),
    (
        "goto a Send",
        lambda r: r.paused.resume(Command(resume="approve", goto=[hitl.Send("publish", {})])),
        hitl.InvalidInputError,
        r"a decision's goto names nodes to add to the paused step; Send\(\.\.\.\) is for a node's Command",
    ),
    (
        "goto and a value outside schema",
        lambda r: r.paused.resume(Command(resume="perhaps", goto="publish")),
        hitl.DecisionRejectedError,
        "does not fit its schema: 'perhaps' is not one of",
    ),
    (
        "update unknown key",
        lambda r: r.paused.resume("approve", update={"zz": 1}),
        hitl.DecisionRejectedError,
        r"update has unknown key\(s\) \['zz'\]",
    ),
    (
        "update wrong type",
        lambda r: r.paused.resume("approve", update={"draft": ["a"]}),
        hitl.DecisionRejectedError,
        "update key 'draft' does not fit its schema",
    ),
    (
        "update not an object",
        lambda r: r.paused.resume("approve", update=[1]),
        hitl.InvalidInputError,
        "update must be a JSON object",
    ),  # type: ignore[arg-type]
    (
        "value and map",
        lambda r: r.paused.resume("approve", map={"a": 1}),
        hitl.InvalidInputError,
        "a single value or a map",
    ),
    ("oversized answer", lambda r: r.paused.resume(BIG), hitl.InvalidInputError, r"the decision is 2\.1 MB"),
    (
        "lone surrogate answer",
        lambda r: r.paused.resume("\ud800"),
        hitl.InvalidInputError,
        r"the decision is not valid Unicode text \(lone surrogate '\\ud800'\)",
    ),
    (
        "lone surrogate edit",
        lambda r: r.paused.update_state({"draft": "a\udfffb"}),
        hitl.InvalidInputError,
        "values is not valid Unicode text",
    ),
    (
        "lone surrogate input",
        lambda r: r.client.start("chain", {"text": "\ud800"}),
        hitl.InvalidInputError,
        "input is not valid Unicode text",
    ),
    ("no answer while asked", lambda r: r.paused.resume(), hitl.DecisionRejectedError, "are waiting for an answer"),
    (
        "edit unknown key",
        lambda r: r.paused.update_state({"zz": 1}),
        hitl.DecisionRejectedError,
        r"values has unknown key\(s\) \['zz'\]",
    ),
    (
        "edit wrong type",
        lambda r: r.paused.update_state({"log": "not a list"}),
        hitl.DecisionRejectedError,
        "values key 'log' does not fit its schema",
    ),
    (
        "edit as unknown node",
        lambda r: r.paused.update_state({"draft": "x"}, as_node="ghost"),
        hitl.DecisionRejectedError,
        "as_node 'ghost' is not a node",
    ),
    (
        "edit not an object",
        lambda r: r.paused.update_state("draft"),
        hitl.InvalidInputError,
        "values must be a JSON object",
    ),  # type: ignore[arg-type]
    (
        "edit a completed run",
        lambda r: r.completed.update_state({"text": "x"}),
        hitl.DecisionRejectedError,
        "has ended",
    ),
    (
        "empty edit",
        lambda r: r.paused.update_state({}),
        hitl.DecisionRejectedError,
        "values is empty; name at least one state key",
    ),
    (
        "oversized edit",
        lambda r: r.paused.update_state({"draft": BIG}),
        hitl.InvalidInputError,
        r"values is 2\.1 MB; hitl takes at most 256\.0 kB",
    ),
    ("cancel a completed run", lambda r: r.completed.cancel(), hitl.DecisionRejectedError, "has ended"),
    (
        "fork oversized edits",
        lambda r: r.completed.fork(1, {"text": BIG}),
        hitl.InvalidInputError,
        r"fork edit is 2\.1 MB",
    ),
    (
        "fork unknown step",
        lambda r: r.completed.fork(99),
        hitl.InvalidInputError,
        r"has no checkpoint at step 99; its steps are \[0, 1, 2, 3\]",
    ),
    (
        "fork unknown key",
        lambda r: r.completed.fork(1, {"zz": 1}),
        hitl.InvalidInputError,
        r"fork edit has unknown key\(s\) \['zz'\]",
    ),
]

CLI_CASES: list[tuple[str, Callable[[Runs], list[str]], str]] = [
    ("cli resume completed", lambda r: ["resume", r.completed.run_id, "--value", '"x"'], "has ended"),
    ("cli resume cancelled", lambda r: ["resume", r.cancelled.run_id, "--value", '"approve"'], "has ended"),
    ("cli bad schema", lambda r: ["resume", r.paused.run_id, "--value", '"perhaps"'], "does not fit its schema"),
    ("cli plain value for two", lambda r: ["resume", r.parallel.run_id, "--value", '"x"'], "answer with a map"),
    ("cli map not object", lambda r: ["resume", r.parallel.run_id, "--map", "[1]"], "--map must be a JSON object"),
    (
        "cli update bad json",
        lambda r: ["resume", r.paused.run_id, "--update", "{", "--value", '"approve"'],
        "--update is not valid JSON",
    ),
    (
        "cli edit unknown node",
        lambda r: ["update-state", r.paused.run_id, "--values", '{"draft": "x"}', "--as-node", "ghost"],
        "as_node 'ghost'",
    ),
    ("cli lone surrogate", lambda r: ["resume", r.paused.run_id, "--value", '"\\ud800"'], "not valid Unicode text"),
    ("cli slash in new id", lambda r: ["start", "chain", "--id", "../../x"], "contains '/'; a new run id may not"),
    ("cli subgraph run id", lambda r: ["start", "chain", "--id", "p.team.1~abc"], "only the runs of subgraphs have"),
    ("cli duplicate id", lambda r: ["start", "chain", "--id", r.completed.run_id], "exists already"),
    ("cli fork bad step", lambda r: ["fork", r.completed.run_id, "--step", "x"], "invalid int value: 'x'"),
    ("cli unknown run", lambda r: ["history", "no-such-run"], "no run 'no-such-run'"),
    (
        "cli worker cache of none",
        lambda r: ["worker", "--max-cached-runs", "0"],
        "--max-cached-runs must be a whole number of at least 1",
    ),
    (
        "cli worker no nodes at once",
        lambda r: ["worker", "--nodes-at-once", "0"],
        "--nodes-at-once must be a whole number of at least 1; got 0",
    ),
    (
        "cli worker one workflow task at once",
        lambda r: ["worker", "--workflow-tasks-at-once", "1"],
        "--workflow-tasks-at-once must be a whole number of at least 2; got 1",
    ),
    (
        "cli worker one poller",
        lambda r: ["worker", "--pollers", "1"],
        "--pollers takes a whole number of at least 2, or auto; got '1'",
    ),
    (
        "cli worker pollers not a number",
        lambda r: ["worker", "--pollers", "many"],
        "--pollers takes a whole number of at least 2, or auto; got 'many'",
    ),
]


def _id(name: str) -> str:
    return name.replace(" ", "-")


async def _event_counts(runs: Runs) -> dict[str, int]:
    return {r.run_id: await event_count(runs.client, r.run_id) for r in runs.all()}


@pytest.mark.parametrize(("call", "error", "message"), [pytest.param(*case[1:], id=_id(case[0])) for case in API_CASES])
async def test_bad_input_gets_one_line_and_writes_nothing(
    runs: Runs, call: Case, error: type[Exception], message: str
) -> None:
    before = await _event_counts(runs)
    with pytest.raises(error) as caught:
        await call(runs)
    text = str(caught.value)
    assert "\n" not in text and re.search(message, text), f"unexpected message {text!r}"
    assert await _event_counts(runs) == before, "a refused input wrote to a run's history"


@pytest.mark.parametrize(("args", "message"), [pytest.param(*case[1:], id=_id(case[0])) for case in CLI_CASES])
async def test_bad_cli_input_gets_one_line_and_writes_nothing(
    runs: Runs, args: Callable[[Runs], list[str]], message: str
) -> None:
    before = await _event_counts(runs)
    result = await cli(runs.client, *args(runs))
    assert message in one_line_error(result), result.err
    assert await _event_counts(runs) == before, "a refused input wrote to a run's history"


def test_the_table_covers_the_ways_in() -> None:
    assert len(API_CASES) + len(CLI_CASES) >= 25
    names = [case[0] for case in [*API_CASES, *CLI_CASES]]
    assert len(set(names)) == len(names), "two cases share a name (a test id)"


async def test_the_runs_are_still_answerable_after_the_refusals(runs: Runs) -> None:
    """Runs after the table above (pytest keeps file order): the refusals left the runs intact."""
    assert (await runs.paused.resume("approve")).values["status"] == "published"


async def test_non_serialisable_node_output_fails_the_run_with_one_line(client: hitl.Client) -> None:
    run = await client.start("unserialisable", {})
    with pytest.raises(hitl.RunFailedError) as caught:
        await run.result()
    message = str(caught.value)
    assert "node 'leaky' wrote key 'key': object is not JSON-serialisable" in message
    assert "\n" not in message
