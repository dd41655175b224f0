"""The run streams and runs API as an attacker meets them: a sibling origin's page using the signed-in
person's cookie to cancel a run through a GET, and long waits held without the stream cap."""

from __future__ import annotations

import asyncio
import json
import uuid
from urllib.parse import urlencode

import httpx
import pytest

import hitl
from hitl.web import Settings, TokenAuth, create_app
from hitl.web.run_records import start_run_id
from hitl.web.testing import running
from tests.helpers import wait_for
from tests.web_fixtures import TOKENS, Served, flash_of, refusal

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("route", ["stream", "join"])
async def test_a_sibling_origins_page_cannot_cancel_a_run_by_dropping_a_rejoined_stream(
    served: Served, route: str
) -> None:
    """`GET .../runs/{id}/stream?cancel_on_disconnect=true` (and `.../join?...`) cancels the run when the
    connection drops: a write in a GET. An `<img>` on a sibling port of the same host carries the SameSite
    cookie, so the GET is refused from another origin's page as every write is; the server's own page and API
    clients still may."""
    run = await served.client.start("slow_work", {})
    join = f"/threads/{run.run_id}/runs/{start_run_id(run.run_id)}/{route}"
    sibling = served.url.rsplit(":", 1)[0] + ":1"
    async with served.http(None, follow_redirects=False) as browser:
        browser.cookies.set("hitl_token", "tok-alice")
        for headers in ({"sec-fetch-site": "same-site", "origin": sibling}, {"origin": sibling}):
            params = {"cancel_on_disconnect": "true"}
            async with browser.stream("GET", join, params=params, headers=headers) as refused:
                body = json.loads(await refused.aread())
            assert refused.status_code == 403, headers
            assert "cancel_on_disconnect" in body["detail"] and "is refused" in body["detail"], body
            assert "\n" not in body["detail"]
        # Reading the stream (no cancel) from such a page is not a write: it stays open to it.
        async with browser.stream("GET", join, headers={"sec-fetch-site": "same-site"}) as read:
            assert read.status_code == 200
    state = await wait_for(run, "interrupted")  # the step ran on: nobody cancelled it
    assert not [d for d in state.decisions if d.kind == "cancel"], state.decisions
    await run.resume("fine")


async def test_a_refused_bulk_answer_with_many_ticks_and_a_long_answer_still_says_why(served: Served) -> None:
    """The flash carrying a refusal back is a cookie, which browsers drop past 4 kB (the page would then
    show nothing: no reason, no ticks, no answer). A long answer (not ASCII) and many ticked runs still fit:
    the reason always comes back, with as much of the rest as fits."""
    async with served.http(None, follow_redirects=False) as browser:
        browser.cookies.set("hitl_token", "tok-alice")
        ticked = [("run", str(uuid.uuid4())) for _ in range(60)]
        form = [("value", "é" * 1000), ("back", "/?order=newest"), *ticked]  # no CSRF token: refused
        refused = await browser.post("/ui/batch/preview", content=urlencode(form), headers=FORM)
    assert refused.status_code == 303 and "CSRF" in refusal(refused)
    cookie = next(c.split(";")[0] for c in refused.headers.get_list("set-cookie") if c.startswith("hitl_flash="))
    assert len(cookie.encode()) <= 4000, len(cookie.encode())
    assert flash_of(refused)["x"]["value"] == "é" * 1000  # the answer kept; the ticks gave way


async def test_a_join_takes_a_stream_slot_so_joins_in_a_loop_cannot_hold_polls_without_bound(
    client: hitl.Client,
) -> None:
    """`GET .../runs/{id}/join` holds a Temporal long poll while the run runs, as a stream does: it counts
    against the caller's `--max-streams`, and the slot is free again once the join returns."""
    app = create_app(client, TokenAuth(TOKENS), settings=Settings(poll_seconds=0.2, max_streams=1))
    run = await client.start("approval", {"topic": "tea"})
    await wait_for(run, "interrupted")
    join = f"/threads/{run.run_id}/runs/{start_run_id(run.run_id)}/join"
    async with (
        running(app) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer tok-alice"}, timeout=60) as alice,
    ):
        async with alice.stream("GET", f"/threads/{run.run_id}/stream") as open_stream:
            assert open_stream.status_code == 200
            refused = await alice.get(join)
            assert refused.status_code == 429, refused.text
            assert "live streams open" in refused.json()["detail"]
        for _ in range(100):  # the stream closed: its slot frees once the server sees it go
            joined = await alice.get(join)
            if joined.status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert joined.status_code == 200 and "__interrupt__" in joined.json(), joined.text
        assert (await alice.get(join)).status_code == 200  # a finished join gave its slot back
    await run.resume("reject")
