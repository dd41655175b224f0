"""JSON nesting is limited at every edge (hitl/protocol/limits.py MAX_JSON_DEPTH): each HTTP route taking JSON,
each form field carrying JSON, the CLI's JSON arguments and the Python client's values. At the limit a
document is read as usual; one level past it is refused with one line, before any parser (which would
fail far deeper, as a 500), and nothing is written to any run's history."""

from __future__ import annotations

import json
from typing import Any

import pytest
import pytest_asyncio

import hitl
from hitl.protocol.limits import MAX_JSON_DEPTH
from hitl.types import InvalidInputError
from tests.helpers import cli, event_count, one_line_error, wait_for
from tests.web_fixtures import Served, csrf_of, refusal

DEEP = "nests deeper than"


def nest(depth: int) -> str:
    """JSON text `depth` levels deep."""
    return "[" * depth + "1" + "]" * depth


def value(depth: int) -> Any:
    return json.loads(nest(depth))


@pytest.fixture(scope="module")
def served(own_served: Served) -> Served:
    """The app in this module's own namespace: a search on values at the depth limit reads every thread listed, so
    in the session's namespace it would read every run of every module that ran before (conftest.py)."""
    return own_served


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ended(served: Served) -> str:
    """A completed run: every decision sent to it is refused by the run, so nothing can be written."""
    run = await served.client.start("chain", {})
    await run.result()
    return run.run_id


ROUTES: list[tuple[str, str]] = [
    # (path, body with X where a value nests; X sits `levels above` it, counted in the template)
    ("/assistants/search", '{"metadata": {"k": X}}'),
    ("/threads", '{"supersteps": X}'),
    ("/threads/search", '{"values": {"k": X}}'),
    ("/threads/count", '{"values": {"k": X}}'),
    ("/threads/{run}/state", '{"values": {"k": X}}'),
    ("/threads/{run}/history", '{"metadata": {"k": X}}'),
    ("/threads/{run}/claim", '{"to": X}'),
    ("/threads/{run}/runs/wait", '{"assistant_id": "chain", "command": {"resume": X}}'),
    ("/threads/{run}/runs", '{"assistant_id": "chain", "command": {"resume": X}}'),
    ("/threads/{run}/runs/stream", '{"assistant_id": "chain", "command": {"resume": X}}'),
    ("/runs/wait", '{"assistant_id": "chain", "input": {"k": X}}'),
    ("/runs", '{"assistant_id": "chain", "input": {"k": X}}'),
    ("/runs/stream", '{"assistant_id": "chain", "input": {"k": X}}'),
    ("/hitl/batch/resume", '{"run_ids": ["{run}"], "value": X}'),
    ("/ui/api/check", '{"run_id": "{run}", "interrupt_id": "x", "value": X}'),
    ("/ui/api/preview", '{"run_id": "{run}", "interrupt_id": "x", "fields": X}'),
    ("/ui/api/diff", '{"before": X, "after": 1}'),
]


def body(template: str, run: str, depth: int) -> bytes:
    """`template` with X nested so the whole body is `depth` deep."""
    outer = json.loads(template.replace("X", "null").replace("{run}", run))
    around = _depth_of_x(outer)
    return template.replace("{run}", run).replace("X", nest(depth - around)).encode()


def _depth_of_x(doc: Any, at: int = 0) -> int:
    if doc is None:
        return at
    if isinstance(doc, dict):
        found = [_depth_of_x(v, at + 1) for v in doc.values()]
    elif isinstance(doc, list):
        found = [_depth_of_x(v, at + 1) for v in doc]
    else:
        return -1
    return max(found, default=-1)


@pytest.mark.parametrize(("path", "template"), ROUTES, ids=[r[0] for r in ROUTES])
async def test_each_json_route_reads_the_limit_and_refuses_one_past_it(
    served: Served, ended: str, path: str, template: str
) -> None:
    before = await event_count(served.client, ended)
    json_type = {"content-type": "application/json"}
    async with served.http() as http:
        at = await http.post(
            path.replace("{run}", ended), content=body(template, ended, MAX_JSON_DEPTH), headers=json_type
        )
        assert at.status_code < 500 and DEEP not in at.text, at.text
        past = await http.post(
            path.replace("{run}", ended), content=body(template, ended, MAX_JSON_DEPTH + 1), headers=json_type
        )
        assert past.status_code == 422, past.text
        assert past.json() == {
            "detail": f"the request body {DEEP} {MAX_JSON_DEPTH} levels of JSON objects and arrays; hitl takes at most {MAX_JSON_DEPTH}: flatten it"
        }
        far = await http.post(path.replace("{run}", ended), content=body(template, ended, 5000), headers=json_type)
        assert far.status_code == 422 and DEEP in far.json()["detail"]  # not the parser's 500
    assert await event_count(served.client, ended) == before


async def test_a_value_at_the_limit_is_taken_whole(served: Served) -> None:
    """Accepted means accepted: the answer at the limit reaches the run and is recorded."""
    run = await served.client.start("validate_input", {"name": "Ada"})
    await wait_for(run, "interrupted")
    answer = {"assistant_id": "validate_input", "command": {"resume": value(MAX_JSON_DEPTH - 2)}}
    async with served.http() as http:
        shown = await http.post("/ui/api/diff", json={"before": value(MAX_JSON_DEPTH - 1), "after": 1})
        assert shown.status_code == 200 and "diff" in shown.text
        taken = await http.post(f"/threads/{run.run_id}/runs/wait", json=answer)
        assert taken.status_code == 200, taken.text
    [decision] = [d for d in (await run.get_state()).decisions if d.kind == "resume"]
    assert decision.identity == "alice"
    await run.cancel()


async def test_form_fields_carrying_json_are_limited_too(served: Served, ended: str) -> None:
    run = await served.client.start("approval", {"topic": "deep"})
    iid = (await wait_for(run, "interrupted")).interrupts[0].id
    before = await event_count(served.client, run.run_id)
    async with served.http(None, follow_redirects=False) as browser:
        browser.cookies.set("hitl_token", "tok-alice")
        csrf = csrf_of((await browser.get(f"/runs/{run.run_id}", headers={"accept": "text/html"})).text)
        forms = {
            f"/ui/runs/{run.run_id}/answer": lambda d: {"interrupt_id": iid, "mode": "json", "json": nest(d)},
            f"/ui/runs/{run.run_id}/answer#v": lambda d: {"interrupt_id": iid, "v": nest(d)},
            f"/ui/runs/{ended}/state": lambda d: {"values": '{"k": ' + nest(d - 1) + "}", "base": "{}"},
            "/ui/batch/preview": lambda d: {"run": ended, "value": nest(d)},
            "/ui/batch": lambda d: {"pins": json.dumps({ended: "i1"}), "value": nest(d)},
        }
        for path, fields in forms.items():
            at = await browser.post(path.split("#")[0], data={**fields(MAX_JSON_DEPTH), "csrf": csrf})
            assert DEEP not in refusal(at) and at.status_code in (200, 303), (path, at.text)
            past = await browser.post(path.split("#")[0], data={**fields(MAX_JSON_DEPTH + 1), "csrf": csrf})
            assert past.status_code == 303 and DEEP in refusal(past), (path, past.headers)
            assert "\n" not in refusal(past)
    assert await event_count(served.client, run.run_id) == before
    await run.cancel()


async def test_the_client_and_the_cli_refuse_one_past_the_limit(client: hitl.Client) -> None:
    run = await client.start("validate_input", {"name": "Ada"})
    await wait_for(run, "interrupted")
    before = await event_count(client, run.run_id)
    for call in (
        lambda: run.resume(value(MAX_JSON_DEPTH + 1)),
        lambda: run.resume(map={"x": value(MAX_JSON_DEPTH + 1)}),
        lambda: run.update_state({"name": value(MAX_JSON_DEPTH)}),  # the state object adds a level
        lambda: client.start("validate_input", {"name": value(MAX_JSON_DEPTH)}),
    ):
        with pytest.raises(InvalidInputError, match=DEEP):
            await call()
    assert await event_count(client, run.run_id) == before
    line = one_line_error(await cli(client, "resume", run.run_id, "--value", nest(MAX_JSON_DEPTH + 1)))
    assert f"--value {DEEP} {MAX_JSON_DEPTH}" in line
    await run.resume(value(MAX_JSON_DEPTH))  # at the limit: sent, and the run reads it (then asks again)
    assert any(d.kind == "resume" for d in (await run.get_state()).decisions)
    await run.cancel()
