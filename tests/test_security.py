"""Encrypted payloads and who may decide (real dev server)."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from pathlib import Path

import pytest
import temporalio.client

import hitl
from hitl.payloads.codec import KEY_ID, EncryptionCodec
from tests.helpers import cli, encrypted_client, event_count, wait_for

SECRET = "PLAINTEXT-CANARY-7f3a"


def _key() -> bytes:
    return secrets.token_bytes(32)


async def _encrypted_client(client: hitl.Client, keys: dict[str, bytes], current: str, queue: str) -> hitl.Client:
    """Its identity is secret too: the history must not show who decided, in plaintext."""
    return await encrypted_client(client, keys, current, queue, identity=f"{SECRET}-who")


async def _raw_history(client: hitl.Client, run_id: str) -> bytes:
    """The run's history as the server stores it, read without any codec."""
    plain = await temporalio.client.Client.connect(client.temporal.service_client.config.target_host)
    events = [e async for e in plain.get_workflow_handle(run_id).fetch_history_events()]
    return b"".join(e.SerializeToString() for e in events)


async def test_history_holds_no_plaintext_state_questions_or_decisions(client: hitl.Client) -> None:
    enc = await _encrypted_client(client, {"k1": _key()}, "k1", "hitl-enc")
    async with enc.worker():
        run = await enc.start("review", {"draft": f"{SECRET}-draft"})
        paused = await run.wait()
        assert paused.interrupts[0].value == {"draft": f"{SECRET}-draft"}  # decoded for us
        done = await run.resume("approve")
        assert done.values["status"] == "published"
    raw = await _raw_history(client, run.run_id)
    assert SECRET.encode() not in raw
    assert b"approve" not in raw and b"published" not in raw
    assert b"binary/encrypted" in raw and b"k1" in raw  # the key id travels with each payload
    # The inbox summary (a memo) is encrypted too.
    desc = await client.temporal.get_workflow_handle(run.run_id).describe()
    assert all(SECRET.encode() not in p.data for p in desc.raw_description.workflow_execution_info.memo.fields.values())


async def test_cli_decodes_transparently_with_the_key(client: hitl.Client, tmp_path: Path) -> None:
    key = _key()
    enc = await _encrypted_client(client, {"default": key}, "default", "hitl-enc-cli")
    async with enc.worker():
        run = await enc.start("review", {"draft": f"{SECRET}-cli"})
        await run.wait()
        env = {"HITL_ENCRYPTION_KEY": base64.b64encode(key).decode()}
        shown = await cli(client, "state", run.run_id, "--json", env=env)
        assert shown.code == 0, shown.err
        assert json.loads(shown.out)["values"]["draft"] == f"{SECRET}-cli"
        without = await cli(client, "state", run.run_id, "--json")
        assert without.code != 0 or f"{SECRET}-cli" not in without.out
        await run.cancel()


async def test_keys_rotate_old_payloads_still_read(client: hitl.Client, tmp_path: Path) -> None:
    old, new = _key(), _key()
    before = await _encrypted_client(client, {"k1": old}, "k1", "hitl-rotate")
    async with before.worker():
        run = await before.start("review", {"draft": "rotating"})
        await run.wait()
    after = await _encrypted_client(client, {"k1": old, "k2": new}, "k2", "hitl-rotate")
    async with after.worker():
        done = await after.get_run(run.run_id).resume("approve")
        assert done.values["draft"] == "rotating"
    plain = await temporalio.client.Client.connect(client.temporal.service_client.config.target_host)
    events = [e async for e in plain.get_workflow_handle(run.run_id).fetch_history_events()]
    started = events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert started.metadata[KEY_ID] == b"k1"
    last = events[-1].workflow_execution_completed_event_attributes.result.payloads[0]
    assert last.metadata[KEY_ID] == b"k2"


def test_bad_keys_are_refused_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hitl.payloads.codec import from_env

    with pytest.raises(hitl.HitlError, match="is 16 bytes; AES-256-GCM needs 32"):
        EncryptionCodec({"k": b"x" * 16}, "k")
    monkeypatch.setenv("HITL_ENCRYPTION_KEY", "not base64!")
    with pytest.raises(hitl.HitlError, match="not valid base64"):
        from_env()
    bad = tmp_path / "keys.json"
    bad.write_text('{"keys": {}}')
    monkeypatch.setenv("HITL_ENCRYPTION_KEY_FILE", str(bad))
    with pytest.raises(hitl.HitlError, match="is unusable .* it must be JSON like"):
        from_env()


async def test_only_named_reviewers_and_roles_may_answer(client: hitl.Client) -> None:
    run = await client.start("guarded", {"draft": "pay 10k"})
    paused = await wait_for(run, "interrupted")
    assert paused.interrupts[0].reviewers == ["alice", "role:finance"]
    before = await event_count(client, run.run_id)
    with pytest.raises(
        hitl.DecisionRejectedError,
        match=r"'bob' may not answer interrupt .*; its reviewers are \['alice', 'role:finance'\]",
    ):
        await run.resume("ok", identity="bob")
    sales = hitl.Client(client.temporal, task_queue=client.task_queue, identity="carol", roles=["sales"])
    with pytest.raises(hitl.DecisionRejectedError, match="'carol' may not answer"):
        await sales.get_run(run.run_id).resume("ok")
    assert await event_count(client, run.run_id) == before  # refused, recorded nowhere
    finance = hitl.Client(client.temporal, task_queue=client.task_queue, identity="carol", roles=["finance"])
    done = await finance.get_run(run.run_id).resume("paid")
    assert done.values["status"] == "paid"
    assert [(d.identity, d.value) for d in done.decisions] == [("carol", "paid")]


async def test_reviewer_by_identity_through_the_cli(client: hitl.Client) -> None:
    run = await client.start("guarded", {"draft": f"cli-{uuid.uuid4().hex[:6]}"})
    await wait_for(run, "interrupted")
    refused = await cli(client, "resume", run.run_id, "--value", '"x"', "--identity", "mallory")
    assert refused.code == 2 and "'mallory' may not answer" in refused.err
    ok = await cli(client, "resume", run.run_id, "--value", '"y"', "--identity", "dave", "--roles", "ops,finance")
    assert ok.code == 0, ok.err
