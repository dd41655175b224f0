"""Answer forms in a real browser (issue 26, items 4 and 5): the schema's constraints stop a mistake before
it is sent, Send stays disabled while the form is invalid, a refusal keeps what was typed, empty required
text is refused at the edge; LangChain's two interrupt shapes (Agent Inbox's HumanInterrupt and
HumanInTheLoopMiddleware's request) show their Markdown description safely, only the allowed actions,
and answer in the shape the graph expects."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

import hitl
from hitl.web.testing import CHROMIUM
from tests.helpers import event_count, wait_for
from tests.web_fixtures import Served

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"needs {CHROMIUM} (apt-get install chromium)")
playwright_api = pytest.importorskip("playwright.async_api")

AGE = {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 150}
"""What `Annotated[int, pydantic.Field(gt=0, lt=150)]` becomes (examples/validate_input.py's `Age`)."""
DESCRIPTION = (
    "Runs **as root** on [the runbook](https://example.com/runbook).\n\n"
    '<script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2"> '
    "[click me](javascript:window.__pwned=3)"
)


async def asked(client: hitl.Client, question: Any, schema: Any = None) -> hitl.Run:
    run = await client.start("ask_as_given", {"question": question, "schema": schema})
    await wait_for(run, "interrupted")
    return run


async def force_submit(form: Any) -> None:
    """Post the form as a page without app.js (or a crafted post) would: the server must refuse it itself."""
    async with form.page.expect_navigation():
        await form.evaluate("f => f.submit()")


async def test_an_age_of_500_is_stopped_by_the_form_and_refused_by_the_server_with_the_field_kept(
    served: Served, open_as: Any
) -> None:
    run = await asked(served.client, "How old are you?", AGE)
    page = await open_as("tok-alice", f"/runs/{run.run_id}")
    form = page.locator("form.answer")
    age, send = form.locator("input[name=v]"), form.get_by_role("button", name="Send answer")
    assert (await age.get_attribute("min"), await age.get_attribute("max")) == ("1", "149")
    await age.fill("500")
    assert await send.is_disabled()
    assert "149" in await form.locator(".why-invalid").inner_text()
    before = await event_count(served.client, run.run_id)
    await force_submit(form)
    refusal = page.get_by_test_id("refusal")
    await refusal.wait_for()
    assert "150" in await refusal.inner_text()
    assert await page.locator("form.answer input[name=v]").input_value() == "500"  # kept, not emptied
    assert await event_count(served.client, run.run_id) == before  # refused at the edge
    await page.locator("form.answer input[name=v]").fill("42")
    assert await send.is_enabled()
    await send.click()
    assert (await wait_for(run, "completed")).values["answer"] == 42


async def test_invalid_json_disables_send_until_it_parses(served: Served, open_as: Any) -> None:
    run = await asked(served.client, {"question": "Which tags?"})
    page = await open_as("tok-alice", f"/runs/{run.run_id}")
    form = page.locator("form.answer")
    answer, send = form.locator("textarea[name=v]"), form.get_by_role("button", name="Send answer")
    await answer.fill('["a", ')
    await form.locator(".json-error", has_text="Not valid JSON").wait_for()
    assert await send.is_disabled()
    await answer.fill('["a", "b"]')
    assert await send.is_enabled()
    await send.click()
    assert (await wait_for(run, "completed")).values["answer"] == ["a", "b"]


async def test_schema_constraints_reach_the_fields(served: Served, open_as: Any) -> None:
    schema = {
        "type": "object",
        "properties": {
            "code": {"type": "string", "pattern": "^[A-Z]{3}-\\d+$"},
            "note": {"type": "string", "minLength": 3, "maxLength": 40},
            "count": {"type": "integer", "multipleOf": 5, "minimum": 0},
            "odd": {"type": "string", "pattern": "^(a+)+$"},
        },
        "required": ["code", "note", "count"],
    }
    run = await asked(served.client, "Ticket?", schema)
    page = await open_as("tok-alice", f"/runs/{run.run_id}")
    form = page.locator("form.answer")
    code, note, count = (form.locator(f"input[name='v.{k}']") for k in ("code", "note", "count"))
    assert await code.get_attribute("pattern") == "^[A-Z]{3}-\\d+$" and await code.get_attribute("required") == ""
    assert (await note.get_attribute("minlength"), await note.get_attribute("maxlength")) == ("3", "40")
    assert (await count.get_attribute("step"), await count.get_attribute("min")) == ("5", "0")
    assert await form.locator("input[name='v.odd']").get_attribute("pattern") is None  # would backtrack: server only
    send = form.get_by_role("button", name="Send answer")
    assert await send.is_disabled()  # required fields are empty
    await code.fill("abc-1")
    await note.fill("ok, shipped")
    await count.fill("10")
    assert await send.is_disabled()
    await code.fill("ABC-12")
    await count.fill("12")
    assert await send.is_disabled()  # not a multiple of 5
    await count.fill("15")
    assert await send.is_enabled()
    await send.click()
    assert (await wait_for(run, "completed")).values["answer"] == {"code": "ABC-12", "note": "ok, shipped", "count": 15}


MIDDLEWARE = {
    "action_requests": [
        {"name": "execute_sql", "args": {"query": "DELETE FROM users"}, "description": DESCRIPTION},
        {"name": "send_email", "args": {"to": "ada"}, "description": "Tool execution pending approval"},
    ],
    "review_configs": [
        {"action_name": "execute_sql", "allowed_decisions": ["approve", "reject"]},
        {"action_name": "send_email", "allowed_decisions": ["approve", "edit", "reject", "respond"]},
    ],
}
"""What LangChain's HumanInTheLoopMiddleware asks (no schema: the graph reads `decisions` itself)."""


async def test_an_empty_respond_is_refused_with_its_reason_and_nothing_written(served: Served, open_as: Any) -> None:
    run = await asked(served.client, MIDDLEWARE)
    page = await open_as("tok-alice", f"/runs/{run.run_id}")
    email = page.locator(".tool-card[data-call='1']")
    await email.locator("input[value=respond]").check()
    form = page.locator("form.review")
    assert await form.get_by_role("button", name="Submit decisions").is_disabled()
    before = await event_count(served.client, run.run_id)
    await force_submit(form)
    refusal = page.get_by_test_id("refusal")
    await refusal.wait_for()
    assert "write a message for call 2 (send_email)" in await refusal.inner_text()
    assert await event_count(served.client, run.run_id) == before
    assert await page.locator(".tool-card[data-call='1'] input[value=respond]").is_checked()  # the choice kept
    await page.locator("textarea[name='d1.message']").fill("I will write to her myself.")
    await page.get_by_role("button", name="Submit decisions").click()
    done = await wait_for(run, "completed")
    assert done.values["answer"] == {
        "decisions": [{"type": "approve"}, {"type": "respond", "message": "I will write to her myself."}]
    }


async def test_the_middleware_shape_shows_only_its_allowed_decisions_and_markdown_safely(
    served: Served, open_as: Any
) -> None:
    run = await asked(served.client, MIDDLEWARE)
    page = await open_as("tok-alice", f"/runs/{run.run_id}")
    sql = page.locator(".tool-card[data-call='0']")
    assert [await r.get_attribute("value") for r in await sql.locator("input[type=radio]").all()] == [
        "approve",
        "reject",
    ]
    await described_safely(page, sql)
    await sql.locator("input[value=reject]").check()
    await sql.locator("textarea[name='d0.message']").fill("Never on users.")
    await page.get_by_role("button", name="Submit decisions").click()
    done = await wait_for(run, "completed")
    assert done.values["answer"] == {
        "decisions": [{"type": "reject", "message": "Never on users."}, {"type": "approve"}]
    }


async def described_safely(page: Any, card: Any) -> None:
    """The description's Markdown rendered (bold, link), its HTML shown as text and run never, no javascript: link."""
    description = card.get_by_test_id("description")
    assert await description.locator("strong").inner_text() == "as root"
    link = description.get_by_role("link", name="the runbook")
    assert await link.get_attribute("href") == "https://example.com/runbook"
    assert "noopener" in (await link.get_attribute("rel") or "")
    assert await description.locator("script, img").count() == 0
    assert "<script>" in await description.inner_text()  # shown as text
    assert await description.locator("a[href^='javascript']").count() == 0
    assert await page.evaluate("() => window.__pwned") is None


async def test_a_human_interrupt_shows_its_allowed_actions_and_answers_as_agent_inbox_does(
    served: Served, open_as: Any
) -> None:
    request = {
        "action_request": {"action": "run_command", "args": {"command": "rm -rf /tmp/scratch"}},
        "config": {"allow_ignore": True, "allow_respond": True, "allow_edit": False, "allow_accept": True},
        "description": DESCRIPTION,
    }
    run = await asked(served.client, [request])
    page = await open_as("tok-alice", f"/runs/{run.run_id}")
    card = page.locator(".tool-card[data-call='0']")
    choices = [await r.get_attribute("value") for r in await card.locator("input[type=radio]").all()]
    assert choices == ["accept", "response", "ignore"]  # allow_edit: false, so no Edit
    assert await card.get_by_text("Edit", exact=True).count() == 0
    await described_safely(page, card)
    await card.locator("input[value=response]").check()
    submit = page.get_by_role("button", name="Submit decisions")
    assert await submit.is_disabled()  # a response needs its text
    await card.locator("textarea[name='d0.message']").fill("not on a Friday")
    await submit.click()
    done = await wait_for(run, "completed")
    assert done.values["answer"] == [{"type": "response", "args": "not on a Friday"}]  # Agent Inbox's list
