"""A decision's who, reason and request id are bounded at every edge (hitl.protocol.policy.decider_refused): an identity
over Temporal's search-attribute limit got a run terminated, and megabytes of roles grew its history past its cap.
Each edge refuses in one line naming what and the limit and writes nothing; at the limit it is accepted."""

from __future__ import annotations

import pytest

import hitl
from hitl.protocol.policy import MAX_IDENTITY, MAX_REASON, MAX_REQUEST_ID, MAX_ROLE, MAX_ROLES
from hitl.types import InvalidInputError
from tests.helpers import cli, event_count, one_line_error, wait_for

LONG_ID = "a" * (MAX_IDENTITY + 1)
MANY_ROLES = [f"r{i}" for i in range(MAX_ROLES + 1)]
LONG_ROLE = ["r" * (MAX_ROLE + 1)]


async def _paused(client: hitl.Client) -> hitl.Run:
    run = await client.start("approval", {"topic": "tea"})
    await wait_for(run, "interrupted")
    return run


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"identity": LONG_ID}, f"identity is {MAX_IDENTITY + 1} characters long; an identity has at most 200"),
        ({"roles": MANY_ROLES}, f"roles lists {MAX_ROLES + 1} roles; someone holds at most {MAX_ROLES}"),
        ({"roles": LONG_ROLE}, f"a role name has at most {MAX_ROLE}"),
        ({"request_id": "x" * (MAX_REQUEST_ID + 1)}, f"a request id has at most {MAX_REQUEST_ID}"),
    ],
    ids=["identity", "role-count", "role-length", "request-id"],
)
async def test_the_python_client_refuses_an_oversized_decider_and_writes_nothing(
    client: hitl.Client, kwargs: dict[str, object], says: str
) -> None:
    run = await _paused(client)
    before = await event_count(client, run.run_id)
    for send in (run.claim(**kwargs), run.resume({"approved": True}, **kwargs)):  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError) as refused:
            await send
        assert says in str(refused.value) and "\n" not in str(refused.value)
    assert await event_count(client, run.run_id) == before, "a refusal writes nothing"


async def test_a_cancel_reason_is_bounded(client: hitl.Client) -> None:
    run = await _paused(client)
    before = await event_count(client, run.run_id)
    with pytest.raises(InvalidInputError, match=f"a reason has at most {MAX_REASON:,}"):
        await run.cancel("w" * (MAX_REASON + 1))
    assert await event_count(client, run.run_id) == before
    done = await run.cancel("w" * MAX_REASON)
    assert done.status == "cancelled"


async def test_at_the_limits_a_decider_is_accepted(client: hitl.Client) -> None:
    run = await _paused(client)
    most = [f"{i:02d}" + "r" * (MAX_ROLE - 2) for i in range(MAX_ROLES)]
    held = await run.claim(identity="a" * MAX_IDENTITY, roles=most, request_id="x" * MAX_REQUEST_ID)
    assert held.interrupts[0].claimed_by == "a" * MAX_IDENTITY
    assert held.status == "interrupted"


async def test_client_level_identity_and_roles_are_bounded(client: hitl.Client) -> None:
    with pytest.raises(InvalidInputError, match="an identity has at most 200"):
        client.as_caller(LONG_ID)
    with pytest.raises(InvalidInputError, match=f"someone holds at most {MAX_ROLES}"):
        client.as_caller(roles=MANY_ROLES)
    address = client.temporal.service_client.config.target_host
    with pytest.raises(InvalidInputError, match=f"a role name has at most {MAX_ROLE}"):
        await hitl.connect(address, roles=LONG_ROLE)


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--identity", LONG_ID], {}, "an identity has at most 200"),
        (["--identity", "alice", "--roles", ",".join(MANY_ROLES)], {}, f"someone holds at most {MAX_ROLES}"),
        (["--identity", "alice"], {"HITL_ROLES": LONG_ROLE[0]}, f"HITL_ROLES names a role {MAX_ROLE + 1}"),
        ([], {"HITL_IDENTITY": LONG_ID}, "HITL_IDENTITY is 201 characters long"),
    ],
    ids=["--identity", "--roles", "HITL_ROLES", "HITL_IDENTITY"],
)
async def test_the_cli_refuses_an_oversized_decider_in_one_line(
    client: hitl.Client, args: list[str], env: dict[str, str], says: str
) -> None:
    run = await _paused(client)
    before = await event_count(client, run.run_id)
    line = one_line_error(await cli(client, "claim", run.run_id, *args, env=env))
    assert says in line, line
    assert await event_count(client, run.run_id) == before, "a refusal writes nothing"


async def test_the_workflow_refuses_an_oversized_decider_that_bypassed_the_client(client: hitl.Client) -> None:
    """A raw Temporal update (no hitl client) carrying a 2,100-character identity: the update validator refuses
    it in one line and nothing is written (before: the claim went through and its holder, indexed past 2 kB,
    made Temporal terminate the run)."""
    from temporalio.client import WorkflowUpdateFailedError

    from hitl.protocol.wire import ClaimRequest

    run = await _paused(client)
    before = await event_count(client, run.run_id)
    raw = ClaimRequest(identity="m" * 2100, action="claim", ttl_s=600)
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await client.temporal.get_workflow_handle(run.run_id).execute_update("claim", raw)
    said = caught.value.cause.message if caught.value.cause else ""
    assert "an identity has at most 200" in said and "\n" not in said, said
    assert await event_count(client, run.run_id) == before
    assert (await run.get_state()).status == "interrupted"
