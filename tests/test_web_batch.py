"""Batch answers over the HTTP API (`POST /hitl/batch/resume`) and the inbox's bulk form,
against the real dev server: a report per run, the caller's identity and roles checked
by each run, a resent batch applying nothing twice, bad input refused with nothing sent."""

from __future__ import annotations

import html
import json
import re
import uuid
from urllib.parse import urlencode

import hitl
from tests.helpers import event_count, wait_for
from tests.web_fixtures import Served, csrf_of, refusal

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def paused(client: hitl.Client, n: int = 1, **input: object) -> list[hitl.Run]:
    topic = f"t{uuid.uuid4().hex[:10]}"
    runs = [await client.start("batch_review", {"topic": topic, **input}) for _ in range(n)]
    for r in runs:
        await wait_for(r, "interrupted")
    return runs


async def test_the_api_answers_many_runs_as_the_caller_and_a_resent_batch_applies_nothing(served: Served) -> None:
    runs = await paused(served.client, 2)
    [locked] = await paused(served.client, reviewers=["carol"])
    [finance] = await paused(served.client, reviewers=["role:finance"])
    ids = [r.run_id for r in (*runs, locked, finance)]
    batch = f"api-{uuid.uuid4().hex[:8]}"
    async with served.http("tok-alice") as http:
        dry = await http.post("/hitl/batch/resume", json={"run_ids": ids, "value": "approve", "dry_run": True})
        assert dry.status_code == 200 and dry.json()["counts"] == {"would_apply": 3, "refused": 1}, dry.text
        [dry_refused] = [r for r in dry.json()["results"] if r["outcome"] == "refused"]
        assert dry_refused["thread_id"] == locked.run_id and "'alice' may not answer" in dry_refused["reason"]
        assert [(await r.get_state()).status for r in runs] == ["interrupted"] * len(runs)
        before = await event_count(served.client, locked.run_id)
        res = await http.post("/hitl/batch/resume", json={"run_ids": ids, "value": "approve", "batch_id": batch})
        assert res.status_code == 200, res.text
        body = res.json()
        by = {r["thread_id"]: r for r in body["results"]}
        assert body["ok"] is False and body["batch_id"] == batch and body["counts"] == {"applied": 3, "refused": 1}
        assert by[locked.run_id]["outcome"] == "refused" and "'alice' may not answer" in by[locked.run_id]["reason"]
        assert by[finance.run_id]["outcome"] == "applied"  # alice holds role finance (her token)
        for r in (*runs, finance):
            done = await wait_for(r, "completed")
            assert [(d.identity, d.value) for d in done.decisions] == [("alice", "approve")]
        assert await event_count(served.client, locked.run_id) == before
        again = await http.post(
            "/hitl/batch/resume", json={"run_ids": ids, "value": "approve"}, headers={"Idempotency-Key": batch}
        )
        assert again.json()["counts"] == {"already_applied": 3, "refused": 1}
    await locked.resume("reject", identity="carol")


async def test_a_batch_id_bob_used_first_is_refused_to_alice_over_http(served: Served) -> None:
    """The same batch id and value from another caller: that run is refused naming bob, `ok` false,
    nothing written; bob resending it is told it is done."""
    [run] = await paused(served.client, again=True)
    batch = f"fri-{uuid.uuid4().hex[:8]}"
    body = {"run_ids": [run.run_id], "value": "approve", "batch_id": batch}
    async with served.http("tok-bob") as bob, served.http("tok-alice") as alice:
        first = (await bob.post("/hitl/batch/resume", json=body)).json()
        assert first["counts"] == {"applied": 1}
        await wait_for(run, "interrupted")
        before = await event_count(served.client, run.run_id)
        theirs = (await alice.post("/hitl/batch/resume", json=body)).json()
        [result] = theirs["results"]
        assert (
            theirs["ok"] is False and result["outcome"] == "refused" and "used on this run by bob" in result["reason"]
        )
        assert await event_count(served.client, run.run_id) == before
        mine = (await bob.post("/hitl/batch/resume", json=body)).json()
        assert mine["ok"] is True and mine["counts"] == {"already_applied": 1}
    assert [d.identity for d in (await run.get_state()).decisions] == ["bob"]
    await run.resume("approve", identity="carol")


async def test_bad_batch_requests_are_one_line_and_send_nothing(served: Served) -> None:
    [run] = await paused(served.client)
    before = await event_count(served.client, run.run_id)
    async with served.http("tok-bob") as http:
        for body, status, words in [
            ({"value": "approve"}, 422, "say which runs"),
            ({"run_ids": [run.run_id]}, 422, "value"),
            ({"run_ids": [run.run_id], "value": "approve", "graph": "batch_review"}, 422, "not both"),
            ({"run_ids": [run.run_id], "value": "approve", "concurrency": 0}, 422, "concurrency"),
            ({"run_ids": [run.run_id], "value": "approve", "batch_id": "has space"}, 422, "batch id"),
            ({"run_ids": [run.run_id], "value": "approve", "colour": "red"}, 422, "colour"),
            ({"graph": 'x" OR "1"="1', "value": "approve"}, 422, "cannot search on"),
        ]:
            res = await http.post("/hitl/batch/resume", json=body)
            assert res.status_code == status and words in res.json()["detail"], (body, res.text)
        assert (
            await http.post(
                "/hitl/batch/resume",
                content=b"run_ids=x",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        ).status_code == 415
    async with served.http(None) as anonymous:
        assert (
            await anonymous.post("/hitl/batch/resume", json={"run_ids": [run.run_id], "value": "a"})
        ).status_code == 401
    assert await event_count(served.client, run.run_id) == before
    async with served.http("tok-bob") as http:
        spec = (await http.get("/openapi.json")).json()
        assert "/hitl/batch/resume" in spec["paths"]
    await run.resume("reject")


async def test_the_inbox_bulk_form_previews_then_sends_the_pinned_runs_with_its_csrf_token(served: Served) -> None:
    """Without scripts: Preview is a page listing each run at its question (nothing sent), its
    confirmation sends to exactly those runs; a post without the preview's pins, or without the
    CSRF token, sends nothing."""
    runs = await paused(served.client, 2)
    back = "/?graph=batch_review&node=review&age=any&order=oldest"
    async with served.http(None, follow_redirects=False) as browser:
        browser.cookies.set("hitl_token", "tok-bob")
        page = await browser.get("/?graph=batch_review&node=review", headers={"accept": "text/html"})
        batch_id = re.search(r'name="batch_id" value="([^"]+)"', page.text)
        csrf = csrf_of(page.text)
        assert batch_id and 'name="back"' in page.text
        form = {"value": '"approve"', "batch_id": batch_id.group(1), "node": "review", "back": back}
        ticked = [("run", r.run_id) for r in runs]
        forged = await browser.post("/ui/batch/preview", content=urlencode([*form.items(), *ticked]), headers=FORM)
        assert forged.status_code == 303 and "CSRF" in refusal(forged) and forged.headers["location"] == back
        shown = await browser.post(
            "/ui/batch/preview", content=urlencode([*form.items(), ("csrf", csrf), *ticked]), headers=FORM
        )
        assert shown.status_code == 200 and shown.text.count('data-outcome="would_apply"') == 2, shown.text
        assert [(await r.get_state()).status for r in runs] == ["interrupted"] * len(runs)  # a preview sends nothing
        pins = html.unescape(re.search(r"name=\"pins\" value='([^']+)'", shown.text).group(1))  # type: ignore[union-attr]
        assert json.loads(pins) == {r.run_id: (await r.get_state()).interrupts[0].id for r in runs}
        unpinned = await browser.post(
            "/ui/batch", content=urlencode([*form.items(), ("csrf", csrf), *ticked]), headers=FORM
        )
        assert unpinned.status_code == 303 and "sent from its preview" in refusal(unpinned)
        assert [(await r.get_state()).status for r in runs] == ["interrupted"] * len(runs)
        confirm = {**form, "csrf": csrf, "pins": pins}
        sent = await browser.post("/ui/batch", content=urlencode(confirm), headers=FORM)
        assert sent.status_code == 200 and sent.text.count('data-outcome="applied"') == 2, sent.text
        resent = await browser.post("/ui/batch", content=urlencode(confirm), headers=FORM)
        assert resent.text.count('data-outcome="already_applied"') == 2
        nothing = await browser.post(
            "/ui/batch/preview", content=urlencode([*form.items(), ("csrf", csrf)]), headers=FORM
        )
        assert nothing.status_code == 303 and "tick the runs" in refusal(nothing)
    for r in runs:
        assert [d.identity for d in (await wait_for(r, "completed")).decisions] == ["bob"]


async def test_without_scripts_a_refused_bulk_answer_returns_to_its_filter_with_the_ticks_and_answer(
    served: Served,
) -> None:
    """A plain word for a number question, posted without scripts: back to the same filter (never another
    site), the refusal, the ticks and the typed word kept; nothing sent."""
    score = await served.client.start("scored", {})
    await wait_for(score, "interrupted")
    before = await event_count(served.client, score.run_id)
    async with served.http(None, follow_redirects=False) as browser:
        browser.cookies.set("hitl_token", "tok-alice")
        csrf = csrf_of((await browser.get("/?graph=scored", headers={"accept": "text/html"})).text)
        form = {"csrf": csrf, "value": "approve", "back": "/?graph=scored&order=newest", "run": score.run_id}
        res = await browser.post("/ui/batch/preview", content=urlencode(form), headers=FORM)
        assert res.status_code == 303 and res.headers["location"] == "/?graph=scored&order=newest"
        assert "'approve' is not JSON" in refusal(res) and "a number from 0 to 100" in refusal(res)
        again = await browser.get(res.headers["location"], headers={"accept": "text/html"})
        assert "is not JSON" in again.text and 'value="approve"' in again.text
        box = re.search(rf'<input type="checkbox" name="run" value="{re.escape(score.run_id)}"[^>]*>', again.text)
        assert box and "checked" in box.group(0)
        elsewhere = {**form, "back": "https://elsewhere.example/?graph=scored"}
        off_site = await browser.post("/ui/batch/preview", content=urlencode(elsewhere), headers=FORM)
        assert off_site.headers["location"] == "/"
    assert await event_count(served.client, score.run_id) == before
    await score.resume(5)
