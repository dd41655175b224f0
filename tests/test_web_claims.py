"""Claims and quorum votes in the review inbox (issue 14, items 1 and 3) over HTTP, on the real dev
server: the run page shows who holds a question and until when, a quorum question's votes and how
many are needed; its claim, release and delegate forms take CSRF and are refused in one line writing
nothing; the inbox's "assigned to me" and "I may decide" follow claims, their expiry and votes."""

from __future__ import annotations

import asyncio
import copy
import html
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx

import hitl
from hitl.web import TokenAuth, create_app, search
from hitl.web.testing import running
from tests.helpers import event_count, wait_for
from tests.web_fixtures import TOKENS, Served, csrf_of
from tests.web_fixtures import refusal as flash_of

ALICE, CAROL, BOB = ("alice", "role:finance"), ("carol", "role:finance", "role:ops"), ("bob",)


async def paused(client: hitl.Client, graph: str = "payment", **input: object) -> hitl.Run:
    run = await client.start(graph, dict(input))
    await wait_for(run, "interrupted")
    return run


@asynccontextmanager
async def signed_in(url: str, token: str, run_id: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser's cookies (signed in as `token`) and the CSRF token its run page carries."""
    async with httpx.AsyncClient(base_url=url, follow_redirects=False, timeout=60) as browser:
        browser.cookies.set("hitl_token", token)
        page = await browser.get(f"/runs/{run_id}", headers={"accept": "text/html"})
        yield browser, csrf_of(page.text)


async def page_of(browser: httpx.AsyncClient, path: str) -> str:
    response = await browser.get(path, headers={"accept": "text/html"})
    assert response.status_code == 200, response.text
    return html.unescape(re.sub(r"\s+", " ", response.text))


def words(page: str) -> str:
    """A page's text, tags left out."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))


def refusal(response: httpx.Response) -> str:
    """The one line a refused form comes back to its page with."""
    assert response.status_code == 303, response.text
    return flash_of(response)


def form(run: str, action: str, csrf: str | None, **more: str) -> dict[str, str]:
    fields = {"action": action, "request_id": uuid.uuid4().hex, **more}
    return {**fields, "csrf": csrf} if csrf is not None else fields


async def test_claim_on_the_page_then_another_reviewer_sees_the_holder_and_is_refused(served: Served) -> None:
    run = await paused(served.client)
    iid = (await run.get_state()).interrupts[0].id
    claim = f"/ui/runs/{run.run_id}/claim"
    async with signed_in(served.url, "tok-alice", run.run_id) as (alice, a_csrf):
        held = await alice.post(claim, data=form(run.run_id, "claim", a_csrf, interrupt_id=iid, ttl="1h"))
        assert held.status_code == 303 and held.headers["location"].endswith("?done=claimed"), held.headers
        mine = await page_of(alice, f"/runs/{run.run_id}")
        assert "Claimed by alice (you) until" in words(mine) and 'data-testid="release"' in mine
    state = await run.get_state()
    until = state.interrupts[0].claimed_until
    assert state.interrupts[0].claimed_by == "alice" and until is not None
    assert timedelta(minutes=59) < until - state.decisions[-1].at <= timedelta(hours=1)
    async with signed_in(served.url, "tok-carol", run.run_id) as (carol, c_csrf):
        shown = await page_of(carol, f"/runs/{run.run_id}")
        assert f"Claimed by alice until {until:%Y-%m-%d %H:%M:%S} UTC: only they may answer" in words(shown)
        assert 'data-testid="claim-button"' not in shown and 'data-testid="release"' not in shown
        before = await event_count(served.client, run.run_id)
        answer = {"csrf": c_csrf, "interrupt_id": iid, "request_id": uuid.uuid4().hex, "v": '"approve"'}
        assert f"interrupt {iid} is claimed by alice until" in refusal(
            await carol.post(f"/ui/runs/{run.run_id}/answer", data=answer)
        )
        taken = refusal(await carol.post(claim, data=form(run.run_id, "claim", c_csrf, interrupt_id=iid)))
        assert f"'carol' may not claim interrupt {iid}: it is claimed by alice" in taken
        freed = refusal(await carol.post(claim, data=form(run.run_id, "release", c_csrf, interrupt_id=iid)))
        assert f"'carol' may not release interrupt {iid}" in freed
        assert await event_count(served.client, run.run_id) == before, "refusals write nothing"
        async with signed_in(served.url, "tok-alice", run.run_id) as (alice, a_csrf):
            given = await alice.post(claim, data=form(run.run_id, "release", a_csrf, interrupt_id=iid))
            assert given.headers["location"].endswith("?done=released")
        assert "Nobody holds this question" in await page_of(carol, f"/runs/{run.run_id}")
        answered = await carol.post(f"/ui/runs/{run.run_id}/answer", data={**answer, "request_id": uuid.uuid4().hex})
        assert answered.headers["location"].endswith("?done=answered"), answered.headers
    done = await run.result()
    assert done["paid"] == "pay 1M"
    kinds = [(d.kind, d.identity) for d in (await run.get_state()).decisions]
    assert kinds == [("claim", "alice"), ("release", "alice"), ("resume", "carol")]


async def test_delegate_from_the_page_and_strangers_or_forged_forms_write_nothing(served: Served) -> None:
    run = await paused(served.client)
    iid = (await run.get_state()).interrupts[0].id
    claim = f"/ui/runs/{run.run_id}/claim"
    before = await event_count(served.client, run.run_id)
    async with signed_in(served.url, "tok-bob", run.run_id) as (bob, b_csrf):
        shown = await page_of(bob, f"/runs/{run.run_id}")
        assert "you are not on its reviewer list: the run will refuse you" in words(shown)
        refused = {
            "claim": refusal(await bob.post(claim, data=form(run.run_id, "claim", b_csrf, interrupt_id=iid))),
            "delegate": refusal(
                await bob.post(claim, data=form(run.run_id, "delegate", b_csrf, interrupt_id=iid, to="bob"))
            ),
            "forged": refusal(await bob.post(claim, data=form(run.run_id, "claim", "guess", interrupt_id=iid))),
            "no csrf": refusal(await bob.post(claim, data=form(run.run_id, "claim", None, interrupt_id=iid))),
            "ttl": refusal(await bob.post(claim, data=form(run.run_id, "claim", b_csrf, interrupt_id=iid, ttl="9y"))),
            "action": refusal(await bob.post(claim, data=form(run.run_id, "steal", b_csrf, interrupt_id=iid))),
        }
    assert f"'bob' may not claim interrupt {iid}; its reviewers are ['alice', 'role:finance']" in refused["claim"]
    assert f"'bob' may not delegate interrupt {iid}; its reviewers are" in refused["delegate"]
    assert "CSRF" in refused["forged"] and "CSRF" in refused["no csrf"]
    assert refused["ttl"] == "a claim from this page holds for 30m, 1h, 4h, 1d; got '9y'"
    assert refused["action"] == "action must be one of claim, release or delegate; got 'steal'"
    assert await event_count(served.client, run.run_id) == before, "nothing of a refused form reaches the run"
    async with signed_in(served.url, "tok-alice", run.run_id) as (alice, a_csrf):
        offered = await page_of(alice, f"/runs/{run.run_id}")
        assert '<option value="role:finance">role:finance</option>' in offered, "delegate to its reviewers"
        outside = refusal(
            await alice.post(claim, data=form(run.run_id, "delegate", a_csrf, interrupt_id=iid, to="bob"))
        )
        assert f"interrupt {iid} cannot be delegated to 'bob'" in outside
        passed = await alice.post(
            claim, data=form(run.run_id, "delegate", a_csrf, interrupt_id=iid, to="role:finance", ttl="4h")
        )
        assert passed.headers["location"].endswith("?done=delegated")
    [question] = (await run.get_state()).interrupts
    assert question.claimed_by == "role:finance"
    await run.cancel(identity="alice")


async def test_an_open_question_is_delegated_to_a_name_typed_in(served: Served) -> None:
    run = await paused(served.client, "approval", topic="tea")
    iid = (await run.get_state()).interrupts[0].id
    claim = f"/ui/runs/{run.run_id}/claim"
    async with signed_in(served.url, "tok-alice", run.run_id) as (alice, a_csrf):
        offered = await page_of(alice, f"/runs/{run.run_id}")
        assert 'name="to" required size="16" maxlength="200" placeholder="identity or role:NAME"' in offered
        before = await event_count(served.client, run.run_id)
        long = refusal(
            await alice.post(claim, data=form(run.run_id, "delegate", a_csrf, interrupt_id=iid, to="b" * 201))
        )
        assert "delegate names someone 201 characters long; an identity or role:NAME has at most 200" in long
        blank = refusal(await alice.post(claim, data=form(run.run_id, "delegate", a_csrf, interrupt_id=iid, to=" ")))
        assert blank == "delegate needs 'to': an identity or role:NAME on the question's reviewer list"
        assert await event_count(served.client, run.run_id) == before
        passed = await alice.post(claim, data=form(run.run_id, "delegate", a_csrf, interrupt_id=iid, to="bob"))
        assert passed.headers["location"].endswith("?done=delegated")
    async with signed_in(served.url, "tok-bob", run.run_id) as (bob, _):
        assert "Claimed by bob (you) until" in words(await page_of(bob, f"/runs/{run.run_id}"))
    await run.resume("approve", identity="bob")
    assert (await run.result())["status"] == "published"


async def test_a_quorum_question_shows_its_votes_and_how_many_more(served: Served) -> None:
    run = await paused(served.client, "quorum_review", draft="pay 1M")
    await run.resume("approve", identity="alice")
    async with signed_in(served.url, "tok-bob", run.run_id) as (bob, _):
        shown = await page_of(bob, f"/runs/{run.run_id}")
    assert "Needs 2 different people: 1 answered so far, 1 more needed" in words(shown)
    assert re.search(r'data-testid="votes"><li><b>alice</b> <code>"approve"</code>', shown), shown
    assert 'data-testid="claim"' not in shown, "nobody claims a question that takes several people"
    assert 'data-testid="blocked"' not in shown
    async with signed_in(served.url, "tok-alice", run.run_id) as (alice, _):
        again = await page_of(alice, f"/runs/{run.run_id}")
    assert "'alice' already answered interrupt" in again and 'data-testid="blocked"' in again
    await run.resume("approve", identity="bob")
    assert (await run.result())["votes"] == ["alice:approve", "bob:approve"]


async def counts_become(client: hitl.Client, wanted: dict[str, int], filters: dict[str, search.Filter]) -> None:
    """Wait until each filter counts as wanted (the visibility store trails the runs a little)."""
    seen: dict[str, int] = {}
    for _ in range(150):
        seen = {k: await search.count(client.temporal, f.query()) for k, f in filters.items()}
        if seen == wanted:
            return
        await asyncio.sleep(0.1)
    assert seen == wanted


async def test_assigned_to_me_and_i_may_decide_follow_claims_expiry_and_votes(served: Served) -> None:
    """Server-side (HitlAssigned, HitlReviewers): a claim moves a question to its holder, a delegation
    to the role, a vote takes the voter's question off their list, a claim running out gives it back."""
    assert await served.client.assigned_indexed() and await served.client.reviewers_indexed()
    held, handed, free = [await paused(served.client) for _ in range(3)]
    vote = await paused(served.client, "quorum_review", draft="d")
    await held.claim(identity="alice", roles=["finance"])
    await handed.delegate("role:finance", identity="alice", roles=["finance"])
    await vote.resume("approve", identity="alice")
    ids = [r.run_id for r in (held, handed, free, vote)]
    filters = {
        "alice assigned": search.Filter(ids=ids, assigned_to=ALICE),
        "carol assigned": search.Filter(ids=ids, assigned_to=CAROL),
        "alice decides": search.Filter(ids=ids, may_decide=ALICE),
        "carol decides": search.Filter(ids=ids, may_decide=CAROL),
        "bob decides": search.Filter(ids=ids, may_decide=BOB),
    }
    wanted = {"alice assigned": 2, "carol assigned": 1, "alice decides": 3, "carol decides": 3, "bob decides": 1}
    await counts_become(served.client, wanted, filters)
    async with signed_in(served.url, "tok-alice", held.run_id) as (alice, _):
        assigned = await page_of(alice, "/?graph=payment&assigned=true&order=newest")
        assert held.run_id in assigned and handed.run_id in assigned and free.run_id not in assigned
        assert "claimed by alice" in assigned and "claimed by role:finance" in assigned
        assert "(showing those assigned to you)" in words(assigned)
        mine = await page_of(alice, "/?graph=quorum_review&mine=true&order=newest")
        assert vote.run_id not in mine, "alice voted: nothing left for her to decide there"
    async with signed_in(served.url, "tok-carol", held.run_id) as (carol, _):
        theirs = await page_of(carol, "/?graph=payment&mine=true&order=newest")
        assert held.run_id not in theirs and handed.run_id in theirs and free.run_id in theirs
    await held.claim(identity="alice", roles=["finance"], ttl=timedelta(seconds=1))  # taken again, briefly
    await counts_become(
        served.client, {**wanted, "alice assigned": 1, "carol decides": 4}, filters
    )  # the claim's timer freed it and indexed that
    for run in (held, handed, free, vote):
        await run.cancel(identity="alice", roles=["finance"])


async def test_without_the_optional_attributes_the_filters_work_on_the_page(served: Served) -> None:
    """A namespace without HitlReviewers and HitlAssigned: each filter reads the runs on its page."""
    unindexed = copy.copy(served.client)
    await unindexed.search_attributes_registered()
    unindexed._reviewers_indexed = unindexed._assigned_indexed = False
    held, free = [await paused(served.client) for _ in range(2)]
    await held.claim(identity="alice", roles=["finance"])
    app = create_app(unindexed, TokenAuth(TOKENS))
    async with running(app) as url, signed_in(url, "tok-carol", held.run_id) as (carol, _):
        for _ in range(100):
            listed = await page_of(carol, "/?graph=payment&order=newest")
            if held.run_id in listed and free.run_id in listed:
                break
            await asyncio.sleep(0.1)
        mine = await page_of(carol, "/?graph=payment&mine=true&order=newest")
        assert free.run_id in mine and held.run_id not in mine, "claimed by alice: not carol's to decide"
        assigned = await page_of(carol, "/?graph=payment&assigned=true&order=newest")
        assert held.run_id not in assigned and free.run_id not in assigned
    async with running(app) as url, signed_in(url, "tok-alice", held.run_id) as (alice, _):
        assigned = await page_of(alice, "/?graph=payment&assigned=true&order=newest")
        assert held.run_id in assigned and free.run_id not in assigned
    for run in (held, free):
        await run.cancel(identity="alice", roles=["finance"])


async def test_a_delegation_to_someone_who_could_not_act_on_it_here_is_refused_writing_nothing(
    served: Served,
) -> None:
    """`pub_parent`'s runs show `priv_child`'s open question and are read by alice only (its readers). Handing
    it to bob (who may not read the run), dana (view-only), a name no token is for, or a role whose holders
    here cannot read the run would lock it for everyone until the claim ran out (only its holder may release
    it): each is refused with one line, nothing sent. A role alice holds can take it."""
    run = await paused(served.client, "pub_parent", topic="delegation")
    [question] = (await run.get_state()).interrupts
    before = await event_count(served.client, run.run_id)
    month = 30 * 86400
    readers = "(its readers are [['alice']]), so could not answer it; delegate to a reader"
    expected = {
        "bob": f"cannot delegate to 'bob': they may not read this run {readers}",
        "dana": "cannot delegate to 'dana': they sign in view-only here (read, never decide), so could not answer it",
        "bobb": "cannot delegate to 'bobb': no token of this server is for 'bobb', so nobody could answer it here; "
        "delegate to someone who signs in here",
        "role:ops": f"cannot delegate to 'role:ops': its holders may not read this run {readers}",
        "role:nobody": "cannot delegate to 'role:nobody': nobody signing in here holds role nobody, so nobody could "
        "answer it here; delegate to someone who signs in here",
    }
    async with served.http("tok-alice") as alice:
        for to, says in expected.items():
            body = {"action": "delegate", "to": to, "interrupt_id": question.id, "ttl_seconds": month}
            refused = await alice.post(f"/threads/{run.run_id}/claim", json=body)
            assert refused.status_code == 409 and refused.json()["detail"] == says, refused.text
    async with signed_in(served.url, "tok-alice", run.run_id) as (page, csrf):
        shown = await page_of(page, f"/runs/{run.run_id}")
        assert 'placeholder="identity or role:NAME"' in shown  # an open question: a name is typed in
        fields = form(run.run_id, "delegate", csrf, interrupt_id=question.id, to="bob", ttl="1d")
        assert refusal(await page.post(f"/ui/runs/{run.run_id}/claim", data=fields)) == expected["bob"]
    assert await event_count(served.client, run.run_id) == before, "a refused delegation wrote to the run's history"
    assert (await run.get_state()).interrupts[0].claimed_by is None
    async with served.http("tok-alice") as alice:
        body = {"action": "delegate", "to": "role:finance", "interrupt_id": question.id, "ttl_seconds": 3600}
        handed = await alice.post(f"/threads/{run.run_id}/claim", json=body)
        assert handed.status_code == 200, handed.text
    assert (await run.get_state()).interrupts[0].claimed_by == "role:finance"
    await run.cancel(identity="alice")


def test_the_run_page_offers_only_reviewers_who_could_act_on_a_question_here() -> None:
    """The delegate form lists the question's reviewers that `delegation_refused` lets through: none, no form."""
    from hitl.web.auth import Identity
    from hitl.web.pages import question
    from hitl.web.scope import delegation_refused

    asked = hitl.Interrupt(id="q1", value="ok?", node="n", reviewers=["alice", "bob", "role:ops", "role:finance"])
    known = list(TOKENS.values())

    def delegable(to: str) -> bool:
        return delegation_refused(to, [["alice", "carol"]], known) is None

    claiming = question(asked, Identity("alice", ("finance",)), claims=True, delegable=delegable).claim
    assert claiming is not None and claiming.delegates == ["alice", "role:ops", "role:finance"]
    alone = hitl.Interrupt(id="q2", value="ok?", node="n", reviewers=["bob"])
    nobody = question(alone, Identity("alice", ()), claims=True, delegable=delegable).claim
    assert nobody is not None and nobody.delegates == []
    assert delegation_refused("bob", [["alice"]], None) is not None  # behind a proxy: certainly not a reader
    assert delegation_refused("bob", [["alice", "role:ops"]], None) is None  # his roles are unknown there
