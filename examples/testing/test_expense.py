"""Tests of the expense graph with hitl's pytest plugin: a real Temporal dev server, a worker serving the
graph, and runs driven as the people involved would (`conftest.py` has `pytest_plugins = ["hitl.testing"]`)."""

from __future__ import annotations

import pytest

import hitl
from hitl.examples.testing.expense import expense

pytestmark = pytest.mark.hitl_graphs(expense)


async def test_two_approvers_pay_the_claim(hitl_test) -> None:
    run = await hitl_test.start("expense", {"amount": 120})
    asked = await run.until_paused()
    assert asked.interrupts[0].value == {"question": "Claim of 120 EUR: approve?"}
    await run.resume("approve")

    voting = await run.until_paused()
    assert voting.next == ["approvers"]
    await hitl_test.as_("ana").run(run.run_id).resume("approve")
    await hitl_test.as_("ben").run(run.run_id).resume("approve")

    done = await run.until_done()
    assert done.values["status"] == "paid"
    assert [(d.identity, d.value) for d in done.decisions][-2:] == [("ana", "approve"), ("ben", "approve")]


async def test_one_rejection_vetoes(hitl_test) -> None:
    run = await hitl_test.start("expense", {"amount": 90})
    await run.until_paused()
    await run.resume("approve")
    await run.until_paused()
    await hitl_test.as_("cy").run(run.run_id).resume("reject")
    assert (await run.until_done()).values["status"] == "rejected"


async def test_someone_outside_the_quorum_is_refused(hitl_test) -> None:
    run = await hitl_test.start("expense", {"amount": 50})
    await run.until_paused()
    await run.resume("approve")
    await run.until_paused()
    with pytest.raises(hitl.DecisionRejectedError):
        await hitl_test.as_("mallory").run(run.run_id).resume("approve")
    assert (await run.get_state()).status == "interrupted"


async def test_no_answer_by_the_deadline_sends_the_claim_back(hitl_test) -> None:
    run = await hitl_test.start("expense", {"amount": 75})
    await run.until_paused()
    done = await run.until_done()  # the 2-second deadline answers for the manager
    assert done.values["manager"] == "send back"
    assert [(d.identity, d.value) for d in done.decisions] == [("deadline", "send back")]
