"""The inbox against a hostile page on a sibling port of the same host, in a real browser (Debian's
chromium under Playwright): cookies ignore ports and SameSite counts that page as the same site, so
only the session-bound CSRF token and the fetch-metadata check stand between it and a decision. Also:
the pages run under their Content-Security-Policy without a violation, and no URL can put a message
of its author's choosing in a page's refusal box."""

from __future__ import annotations

import html
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import hitl
from hitl.web.testing import CHROMIUM
from tests.helpers import event_count, wait_for
from tests.web_fixtures import Served

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"needs {CHROMIUM} (apt-get install chromium)")
playwright_api = pytest.importorskip("playwright.async_api")
PLANTED = "x" * 43
"""The attacker's CSRF cookie value (as long as a real nonce, so no length rule refuses it)."""


class Sibling:
    """An attacker's web server on another port of 127.0.0.1: serves the pages it is given, and plants
    `hitl_csrf` for the host with a Set-Cookie (which, unlike document.cookie, may replace an HttpOnly one)."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = pages.get(self.path.split("?")[0], "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Set-Cookie", f"hitl_csrf={PLANTED}; Path=/; SameSite=Strict; HttpOnly")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def page(self, name: str, body: str) -> str:
        self.pages[f"/{name}"] = f"<!doctype html><title>{name}</title><body>{body}"
        return f"{self.url}/{name}"


@pytest.fixture(scope="module")
def sibling() -> Iterator[Sibling]:
    s = Sibling()
    thread = threading.Thread(target=s.server.serve_forever, daemon=True)
    thread.start()
    yield s
    s.server.shutdown()
    s.server.server_close()


def auto_post(target: str, fields: dict[str, str]) -> str:
    """A page that plants the CSRF cookie with script too, then posts a form to `target` at once."""
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in fields.items()
    )
    return (
        f'<form id="f" method="post" action="{html.escape(target)}">{inputs}</form>'
        f'<script>document.cookie = "hitl_csrf={PLANTED}; path=/"; document.getElementById("f").submit();</script>'
    )


async def started(client: hitl.Client, graph: str, input: dict[str, Any]) -> hitl.Run:
    run = await client.start(graph, input)
    await wait_for(run, "interrupted")
    return run


async def test_a_sibling_port_page_cannot_decide_cancel_fork_or_edit_for_a_signed_in_reviewer(
    served: Served,
    open_as: Any,
    sibling: Sibling,
) -> None:
    run = await started(served.client, "approval", {"topic": "sibling"})
    iid = (await run.get_state()).interrupts[0].id
    before = await event_count(served.client, run.run_id)
    page = await open_as("tok-alice", f"/runs/{run.run_id}")  # signed in, the session's own nonce cookie set
    base = f"{served.url}/ui/runs/{run.run_id}"
    attacks = {
        "answer": (f"{base}/answer", {"interrupt_id": iid, "request_id": "pwn-1", "v": json.dumps("approve")}),
        "json-answer": (f"{base}/answer", {"interrupt_id": iid, "mode": "json", "json": json.dumps("approve")}),
        "state": (f"{base}/state", {"values": json.dumps({"topic": "pwned"}), "base": "{}"}),
        "cancel": (f"{base}/cancel", {}),
        "fork": (f"{base}/fork", {"step": "1"}),
        "claim": (f"{base}/claim", {"action": "claim", "interrupt_id": iid, "ttl": "1d"}),
    }
    for name, (target, fields) in attacks.items():
        url = sibling.page(name, auto_post(target, {**fields, "csrf": PLANTED}))
        async with page.expect_navigation(url=f"{served.url}/**"):
            await page.goto(url)
        landed = await page.content()
        assert "done=" not in page.url and "is refused" in landed and "Sec-Fetch-Site: same-site" in landed, (
            name,
            page.url,
            landed,
        )
    # The LangGraph-shaped API from the same page: a no-preflight post whose body is JSON, with cookies.
    target = json.dumps(f"{served.url}/threads/{run.run_id}/runs/wait")
    body = json.dumps(json.dumps({"assistant_id": "approval", "command": {"resume": "approve"}}))
    fetch = sibling.page(
        "fetch",
        f"<script>fetch({target}, {{method: 'POST', mode: 'no-cors', credentials: 'include', body: {body}}})"
        ".finally(() => { document.title = 'sent'; });</script>",
    )
    await page.goto(fetch)
    await page.wait_for_function("document.title === 'sent'")
    state = await run.get_state()
    assert state.status == "interrupted" and [i.id for i in state.interrupts] == [iid]
    assert state.decisions == [] and state.values["topic"] == "sibling"
    assert await event_count(served.client, run.run_id) == before  # nothing written to the run's history
    await page.goto(f"{served.url}/runs/{run.run_id}")  # the reviewer's own page still decides
    await page.keyboard.press("a")  # approve
    await page.get_by_test_id("done").wait_for()
    assert [d.identity for d in (await run.get_state()).decisions if d.kind == "resume"] == ["alice"]


async def test_the_pages_run_under_their_content_security_policy(served: Served, open_as: Any) -> None:
    run = await started(served.client, "validate_input", {"name": "Ada"})
    problems: list[str] = []

    async def watched(token: str | None, path: str) -> Any:
        page = await open_as(token, "/ok")
        page.on("console", lambda m: problems.append(f"{path}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"{path}: {e}"))
        await page.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => console.error('CSP violation: ' + e.violatedDirective))"
        )
        response = await page.goto(served.url + path)
        policy = response.headers.get("content-security-policy", "")
        for directive in ("default-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"):
            assert directive in policy, (path, policy)
        assert response.headers.get("x-content-type-options") == "nosniff" and response.headers.get("referrer-policy")
        return page

    inbox = await watched("tok-alice", "/")
    await inbox.keyboard.press("?")
    assert await inbox.locator("#help").is_visible()
    page = await watched("tok-alice", f"/runs/{run.run_id}")
    await page.locator("form.answer textarea[name=v]").fill('"Ada"')  # checked as typed: /ui/api/check
    await page.locator("form.answer .json-error", has_text="Fits the answer's schema").wait_for()
    await watched(None, "/login")
    await watched("tok-alice", "/docs")
    assert problems == []
    # The policy is enforced (and the listener hears it): an inline script is refused.
    await page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1'; document.body.append(s); }"
    )
    await page.wait_for_function("() => true")
    assert await page.evaluate("() => window.ran === undefined")
    assert any("CSP violation: script-src" in p for p in problems), problems
    await run.cancel()


async def test_no_url_puts_its_own_text_in_a_refusal_box(served: Served, open_as: Any) -> None:
    run = await started(served.client, "approval", {"topic": "spoof"})
    spoof = "?error=Your+session+expired,+call+555&code=409"
    page = await open_as("tok-alice", f"/runs/{run.run_id}{spoof}")
    await page.get_by_test_id("status").wait_for()
    assert "session expired" not in await page.content() and await page.get_by_test_id("refusal").count() == 0
    login = await open_as(None, f"/login{spoof}")
    assert "session expired" not in await login.content() and await login.locator(".refusal").count() == 0
    inbox = await open_as("tok-alice", f"/{spoof}")
    assert "session expired" not in await inbox.content() and await inbox.get_by_test_id("refusal").count() == 0
    before = await event_count(served.client, run.run_id)
    # A real refusal still reaches the page after the redirect (in the signed flash), once.
    await page.locator("details.raw summary", has_text="Answer as JSON").click()
    await page.locator("details.raw textarea[name=json]").fill('"maybe"')
    await page.get_by_role("button", name="Send JSON answer").click()
    refusal = page.get_by_test_id("refusal")
    await refusal.wait_for()
    assert "maybe" in await refusal.inner_text() and "error=" not in page.url
    assert await event_count(served.client, run.run_id) == before
    await run.cancel()  # the live feed refreshes the page: the refusal stays on it
    await page.get_by_test_id("status").filter(has_text="cancelled").wait_for()
    assert "maybe" in await page.get_by_test_id("refusal").inner_text()
    await page.reload()
    await page.get_by_test_id("status").wait_for()
    assert await page.get_by_test_id("refusal").count() == 0  # shown once
