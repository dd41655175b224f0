"""The inbox filter carried through a decision over HTTP (issue 26 item 3): a refusal returns to the run page
with the filter, `stay` keeps the run, and the next-run redirect skips runs no longer waiting."""

from __future__ import annotations

import json
from urllib.parse import quote

import hitl
from hitl.protocol.row_memo import Card, from_memo
from tests.helpers import wait_for
from tests.row_graphs import clear
from tests.web_fixtures import Served, csrf_of, refusal

FILTER = "graph=titled_order&order=newest"


async def waiting(client: hitl.Client) -> hitl.Run:
    run = await client.start("titled_order", {"customer": "Ada", "total": "€1"})
    await wait_for(run, "interrupted")
    return run


async def test_a_refusal_and_stay_keep_the_filter_and_next_skips_what_no_longer_waits(served: Served) -> None:
    await clear(served.client, "titled_order")
    older, newer = await waiting(served.client), await waiting(served.client)
    async with served.http() as http:
        page = await http.get(f"/runs/{older.run_id}", params={"in": FILTER + "&evil=1"})
        assert f'name="in" value="{FILTER}"' in page.text.replace("&amp;", "&"), "only the filter's own keys"
        form = {"csrf": csrf_of(page.text), "in": FILTER, "interrupt_id": "no-such-question", "v": '"approve"'}
        refused = await http.post(f"/ui/runs/{older.run_id}/answer", data=form)
        assert refused.status_code == 303 and refusal(refused)
        assert refused.headers["location"] == f"/runs/{older.run_id}?in={quote(FILTER, safe='')}"
        iid = (await older.get_state()).interrupts[0].id
        stayed = await http.post(
            f"/ui/runs/{older.run_id}/answer",
            data={**form, "interrupt_id": iid, "stay": "1", "v": json.dumps("approve")},
        )
        assert stayed.headers["location"] == f"/runs/{older.run_id}?done=answered&in={quote(FILTER, safe='')}"
        await older.result()
        # newest first: `newer` is next; once it is gone too, the filtered inbox
        after = await http.get("/ui/next", params={"after": "elsewhere", "graph": "titled_order", "order": "newest"})
        assert after.headers["location"] == f"/runs/{newer.run_id}?in={quote(FILTER, safe='')}"
        await newer.cancel()
        await wait_for(newer, "cancelled")
        empty = await http.get("/ui/next", params={"after": newer.run_id, "graph": "titled_order", "order": "newest"})
        assert empty.headers["location"] == f"/?{FILTER}"


async def test_interrupt_carries_its_row_to_the_run_and_the_listing(served: Served) -> None:
    run = await waiting(served.client)
    [asked] = (await run.get_state()).interrupts
    assert (asked.title, asked.summary) == ("Order for Ada", {"customer": "Ada", "total": "€1"})
    listed = {p.run_id: p for p in await served.client.pending()}[run.run_id]
    assert from_memo(listed.summary) == Card("Order for Ada", {"customer": "Ada", "total": "€1"})
    await run.cancel()
