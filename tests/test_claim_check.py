"""The claim-check on a real dev server: a run whose state holds a ~300 KB document pauses on interrupt() and
resumes with the document intact, while its history (read raw, without the codec) holds only small payloads
and references. Once with the local-directory store, once with the S3 store against moto's S3-compatible
HTTP server on 127.0.0.1 (with encryption on too: the bucket sees only ciphertext). A process without the
store reads such a run as one line naming the variable to set."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypedDict

import pytest
import pytest_asyncio
import temporalio.activity
import temporalio.client
import temporalio.common
from temporalio.api.common.v1 import Payload

import hitl
from hitl import END, START, StateGraph, interrupt
from hitl.payloads.blob_gc import payloads
from hitl.payloads.blobs import claim_checked, reference
from hitl.payloads.codec import ClaimCheckCodec, ClaimCheckError, FileStore, S3Store
from hitl.server import DevServer, free_port
from tests.helpers import cli, one_line_error, wait_for

THRESHOLD = 64 * 1024
DOC = "".join(f"line {i}: the long document a node carries in its state.\n" for i in range(5_500))


class DocState(TypedDict, total=False):
    doc: str
    note: str
    status: str


def _read(state: DocState) -> dict[str, Any]:
    return {"status": f"read {len(state['doc'])}"}


def _review(state: DocState) -> dict[str, Any]:
    note = interrupt("note on the document?")
    return {"note": note, "doc": state["doc"] + f"reviewed: {note}\n"}


def _finish(state: DocState) -> dict[str, Any]:
    return {"status": f"done {len(state['doc'])}"}


_builder = StateGraph(DocState)
_builder.add_node("read", _read)
_builder.add_node("review", _review)
_builder.add_node("finish", _finish)
_builder.add_edge(START, "read")
_builder.add_edge("read", "review")
_builder.add_edge("review", "finish")
_builder.add_edge("finish", END)
GRAPH = _builder.compile(name="claim_check_doc")


async def _beat(state: DocState) -> dict[str, Any]:
    """Records its progress as heartbeat details (big: claim-checked), then fails its first attempt."""
    temporalio.activity.heartbeat(state["doc"] + "progress: halfway\n")
    if temporalio.activity.info().attempt == 1:
        raise RuntimeError("the service is down; the next attempt resumes from the heartbeat")
    return {"status": "done"}


_beat_builder = StateGraph(DocState)
_beat_builder.add_node(
    "beat",
    _beat,
    heartbeat_timeout=timedelta(minutes=5),
    retry_policy=temporalio.common.RetryPolicy(initial_interval=timedelta(hours=2), maximum_attempts=2),
)
_beat_builder.add_edge(START, "beat")
_beat_builder.add_edge("beat", END)
BEAT_GRAPH = _beat_builder.compile(name="claim_check_beat")


async def _raw_history(server: DevServer, run_id: str) -> list[Payload]:
    """The run's history as Temporal stores it: a client with no codec at all."""
    raw = await temporalio.client.Client.connect(server.address)
    events = [e async for e in raw.get_workflow_handle(run_id).fetch_history_events()]
    return [p for e in events for p in payloads(e)]


async def _connect(server: DevServer, queue: str, env: dict[str, str]) -> hitl.Client:
    """A client configured from `env` as `hitl.connect` reads it, leaving this process's environment as it was
    (the CLI subprocesses started later must not inherit it)."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        return await hitl.connect(server.address, task_queue=queue, graphs=[GRAPH, BEAT_GRAPH], identity="cc")


async def _run_through_a_pause(
    server: DevServer, client: hitl.Client, env: dict[str, str]
) -> tuple[hitl.Client, str, list[str]]:
    """Run the document graph with the claim-check configured by `env`: pause, check what the Python client and
    `hitl state` show, resume, finish. The run's id, and the keys its history references."""
    queue = f"claim-{uuid.uuid4().hex[:8]}"
    cc = await _connect(server, queue, env)
    assert isinstance(cc.temporal.data_converter.payload_codec, ClaimCheckCodec)
    async with cc.worker():
        run = await cc.start("claim_check_doc", {"doc": DOC})
        paused = await wait_for(run, "interrupted")
        assert paused.values["doc"] == DOC and paused.values["status"] == f"read {len(DOC)}"

        shown = await cli(client, "state", run.run_id, "--json", env=env, task_queue=queue, graphs=())
        assert shown.code == 0, shown
        assert shown.json()["values"]["doc"] == DOC  # type: ignore[index, call-overload]

        await run.resume("looks right")
        result = await run.result()
        reviewed = DOC + "reviewed: looks right\n"
        assert result["doc"] == reviewed and result["status"] == f"done {len(reviewed)}"
        assert (await run.get_state()).values["doc"] == reviewed
        checkpoints = await run.get_state_history()  # time travel reads the big values back too
        assert {c.values["doc"] for c in checkpoints if c.values and "doc" in c.values} == {DOC, reviewed}

    raw = await _raw_history(server, run.run_id)
    too_big = [p.ByteSize() for p in raw if p.ByteSize() > THRESHOLD]
    assert not too_big, f"payloads over the threshold in the raw history: {too_big}"
    refs = [p for p in raw if p.metadata.get("encoding") == b"binary/claim-check"]
    # the start input, the nodes' inputs and results, the workflow's result at least
    assert len(refs) >= 5, len(refs)
    assert all(p.ByteSize() < 200 for p in refs)
    return cc, run.run_id, sorted({p.metadata["claim-check-sha256"].decode() for p in refs})


async def test_a_big_state_goes_to_the_directory_and_history_keeps_references(
    server: DevServer, client: hitl.Client, tmp_path: Path
) -> None:
    blobs = tmp_path / "blobs"
    env = {"HITL_CLAIM_CHECK": blobs.as_uri()}
    cc, run_id, keys = await _run_through_a_pause(server, client, env)
    for key in keys:
        data = (blobs / key[:2] / key).read_bytes()
        assert hashlib.sha256(data).hexdigest() == key and len(data) > THRESHOLD

    # careless: the CLI and the Python client without the store say what the value is and what to set
    async with cc.worker():
        line = one_line_error(await cli(client, "state", run_id, task_queue=cc.task_queue, graphs=()))
        assert "claim-checked" in line and "set HITL_CLAIM_CHECK to the store its workers use" in line
        bare = hitl.Client(client.temporal, task_queue=cc.task_queue, identity="bare")
        with pytest.raises(ClaimCheckError, match="set HITL_CLAIM_CHECK"):
            await bare.get_run(run_id).get_state()

    # a blob deleted early (a retention rule shorter than the run): one line naming the key and the store
    for key in keys:
        (blobs / key[:2] / key).unlink()
    async with cc.worker():
        line = one_line_error(await cli(client, "state", run_id, env=env, task_queue=cc.task_queue, graphs=()))
    assert "is not in the store file://" in line and "HITL_CLAIM_CHECK" in line and "retention" in line


async def test_a_claim_checking_client_facing_a_worker_without_a_store_is_refused_and_sends_nothing(
    server: DevServer, client: hitl.Client, tmp_path: Path
) -> None:
    """Its big values would stall the run on a worker that cannot read them: one line, before anything is sent.
    The other way round is fine: a worker with a store reads a client's plain payloads."""
    queue = f"claim-{uuid.uuid4().hex[:8]}"
    plain = await _connect(server, queue, {})
    cc = await _connect(server, queue, {"HITL_CLAIM_CHECK": (tmp_path / "blobs").as_uri()})
    run_id = f"claim-refused-{uuid.uuid4().hex[:6]}"
    async with plain.worker():
        with pytest.raises(ClaimCheckError) as e:
            await cc.start("claim_check_doc", {"doc": "short"}, run_id=run_id)
        message = str(e.value)
        assert "\n" not in message and f"task queue '{queue}'" in message
        assert "give every worker the same HITL_CLAIM_CHECK; nothing was sent" in message
        with pytest.raises(hitl.RunNotFoundError):
            await plain.get_run(run_id).get_state()
    async with cc.worker():
        started = await plain.start("claim_check_doc", {"doc": DOC})
        paused = await wait_for(cc.get_run(started.run_id), "interrupted")  # big: read where the store is
        assert paused.values["doc"] == DOC


def _age(blobs: Path, days: float, keep: frozenset[str] = frozenset()) -> None:
    """Make every blob file but `keep` look last written `days` ago."""
    then = time.time() - days * 86400
    for path in blobs.glob("??/*"):
        if path.name not in keep:
            os.utime(path, (then, then))


async def test_hitl_gc_deletes_only_blobs_that_no_history_names(
    server: DevServer, client: hitl.Client, tmp_path: Path
) -> None:
    """A paused run's blobs and a closed run's blobs are named by their histories: kept, and the runs read
    them after the collection; an orphan older than the grace goes, one written within it stays; a dry
    run deletes nothing."""
    blobs = tmp_path / "blobs"
    env = {"HITL_CLAIM_CHECK": blobs.as_uri()}
    queue = f"claim-gc-{uuid.uuid4().hex[:8]}"
    cc = await _connect(server, queue, env)
    async with cc.worker():
        run = await cc.start("claim_check_doc", {"doc": DOC})
        await wait_for(run, "interrupted")
    named = {p.metadata["claim-check-sha256"].decode() for p in await _raw_history(server, run.run_id)} - {""}
    assert named, "the paused run's history names its blobs"
    store = FileStore(blobs)
    old, young = b"an old blob no history names" * 4000, b"a new blob no history names yet" * 4000
    old_key, young_key = hashlib.sha256(old).hexdigest(), hashlib.sha256(young).hexdigest()
    await store.put(old_key, old)
    await store.put(young_key, young)
    _age(blobs, 2, keep=frozenset({young_key}))

    # what no history names: the orphans, and the answers to the state queries made while it paused
    # (a query's result is claim-checked too, and no history keeps it)
    unnamed = sorted({p.name for p in blobs.glob("??/*")} - named - {young_key})
    assert old_key in unnamed and len(unnamed) > 1, unnamed
    dry = await cli(client, "gc", "--dry-run", "--json", env=env, graphs=())
    assert dry.code == 0, dry
    assert dry.json()["deleted"] == unnamed and dry.json()["dry_run"] is True  # type: ignore[index, call-overload]
    assert all((blobs / k[:2] / k).exists() for k in unnamed), "a dry run deleted a blob"

    done = await cli(client, "gc", "--grace", "1d", "--json", env=env, graphs=())
    assert done.code == 0, done
    report = done.json()
    assert report["deleted"] == unnamed and report["young"] == 1  # type: ignore[index, call-overload]
    assert report["deleted_bytes"] > len(old)  # type: ignore[index, call-overload]
    assert not any((blobs / k[:2] / k).exists() for k in unnamed)
    assert "hitl gc: read" in done.err and "histories" in done.err  # long work shows progress, on stderr
    assert all((blobs / k[:2] / k).exists() for k in named | {young_key})

    async with cc.worker():
        await run.resume("kept")
        final = await run.result()
    assert final["doc"] == DOC + "reviewed: kept\n"

    _age(blobs, 2)  # now the closed run's blobs are old too, and the young orphan
    named = {p.metadata["claim-check-sha256"].decode() for p in await _raw_history(server, run.run_id)} - {""}
    unnamed = sorted({p.name for p in blobs.glob("??/*")} - named)
    assert young_key in unnamed
    again = await cli(client, "gc", "--json", env=env, graphs=())
    assert again.code == 0 and again.json()["deleted"] == unnamed, again  # type: ignore[index, call-overload]
    assert all((blobs / k[:2] / k).exists() for k in named)
    async with cc.worker():  # a closed run, within retention, still reads from its blobs
        shown = await cli(client, "state", run.run_id, "--json", env=env, task_queue=queue, graphs=())
    assert shown.code == 0 and shown.json()["values"]["doc"] == final["doc"], shown  # type: ignore[index, call-overload]

    # careless: no store named, or a grace too short for what is on its way into a history
    line = one_line_error(await cli(client, "gc", graphs=()))
    assert "hitl gc cleans the claim-check store that HITL_CLAIM_CHECK names, and it is not set" in line
    line = one_line_error(await cli(client, "gc", "--grace", "10m", env=env, graphs=()))
    assert line == "error: the grace period must be at least 1h; got 10m"  # spelt as it was given
    line = one_line_error(await cli(client, "gc", "--grace", "soon", env=env, graphs=()))
    assert "--grace takes a whole number and a unit, like 90s, 30m, 4h or 2d; got 'soon'" in line


@pytest.mark.parametrize("command", [("inbox",), ("worker",), ("serve", "--port", "0")])
async def test_a_bad_setting_stops_a_command_at_start_in_one_line(
    client: hitl.Client, command: tuple[str, ...]
) -> None:
    env = {"HITL_CLAIM_CHECK": "s3://", "HITL_CLAIM_CHECK_THRESHOLD": "64k"}
    line = one_line_error(await cli(client, *command, env=env))
    assert line == (
        "error: HITL_CLAIM_CHECK_THRESHOLD='64k' is unusable; accepted: a whole number of bytes from 1 to 2097152 "
        "(default 65536)"
    )
    line = one_line_error(await cli(client, *command, env={"HITL_CLAIM_CHECK": "s3://"}))
    assert line.startswith("error: HITL_CLAIM_CHECK='s3://' is unusable (an s3 URL needs a bucket")


# ---------------------------------------------------------------- S3 (moto's server on 127.0.0.1)

BUCKET = "hitl-blobs"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible HTTP server on a free localhost port, with a bucket, and credentials for boto3."""
    import boto3
    from moto.server import ThreadedMotoServer

    mp = pytest.MonkeyPatch()
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        mp.setenv(name, value)
    mp.delenv("AWS_PROFILE", raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    endpoint = f"http://127.0.0.1:{server._port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()
    mp.undo()


def _objects(endpoint: str, prefix: str) -> dict[str, bytes]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


@pytest_asyncio.fixture
async def s3_store(s3_endpoint: str) -> AsyncIterator[S3Store]:
    yield S3Store(BUCKET, f"unit-{uuid.uuid4().hex[:6]}", endpoint_url=s3_endpoint, region="us-east-1")


async def test_the_s3_store_round_trips_and_refuses_altered_or_missing_blobs(
    s3_store: S3Store, s3_endpoint: str
) -> None:
    codec = ClaimCheckCodec(s3_store, threshold=1024)
    big = Payload(metadata={"encoding": b"json/plain"}, data=b"z" * 5000)
    small = Payload(metadata={"encoding": b"json/plain"}, data=b"z" * 10)
    encoded = await codec.encode([big, small])
    assert encoded[1] == small and encoded[0].metadata["encoding"] == b"binary/claim-check"
    assert await codec.decode(encoded) == [big, small]
    key = encoded[0].metadata["claim-check-sha256"].decode()

    await s3_store.put(key, big.SerializeToString()[:-3])  # truncated by someone else
    reader = ClaimCheckCodec(s3_store, threshold=1024)  # another process: nothing read yet
    with pytest.raises(ClaimCheckError, match=f"{key} in the store s3://{BUCKET}/unit-.* does not match its sha256"):
        await reader.decode(encoded)

    missing = ClaimCheckCodec(S3Store(BUCKET, "elsewhere", endpoint_url=s3_endpoint), threshold=1024)
    with pytest.raises(ClaimCheckError, match=f"{key} .* is not in the store s3://{BUCKET}/elsewhere"):
        await missing.decode(encoded)


async def test_an_unreachable_s3_endpoint_is_one_line_naming_the_store() -> None:
    port = free_port()  # nothing listens there
    store = S3Store(BUCKET, endpoint_url=f"http://127.0.0.1:{port}", region="us-east-1")
    with pytest.raises(ClaimCheckError) as e:
        await store.put("ab" * 32, b"data")
    assert f"claim-check store s3://{BUCKET}?endpoint_url=http://127.0.0.1:{port}: put_object failed" in str(e.value)
    assert "\n" not in str(e.value)


async def test_a_big_state_goes_to_s3_encrypted_and_history_keeps_references(
    server: DevServer, client: hitl.Client, s3_endpoint: str
) -> None:
    prefix = f"runs-{uuid.uuid4().hex[:6]}"
    env = {
        "HITL_CLAIM_CHECK": f"s3://{BUCKET}/{prefix}?endpoint_url={s3_endpoint}&region=us-east-1",
        "HITL_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    _, _, keys = await _run_through_a_pause(server, client, env)
    stored = _objects(s3_endpoint, prefix + "/")
    assert {f"{prefix}/{k}" for k in keys} <= set(stored), "every reference in history names a stored blob"
    for key, data in stored.items():
        assert hashlib.sha256(data).hexdigest() == key.split("/")[-1]
        assert Payload.FromString(data).metadata["encoding"] == b"binary/encrypted"
        assert b"the long document" not in data, "the bucket sees only ciphertext"


async def test_the_s3_store_lists_its_blobs_and_keeps_one_written_again_since(s3_store: S3Store) -> None:
    """What `hitl gc` asks of a store: its blobs (under its prefix only, no other objects), and a delete that
    leaves a blob written again after it was listed."""
    data = {k: hashlib.sha256(k).hexdigest() for k in (b"first blob", b"second blob")}
    for content, key in data.items():
        await s3_store.put(key, content)
    listed = {b.key: b async for b in s3_store.blobs()}
    assert set(listed) == set(data.values())
    first, second = (listed[k] for k in data.values())
    assert first.size == len(b"first blob")
    earlier = dataclasses.replace(second, written=second.written - timedelta(hours=1))  # listed before a write
    assert await s3_store.delete(earlier) is False
    assert await s3_store.delete(first) is True
    assert {b.key async for b in s3_store.blobs()} == {second.key}
    assert await s3_store.delete(first) is False  # gone already


async def test_hitl_gc_against_a_namespace_that_does_not_exist_is_one_line(client: hitl.Client, tmp_path: Path) -> None:
    """A misspelt --namespace must be one line naming it, not a traceback (and certainly no delete: the
    store's blobs stay)."""
    blobs = tmp_path / "blobs"
    store = FileStore(blobs)
    data = b"a blob of another namespace's run" * 100
    key = hashlib.sha256(data).hexdigest()
    await store.put(key, data)
    _age(blobs, 2)
    env = {"HITL_CLAIM_CHECK": blobs.as_uri()}
    line = one_line_error(await cli(client, "gc", "--namespace", "no-such-namespace", env=env, graphs=()))
    assert "namespace 'no-such-namespace' does not exist" in line, line
    assert (blobs / key[:2] / key).read_bytes() == data


async def test_hitl_gc_keeps_what_an_earlier_execution_of_a_continued_run_names(
    server: DevServer, client: hitl.Client, tmp_path: Path
) -> None:
    """A run that handed over to fresh histories (continue-as-new) keeps its earlier executions within
    retention, and what they name stays readable: gc must read every execution, not only the run's latest."""
    blobs = tmp_path / "blobs"
    env = {"HITL_CLAIM_CHECK": blobs.as_uri()}
    queue = f"claim-gc-can-{uuid.uuid4().hex[:8]}"
    cc = await _connect(server, queue, env)
    async with cc.worker():
        run = await cc.start("claim_check_doc", {"doc": DOC}, max_history_events=8)
        await wait_for(run, "interrupted")
        await run.resume("kept")
        await run.result()
        before = await run.get_state_history()
    raw = await temporalio.client.Client.connect(server.address)
    executions = [e async for e in raw.list_workflows(f"WorkflowId = '{run.run_id}'")]
    assert len(executions) > 1, "the run did not continue as new; the test proves nothing"
    named: dict[str, set[str]] = {}
    for e in executions:
        events = [ev async for ev in raw.get_workflow_handle(e.id, run_id=e.run_id).fetch_history_events()]
        named[e.run_id] = {reference(p)[0] for ev in events for p in payloads(ev) if claim_checked(p)}
    first = executions[-1].run_id  # newest first
    only_first = named[first] - set().union(*(k for r, k in named.items() if r != first))
    assert only_first, f"the first execution names no blob of its own: {named}"

    _age(blobs, 2)
    done = await cli(client, "gc", "--json", env=env, graphs=())
    assert done.code == 0, done
    assert done.json()["runs"] >= len(executions)  # type: ignore[index, call-overload]
    assert all((blobs / k[:2] / k).exists() for keys in named.values() for k in keys)
    async with cc.worker():
        assert await run.get_state_history() == before


async def test_hitl_gc_keeps_the_heartbeat_details_a_pending_retry_will_read(
    server: DevServer, client: hitl.Client, tmp_path: Path
) -> None:
    """A node's heartbeat details live in the run's pending activity, in no history, until its next attempt
    reads them (or Temporal copies them into the history when it times out): gc must keep their blob."""
    blobs = tmp_path / "blobs"
    env = {"HITL_CLAIM_CHECK": blobs.as_uri()}
    queue = f"claim-gc-beat-{uuid.uuid4().hex[:8]}"
    cc = await _connect(server, queue, env)
    raw = await temporalio.client.Client.connect(server.address)
    async with cc.worker():
        run = await cc.start("claim_check_beat", {"doc": DOC})
        handle = raw.get_workflow_handle(run.run_id)
        for _ in range(200):
            pending = (await handle.describe()).raw_description.pending_activities
            if pending and pending[0].attempt == 2 and pending[0].heartbeat_details.payloads:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"the node never failed its first attempt with heartbeat details: {pending}")
    try:
        [details] = pending[0].heartbeat_details.payloads
        assert claim_checked(details), "the heartbeat details are small: the test proves nothing"
        key = reference(details)[0]
        events = [e async for e in handle.fetch_history_events()]
        assert key not in {reference(p)[0] for e in events for p in payloads(e) if claim_checked(p)}

        _age(blobs, 2)
        done = await cli(client, "gc", "--json", env=env, graphs=())
        assert done.code == 0, done
        assert (blobs / key[:2] / key).exists(), "gc deleted the heartbeat details the node's next attempt reads"
    finally:
        await handle.terminate("test over")
