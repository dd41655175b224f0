"""Signed decision links, the pure parts: signing, verifying, keys, durations, notify links."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hitl.client import signed_links as links
from hitl.client.signed_links import Link, LinkError
from hitl.types import Interrupt, InvalidInputError, Quorum, StateSnapshot, Vote

KEY = b"k" * 32
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def a_link(**changes: object) -> Link:
    base = dict(
        run_id="r1",
        interrupt_id="abc",
        identity="alice",
        roles=("finance",),
        expires_at=NOW + timedelta(hours=1),
        nonce="n1",
    )
    return Link(**{**base, **changes})  # type: ignore[arg-type]


def test_a_signed_link_verifies_to_what_was_signed() -> None:
    link = a_link()
    assert links.verify(links.sign(link, KEY), KEY, now=NOW) == link
    assert link.request_id == "link-n1"


@pytest.mark.parametrize("field", ["run_id", "interrupt_id", "identity", "roles", "expires_at", "nonce"])
def test_changing_any_signed_field_breaks_the_signature(field: str) -> None:
    good = links.sign(a_link(), KEY)
    other = {
        "run_id": "r2",
        "interrupt_id": "abd",
        "identity": "mallory",
        "roles": ("finance", "admin"),
        "expires_at": NOW + timedelta(days=9),
        "nonce": "n2",
    }[field]
    forged_payload = links.sign(a_link(**{field: other}), KEY).split(".")[0]
    with pytest.raises(LinkError) as e:
        links.verify(f"{forged_payload}.{good.split('.')[1]}", KEY, now=NOW)
    assert e.value.status == 403 and "not valid" in str(e.value)


@pytest.mark.parametrize("token", ["", ".", "abc", "abc.def", "!!!.???", "e30.e30"])
def test_garbage_tokens_are_refused_as_invalid(token: str) -> None:
    with pytest.raises(LinkError) as e:
        links.verify(token, KEY, now=NOW)
    assert e.value.status == 403


def test_another_key_and_expiry_are_refused() -> None:
    token = links.sign(a_link(), KEY)
    with pytest.raises(LinkError, match="not valid"):
        links.verify(token, b"x" * 32, now=NOW)
    with pytest.raises(LinkError, match="expired at 2026-11-25 13:00 UTC") as e:
        links.verify(token, KEY, now=NOW + timedelta(hours=1))
    assert e.value.status == 410


def test_keys_come_from_the_environment_or_a_file_and_must_be_long_enough(tmp_path) -> None:  # noqa: ANN001
    assert links.load_key({}) is None
    with pytest.raises(LinkError, match="need a key: set HITL_LINK_KEY"):
        links.require_key({})
    assert links.load_key({"HITL_LINK_KEY": "s" * 20}) == b"s" * 20
    with pytest.raises(LinkError, match="is 5 bytes; use at least 16"):
        links.load_key({"HITL_LINK_KEY": "short"})
    f = tmp_path / "key"
    f.write_text("f" * 40 + "\n")
    assert links.load_key({"HITL_LINK_KEY_FILE": str(f)}) == b"f" * 40
    with pytest.raises(LinkError, match="cannot read the link key file"):
        links.load_key({"HITL_LINK_KEY_FILE": str(tmp_path / "missing")})


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
    ],
)
def test_durations(text: str, span: timedelta) -> None:
    assert links.parse_duration(text) == span


@pytest.mark.parametrize("text", ["", "24", "1w", "-1h", "0s", "31d", "1.5h"])
def test_bad_durations_are_one_line(text: str) -> None:
    with pytest.raises(InvalidInputError, match="--expires"):
        links.parse_duration(text, "--expires")


def test_base_url_is_needed_and_must_be_http() -> None:
    with pytest.raises(InvalidInputError, match="--base-url or set HITL_LINK_BASE_URL"):
        links.base_url(None, {})
    with pytest.raises(InvalidInputError, match="http:// or https://"):
        links.base_url("ftp://x", {})
    assert links.base_url(None, {"HITL_LINK_BASE_URL": "http://h:8000/"}) == "http://h:8000"


def snapshot(*interrupts: Interrupt) -> StateSnapshot:
    return StateSnapshot(
        run_id="r1",
        graph="g",
        status="interrupted",
        values={},
        next=["n"],
        step=1,
        interrupts=list(interrupts),
        created_at=NOW,
        updated_at=NOW,
    )


def test_notify_links_go_to_named_reviewers_and_the_configured_people_who_may_answer() -> None:
    env = {"HITL_LINK_KEY": "k" * 32, "HITL_LINK_BASE_URL": "http://inbox:8000"}
    s = snapshot(
        Interrupt(id="q1", value="ok?", node="n", reviewers=["alice", "role:finance"]),
        Interrupt(id="q2", value="fine?", node="n"),
    )
    made = links.links_for(s, ["dana"], environ=env)
    assert [(x["interrupt_id"], x["identity"]) for x in made] == [("q1", "alice"), ("q2", "dana")]
    link = links.verify(made[0]["url"].removeprefix("http://inbox:8000/link/"), KEY)
    assert (link.run_id, link.interrupt_id, link.identity) == ("r1", "q1", "alice")
    assert links.links_for(s, ["dana"], environ={"HITL_LINK_KEY": "k" * 32}) == []  # no base URL: no links
    assert links.links_for(s, ["dana"], environ={"HITL_LINK_BASE_URL": "http://inbox:8000"}) == []  # no key


def test_a_link_is_refused_up_front_for_a_question_its_holder_may_not_answer() -> None:
    s = snapshot(
        Interrupt(id="q1", value="ok?", node="n", reviewers=["carol"]), Interrupt(id="q2", value="x", node="m")
    )
    with pytest.raises(InvalidInputError, match="asks 2 questions; pick one with --interrupt"):
        links.question_for(s, None, "alice", ())
    with pytest.raises(InvalidInputError, match="'alice' may not answer interrupt q1"):
        links.question_for(s, "q1", "alice", ())
    with pytest.raises(InvalidInputError, match="no pending question zz"):
        links.question_for(s, "zz", "alice", ())
    assert links.question_for(s, "q1", "carol", ()) == "q1"


def test_no_link_for_someone_whose_vote_is_in() -> None:
    env = {"HITL_LINK_KEY": "k" * 32, "HITL_LINK_BASE_URL": "http://inbox:8000"}
    voted = Interrupt(
        id="q1",
        value="ok?",
        node="n",
        reviewers=["alice", "bob"],
        quorum=Quorum(2, of=["alice", "bob"]),
        votes=[Vote(identity="alice", value="approve")],
    )
    with pytest.raises(InvalidInputError, match="'alice' already answered interrupt q1.*a link for them would only be"):
        links.question_for(snapshot(voted), None, "alice", ())
    assert links.question_for(snapshot(voted), None, "bob", ()) == "q1"
    assert [x["identity"] for x in links.links_for(snapshot(voted), [], environ=env)] == ["bob"]
