"""The link revocation list (hitl/client/link_revocations.py): what a line may be, what it revokes, and a list
that cannot be read or parsed refusing every link in one line that names the line to fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hitl.client import link_revocations as revocations
from hitl.client import signed_links as links
from hitl.client.link_revocations import Revoked
from hitl.client.signed_links import LinkError

KEY = b"k" * 32
BASE = "https://inbox.example.com"


def link_for(identity: str) -> links.Link:
    return links.new_link("run-1", "q-1", identity, (), timedelta(hours=1))


def test_a_line_is_an_identity_or_a_link_given_as_url_token_or_id_and_hash_starts_a_comment() -> None:
    by_url, by_token, by_id = link_for("ann"), link_for("ann"), link_for("ann")
    text = "\n".join(
        [
            "# who left",
            "mallory   # left in December",
            "Ann Smith",
            "",
            f"  {links.url_for(BASE, links.sign(by_url, KEY))}?answer=approve  ",
            links.sign(by_token, KEY),
            by_id.request_id,
        ]
    )
    revoked = revocations.parse(text, "list")
    assert revoked == Revoked(
        frozenset({"mallory", "Ann Smith"}), frozenset({by_url.request_id, by_token.request_id, by_id.request_id})
    )
    assert "links made for 'mallory'" in str(revoked.refusal(link_for("mallory")))
    assert revoked.refusal(by_token) is not None and revoked.refusal(by_token).status == 403  # type: ignore[union-attr]
    assert revoked.refusal(link_for("ann")) is None  # ann's other links stand
    assert revoked.refusal(link_for("malloryx")) is None  # a name is matched whole


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("role:finance", "line 2 'role:finance' starts with 'role:'"),
        ("x" * 201, "line 2 is 201 characters long"),
        (f"{BASE}/link/not-a-token", "line 2 is not a link hitl made"),
    ],
)
def test_a_bad_line_refuses_the_list_naming_the_line_and_what_a_line_may_be(line: str, why: str) -> None:
    with pytest.raises(LinkError) as e:
        revocations.parse(f"mallory\n{line}\n", "HITL_LINK_REVOKED_FILE=/etc/revoked")
    message = str(e.value)
    assert e.value.status == 503 and "\n" not in message
    assert message.startswith(f"HITL_LINK_REVOKED_FILE=/etc/revoked: {why}")
    assert message.endswith(
        "a line is an identity, a link (its URL or token) or `link-NONCE`, and `#` starts a comment"
    )


def test_a_list_past_its_size_is_refused() -> None:
    with pytest.raises(LinkError, match="has 100,001 lines; a revocation list has at most 100,000"):
        revocations.parse("a\n" * 100_001, "list")


def test_a_list_is_read_on_every_use_and_one_that_cannot_be_read_refuses_every_link(tmp_path: Path) -> None:
    listed = tmp_path / "revoked"
    env = {revocations.REVOKED_FILE_ENV: str(listed)}
    assert revocations.load({}) == Revoked()  # not set: nothing revoked
    listed.write_text("mallory\n")
    with pytest.raises(LinkError, match="'mallory'"):
        revocations.check(link_for("mallory"), env)
    revocations.check(link_for("ann"), env)
    listed.write_text("ann\n")  # changed while serving: the next use reads it
    revocations.check(link_for("mallory"), env)
    with pytest.raises(LinkError, match="'ann'"):
        revocations.check(link_for("ann"), env)
    listed.unlink()
    with pytest.raises(LinkError) as e:
        revocations.check(link_for("ann"), env)
    assert e.value.status == 503
    assert str(e.value) == (
        f"cannot read the link revocation list HITL_LINK_REVOKED_FILE={listed}: No such file or directory; "
        "no link is accepted"
    )
    listed.write_bytes(b"\xff\xfe")
    with pytest.raises(LinkError, match="it is not UTF-8 text; no link is accepted"):
        revocations.check(link_for("ann"), env)


def test_a_token_that_is_no_link_has_no_request_id() -> None:
    assert links.request_id_of("bob.smith") is None
    assert links.request_id_of("") is None
    assert links.request_id_of(links.sign(link_for("ann"), KEY)).startswith("link-")  # type: ignore[union-attr]
