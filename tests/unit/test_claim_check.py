"""The claim-check codec without a server: the threshold's boundary, the store's checks (tampered, truncated,
missing), configuration from the environment, and its composition with encryption."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload

from hitl.payloads.codec import (
    ClaimCheckCodec,
    ClaimCheckError,
    EncryptionCodec,
    FileStore,
    PlaintextCodec,
    S3Store,
    from_env,
    key_fingerprints,
)
from hitl.payloads.converter import data_converter
from hitl.types import HitlError, KeyMismatchError


def _payload(size: int) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=b"x" * size)


def _blobs(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HITL_CLAIM_CHECK", "HITL_CLAIM_CHECK_THRESHOLD", "HITL_ENCRYPTION_KEY", "HITL_ENCRYPTION_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


async def test_at_the_threshold_a_payload_stays_and_one_byte_over_it_goes_to_the_store(tmp_path: Path) -> None:
    p = _payload(1000)
    size = len(p.SerializeToString())
    at = ClaimCheckCodec(FileStore(tmp_path / "at"), threshold=size)
    assert await at.encode([p]) == [p]
    assert _blobs(tmp_path / "at") == []

    over = ClaimCheckCodec(FileStore(tmp_path / "over"), threshold=size - 1)
    [ref] = await over.encode([p])
    key = hashlib.sha256(p.SerializeToString()).hexdigest()
    assert ref.metadata["encoding"] == b"binary/claim-check"
    assert ref.metadata["claim-check-sha256"] == key.encode()
    assert ref.metadata["claim-check-size"] == str(size).encode()
    assert ref.ByteSize() < 200
    assert [b.name for b in _blobs(tmp_path / "over")] == [key]
    assert await over.decode([ref]) == [p]


async def test_a_mixed_batch_round_trips_in_order_and_the_same_content_is_one_blob(tmp_path: Path) -> None:
    codec = ClaimCheckCodec(FileStore(tmp_path), threshold=500)
    small, big, other = _payload(10), _payload(5000), Payload(metadata={"encoding": b"json/plain"}, data=b"y" * 5000)
    encoded = await codec.encode([small, big, other, big])
    assert encoded[0] == small and encoded[1] == encoded[3] and encoded[1] != encoded[2]
    assert len(_blobs(tmp_path)) == 2
    assert await codec.decode(encoded) == [small, big, other, big]
    assert all(not b.name.endswith(".tmp") for b in _blobs(tmp_path)), "no temp file left behind"


async def test_values_round_trip_through_hitls_converter(tmp_path: Path) -> None:
    converter = data_converter(ClaimCheckCodec(FileStore(tmp_path), threshold=1024))
    value = {"doc": "ü" * 300_000, "n": [1, 2]}
    encoded = await converter.encode([value, "short"])
    assert encoded[0].metadata["encoding"] == b"binary/claim-check" and encoded[1].ByteSize() < 1024
    assert await converter.decode(encoded, [dict, str]) == [value, "short"]


@pytest.mark.parametrize("damage", ["tampered", "truncated"])
async def test_an_altered_blob_is_one_clear_error_never_a_wrong_value(tmp_path: Path, damage: str) -> None:
    codec = ClaimCheckCodec(FileStore(tmp_path), threshold=100)
    [ref] = await codec.encode([_payload(2000)])
    [blob] = _blobs(tmp_path)
    data = blob.read_bytes()
    blob.write_bytes(data.replace(b"xxxx", b"xxxy", 1) if damage == "tampered" else data[:-10])
    reader = ClaimCheckCodec(FileStore(tmp_path), threshold=100)  # another process: nothing read yet
    with pytest.raises(ClaimCheckError) as e:
        await reader.decode([ref])
    message = str(e.value)
    assert "\n" not in message
    assert blob.name in message and f"store {reader.store.url} " in message and reader.store.url.startswith("file:///")
    assert "does not match its sha256" in message and "altered or truncated" in message


async def test_a_missing_blob_names_the_key_the_store_and_what_to_check(tmp_path: Path) -> None:
    codec = ClaimCheckCodec(FileStore(tmp_path / "a"), threshold=100)
    [ref] = await codec.encode([_payload(2000)])
    elsewhere = ClaimCheckCodec(FileStore(tmp_path / "b"), threshold=100)
    with pytest.raises(ClaimCheckError) as e:
        await elsewhere.decode([ref])
    message = str(e.value)
    key = ref.metadata["claim-check-sha256"].decode()
    assert "\n" not in message
    assert key in message and f"store {elsewhere.store.url}:" in message and elsewhere.store.url.endswith("/b")
    assert "HITL_CLAIM_CHECK" in message and "retention" in message


@pytest.mark.parametrize("key", ["../../secret", "/etc/passwd", "AB" * 32, "ab" * 31, ""])
async def test_a_crafted_reference_never_names_a_path_of_its_own(tmp_path: Path, key: str) -> None:
    """Anyone who can write to Temporal can send a reference: its key must be a sha256, nothing is read."""
    (tmp_path / "secret").write_bytes(b"not yours")
    reads: list[str] = []

    class Watching(FileStore):
        async def get(self, key: str) -> bytes | None:
            reads.append(key)
            return await super().get(key)

    codec = ClaimCheckCodec(Watching(tmp_path / "store" / "x"), threshold=100)
    crafted = Payload(metadata={"encoding": b"binary/claim-check", "claim-check-sha256": key.encode()})
    with pytest.raises(ClaimCheckError, match="not a sha256 in hex: refused, nothing read"):
        await codec.decode([crafted])
    assert reads == []


class CountingStore(FileStore):
    """A real directory store that counts its writes and reads."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.puts = self.gets = 0

    async def put(self, key: str, data: bytes) -> None:
        self.puts += 1
        await super().put(key, data)

    async def get(self, key: str) -> bytes | None:
        self.gets += 1
        return await super().get(key)


async def test_a_state_sent_again_reuses_its_reference_and_a_blob_read_once_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `Run.wait()` polling a big state does: the same payload encoded and decoded over and over."""
    store = CountingStore(tmp_path)
    codec = ClaimCheckCodec(store, threshold=100, inner=EncryptionCodec({"k": secrets.token_bytes(32)}, "k"))
    big = _payload(5000)
    first = await codec.encode([big])
    assert await codec.encode([big]) == first, "with encryption a new write would be a new blob"
    assert store.puts == 1 and len(_blobs(tmp_path)) == 1

    reader = ClaimCheckCodec(store, threshold=100, inner=codec.inner)
    for _ in range(3):
        [got] = await reader.decode(first)
        assert got == big
        got.CopyFrom(Payload())  # Temporal's SDK writes into the payloads a codec returns
    assert store.gets == 1
    given = _payload(5000)
    [ref] = await codec.encode([given])
    given.CopyFrom(ref)  # ... and into the ones it gave (the reference replaces the value in place)
    assert await codec.decode([ref]) == [big] and await codec.encode([big]) == first

    clock = time.monotonic() + ClaimCheckCodec.REUSE_SECONDS + 1
    monkeypatch.setattr(time, "monotonic", lambda: clock)
    again = await codec.encode([big])
    assert again != first and store.puts == 2, "past REUSE_SECONDS the payload is written afresh"


async def test_rewriting_a_blob_is_harmless_and_refreshes_its_time(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    data = b"same content"
    key = hashlib.sha256(data).hexdigest()
    await store.put(key, data)
    [blob] = _blobs(tmp_path)
    old = blob.stat().st_mtime - 3600
    os.utime(blob, (old, old))
    await store.put(key, data)
    assert blob.read_bytes() == data and blob.stat().st_mtime > old + 1000


async def test_a_process_without_the_store_says_which_variable_to_set(tmp_path: Path) -> None:
    [ref] = await ClaimCheckCodec(FileStore(tmp_path), threshold=100).encode([_payload(2000)])
    for keyless in (PlaintextCodec(), EncryptionCodec({"k": secrets.token_bytes(32)}, "k")):
        with pytest.raises(ClaimCheckError) as e:
            await keyless.decode([ref])
        assert "claim-checked" in str(e.value) and "set HITL_CLAIM_CHECK" in str(e.value)
        assert "\n" not in str(e.value)


async def test_with_encryption_the_store_sees_only_ciphertext(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    encryption = EncryptionCodec({"k1": key}, "k1")
    codec = ClaimCheckCodec(FileStore(tmp_path), threshold=1024, inner=encryption)
    secret = b"the secret document " * 1000
    plain = Payload(metadata={"encoding": b"json/plain"}, data=secret)
    [ref] = await codec.encode([plain])
    assert ref.metadata["encoding"] == b"binary/claim-check"
    [blob] = _blobs(tmp_path)
    stored = Payload.FromString(blob.read_bytes())
    assert stored.metadata["encoding"] == b"binary/encrypted"
    assert b"the secret document" not in blob.read_bytes()
    assert await codec.decode([ref]) == [plain]
    assert key_fingerprints(codec) == key_fingerprints(encryption) != []
    # the blob alone, without the key: the encryption codec's line, not plaintext
    keyless = ClaimCheckCodec(FileStore(tmp_path), threshold=1024, inner=PlaintextCodec())
    with pytest.raises(KeyMismatchError, match="encrypted"):
        await keyless.decode([ref])


def test_the_environment_configures_the_store_and_threshold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(from_env(), PlaintextCodec), "off unless asked for"
    monkeypatch.setenv("HITL_CLAIM_CHECK", (tmp_path / "blobs").as_uri())
    codec = from_env()
    assert isinstance(codec, ClaimCheckCodec) and isinstance(codec.inner, PlaintextCodec)
    assert isinstance(codec.store, FileStore) and codec.threshold == 64 * 1024
    assert (tmp_path / "blobs").is_dir(), "the directory is made at start"
    monkeypatch.setenv("HITL_CLAIM_CHECK_THRESHOLD", "1000")
    assert from_env().threshold == 1000  # type: ignore[attr-defined]
    monkeypatch.setenv("HITL_ENCRYPTION_KEY", "A" * 43 + "=")
    both = from_env()
    assert isinstance(both, ClaimCheckCodec) and isinstance(both.inner, EncryptionCodec)

    monkeypatch.setenv("HITL_CLAIM_CHECK", "s3://bucket/some/prefix?endpoint_url=http://127.0.0.1:9&region=eu-west-1")
    s3 = from_env()
    assert isinstance(s3, ClaimCheckCodec) and isinstance(s3.store, S3Store)
    assert (s3.store.bucket, s3.store.prefix) == ("bucket", "some/prefix")
    assert s3.store.url == "s3://bucket/some/prefix?endpoint_url=http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"HITL_CLAIM_CHECK": "/var/lib/blobs"}, "HITL_CLAIM_CHECK='/var/lib/blobs' is unusable (not a store URL)"),
        ({"HITL_CLAIM_CHECK": "file://host/x"}, "a file URL needs an absolute path"),
        ({"HITL_CLAIM_CHECK": "file:///x?y=1"}, "a file URL needs an absolute path"),
        ({"HITL_CLAIM_CHECK": "s3://"}, "an s3 URL needs a bucket"),
        ({"HITL_CLAIM_CHECK": "s3://b?endpoint=http://x"}, "unknown option endpoint"),
        ({"HITL_CLAIM_CHECK": "s3://b?endpoint_url="}, "non-empty options"),
        ({"HITL_CLAIM_CHECK": "gs://b"}, "not a store URL"),
        (
            {"HITL_CLAIM_CHECK": "s3://b?endpoint_url=notaurl"},
            "cannot make an S3 client for s3://b?endpoint_url=notaurl",
        ),
        ({"HITL_CLAIM_CHECK": "file:///tmp", "HITL_CLAIM_CHECK_THRESHOLD": "64k"}, "HITL_CLAIM_CHECK_THRESHOLD='64k'"),
        ({"HITL_CLAIM_CHECK": "file:///tmp", "HITL_CLAIM_CHECK_THRESHOLD": "0"}, "a whole number of bytes from 1"),
        ({"HITL_CLAIM_CHECK": "file:///tmp", "HITL_CLAIM_CHECK_THRESHOLD": "3000000"}, "to 2097152"),
        ({"HITL_CLAIM_CHECK_THRESHOLD": "1000"}, "HITL_CLAIM_CHECK_THRESHOLD is set but HITL_CLAIM_CHECK is not"),
    ],
)
def test_bad_settings_are_one_clear_line(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], said: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(HitlError) as e:
        from_env()
    message = str(e.value)
    assert said in message and "\n" not in message
    assert "accepted" in message or "set HITL_CLAIM_CHECK to" in message


def test_a_directory_that_cannot_be_made_is_refused_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setenv("HITL_CLAIM_CHECK", (tmp_path / "file" / "blobs").as_uri())
    with pytest.raises(HitlError, match="claim-check store file://.* cannot be created"):
        from_env()


def test_without_boto3_an_s3_store_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "boto3", None)  # as if not installed: `import boto3` raises ImportError
    monkeypatch.setenv("HITL_CLAIM_CHECK", "s3://bucket")
    with pytest.raises(HitlError) as e:
        from_env()
    assert str(e.value) == (
        "claim-check store s3://bucket needs boto3: pip install 'hitl[s3]' (or unset HITL_CLAIM_CHECK)"
    )


def test_a_worker_with_a_store_says_so_in_its_identity(tmp_path: Path) -> None:
    from hitl.client.serving import advertised_claim_check, advertised_keys, worker_identity

    class _Client:
        identity = "123@host"
        data_converter = data_converter(ClaimCheckCodec(FileStore(tmp_path), inner=PlaintextCodec()))

    identity = worker_identity(_Client())  # type: ignore[arg-type]
    assert identity.startswith("123@host hitl-patches=") and identity.endswith(" hitl-claim-check hitl-keys=none")
    assert advertised_claim_check(identity) and advertised_keys(identity) == []
    assert not advertised_claim_check("123@host hitl-patches=9 hitl-keys=none")
    assert not advertised_claim_check("123@host-hitl-claim-checked hitl-patches=9")


async def test_a_store_that_cannot_be_written_is_one_line_naming_it(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    (tmp_path / "ab").write_text("a file where the blob's directory goes")
    with pytest.raises(ClaimCheckError) as e:
        await store.put("ab" * 32, b"data")
    assert str(e.value).startswith(f"claim-check store {store.url}: writing {'ab' * 32} failed (")
    assert "\n" not in str(e.value)


async def test_the_inbox_lists_a_claim_checked_summary_it_cannot_read_as_such(tmp_path: Path) -> None:
    """A summary too big for the threshold, listed by a process without the store: one row marked, the page kept."""
    from types import SimpleNamespace

    from temporalio.api.workflow.v1 import WorkflowExecutionInfo

    from hitl.client.listing import CLAIM_CHECKED, _summaries
    from hitl.protocol.wire import SUMMARY_MEMO

    writer = data_converter(ClaimCheckCodec(FileStore(tmp_path), threshold=100))
    big, small = await writer.encode(["q" * 500]), await writer.encode(["short question"])
    rows = [WorkflowExecutionInfo(), WorkflowExecutionInfo()]
    rows[0].memo.fields[SUMMARY_MEMO].CopyFrom(big[0])
    rows[1].memo.fields[SUMMARY_MEMO].CopyFrom(small[0])
    keyless = SimpleNamespace(data_converter=data_converter(PlaintextCodec()))
    assert await _summaries(keyless, rows) == [CLAIM_CHECKED, "short question"]  # type: ignore[arg-type]
    reader = SimpleNamespace(data_converter=data_converter(ClaimCheckCodec(FileStore(tmp_path), threshold=100)))
    assert await _summaries(reader, rows) == ["q" * 500, "short question"]  # type: ignore[arg-type]


# ---------------------------------------------------------------- what `hitl gc` asks of a store


async def test_the_directory_store_lists_blobs_not_the_files_of_writes_in_progress(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    key = hashlib.sha256(b"blob").hexdigest()
    await store.put(key, b"blob")
    (tmp_path / key[:2] / f".{key[:8]}.x.tmp").write_bytes(b"half a blo")  # a write in progress
    (tmp_path / "notes.txt").write_text("not a shard")
    listed = [b async for b in store.blobs()]
    assert [(b.key, b.size) for b in listed] == [(key, 4)]
    assert abs(listed[0].written.timestamp() - time.time()) < 60


async def test_a_blob_written_again_after_it_was_listed_is_not_deleted(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    key = hashlib.sha256(b"blob").hexdigest()
    await store.put(key, b"blob")
    path = tmp_path / key[:2] / key
    os.utime(path, (time.time() - 3600, time.time() - 3600))
    [listed] = [b async for b in store.blobs()]
    await store.put(key, b"blob")  # a writer names it again: its time is refreshed
    assert await store.delete(listed) is False
    assert path.read_bytes() == b"blob" and not list(path.parent.glob(".gc-*"))
    [relisted] = [b async for b in store.blobs()]
    assert await store.delete(relisted) is True and not path.exists()
    assert await store.delete(relisted) is False  # gone already
    await store.put(key, b"blob")  # written again after a delete: a new file
    assert path.read_bytes() == b"blob"


async def test_a_blob_left_aside_by_a_stopped_gc_is_still_read_and_put_back(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    key = hashlib.sha256(b"blob").hexdigest()
    await store.put(key, b"blob")
    path = tmp_path / key[:2] / key
    os.rename(path, path.with_name(f".gc-{key}"))  # `hitl gc` stopped between its rename and its delete
    assert await store.get(key) == b"blob"
    assert [b.key async for b in store.blobs()] == [key] and path.read_bytes() == b"blob"


async def test_every_payload_of_an_event_is_found_however_deep() -> None:
    """References hide in inputs, failure details, memos and headers: the collector must see them all."""
    from temporalio.api.common.v1 import Header, Memo, Payloads
    from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
    from temporalio.api.history.v1 import (
        ActivityTaskFailedEventAttributes,
        HistoryEvent,
        WorkflowExecutionStartedEventAttributes,
    )

    from hitl.payloads.blob_gc import _keys

    keys = [hashlib.sha256(bytes([i])).hexdigest() for i in range(4)]
    ref = [Payload(metadata={"encoding": b"binary/claim-check", "claim-check-sha256": k.encode()}) for k in keys]
    started = HistoryEvent(
        workflow_execution_started_event_attributes=WorkflowExecutionStartedEventAttributes(
            input=Payloads(payloads=[_payload(3), ref[0]]),
            memo=Memo(fields={"summary": ref[1]}),
            header=Header(fields={"trace": ref[2]}),
        )
    )
    failed = HistoryEvent(
        activity_task_failed_event_attributes=ActivityTaskFailedEventAttributes(
            failure=Failure(
                cause=Failure(application_failure_info=ApplicationFailureInfo(details=Payloads(payloads=[ref[3]])))
            )
        )
    )
    crafted = HistoryEvent(
        workflow_execution_started_event_attributes=WorkflowExecutionStartedEventAttributes(
            input=Payloads(
                payloads=[Payload(metadata={"encoding": b"binary/claim-check", "claim-check-sha256": b"../x"})]
            )
        )
    )
    assert sorted([*_keys(started), *_keys(failed), *_keys(crafted)]) == sorted(keys)


# ---------------------------------------------------------------- review of `hitl gc`: races and clocks


class _Paused:
    """Hooks that stop one thread inside a store call until another has done its part, so an interleaving
    of two `hitl gc`s, a writer and a reader (each real store code) runs in one fixed order."""

    def __init__(self) -> None:
        self.events: dict[str, threading.Event] = {}

    def __getitem__(self, name: str) -> threading.Event:
        return self.events.setdefault(name, threading.Event())

    def wait(self, name: str) -> None:
        assert self[name].wait(10), f"the interleaving never reached {name}"


def _in_thread(name: str, target: Any, *args: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(target(*args))
        except BaseException as e:  # the caller asserts on it
            out.append(e)

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread, out


async def _old_blob(root: Path, data: bytes) -> tuple[FileStore, str, Path]:
    """A directory store holding `data` as a blob last written two days ago: its store, key and file."""
    store = FileStore(root)
    key = hashlib.sha256(data).hexdigest()
    await store.put(key, data)
    path = root / key[:2] / key
    os.utime(path, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    return store, key, path


async def test_two_overlapping_gcs_never_delete_a_blob_written_again_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hitl gc` from cron, the second starting while the first still deletes: the second's listing puts
    the first's set-aside blob back, a writer names it again (refreshing it), the second sets it aside in
    its turn; the first, which judged it old before all that, must not be the one that deletes it."""
    data = b"a state about to be named again"
    store, key, path = await _old_blob(tmp_path, data)
    [first_listed] = [b async for b in store.blobs()]

    step = _Paused()
    real_unlink, real_rename = Path.unlink, os.rename
    first_gc, second_gc = "first gc", "second gc"

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if threading.current_thread().name == first_gc and self.name.startswith(".gc-"):
            step["first judged it old"].set()
            step.wait("second set it aside")
        try:
            real_unlink(self, missing_ok=missing_ok)
        finally:
            if threading.current_thread().name == first_gc:
                step["first unlinked"].set()

    def rename(src: Any, dst: Any) -> None:
        real_rename(src, dst)
        if threading.current_thread().name == second_gc:
            step["second set it aside"].set()
            step.wait("first unlinked")

    monkeypatch.setattr(Path, "unlink", unlink)
    monkeypatch.setattr(os, "rename", rename)
    first, first_out = _in_thread(first_gc, store._delete, first_listed)
    step.wait("first judged it old")
    [second_listed] = [b async for b in FileStore(tmp_path).blobs()]  # the second gc's listing
    await store.put(key, data)  # a writer names it again: its time is refreshed
    second, second_out = _in_thread(second_gc, FileStore(tmp_path)._delete, second_listed)
    first.join(10)
    second.join(10)
    assert path.exists() and path.read_bytes() == data, f"a blob written again was deleted: {first_out} {second_out}"
    assert first_out == [False] and second_out == [False], (first_out, second_out)


async def test_a_reader_finds_a_blob_a_gc_sets_aside_and_puts_back_while_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A blob written again after `hitl gc` listed it is set aside, found newer and put back; a reader that
    missed it at its place and then looks aside must still find it, not report it missing."""
    data = b"a state read while gc looks at it"
    store, key, path = await _old_blob(tmp_path, data)
    [listed] = [b async for b in store.blobs()]
    await store.put(key, data)  # written again after the listing: gc will put it back

    step = _Paused()
    real_rename, real_read = os.rename, Path.read_bytes
    gc = "gc"

    def rename(src: Any, dst: Any) -> None:
        real_rename(src, dst)
        if threading.current_thread().name == gc:
            step["set aside"].set()
            step.wait("reader missed it")

    def read_bytes(self: Path) -> bytes:
        try:
            return real_read(self)
        except FileNotFoundError:
            if self == path and not step["reader missed it"].is_set():
                step["reader missed it"].set()
                thread.join(10)  # gc puts it back meanwhile
            raise

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    thread, out = _in_thread(gc, store._delete, listed)
    step.wait("set aside")
    assert store._get(key) == data
    assert out == [False] and path.read_bytes() == data


async def test_a_reference_is_not_reused_after_the_machine_slept_past_the_reuse_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`time.monotonic()` stops while a machine sleeps (a laptop's lid, a paused VM), the store's clock and
    `hitl gc` on another machine do not: a blob written before a 2-day sleep is older than any grace and,
    named by no history (a state query's answer), may be gone. Encoding the same state after waking must
    write it again, not hand out a reference to it."""
    store = FileStore(tmp_path)
    codec = ClaimCheckCodec(store, threshold=100)
    big = _payload(5000)
    [ref] = await codec.encode([big])
    key = ref.metadata["claim-check-sha256"].decode()
    woke = time.time() + 2 * 86400
    monkeypatch.setattr(time, "time", lambda: woke)  # monotonic time did not move while it slept
    (tmp_path / key[:2] / key).unlink()  # `hitl gc` elsewhere deleted it meanwhile: old, named by no history
    [again] = await codec.encode([big])
    assert await ClaimCheckCodec(FileStore(tmp_path), threshold=100).decode([again]) == [big]


async def test_the_directory_store_lists_only_blob_files_of_its_own_shards(tmp_path: Path) -> None:
    """A shard that is a symlink (to a directory outside the store) or a directory named like a blob is no
    blob: `hitl gc` must neither delete files outside the store nor stop on a directory it cannot unlink."""
    store = FileStore(tmp_path / "store")
    data = b"a real blob"
    key = hashlib.sha256(data).hexdigest()
    await store.put(key, data)
    outside = tmp_path / "outside"
    outside.mkdir()
    other = "ab" + key[2:] if key[:2] != "ab" else "cd" + key[2:]
    (outside / other).write_text("someone else's file")
    (tmp_path / "store" / other[:2]).symlink_to(outside, target_is_directory=True)
    odd = "ef" + key[2:]
    (tmp_path / "store" / "ef").mkdir(exist_ok=True)
    (tmp_path / "store" / "ef" / odd).mkdir()
    assert [b.key async for b in store.blobs()] == [key]


async def test_a_blob_written_while_a_listing_puts_back_a_set_aside_copy_stays_young(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gc killed mid-delete left a blob aside; the next listing finds no blob at its place and puts the
    aside one back, but a writer wrote it in between (it found no file, so it wrote a new one, about to be
    named by a history). The put-back replaces that fresh file with the old one: its time must not go back
    with it, or this very gc deletes the blob the writer just named."""
    data = b"a state written again just now"
    store, key, path = await _old_blob(tmp_path, data)
    os.rename(path, path.with_name(f".gc-{key}.0123"))  # left aside by a gc killed mid-delete
    real_replace = os.replace
    wrote: list[bool] = []

    def replace(src: Any, dst: Any) -> None:
        if Path(src).name.startswith(".gc-") and not wrote:
            wrote.append(True)
            store._put(key, data)  # the writer: no file at its place, so a new one
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    [listed] = [b async for b in store.blobs()]
    assert wrote and path.read_bytes() == data
    assert listed.written.timestamp() > time.time() - 3600, "a blob written a moment ago is listed as 2 days old"
