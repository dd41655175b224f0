"""Hostile review of the inbox's paging and `/metrics`: a forged page cursor, and HTTP methods an
attacker picks (each would be a label of its own in `hitl_http_requests_total`)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import hitl
from hitl.web import NoAuth, Settings, create_app
from hitl.web.testing import running
from tests.web_fixtures import Served

ON_THE_SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")


def cursor(at: str, run_id: str = "r1") -> str:
    """An `after` token as the inbox makes them (base64url of `[time, run id]`), with any time."""
    return base64.urlsafe_b64encode(json.dumps([at, run_id]).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "at",
    ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999+00:00"],
)
@pytest.mark.parametrize("order", ["oldest", "newest"])
async def test_a_forged_cursor_at_the_ends_of_time_is_refused_in_one_line(served: Served, at: str, order: str) -> None:
    """A cursor is the browser's to send back: one whose time converts past year 9999 or before year 1 (or lies
    where no run waits) is a bad link, said in one line (422), not a server error."""
    async with served.http() as http:
        answer = await http.get("/", params={"after": cursor(at), "order": order})
    assert answer.status_code == 422, (answer.status_code, answer.text[:300])
    assert "'after' is not one this inbox made" in answer.text


async def test_metrics_methods_an_attacker_picks_share_one_label(client: hitl.Client) -> None:
    """`/metrics` is unauthenticated and every request is counted by method: the method is the caller's
    choice (uvicorn passes every method its parser knows, some 40), so the methods no route serves are
    counted as one `other`, not a time series each."""
    app = create_app(client, NoAuth("alice"), graphs=[], settings=Settings(metrics=True))
    odd = ["PROPFIND", "MKCOL", "PURGE", "SEARCH", "LINK", "UNLOCK", "REPORT", "SOURCE"]
    async with running(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        for method in odd:
            await http.request(method, "/runs/anything")
        text = (await http.get("/metrics")).text
    methods = {
        s.labels["method"]
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("hitl_http_requests")
    }
    assert not methods & set(odd), methods
    assert "other" in methods, methods
