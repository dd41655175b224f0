"""Cross-origin access (`hitl serve --cors-origin`): preflights and response headers for the listed
origins only, never credentials; bearer-token writes from a listed origin work, cookie writes from any
other origin stay refused by the Guard. The browser's side: tests/test_web_browser_cors.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

import hitl
from hitl.types import InvalidInputError
from hitl.web import HeaderAuth, NoAuth, Settings, TokenAuth, create_app
from hitl.web.cors import ALLOW_HEADERS, EXPOSE_HEADERS, check_origin, origins
from hitl.web.testing import running
from tests.helpers import wait_for
from tests.web_fixtures import TOKENS, Served

ALLOWED = "http://localhost:3000"  # Agent Inbox's dev server
OTHER = "http://localhost:3001"
BEARER = {"Authorization": "Bearer tok-alice"}
SDK_HEADERS = "authorization,content-type,last-event-id,x-api-key"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cors_url(client: hitl.Client) -> AsyncIterator[str]:
    app = create_app(client, TokenAuth(TOKENS), settings=Settings(poll_seconds=0.2, cors_origins=(ALLOWED,)))
    async with running(app) as url:
        yield url


def preflight(origin: str, method: str = "POST", headers: str = SDK_HEADERS) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers}


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


async def test_preflight_from_a_listed_origin_allows_the_sdks_methods_and_headers(cors_url: str) -> None:
    async with httpx.AsyncClient(base_url=cors_url, timeout=60) as http:
        response = await http.options("/threads/search", headers=preflight(ALLOWED))
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "Origin" in response.headers["vary"]
    assert {"GET", "POST", "PATCH", "DELETE"} <= set(response.headers["access-control-allow-methods"].split(", "))
    allowed = {h.lower() for h in response.headers["access-control-allow-headers"].split(", ")}
    assert set(SDK_HEADERS.split(",")) <= allowed
    assert "access-control-allow-credentials" not in response.headers  # so no browser sends cookies cross-origin
    assert int(response.headers["access-control-max-age"]) > 0


async def test_preflight_from_another_origin_gets_no_cors_header(cors_url: str) -> None:
    async with httpx.AsyncClient(base_url=cors_url, timeout=60) as http:
        response = await http.options("/threads/search", headers=preflight(OTHER))
        plain = await http.post("/threads/search", json={"limit": 1}, headers={**BEARER, "Origin": OTHER})
    assert response.status_code == 400
    assert OTHER in response.text and "--cors-origin" in response.text
    assert cors_headers(response) == {}
    assert plain.status_code == 200  # the server answers; the browser hides it from the page
    assert cors_headers(plain) == {} and "Origin" in plain.headers["vary"]


async def test_a_listed_origin_may_reach_a_server_on_a_private_network(cors_url: str) -> None:
    """A hosted front-end (https://...) calling `hitl serve` on localhost: Chromium's private-network preflight."""
    ask = {"Access-Control-Request-Private-Network": "true"}
    async with httpx.AsyncClient(base_url=cors_url, timeout=60) as http:
        listed = await http.options("/threads/search", headers={**preflight(ALLOWED), **ask})
        other = await http.options("/threads/search", headers={**preflight(OTHER), **ask})
    assert listed.status_code == 200 and listed.headers["access-control-allow-private-network"] == "true"
    assert other.status_code == 400 and cors_headers(other) == {}


async def test_preflight_for_a_header_not_allowed_is_refused(cors_url: str) -> None:
    async with httpx.AsyncClient(base_url=cors_url, timeout=60) as http:
        response = await http.options("/threads/search", headers=preflight(ALLOWED, headers="x-not-a-header"))
    assert response.status_code == 400 and "headers" in response.text


async def test_listed_origin_with_a_bearer_token_reads_and_writes(cors_url: str, client: hitl.Client) -> None:
    """Agent Inbox: search, then answer a question with `runs/wait`; the answer carries the origin and
    the headers the SDK reads are exposed."""
    async with httpx.AsyncClient(base_url=cors_url, headers={**BEARER, "Origin": ALLOWED}, timeout=60) as http:
        paused = await http.post("/threads", json={})
        thread = paused.json()["thread_id"]
        started = await http.post(f"/threads/{thread}/runs", json={"assistant_id": "approval", "input": {"topic": "t"}})
        assert started.status_code == 200, started.text
        await wait_for(client.get_run(thread), "interrupted")  # a background start answers before the run runs
        asked = await http.post(f"/threads/{thread}/runs/wait", json={"assistant_id": "approval", "input": None})
        found = await http.post("/threads/search", json={"ids": [thread], "status": "interrupted"})
        done = await http.post(
            f"/threads/{thread}/runs/wait", json={"assistant_id": "approval", "command": {"resume": "approve"}}
        )
    for response in (started, found, done):
        assert response.headers["access-control-allow-origin"] == ALLOWED
        assert "access-control-allow-credentials" not in response.headers
    assert asked.status_code == 409  # a run exists: this is not how to answer it (and it says so, readably)
    assert asked.headers["access-control-allow-origin"] == ALLOWED
    exposed = {h.lower() for h in started.headers["access-control-expose-headers"].split(", ")}
    assert {h.lower() for h in EXPOSE_HEADERS} <= exposed and "content-location" in exposed
    assert started.headers["content-location"].startswith(f"/threads/{thread}/runs/")
    assert [t["thread_id"] for t in found.json()] == [thread]
    assert done.status_code == 200 and done.json()["status"] == "published"


async def test_cookie_write_from_a_listed_origin_is_still_refused(cors_url: str) -> None:
    """Listing an origin lets its pages use bearer tokens, never the signed-in person's cookie: a write
    the browser sends with the cookie from another origin (listed or not) is refused by the Guard, and
    says why readably to the listed page."""
    async with httpx.AsyncClient(base_url=cors_url, cookies={"hitl_token": "tok-alice"}, timeout=60) as http:
        response = await http.post(
            "/threads/search",
            json={"limit": 1},
            headers={"Origin": ALLOWED, "Sec-Fetch-Site": "same-site", "Content-Type": "application/json"},
        )
        own_page = await http.post("/threads/search", json={"limit": 1}, headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 403 and "bearer token" in response.json()["detail"]
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert own_page.status_code == 200  # the cookie still works on the server's own pages


async def test_nothing_is_allowed_by_default(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url, timeout=60) as http:
        response = await http.options("/threads/search", headers=preflight(ALLOWED))
        plain = await http.post("/threads/search", json={"limit": 1}, headers={**BEARER, "Origin": ALLOWED})
    assert response.status_code == 405
    assert cors_headers(response) == {} and cors_headers(plain) == {}


async def test_any_origin_with_star_sends_no_credentials(client: hitl.Client) -> None:
    app = create_app(client, TokenAuth(TOKENS), settings=Settings(cors_origins=("*",)))
    async with running(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        response = await http.options("/threads/search", headers=preflight(OTHER))
        plain = await http.post("/threads/search", json={"limit": 1}, headers={**BEARER, "Origin": OTHER})
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == "*"
    assert plain.headers["access-control-allow-origin"] == "*"
    assert all("access-control-allow-credentials" not in r.headers for r in (response, plain))


def test_origins_from_options_and_environment() -> None:
    assert origins(["http://localhost:3000"], env=" https://inbox.example.com, http://localhost:3000,") == (
        "http://localhost:3000",
        "https://inbox.example.com",
    )
    assert origins(None, env="") == ()
    assert "Authorization" in ALLOW_HEADERS and "Last-Event-ID" in ALLOW_HEADERS


@pytest.mark.parametrize(
    "bad", ["localhost:3000", "http://localhost:3000/", "https://inbox.example.com/app", "ftp://x.example", "http://"]
)
def test_a_bad_origin_is_refused_with_one_line(bad: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_origin(bad)
    assert repr(bad) in str(refused.value) and "scheme://host[:port]" in str(refused.value)
    assert "\n" not in str(refused.value)
    with pytest.raises(InvalidInputError):
        Settings(cors_origins=(bad,))


async def test_without_token_sign_in_a_key_lets_only_a_listed_origins_page_write(client: hitl.Client) -> None:
    """Behind `--trust-header` (and under `--no-auth`) an API key is no credential: the proxy signs the
    person in ambiently (its own cookie), and with `--cors-origin *` any site's page could pass the preflight
    and send `X-Api-Key: anything` to skip the origin check. Only an origin listed by name (Agent Inbox's)
    is let in; a page let in by `*` alone is refused, and nothing is written."""
    run = await client.start("approval", {"topic": "tea"})
    await wait_for(run, "interrupted")
    answer = {"assistant_id": "approval", "command": {"resume": "reject"}}
    proxy = {"X-Forwarded-User": "tester"}  # what the proxy adds for the signed-in person, whoever's page it is
    for auth, settings in (
        (HeaderAuth("X-Forwarded-User"), Settings(cors_origins=("*", ALLOWED))),
        (NoAuth("tester"), Settings(cors_origins=(ALLOWED,))),
    ):
        app = create_app(client, auth, settings=settings)
        async with running(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
            evil = {**proxy, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site", "X-Api-Key": "x"}
            refused = await http.post(f"/threads/{run.run_id}/runs/wait", json=answer, headers=evil)
            assert refused.status_code == 403 and "is refused" in refused.json()["detail"], refused.text
            assert not (await run.get_state()).decisions
    inbox = {**proxy, "Origin": ALLOWED, "Sec-Fetch-Site": "same-site", "X-Api-Key": "anything"}
    async with running(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        taken = await http.post(f"/threads/{run.run_id}/runs/wait", json=answer, headers=inbox)
        assert taken.status_code == 200, taken.text
    assert (await run.get_state()).decisions[-1].identity == "tester"


def test_no_auth_with_any_origin_is_refused_at_start(client: hitl.Client) -> None:
    """No sign-in and `*`: any website's page could read every run (CORS lets it, nothing asks who it is)."""
    with pytest.raises(InvalidInputError, match=r"--cors-origin '\*' with --no-auth would let any website"):
        create_app(client, NoAuth("tester"), settings=Settings(cors_origins=("*",)))
    assert create_app(client, NoAuth("tester"), settings=Settings(cors_origins=(ALLOWED,))) is not None
