"""The diff helpers behind the run page's editors (/ui/api/diff, /ui/api/preview): bounded output, and only
for those who may make the change they preview (issue 24's review)."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers import event_count, wait_for
from tests.web_fixtures import Served


def nested(keys: list[str], leaves: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = leaves
    for key in reversed(keys):
        out = {key: out}
    return out


async def test_a_diff_of_long_key_chains_is_answered_bounded(served: Served) -> None:
    """The reported body: keys of 7,000 characters nested 80 deep over 700 leaves gave a 392 MB answer."""
    keys = [f"{n}" + "k" * 7000 for n in range(80)]
    body = json.dumps(
        {
            "before": nested(keys, {f"l{n}": 0 for n in range(700)}),
            "after": nested(keys, {f"l{n}": 1 for n in range(700)}),
        }
    ).encode()
    async with served.http() as http:
        shown = await http.post("/ui/api/diff", content=body, headers={"content-type": "application/json"})
        assert shown.status_code == 200, shown.text[:200]
        assert len(shown.content) < 2 * len(body) + 100_000
        assert 'data-testid="diff-more"' in shown.text and "more changes not shown" in shown.text
        small = await http.post("/ui/api/diff", json={"before": {"a": 1, "b": 2}, "after": {"a": 3, "b": 2}})
        assert small.status_code == 200 and "<th>a</th>" in small.text and "<th>b</th>" not in small.text


async def test_only_those_who_may_decide_are_shown_diffs_checks_and_previews(served: Served) -> None:
    """dana is view-only (403 as on every changing route); bob may read a payment run but is not one of its
    reviewers, so he may neither check nor preview answers to its question."""
    run = await served.client.start("payment", {"draft": "diff-scope"})
    iid = (await wait_for(run, "interrupted")).interrupts[0].id
    before = await event_count(served.client, run.run_id)
    asks: list[tuple[str, dict[str, Any]]] = [
        ("/ui/api/diff", {"before": 1, "after": 2}),
        ("/ui/api/check", {"run_id": run.run_id, "interrupt_id": iid, "value": "approve"}),
        ("/ui/api/preview", {"run_id": run.run_id, "interrupt_id": iid, "fields": {}}),
    ]
    async with served.http("tok-dana") as dana, served.http("tok-bob") as bob, served.http() as alice:
        for path, body in asks:
            refused = await dana.post(path, json=body)
            assert refused.status_code == 403 and "view-only" in refused.json()["detail"], path
        assert (await bob.get(f"/threads/{run.run_id}/state")).status_code == 200  # he may read it
        for path, body in asks[1:]:
            refused = await bob.post(path, json=body)
            assert refused.status_code == 403, (path, refused.text)
            assert refused.json()["detail"].startswith(f"'bob' may not answer question {iid}"), path
        assert (await alice.post("/ui/api/check", json=asks[1][1])).json() == {"ok": True}
    assert await event_count(served.client, run.run_id) == before
