"""Clients refuse what no live worker could handle: no worker at all, or workers
holding other encryption keys. Real dev server, real worker processes; every
refusal is one line and writes nothing."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import inspect
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
import temporalio.client
import temporalio.service
import temporalio.worker
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter

import hitl
import hitl.client.client
from hitl.client import listing as _listing
from hitl.client import serving as _workers
from hitl.client.serving import WorkerInfo, check_workers
from hitl.payloads.codec import KEY_FINGERPRINT, EncryptionCodec, PlaintextCodec, fingerprint
from hitl.protocol.wire import ASSIGNED, GRAPH, PENDING_NODES, REVIEWERS, STATUS, SUMMARY_MEMO, WAITING_SINCE
from hitl.server import DevServer
from hitl.types import KeyMismatchError, NoWorkerError, Queued
from hitl.web import search
from tests import graphs
from tests.helpers import (
    STICKY_SECONDS,
    Result,
    WorkerProcess,
    cli,
    encrypted_client,
    event_count,
    one_line_error,
    wait_for,
)


def _key() -> bytes:
    return secrets.token_bytes(32)


def _env(key: bytes) -> dict[str, str]:
    return {"HITL_ENCRYPTION_KEY": base64.b64encode(key).decode()}


def _queue() -> str:
    return f"hitl-keys-{uuid.uuid4().hex[:8]}"


async def _cli(client: hitl.Client, queue: str, *args: str, env: dict[str, str] | None = None) -> Result:
    """`hitl ARGS` as a newcomer runs it, on `queue` instead of the session's."""
    return await cli(client, *args, env=env, task_queue=queue)


async def _no_check(*args: object, **kwargs: object) -> list[WorkerInfo]:
    """Stands in for check_workers where a test must put a run where no check would let it (no worker seen:
    the run takes its patches by marker)."""
    return []


async def _start_unchecked(client: hitl.Client, graph: str, run_id: str | None = None) -> hitl.Run:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hitl.client.client, "check_workers", _no_check)
        return await client.start(graph, {}, run_id=run_id)


async def _exists(client: hitl.Client, run_id: str) -> bool:
    try:
        await client.temporal.get_workflow_handle(run_id).describe()
        return True
    except temporalio.service.RPCError as e:
        assert e.status == temporalio.service.RPCStatusCode.NOT_FOUND
        return False


def _refuse_sooner(monkeypatch: pytest.MonkeyPatch) -> None:
    """A decision no worker takes is refused once the test workers' sticky queue wait (STICKY_SECONDS, not the
    SDK's 10 s) has passed, as it is once the SDK's has passed with what ships (the test below): the same
    refusal, seconds sooner. The client also looks for a worker every second instead of every three."""
    monkeypatch.setattr(hitl.client.client, "NO_WORKER_SECONDS", float(STICKY_SECONDS) + 2)
    monkeypatch.setattr(hitl.client.client, "ACCEPT_SECONDS", 1.0)


def test_a_decision_no_worker_takes_is_waited_on_past_the_sticky_queue_wait() -> None:
    """A run's workflow task waits this long on the queue of the worker that last ran it before any worker may
    take it: a worker restarted meanwhile gets the decision, so hitl waits longer before it refuses."""
    sticky = inspect.signature(temporalio.worker.Worker).parameters["sticky_queue_schedule_to_start_timeout"]
    assert hitl.client.client.NO_WORKER_SECONDS > sticky.default.total_seconds()


# ------------------------------------------------------------------ the codec


async def test_payloads_name_their_key_fingerprint_and_a_different_key_says_so() -> None:
    k1, k2 = _key(), _key()
    [sealed] = await EncryptionCodec({"default": k1}, "default").encode([Payload(data=b'"hello"')])
    assert sealed.metadata[KEY_FINGERPRINT] == fingerprint(k1).encode()
    with pytest.raises(KeyMismatchError) as e:
        await EncryptionCodec({"default": k2}, "default").decode([sealed])
    assert str(e.value) == (
        f"payload encrypted with key 'default' (fingerprint {fingerprint(k1)}) but the key configured here under that id "
        f"has fingerprint {fingerprint(k2)}: client and worker use different keys"
    )
    # Written before fingerprints: still read with the right key, a clear line with a wrong one.
    old = Payload()
    old.CopyFrom(sealed)
    del old.metadata[KEY_FINGERPRINT]
    assert (await EncryptionCodec({"default": k1}, "default").decode([old]))[0].data == b'"hello"'
    with pytest.raises(KeyMismatchError, match="does not decrypt with the key configured here under that id"):
        await EncryptionCodec({"default": k2}, "default").decode([old])


async def test_a_keyless_process_passes_plaintext_and_names_the_key_it_lacks() -> None:
    key = _key()
    codec = PlaintextCodec()
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b"1")
    assert await codec.encode([plain]) == [plain] and await codec.decode([plain]) == [plain]
    [sealed] = await EncryptionCodec({"k1": key}, "k1").encode([plain])
    with pytest.raises(KeyMismatchError) as e:
        await codec.decode([sealed])
    assert str(e.value) == (
        f"this run's payloads are encrypted (key 'k1', fingerprint {fingerprint(key)}); "
        "set HITL_ENCRYPTION_KEY or HITL_ENCRYPTION_KEY_FILE to read them"
    )


# ------------------------------------------------- the rules, on listed workers


@pytest.fixture
def listed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[WorkerInfo]]:
    """The workers the server lists, as a test sets them."""
    workers: list[WorkerInfo] = []

    async def fake(client: temporalio.client.Client, task_queue: str) -> list[WorkerInfo]:
        return list(workers)

    monkeypatch.setattr(_workers, "list_workers", fake)
    monkeypatch.setattr(_workers, "STARTUP_SECONDS", 0.0)
    yield workers


def _fresh(client: hitl.Client, key: bytes | None) -> temporalio.client.Client:
    """The session's connection as a client of its own (its own check cache), with `key` or none."""
    codec = EncryptionCodec({"default": key}, "default") if key else PlaintextCodec()
    config = client.temporal.config()
    config["data_converter"] = dataclasses.replace(pydantic_data_converter, payload_codec=codec)
    return temporalio.client.Client(**config)


async def test_key_rules_judge_live_workers_that_advertise_keys(client: hitl.Client, listed: list[WorkerInfo]) -> None:
    k1, k2 = _key(), _key()
    f1, f2 = fingerprint(k1), fingerprint(k2)

    async def verdict(key: bytes | None, *workers: WorkerInfo, queue: bool = False) -> str:
        listed[:] = workers
        try:
            await check_workers(_fresh(client, key), "q", queue=queue)
            return "ok"
        except hitl.HitlError as e:
            return f"{type(e).__name__}: {e}"

    keyed, keyless = WorkerInfo("1@h hitl-keys=" + f1, [f1], True), WorkerInfo("2@h hitl-keys=none", [], True)
    older = WorkerInfo("3@h", None, True)  # a worker from before keys were advertised
    assert (await verdict(k1)).startswith("NoWorkerError: no worker is polling task queue 'q' on namespace 'default'")
    assert (await verdict(k1, dataclasses.replace(keyed, live=False))).startswith("NoWorkerError")
    assert await verdict(k1, keyed) == "ok"
    assert await verdict(None, keyless) == "ok"
    assert await verdict(k1, older) == "ok" and await verdict(None, older) == "ok"
    assert await verdict(k2, keyed, WorkerInfo("4@h hitl-keys=" + f"{f1},{f2}", [f1, f2], True)) == "ok"
    assert (await verdict(k2, keyed)) == (
        f"KeyMismatchError: this client encrypts with key 'default' (fingerprint {f2}) but no live worker on task queue 'q' "
        f"on namespace 'default' holds it (they hold {f1}): client and worker use different keys; nothing was sent"
    )
    assert (await verdict(None, keyed)).startswith(
        f"KeyMismatchError: this client has no encryption key but the workers on task queue 'q' on namespace 'default' encrypt (key fingerprints {f1})"
    )
    assert (await verdict(k1, keyed, keyless)).startswith(
        f"KeyMismatchError: this client encrypts with key 'default' (fingerprint {f1}) but worker '2@h hitl-keys=none'"
    )
    # Queueing needs no live worker, but a keyless client still may not write into encrypted runs.
    assert await verdict(None, queue=True) == "ok"
    assert (await verdict(None, dataclasses.replace(keyed, live=False), queue=True)).startswith(
        "KeyMismatchError: this client has no encryption key"
    )


async def test_a_passed_check_is_reused_for_five_seconds(client: hitl.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    temporal = _fresh(client, None)
    calls = 0
    describe = temporal.workflow_service.describe_task_queue

    async def counted(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return await describe(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(temporal.workflow_service, "describe_task_queue", counted)
    await asyncio.gather(*(check_workers(temporal, client.task_queue) for _ in range(20)))
    for _ in range(20):
        await check_workers(temporal, client.task_queue)
    assert calls == 1
    monkeypatch.setattr(_workers, "CACHE_SECONDS", 0.0)
    await check_workers(temporal, client.task_queue)
    assert calls == 2


# ------------------------------------------------------- real worker processes


@dataclass
class Keyed:
    """A worker process holding `key`, and a run paused on it."""

    queue: str
    key: bytes
    identity: str
    run: hitl.Run


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def keyed(client: hitl.Client, server: DevServer) -> AsyncIterator[Keyed]:
    queue, key = _queue(), _key()
    worker = WorkerProcess(server.address, queue).start(env=_env(key))
    try:
        identity = await worker.polling(client)
        owner = await encrypted_client(client, {"default": key}, "default", queue, identity="keys-test")
        run = await owner.start("review", {"draft": "secret"})
        await wait_for(run, "interrupted")
        yield Keyed(queue, key, identity, run)
    finally:
        worker.kill()


async def test_workers_advertise_the_fingerprints_of_their_keys(
    keyed: Keyed, worker_process: WorkerProcess, client: hitl.Client
) -> None:
    assert keyed.identity.endswith(f" hitl-keys={fingerprint(keyed.key)}")
    keyless = await worker_process.start().polling(client)
    assert keyless.endswith(" hitl-keys=none")


async def test_a_client_with_another_key_refuses_to_start_and_nothing_starts(keyed: Keyed, client: hitl.Client) -> None:
    other = _key()
    mine = await encrypted_client(client, {"default": other}, "default", keyed.queue, identity="keys-test")
    run_id = f"k2-{uuid.uuid4().hex[:8]}"
    with pytest.raises(KeyMismatchError) as e:
        await mine.start("review", {}, run_id=run_id)
    assert str(e.value) == (
        f"this client encrypts with key 'default' (fingerprint {fingerprint(other)}) but no live worker on task queue "
        f"'{keyed.queue}' on namespace 'default' holds it (they hold {fingerprint(keyed.key)}): client and worker use "
        "different keys; nothing was sent"
    )
    assert not await _exists(client, run_id)
    shown = await _cli(client, keyed.queue, "start", "review", "--id", run_id, "--wait", env=_env(other))
    assert "client and worker use different keys" in one_line_error(shown)
    assert not await _exists(client, run_id)


async def test_a_keyless_client_refuses_to_write_into_encrypted_runs(keyed: Keyed, client: hitl.Client) -> None:
    bare = hitl.Client(client.temporal, task_queue=keyed.queue, graphs=graphs.GRAPHS)
    before = await event_count(client, keyed.run.run_id)
    run = bare.get_run(keyed.run.run_id)
    run_id = f"plain-{uuid.uuid4().hex[:8]}"
    expected = f"this client has no encryption key but the workers on task queue '{keyed.queue}' on namespace 'default' encrypt"
    for attempt in (
        bare.start("review", {"draft": "plaintext"}, run_id=run_id),
        run.resume("approve"),
        run.resume("approve", queue=True),
        run.send_resume("approve"),
        run.update_state({"draft": "plaintext"}),
    ):
        with pytest.raises(KeyMismatchError, match=expected):
            await attempt
    refused = await _cli(client, keyed.queue, "resume", keyed.run.run_id, "--value", '"approve"')
    assert expected in one_line_error(refused)
    assert await event_count(client, keyed.run.run_id) == before
    assert not await _exists(client, run_id)


async def test_a_keyless_inbox_lists_encrypted_runs_and_state_is_one_line(keyed: Keyed, client: hitl.Client) -> None:
    pending = {p.run_id: p for p in await client.pending()}
    assert pending[keyed.run.run_id].summary == "(encrypted)"
    inbox = await _cli(client, keyed.queue, "inbox")
    assert inbox.code == 0, inbox.err
    assert any(keyed.run.run_id in line and "(encrypted)" in line for line in inbox.out.splitlines())
    state = await _cli(client, keyed.queue, "state", keyed.run.run_id)
    assert one_line_error(state) == (
        f"error: this run's payloads are encrypted (key 'default', fingerprint {fingerprint(keyed.key)}); "
        "set HITL_ENCRYPTION_KEY or HITL_ENCRYPTION_KEY_FILE to read them"
    )


async def test_a_client_with_a_key_refuses_a_keyless_worker(client: hitl.Client, worker_process: WorkerProcess) -> None:
    identity = await worker_process.start().polling(client)
    key = _key()
    mine = await encrypted_client(client, {"default": key}, "default", worker_process.task_queue, identity="keys-test")
    run_id = f"keyed-{uuid.uuid4().hex[:8]}"
    with pytest.raises(
        KeyMismatchError,
        match=rf"fingerprint {fingerprint(key)}\) but worker '{identity}' on task queue .* holds no key",
    ):
        await mine.start("review", {}, run_id=run_id)
    assert not await _exists(client, run_id)


async def test_a_worker_with_another_key_fails_the_task_naming_both_fingerprints(
    client: hitl.Client, worker_process: WorkerProcess
) -> None:
    right, wrong = _key(), _key()
    owner = await encrypted_client(
        client, {"default": right}, "default", worker_process.task_queue, identity="keys-test"
    )
    run = await _start_unchecked(owner, "review")  # no worker yet: the check would refuse
    await worker_process.start(env=_env(wrong)).polling(client)
    line = (
        f"payload encrypted with key 'default' (fingerprint {fingerprint(right)}) but the key configured here under "
        f"that id has fingerprint {fingerprint(wrong)}: client and worker use different keys"
    )
    handle = client.temporal.get_workflow_handle(run.run_id)
    for _ in range(300):
        failed = [e async for e in handle.fetch_history_events() if e.HasField("workflow_task_failed_event_attributes")]
        if failed:
            break
        await asyncio.sleep(0.1)
    assert failed and failed[0].workflow_task_failed_event_attributes.failure.message == line
    state = await _cli(client, worker_process.task_queue, "state", run.run_id, env=_env(right))
    assert line in one_line_error(state)
    # A decision sent past the client's key check waits on no task that can take it: refused naming the failure
    # (a live worker fails it), not as a missing worker, and not waited on for ever.
    before = await event_count(client, run.run_id)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hitl.client.client, "check_workers", _no_check)
        with pytest.raises(hitl.HitlError) as caught:
            await owner.get_run(run.run_id).resume("approve")
    said = str(caught.value)
    assert not isinstance(caught.value, NoWorkerError) and "its workflow task fails on the worker" in said, said
    assert line in said and "\n" not in said
    assert await event_count(client, run.run_id) == before


async def test_no_worker_refuses_within_seconds_and_writes_nothing(
    client: hitl.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = hitl.Client(client.temporal, task_queue=_queue(), graphs=graphs.GRAPHS)
    expected = f"no worker is polling task queue '{bare.task_queue}' on namespace 'default' (checked just now); nothing was sent"
    pattern = re.escape(expected)
    run_id = f"nobody-{uuid.uuid4().hex[:8]}"
    t = time.monotonic()
    with pytest.raises(NoWorkerError, match=pattern):
        await bare.start("review", {}, run_id=run_id)
    assert time.monotonic() - t < 10
    assert not await _exists(client, run_id)
    # Each check gives a worker that may be starting STARTUP_SECONDS (5 s) to poll: waited once above, in full.
    monkeypatch.setattr(_workers, "STARTUP_SECONDS", 0.5)
    run = await _start_unchecked(bare, "review")  # a run nobody serves
    before = await event_count(client, run.run_id)
    for attempt in (run.resume("approve"), run.update_state({"draft": "x"})):
        t = time.monotonic()
        with pytest.raises(NoWorkerError, match=pattern):
            await attempt
        assert time.monotonic() - t < 10
    refused = await _cli(client, bare.task_queue, "resume", run.run_id, "--value", '"approve"')
    assert expected in one_line_error(refused)
    assert await event_count(client, run.run_id) == before
    queued = await _cli(client, bare.task_queue, "resume", run.run_id, "--value", '"approve"', "--queue")
    assert queued.code == 0, queued.err
    assert queued.out.strip() == str(Queued(run_id=run.run_id))
    assert queued.out.startswith(
        f"accepted: run {run.run_id} has no worker right now; the decision is queued in its history"
    )
    assert await event_count(client, run.run_id) == before + 1  # the signal, nothing else
    await client.temporal.get_workflow_handle(run.run_id).terminate("test over: nobody serves this queue")


async def test_a_queued_decision_applies_once_when_a_worker_is_back(
    client: hitl.Client, worker_process: WorkerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = hitl.Client(client.temporal, task_queue=worker_process.task_queue, graphs=graphs.GRAPHS, identity="queuer")
    await worker_process.start().polling(client)
    run = await mine.start("review", {})
    await wait_for(run, "interrupted")
    worker_process.kill()
    # The server lists a dead worker for a minute after its last poll; look at the last few seconds only.
    monkeypatch.setattr(_workers, "LIVE_SECONDS", 1.0)
    monkeypatch.setattr(_workers, "STARTUP_SECONDS", 0.5)
    monkeypatch.setattr(_workers, "CACHE_SECONDS", 0.0)  # the start's passed check must not stand in
    await asyncio.sleep(1.5)
    before = await event_count(client, run.run_id)
    with pytest.raises(NoWorkerError):
        await run.resume("approve")
    assert await event_count(client, run.run_id) == before
    queued = await run.resume("approve", queue=True)
    assert isinstance(queued, Queued) and queued.run_id == run.run_id
    await worker_process.start().polling(client)
    done = await wait_for(run, "completed", timeout=60)
    assert done.values["log"] == ["write", "review:approve:first draft", "publish"]
    assert [(d.value, d.identity) for d in done.decisions] == [("approve", "queuer")]


async def test_a_decision_sent_just_after_the_worker_dies_is_refused_not_waited_on(
    client: hitl.Client, worker_process: WorkerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server still lists the killed worker as polling a moment ago (and the check before sending is
    cached), so the decision goes out; no worker takes it, and the client refuses within seconds
    (NoWorkerError naming the run and --queue) instead of waiting on it, with nothing of the decision
    written. Queued next, it is applied once when a worker is back, though Temporal held the refused one."""
    _refuse_sooner(monkeypatch)
    mine = hitl.Client(client.temporal, task_queue=worker_process.task_queue, graphs=graphs.GRAPHS, identity="late")
    await worker_process.start().polling(client)
    run = await mine.start("review", {})
    await wait_for(run, "interrupted")
    worker_process.kill()
    before = await event_count(client, run.run_id)
    with pytest.raises(NoWorkerError) as refused:
        await run.resume("approve")
    message = str(refused.value)
    assert f"no worker took the decision for run '{run.run_id}'" in message and "--queue" in message, message
    assert "\n" not in message
    # Nothing of the decision is written: at most Temporal's own record of the workflow task it scheduled
    # for it (moved off the dead worker's sticky queue), never an update or a signal.
    added = (await _history(client, run.run_id))[before:]
    assert set(added) <= {EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT}
    queued = await run.resume("approve", queue=True)
    assert isinstance(queued, Queued) and queued.run_id == run.run_id
    await worker_process.start().polling(client)
    done = await wait_for(run, "completed", timeout=60)
    assert [(d.value, d.identity) for d in done.decisions] == [("approve", "late")]
    assert done.values["log"] == ["write", "review:approve:first draft", "publish"]


async def _history(client: hitl.Client, run_id: str) -> list[EventType.ValueType]:
    handle = client.temporal.get_workflow_handle(run_id)
    return [e.event_type async for e in handle.fetch_history_events()]


async def test_resume_with_queue_and_a_live_worker_answers_as_before(client: hitl.Client) -> None:
    run = await client.start("review", {})
    await wait_for(run, "interrupted")
    done = await run.resume("approve", queue=True)
    assert isinstance(done, hitl.StateSnapshot) and done.status == "completed"


async def _listed_by_the_sdk(
    temporal: temporalio.client.Client, query: str
) -> list[tuple[hitl.PendingRun, str, object]]:
    """The listing as hitl built it before reading visibility pages itself: the SDK's
    `list_workflows`, its typed search attributes and `memo_value` (the reference)."""
    out = []
    async for w in temporal.list_workflows(query):
        sa = w.typed_search_attributes
        try:
            memo = await w.memo_value(SUMMARY_MEMO, default="") if w.raw_info.memo.fields else ""
        except KeyMismatchError:
            memo = "(encrypted)"
        row = hitl.PendingRun(
            run_id=w.id,
            graph=sa.get(GRAPH) or "?",
            nodes=list(sa.get(PENDING_NODES) or []),
            summary=str(memo),
            waiting_since=sa.get(WAITING_SINCE),
            assigned=list(sa.get(ASSIGNED) or []),
            reviewers=list(sa.get(REVIEWERS) or []),
        )
        status = search.EXECUTION_STATUS.get(w.status.name if w.status else "RUNNING") or (
            "interrupted" if sa.get(STATUS) == "interrupted" else "busy"
        )
        out.append((row, status, w.start_time))
    return out


async def test_listing_keeps_every_field_of_encrypted_subgraph_and_plain_runs(
    keyed: Keyed, client: hitl.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = await client.start("review", {"draft": "plain draft"})
    parent = await client.start("parent", {"topic": "budgets"})
    finished = await client.start("review", {"draft": "done"})
    for run in (plain, parent, finished):
        await wait_for(run, "interrupted")
    await finished.resume("approve")
    ids = [keyed.run.run_id, plain.run_id, parent.run_id, finished.run_id]
    owner = await encrypted_client(client, {"default": keyed.key}, "default", keyed.queue, identity="keys-test")
    mine = 'WorkflowType = "hitl.Graph" AND WorkflowId IN (' + ", ".join(f'"{i}"' for i in ids) + ")"
    monkeypatch.setattr(_listing, "PAGE_SIZE", 2)  # several pages, so the page token is followed
    for reader in (client, owner):
        for _ in range(100):  # visibility is eventually consistent
            expected = await _listed_by_the_sdk(reader.temporal, mine)
            settled = {r.run_id: status for r, status, _ in expected if r.nodes or status == "idle"}
            if settled == dict.fromkeys(ids[:3], "interrupted") | {finished.run_id: "idle"}:
                break
            await asyncio.sleep(0.1)
        listed = await search.listing(reader.temporal, mine)
        assert [(x.pending, x.status, x.created_at) for x in listed] == expected
        waiting = {p.run_id: p for p in await reader.pending() if p.run_id in ids}
        assert list(waiting.values()) == [r for r, status, _ in expected if status == "interrupted"]
        assert waiting.keys() == set(ids[:3])
        assert waiting[parent.run_id].nodes == ["team/ask"]
        assert waiting[parent.run_id].graph == "parent"
        assert "plain draft" in waiting[plain.run_id].summary
        assert waiting[plain.run_id].waiting_since is not None
        secret = waiting[keyed.run.run_id].summary
        assert (secret == "(encrypted)") == (reader is client), secret
    assert len(await client.pending(limit=3)) == 3
    await plain.resume("approve")
    await parent.resume("yes")
