"""The one size rule of a decision's who, reason and request id (hitl.protocol.policy.decider_refused), and the edges of
`hitl serve` and signed links that apply it before anything reaches a run."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from hitl.client import signed_links as links
from hitl.protocol.policy import MAX_IDENTITY, MAX_REASON, MAX_REQUEST_ID, MAX_ROLE, MAX_ROLES, decider_refused
from hitl.types import InvalidInputError
from hitl.web.auth import HeaderAuth, NoAuth, TokenAuth
from hitl.web.errors import NotAuthenticated

MOST_ROLES = ["r" * MAX_ROLE] * MAX_ROLES


def test_at_the_limits_a_decider_is_within_bounds() -> None:
    assert decider_refused("a" * MAX_IDENTITY, MOST_ROLES, "w" * MAX_REASON, "x" * MAX_REQUEST_ID) is None
    assert decider_refused("alice", [], None, None) is None


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("a" * (MAX_IDENTITY + 1), []), "identity is 201 characters long; an identity has at most 200"),
        (("alice", MOST_ROLES + ["x"]), "roles lists 51 roles; someone holds at most 50"),
        (("alice", ["r" * (MAX_ROLE + 1)]), "roles names a role 101 characters long; a role name has at most 100"),
        (("alice", [], "w" * (MAX_REASON + 1)), "reason is 2,001 characters long; a reason has at most 2,000"),
        (("alice", [], None, "x" * (MAX_REQUEST_ID + 1)), "request id is 201 characters long; a request id has"),
        (("role:x", []), "starts with 'role:'"),
    ],
    ids=["identity", "role-count", "role-length", "reason", "request-id", "role-prefix"],
)
def test_over_a_limit_is_one_line_naming_what_and_the_limit(args: tuple[Any, ...], says: str) -> None:
    refused = decider_refused(*args)
    assert refused is not None and says in refused and "\n" not in refused
    assert len(refused) < 300, "the refusal does not echo the oversized value"


def test_hitl_serve_tokens_file_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"t1": {"identity": "a" * (MAX_IDENTITY + 1)}}))
    with pytest.raises(InvalidInputError, match="an identity has at most 200"):
        TokenAuth.from_file(path)
    path.write_text(json.dumps({"t1": {"identity": "alice", "roles": MOST_ROLES + ["x"]}}))
    with pytest.raises(InvalidInputError, match="roles of alice lists 51 roles"):
        TokenAuth.from_file(path)
    path.write_text(json.dumps({"t1": {"identity": "a" * MAX_IDENTITY, "roles": MOST_ROLES}}))
    assert TokenAuth.from_file(path).tokens["t1"].roles == tuple(MOST_ROLES)


def test_hitl_web_tokens_is_bounded() -> None:
    with pytest.raises(InvalidInputError, match="HITL_WEB_TOKENS: identity is 201 characters long"):
        TokenAuth.from_env(f"t1={'a' * (MAX_IDENTITY + 1)}")
    with pytest.raises(InvalidInputError, match="HITL_WEB_TOKENS: roles names a role 101 characters long"):
        TokenAuth.from_env(f"t1=alice:{'r' * (MAX_ROLE + 1)}")
    assert TokenAuth.from_env(f"t1={'a' * MAX_IDENTITY}:{','.join(MOST_ROLES)}").tokens["t1"].name == "a" * 200


def test_no_auth_roles_are_bounded() -> None:
    with pytest.raises(InvalidInputError, match="--roles lists 51 roles"):
        NoAuth("alice", tuple(MOST_ROLES + ["x"]))


def _request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw, "query_string": b""})


def test_proxy_headers_are_bounded() -> None:
    auth = HeaderAuth("X-User", "X-Groups")
    with pytest.raises(NotAuthenticated, match="identity is 201 characters long"):
        auth.identify(_request({"X-User": "a" * (MAX_IDENTITY + 1)}))
    with pytest.raises(NotAuthenticated, match="the X-Groups header lists 51 roles"):
        auth.identify(_request({"X-User": "alice", "X-Groups": ",".join(MOST_ROLES + ["x"])}))
    ok = auth.identify(_request({"X-User": "a" * MAX_IDENTITY, "X-Groups": ",".join(MOST_ROLES)}))
    assert ok.name == "a" * MAX_IDENTITY and len(ok.roles) == MAX_ROLES


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"identity": "a" * (MAX_IDENTITY + 1), "roles": ()}, "an identity has at most 200"),
        ({"identity": "alice", "roles": ("r" * (MAX_ROLE + 1),)}, "a role name has at most 100"),
    ],
)
def test_a_link_is_never_made_for_an_oversized_decider(kwargs: dict[str, Any], says: str) -> None:
    """Refused before the run is read (the client is never used)."""
    made = links.create(
        None,  # type: ignore[arg-type]
        "run-1",
        expires=timedelta(hours=1),
        base_url="http://x",
        key=b"k" * 32,
        **kwargs,
    )
    with pytest.raises(InvalidInputError, match=says):
        asyncio.run(made)
