"""One table of malformed inputs across the Python API and the CLI.

Each gets one clear line naming what was wrong and what is accepted; none writes
to any run's history (event counts are compared before and after); nothing
crashes the process.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio

import hitl
from hitl import Command
from tests.conftest import event_count, wait_for
from tests.test_cli import cli

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
    ("unknown graph", lambda r: r.client.start("nope", {}), hitl.UnknownGraphError, "unknown graph 'nope'; known graphs:"),
    ("input not an object", lambda r: r.client.start("chain", [1]), hitl.InvalidInputError, "input must be a JSON object"),  # type: ignore[arg-type]
    ("input unknown key", lambda r: r.client.start("chain", {"nope": 1}), hitl.InvalidInputError, r"unknown key\(s\) \['nope'\]; the state keys are"),
    ("input wrong type", lambda r: r.client.start("chain", {"text": 5}), hitl.InvalidInputError, "key 'text': Input should be a valid string"),
    ("pydantic input missing field", lambda r: r.client.start("pydantic_state", {}), hitl.InvalidInputError, "customer: Field required"),
    ("duplicate run id", lambda r: r.client.start("chain", {}, run_id=r.completed.run_id), hitl.RunAlreadyExistsError, "exists already"),
    ("oversized input", lambda r: r.client.start("chain", {"text": BIG}), hitl.InvalidInputError, r"input is 2\.1 MB; hitl takes at most 1\.0 MB there"),
    ("unknown breakpoint", lambda r: r.client.start("chain", {}, interrupt_before=["zz"]), hitl.InvalidInputError, r"interrupt_before names unknown node\(s\) \['zz'\]"),
    ("state of unknown run", lambda r: r.client.get_run("no-such-run").get_state(), hitl.RunNotFoundError, "no run 'no-such-run'"),
    ("resume unknown run", lambda r: r.client.get_run("no-such-run").resume("x"), hitl.RunNotFoundError, "no run 'no-such-run'"),
    ("unknown interrupt id", lambda r: r.paused.resume(map={"ffffffffffffffff": "approve"}), hitl.DecisionRejectedError, r"unknown interrupt id\(s\)"),
    ("answer outside schema", lambda r: r.paused.resume("perhaps"), hitl.DecisionRejectedError, "does not fit its schema: 'perhaps' is not one of"),
    ("answer wrong type", lambda r: r.paused.resume(3), hitl.DecisionRejectedError, "does not fit its schema: 3 is not one of"),
    ("plain value for two questions", lambda r: r.parallel.resume("x"), hitl.DecisionRejectedError, "2 interrupts are pending .*; answer with a map"),
    ("empty map", lambda r: r.parallel.resume(map={}), hitl.DecisionRejectedError, "the resume map is empty; pending interrupt ids are"),
    ("resume a completed run", lambda r: r.completed.resume("x"), hitl.DecisionRejectedError, "has ended; it accepts a decision only while interrupted"),
    ("resume a cancelled run", lambda r: r.cancelled.resume("approve"), hitl.DecisionRejectedError, "has ended; it accepts a decision only while interrupted"),
    ("goto unknown node", lambda r: r.paused.resume(goto="nowhere"), hitl.DecisionRejectedError, r"goto names unknown node\(s\) \['nowhere'\]; nodes are"),
    ("goto and a value outside schema", lambda r: r.paused.resume(Command(resume="perhaps", goto="publish")), hitl.DecisionRejectedError, "does not fit its schema: 'perhaps' is not one of"),
    ("update unknown key", lambda r: r.paused.resume("approve", update={"zz": 1}), hitl.DecisionRejectedError, r"update has unknown key\(s\) \['zz'\]"),
    ("update wrong type", lambda r: r.paused.resume("approve", update={"draft": ["a"]}), hitl.DecisionRejectedError, "update key 'draft' does not fit its schema"),
    ("update not an object", lambda r: r.paused.resume("approve", update=[1]), hitl.InvalidInputError, "update must be a JSON object"),  # type: ignore[arg-type]
    ("value and map", lambda r: r.paused.resume("approve", map={"a": 1}), hitl.InvalidInputError, "a single value or a map"),
    ("oversized answer", lambda r: r.paused.resume(BIG), hitl.InvalidInputError, r"the decision is 2\.1 MB"),
    ("no answer while asked", lambda r: r.paused.resume(), hitl.DecisionRejectedError, "are waiting for an answer"),
    ("edit unknown key", lambda r: r.paused.update_state({"zz": 1}), hitl.DecisionRejectedError, r"values has unknown key\(s\) \['zz'\]"),
    ("edit wrong type", lambda r: r.paused.update_state({"log": "not a list"}), hitl.DecisionRejectedError, "values key 'log' does not fit its schema"),
    ("edit as unknown node", lambda r: r.paused.update_state({"draft": "x"}, as_node="ghost"), hitl.DecisionRejectedError, "as_node 'ghost' is not a node"),
    ("edit not an object", lambda r: r.paused.update_state("draft"), hitl.InvalidInputError, "values must be a JSON object"),  # type: ignore[arg-type]
    ("edit a completed run", lambda r: r.completed.update_state({"text": "x"}), hitl.DecisionRejectedError, "has ended"),
    ("empty edit", lambda r: r.paused.update_state({}), hitl.DecisionRejectedError, "values is empty; name at least one state key"),
    ("oversized edit", lambda r: r.paused.update_state({"draft": BIG}), hitl.InvalidInputError, r"values is 2\.1 MB; hitl takes at most 256\.0 kB"),
    ("cancel a completed run", lambda r: r.completed.cancel(), hitl.DecisionRejectedError, "has ended"),
    ("fork oversized edits", lambda r: r.completed.fork(1, {"text": BIG}), hitl.InvalidInputError, r"fork edit is 2\.1 MB"),
    ("fork unknown step", lambda r: r.completed.fork(99), hitl.InvalidInputError, r"has no checkpoint at step 99; its steps are \[0, 1, 2, 3\]"),
    ("fork unknown key", lambda r: r.completed.fork(1, {"zz": 1}), hitl.InvalidInputError, r"fork edit has unknown key\(s\) \['zz'\]"),
]

CLI_CASES: list[tuple[str, Callable[[Runs], list[str]], str]] = [
    ("cli resume completed", lambda r: ["resume", r.completed.run_id, "--value", '"x"'], "has ended"),
    ("cli resume cancelled", lambda r: ["resume", r.cancelled.run_id, "--value", '"approve"'], "has ended"),
    ("cli bad schema", lambda r: ["resume", r.paused.run_id, "--value", '"perhaps"'], "does not fit its schema"),
    ("cli plain value for two", lambda r: ["resume", r.parallel.run_id, "--value", '"x"'], "answer with a map"),
    ("cli map not object", lambda r: ["resume", r.parallel.run_id, "--map", "[1]"], "--map must be a JSON object"),
    ("cli update bad json", lambda r: ["resume", r.paused.run_id, "--update", "{", "--value", '"approve"'], "--update is not valid JSON"),
    ("cli edit unknown node", lambda r: ["update-state", r.paused.run_id, "--values", '{"draft": "x"}', "--as-node", "ghost"], "as_node 'ghost'"),
    ("cli duplicate id", lambda r: ["start", "chain", "--id", r.completed.run_id], "exists already"),
    ("cli fork bad step", lambda r: ["fork", r.completed.run_id, "--step", "x"], "invalid int value: 'x'"),
    ("cli unknown run", lambda r: ["history", "no-such-run"], "no run 'no-such-run'"),
    ("cli worker cache of none", lambda r: ["worker", "--max-cached-runs", "0"], "--max-cached-runs must be a whole number of at least 1"),
]


async def test_every_bad_input_gets_one_line_and_writes_nothing(runs: Runs) -> None:
    before = {r.run_id: await event_count(runs.client, r.run_id) for r in runs.all()}
    failures = []
    for name, call, error, message in API_CASES:
        try:
            await call(runs)
        except error as e:
            text = str(e)
            if "\n" in text or not __import__("re").search(message, text):
                failures.append(f"{name}: unexpected message {text!r}")
        except Exception as e:  # noqa: BLE001 - any other exception is a failure of this case
            failures.append(f"{name}: raised {type(e).__name__}: {e}")
        else:
            failures.append(f"{name}: was accepted")
    for name, args, message in CLI_CASES:
        result = await cli(runs.client, *args(runs))
        lines = result.err.strip().splitlines()
        if result.code != 2 or len(lines) != 1 or message not in lines[0] or "Traceback" in result.err:
            failures.append(f"{name}: exit {result.code}, stderr {result.err!r}")
    assert not failures, "\n".join(failures)
    assert len(API_CASES) + len(CLI_CASES) >= 25
    after = {r.run_id: await event_count(runs.client, r.run_id) for r in runs.all()}
    assert after == before, "a refused input wrote to a run's history"
    # Still answerable after all that: the refusals left the runs intact.
    assert (await runs.paused.resume("approve")).values["status"] == "published"


async def test_non_serialisable_node_output_fails_the_run_with_one_line(client: hitl.Client) -> None:
    run = await client.start("unserialisable", {})
    with pytest.raises(hitl.RunFailedError) as caught:
        await run.result()
    message = str(caught.value)
    assert "node 'leaky' wrote key 'key': object is not JSON-serialisable" in message
    assert "\n" not in message
