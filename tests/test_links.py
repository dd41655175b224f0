"""Signed decision links against the real dev server: `hitl link` prints a URL, the inbox
serves its question without a sign-in, the answer is recorded as the link's reviewer
once, and expired, reused, tampered and stale links get their own page and status
while nothing is written to the run's history. The webhook payload carries links."""

from __future__ import annotations

import asyncio
import html
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import aclosing
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

import hitl
from hitl.client import signed_links as links
from hitl.prebuilt.notify import webhook
from hitl.server import free_port
from tests.helpers import cli, event_count, one_line_error, wait_for
from tests.web_fixtures import CSRF_FIELD, Served, refusal

KEY = "test-link-key-" + "x" * 24
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The served app (in this process) reads the link key from the environment per request."""
    monkeypatch.setenv("HITL_LINK_KEY", KEY)


async def paused(client: hitl.Client, **input: object) -> hitl.Run:
    run = await client.start("batch_review", {"topic": f"t{uuid.uuid4().hex[:8]}", **input})
    await wait_for(run, "interrupted")
    return run


def link_to(run: hitl.Run, served: Served, identity: str, expires: timedelta = timedelta(hours=1), **kw: object) -> str:
    async def make() -> str:
        made = await links.create(
            served.client,
            run.run_id,
            expires=expires,
            base_url=served.url,
            key=KEY.encode(),
            identity=identity,
            **kw,  # type: ignore[arg-type]
        )
        return made.url

    return make()  # type: ignore[return-value]


async def open_link(url: str) -> tuple[httpx.AsyncClient, httpx.Response, str]:
    """A browser without any sign-in opening the link: its page, and the CSRF token it was given."""
    browser = httpx.AsyncClient(base_url=url.split("/link/")[0], follow_redirects=False, timeout=60)
    page = await browser.get(url, headers={"accept": "text/html"})
    token = CSRF_FIELD.search(page.text) or CSRF_FIELD.search((await browser.get("/login")).text)
    assert token, "no page gave this browser a CSRF token"  # a link page that cannot answer has no form
    return browser, page, token.group(1)


def answer_form(url: str, csrf: str, value: str, **fields: str) -> tuple[str, str]:
    """Where the link page's form posts, and the form as the page's answer buttons send it."""
    token = url.rsplit("/link/", 1)[1]
    return url.replace(f"/link/{token}", f"/ui/link/{token}"), urlencode(
        {"csrf": csrf, "v": json.dumps(value), **fields}
    )


async def test_the_cli_prints_a_link_that_answers_once_as_its_reviewer(served: Served, keyed: None) -> None:
    run = await paused(served.client, reviewers=["alice", "role:finance"])
    made = await cli(
        served.client,
        "link",
        run.run_id,
        "--identity",
        "dana",
        "--roles",
        "finance",
        "--expires",
        "2h",
        "--base-url",
        served.url,
        "--json",
        env={"HITL_LINK_KEY": KEY},
    )
    assert made.code == 0, made
    data = made.json()
    assert isinstance(data, dict) and data["identity"] == "dana" and data["roles"] == ["finance"]
    url = data["url"]
    assert url.startswith(f"{served.url}/link/")
    browser, page, csrf = await open_link(url)
    async with aclosing(browser):
        assert page.status_code == 200 and "A question for dana" in page.text and run.run_id in page.text
        assert "Publish the note about" in page.text and 'value="&#34;approve&#34;"' in page.text
        post_to, body = answer_form(url, csrf, "approve")
        sent = await browser.post(post_to, content=body, headers=FORM)
        assert sent.status_code == 303 and sent.headers["location"].endswith("?done=answered")
        done = await browser.get(sent.headers["location"], headers={"accept": "text/html"})
        assert done.status_code == 200 and "Answer recorded" in done.text
        finished = await wait_for(run, "completed")
        [decision] = finished.decisions
        assert (decision.identity, decision.value, decision.request_id) == (
            "dana",
            "approve",
            links.verify(url.rsplit("/link/", 1)[1], KEY.encode()).request_id,
        )
        before = await event_count(served.client, run.run_id)
        again = await browser.post(post_to, content=body, headers=FORM)
        assert again.status_code == 410 and "already used" in again.text and "dana answered with it" in again.text
        reopened = await browser.get(url, headers={"accept": "text/html"})
        assert reopened.status_code == 410 and "already used" in reopened.text
        assert await event_count(served.client, run.run_id) == before


async def test_a_link_whose_answer_was_rolled_back_says_so(served: Served, keyed: None) -> None:
    """The link answered once (its request id stays used), the node broke on the answer and it was put back:
    the page says so and asks for a new link, instead of only "already used" while the question waits."""
    run = await served.client.start("answer_note", {})
    await wait_for(run, "interrupted")
    url = await link_to(run, served, "dana")
    browser, page, csrf = await open_link(url)
    async with aclosing(browser):
        post_to, body = answer_form(url, csrf, 5)  # type: ignore[arg-type]  # a number for `note: str`
        sent = await browser.post(post_to, content=body, headers=FORM)
        assert sent.status_code == 303, sent.text
        for _ in range(100):
            if (await run.get_state()).refused:
                break
            await asyncio.sleep(0.1)
        assert (await run.get_state()).status == "interrupted"
        reopened = await browser.get(url, headers={"accept": "text/html"})
        assert reopened.status_code == 410 and "dana answered with it" in reopened.text
        assert "was rolled back, so the question waits again: ask for a new link" in reopened.text


async def test_no_link_is_made_for_a_reviewer_whose_vote_is_in(served: Served, keyed: None) -> None:
    run = await served.client.start("quorum_review", {"draft": "pay 1M"})
    await wait_for(run, "interrupted")
    await run.resume("approve", identity="alice")
    with pytest.raises(
        hitl.InvalidInputError, match="'alice' already answered .* a link for them would only be refused"
    ):
        await link_to(run, served, "alice")
    assert "/link/" in await link_to(run, served, "bob")


async def test_tampered_expired_and_answered_links_get_a_clear_page_and_write_nothing(
    served: Served, keyed: None
) -> None:
    run = await paused(served.client)
    url = await link_to(run, served, "alice")
    before = await event_count(served.client, run.run_id)
    mac = url.rsplit(".", 1)[1]
    tampered = url[: -len(mac)] + ("A" if mac[0] != "A" else "B") + mac[1:]
    expired_link = links.new_link(
        run.run_id, (await run.get_state()).interrupts[0].id, "alice", (), timedelta(seconds=-5)
    )
    expired = links.url_for(served.url, links.sign(expired_link, KEY.encode()))
    for target, status, words in [(tampered, 403, "not valid"), (expired, 410, "expired at")]:
        browser, page, csrf = await open_link(target)
        async with aclosing(browser):
            assert page.status_code == status and words in page.text, page.text
            post_to, form = answer_form(target, csrf, "approve")
            refused = await browser.post(post_to, content=form, headers=FORM)
            assert refused.status_code == status and "Nothing was written" in refused.text
    await run.resume("reject", identity="bob")  # someone else answers first: the link's question is gone
    after_bob = await event_count(served.client, run.run_id)
    browser, page, csrf = await open_link(url)
    async with aclosing(browser):
        assert page.status_code == 409 and "bob answered this question" in page.text and "not used" in page.text
        post_to, form = answer_form(url, csrf, "approve")
        assert (await browser.post(post_to, content=form, headers=FORM)).status_code == 409
    assert before < after_bob == await event_count(served.client, run.run_id)


async def test_a_link_answer_the_run_refuses_comes_back_inline_and_a_forged_form_is_refused(
    served: Served, keyed: None
) -> None:
    run = await paused(served.client)
    url = await link_to(run, served, "erin")
    before = await event_count(served.client, run.run_id)
    browser, _, csrf = await open_link(url)
    async with aclosing(browser):
        post_to, form = answer_form(url, csrf, "", mode="json", json='"maybe"')  # not one of the schema's answers
        refused = await browser.post(post_to, content=form, headers=FORM)
        assert refused.status_code == 303
        back = await browser.get(refused.headers["location"], headers={"accept": "text/html"})
        assert back.status_code == 200 and "Not accepted" in back.text and "does not fit its schema" in back.text
        forged = await browser.post(post_to, content=urlencode({"csrf": "guess", "v": '"approve"'}), headers=FORM)
        assert forged.status_code == 303 and "CSRF" in refusal(forged)
        assert await event_count(served.client, run.run_id) == before
        post_to, form = answer_form(url, csrf, "reject")
        assert (await browser.post(post_to, content=form, headers=FORM)).status_code == 303
    assert (await wait_for(run, "completed")).decisions[0].identity == "erin"


async def test_without_a_key_links_are_neither_made_nor_accepted(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = await paused(served.client)
    monkeypatch.setenv("HITL_LINK_KEY", KEY)
    url = await link_to(run, served, "alice")
    monkeypatch.delenv("HITL_LINK_KEY")
    browser, page, _ = await open_link(url)
    async with aclosing(browser):
        assert page.status_code == 503 and "need a key: set HITL_LINK_KEY" in page.text
    error = one_line_error(
        await cli(served.client, "link", run.run_id, "--base-url", served.url, env={"HITL_LINK_KEY": ""})
    )
    assert "decision links need a key" in error
    locked = await paused(served.client, reviewers=["carol"])
    error = one_line_error(
        await cli(
            served.client,
            "link",
            locked.run_id,
            "--identity",
            "alice",
            "--base-url",
            served.url,
            env={"HITL_LINK_KEY": KEY},
        )
    )
    assert "'alice' may not answer interrupt" in error
    error = one_line_error(
        await cli(
            served.client, "link", run.run_id, "--expires", "1w", "--base-url", served.url, env={"HITL_LINK_KEY": KEY}
        )
    )
    assert "--expires '1w' is not a duration" in error
    await run.resume("reject")
    await locked.resume("reject", identity="carol")


async def test_a_revoked_link_is_refused_before_anything_is_sent_and_others_still_answer(
    served: Served, keyed: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An identity whose access was taken away (its links revoked in HITL_LINK_REVOKED_FILE) and one leaked link
    (revoked by pasting it) answer nothing, while the server runs on; a link of someone else still answers. A
    list that cannot be read refuses every link; `hitl serve` does not start on it."""
    run = await paused(served.client)
    mallory, leaked, alice = [await link_to(run, served, who) for who in ("mallory", "erin", "alice")]
    listed = tmp_path / "revoked"
    listed.write_text(f"mallory  # left\n{leaked}\n")
    monkeypatch.setenv("HITL_LINK_REVOKED_FILE", str(listed))
    before = await event_count(served.client, run.run_id)
    for url, words in [(mallory, "links made for 'mallory' are no longer accepted"), (leaked, "this link was revoked")]:
        browser, page, csrf = await open_link(url)
        async with aclosing(browser):
            shown = html.unescape(page.text)
            assert page.status_code == 403 and "This link was revoked" in shown and words in shown
            post_to, form = answer_form(url, csrf, "approve")
            refused = await browser.post(post_to, content=form, headers=FORM)
            assert refused.status_code == 403 and "Nothing was written" in refused.text
    monkeypatch.setenv("HITL_LINK_REVOKED_FILE", str(tmp_path / "missing"))
    browser, page, _ = await open_link(alice)
    async with aclosing(browser):
        assert page.status_code == 503 and "cannot read the link revocation list" in page.text
    assert await event_count(served.client, run.run_id) == before
    error = one_line_error(await cli(served.client, "serve", "--port", "0", env={"HITL_LINK_REVOKED_FILE": "/nope"}))
    assert error == (
        "error: cannot read the link revocation list HITL_LINK_REVOKED_FILE=/nope: No such file or directory; "
        "no link is accepted"
    )
    monkeypatch.setenv("HITL_LINK_REVOKED_FILE", str(listed))
    browser, _, csrf = await open_link(alice)
    async with aclosing(browser):
        post_to, form = answer_form(alice, csrf, "approve")
        assert (await browser.post(post_to, content=form, headers=FORM)).status_code == 303
    assert [d.identity for d in (await wait_for(run, "completed")).decisions] == ["alice"]


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict]]]:
    got: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    server = HTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/hook", got
    server.shutdown()


async def test_the_webhook_payload_carries_a_link_that_answers_the_question(
    served: Served, keyed: None, monkeypatch: pytest.MonkeyPatch, receiver: tuple[str, list[dict]]
) -> None:
    hook_url, got = receiver
    run = await paused(served.client, reviewers=["alice", "role:finance"])
    snapshot = await run.get_state()
    await asyncio.to_thread(webhook(hook_url), snapshot)
    assert got[-1]["links"] == []  # no base URL configured: no links
    monkeypatch.setenv("HITL_LINK_BASE_URL", served.url)
    await asyncio.to_thread(webhook(hook_url, link_for=["dana"]), snapshot)
    [link] = got[-1]["links"]  # dana is not a reviewer of this question: only alice gets one
    assert link["identity"] == "alice" and link["interrupt_id"] == snapshot.interrupts[0].id
    browser, page, csrf = await open_link(link["url"])
    async with aclosing(browser):
        assert page.status_code == 200 and "A question for alice" in page.text
        post_to, form = answer_form(link["url"], csrf, "approve")
        assert (await browser.post(post_to, content=form, headers=FORM)).status_code == 303
    assert (await wait_for(run, "completed")).decisions[0].identity == "alice"


async def test_a_message_buttons_answer_is_preselected_and_sent_only_on_confirm(served: Served, keyed: None) -> None:
    """email()/slack() open a link per allowed answer with `?answer=`: the page preselects it, and opening
    it sends nothing (mail scanners open links); its confirm POST answers once, as any link does."""
    run = await paused(served.client)
    url = await link_to(run, served, "erin")
    before = await event_count(served.client, run.run_id)
    browser, page, csrf = await open_link(f"{url}?{urlencode({'answer': 'reject'})}")
    async with aclosing(browser):
        assert page.status_code == 200 and 'data-testid="link-chosen"' in page.text
        assert "You chose <b>reject</b>" in page.text and 'name="json" value="&#34;reject&#34;"' in page.text
        other = await browser.get(f"{url}?{urlencode({'answer': 'maybe'})}", headers={"accept": "text/html"})
        assert other.status_code == 200 and "link-chosen" not in other.text  # not one of its answers: no choice
        assert await event_count(served.client, run.run_id) == before  # opening a link answers nothing
        post_to, body = answer_form(url, csrf, "", mode="json", json='"reject"')  # the confirm button's form
        sent = await browser.post(post_to, content=body, headers=FORM)
        assert sent.status_code == 303
    finished = await wait_for(run, "completed")
    assert [(d.identity, d.value) for d in finished.decisions] == [("erin", "reject")]
