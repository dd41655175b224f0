"""Claim-check: big payloads live in a blob store, Temporal's history keeps a small reference.

A graph whose state holds big values (documents, long transcripts) sends them in
every node's activity input and result, so each step writes that size into the
run's history, which Temporal warns about at 10 MB and fails at 50 MB. With the
claim-check on, `ClaimCheckCodec` stores every payload over a threshold in a
blob store under the sha256 of its bytes and puts a reference payload (its own
encoding, the key and the size) in its place; reading fetches the blob, checks
its sha256 and parses it back. Same content, same key: the same state sent in
ten steps is one blob, and writing it again is harmless.

It wraps another codec (hitl's encryption, or the keyless one): encode runs the
inner codec first, so a store only ever sees ciphertext when encryption is on;
decode runs in reverse. Blobs are deleted only by `hitl gc` (`hitl/payloads/blob_gc.py`), once no history
names them (docs/deploy.md: "Claim-check").

Configured from the environment, like the encryption codec (`hitl.payloads.codec.from_env`):
- `HITL_CLAIM_CHECK`: `file:///absolute/dir` or `s3://bucket[/prefix][?endpoint_url=...&region=...]`;
- `HITL_CLAIM_CHECK_THRESHOLD`: bytes (default `DEFAULT_THRESHOLD`).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import tempfile
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from hitl._whole import whole_number
from hitl.types import HitlError

ENCODING = b"binary/claim-check"
KEY = "claim-check-sha256"
SIZE = "claim-check-size"

DEFAULT_THRESHOLD = 64 * 1024
"""64 KiB. Below it a payload costs history little (a 50 MB history holds hundreds of steps of
state this size) and a blob round trip (a file read, an S3 GET of tens of milliseconds) would
cost more than it saves; above it, a few steps of a document-sized state are what push a run
toward Temporal's 10 MB warning. Temporal refuses single payloads over 2 MB, far above it."""

MAX_THRESHOLD = 2 * 1024 * 1024
"""A threshold above Temporal's payload limit (2 MB) would keep payloads Temporal refuses."""

VARIABLE = "HITL_CLAIM_CHECK"
THRESHOLD_VARIABLE = "HITL_CLAIM_CHECK_THRESHOLD"
ACCEPTED = "file:///absolute/dir or s3://bucket[/prefix][?endpoint_url=URL&region=NAME]"


class ClaimCheckError(HitlError):
    """A claim-checked payload cannot be read: its blob is missing, altered, or no store is configured here."""


class BlobStore(Protocol):
    """Where claim-checked payloads live, by key (a sha256 in hex). Implement it for another store."""

    url: str
    """What the error lines show to say which store this process was configured with."""

    async def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, atomically: a reader sees all of it or nothing."""
        ...

    async def get(self, key: str) -> bytes | None:
        """The bytes under `key`, or None when there are none."""
        ...


@dataclass(frozen=True)
class Blob:
    """One blob in a store, as `hitl gc` sees it."""

    key: str
    size: int
    written: datetime
    """When it was last written (UTC); a write of the same content again refreshes it."""


class CollectableStore(BlobStore, Protocol):
    """A store `hitl gc` can clean: it lists its blobs and deletes the ones no history names."""

    def blobs(self) -> AsyncIterator[Blob]:
        """Every blob in the store, page by page."""
        ...

    async def delete(self, blob: Blob) -> bool:
        """Delete `blob` unless it was written again since it was listed (`blob.written`): True when
        deleted. A store that cannot tell may delete it; `hitl gc` only offers blobs older than its grace."""
        ...


_HEX_KEY = re.compile(r"[0-9a-f]{64}")
_SHARD = re.compile(r"[0-9a-f]{2}")
_ASIDE = re.compile(r"\.gc-([0-9a-f]{64})(?:\.[0-9a-f]+)?")
"""A blob `hitl gc` set aside to delete it: `.gc-KEY.TOKEN` (`.gc-KEY` from the first version)."""


class FileStore:
    """A local directory (the default): fine on one machine or a shared filesystem that every
    worker, the CLI and `hitl serve` see at the same path. Blobs sit at `dir/ab/abcdef...`."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.url = self.directory.resolve().as_uri()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise HitlError(f"claim-check store {self.url} cannot be created ({e.strerror or e})") from None
        if not self.directory.is_dir():
            raise HitlError(f"claim-check store {self.url} is not a directory")

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / key

    async def put(self, key: str, data: bytes) -> None:
        try:
            await asyncio.to_thread(self._put, key, data)
        except OSError as e:
            raise self._failed("writing", key, e) from None

    def _put(self, key: str, data: bytes) -> None:
        """Temp file + rename in the same directory, so a reader never sees half a blob; a blob
        already there is the same content (its name is its hash): its time is refreshed instead,
        so an age-based cleanup counts from the last write."""
        path = self._path(key)
        if path.exists():
            try:
                os.utime(path)
                return
            except FileNotFoundError:  # `hitl gc` took it away meanwhile: write it again
                pass
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:8]}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self._get, key)
        except OSError as e:
            raise self._failed("reading", key, e) from None

    def _get(self, key: str) -> bytes | None:
        """At its place; else set aside by a `hitl gc` deleting it (or stopped there); else at its place
        again, since that gc may have put it back after the first look."""
        path = self._path(key)
        for candidate in (path, *sorted(path.parent.glob(f".gc-{key}*")), path):
            try:
                return candidate.read_bytes()
            except FileNotFoundError:
                continue
        return None

    async def blobs(self) -> AsyncIterator[Blob]:
        try:
            shards = await asyncio.to_thread(self._shards)
            for shard in shards:
                for blob in await asyncio.to_thread(self._shard, shard):
                    yield blob
        except OSError as e:
            raise self._failed("listing", str(self.directory), e) from None

    def _shards(self) -> list[Path]:
        """The `ab/` directories, not a symlink among them: `hitl gc` deletes nothing outside the store."""
        return sorted(
            d for d in self.directory.iterdir() if _SHARD.fullmatch(d.name) and d.is_dir() and not d.is_symlink()
        )

    def _shard(self, shard: Path) -> list[Blob]:
        """The blob files of one `ab/` directory; temporary files of writes in progress are not blobs. A blob
        left set aside by a `hitl gc` that stopped mid-delete is put back first, as written now (so judged by
        the next gc after the grace); one a `hitl gc` running now set aside is put back too, which that gc
        notices (`_delete`)."""
        for aside in shard.glob(".gc-*"):
            match = _ASIDE.fullmatch(aside.name)
            if match:
                key = match[1]
                try:
                    if (shard / key).exists():
                        aside.unlink()
                    else:
                        os.replace(aside, shard / key)
                        # Young again: a writer that found no file may have written one just before the
                        # replace, about to be named by a history; its time must not go back to the old one.
                        os.utime(shard / key)
                except FileNotFoundError:  # that gc took it back or deleted it meanwhile
                    continue
        found = []
        for entry in os.scandir(shard):
            if _HEX_KEY.fullmatch(entry.name) and entry.name[:2] == shard.name and entry.is_file(follow_symlinks=False):
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue
                found.append(Blob(entry.name, st.st_size, datetime.fromtimestamp(st.st_mtime, timezone.utc)))
        return found

    async def delete(self, blob: Blob) -> bool:
        try:
            return await asyncio.to_thread(self._delete, blob)
        except OSError as e:
            raise self._failed("deleting", blob.key, e) from None

    def _delete(self, blob: Blob) -> bool:
        """Renamed aside first, then its time read again: a writer that refreshed it after it was
        listed keeps it (renamed back), and one writing it meanwhile finds no file and writes a new one,
        so a blob about to be named by a history is never the one deleted. The aside's name is this
        delete's own: another `hitl gc` listing the store meanwhile puts it back (and may set it aside in
        its turn, after a writer refreshed it), so what this one unlinks is only ever the file it judged."""
        path = self._path(blob.key)
        aside = path.with_name(f".gc-{blob.key}.{secrets.token_hex(8)}")
        try:
            os.rename(path, aside)
            if datetime.fromtimestamp(aside.stat().st_mtime, timezone.utc) > blob.written:
                os.replace(aside, path)  # same content as any blob written there meanwhile
                return False
            aside.unlink()
        except FileNotFoundError:  # gone, or put back by another gc's listing: that one judges it now
            return False
        return True

    def _failed(self, doing: str, key: str, e: OSError) -> ClaimCheckError:
        """A full disk or a permission denied: one line naming the store, not an OSError's traceback."""
        return ClaimCheckError(f"claim-check store {self.url}: {doing} {key} failed ({e.strerror or e})")


class S3Store:
    """An S3-compatible bucket (AWS, MinIO, Ceph, R2: `endpoint_url`), via boto3 (`pip install 'hitl[s3]'`).
    Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID..., ~/.aws, instance roles).
    boto3 blocks, so each call runs in a thread."""

    def __init__(
        self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None, region: str | None = None
    ) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise HitlError(
                f"claim-check store s3://{bucket} needs boto3: pip install 'hitl[s3]' (or unset {VARIABLE})"
            ) from None
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.url = f"s3://{bucket}" + (f"/{self.prefix}" if self.prefix else "")
        if endpoint_url:
            self.url += f"?endpoint_url={endpoint_url}"
        try:
            self._client: Any = boto3.client(
                "s3", endpoint_url=endpoint_url, region_name=region, config=Config(retries={"mode": "standard"})
            )
        except Exception as e:  # botocore: ValueError for an endpoint that is not a URL, ... (one line each)
            raise HitlError(
                f"{VARIABLE}: cannot make an S3 client for {self.url} ({(str(e).splitlines() or ['?'])[0]}); "
                f"accepted: {ACCEPTED}"
            ) from None

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, data: bytes) -> None:
        """One PutObject: S3 makes an object visible whole or not at all."""
        await asyncio.to_thread(self._put, key, data)

    def _put(self, key: str, data: bytes) -> None:
        try:
            self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except Exception as e:  # endpoint unreachable, credentials missing, no such bucket, ...
            raise self._failed("put_object", e) from None

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get, key)

    def _get(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            data: bytes = response["Body"].read()
            return data
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._failed("get_object", e) from None
        except Exception as e:  # endpoint unreachable, credentials missing, ...
            raise self._failed("get_object", e) from None

    async def blobs(self) -> AsyncIterator[Blob]:
        token: str | None = None
        while True:
            page, token = await asyncio.to_thread(self._page, token)
            for blob in page:
                yield blob
            if token is None:
                return

    def _page(self, token: str | None) -> tuple[list[Blob], str | None]:
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self._key("")}
        if token:
            args["ContinuationToken"] = token
        try:
            response = self._client.list_objects_v2(**args)
        except Exception as e:
            raise self._failed("list_objects_v2", e) from None
        found = []
        for item in response.get("Contents", []):
            key = item["Key"][len(self._key("")) :]
            if _HEX_KEY.fullmatch(key):
                found.append(Blob(key, int(item["Size"]), item["LastModified"].astimezone(timezone.utc)))
        return found, response.get("NextContinuationToken") if response.get("IsTruncated") else None

    async def delete(self, blob: Blob) -> bool:
        return await asyncio.to_thread(self._delete, blob)

    def _delete(self, blob: Blob) -> bool:
        """Its date is read again just before the delete: an object written again since it was listed
        stays. S3 has no delete-if-unchanged, so a write landing between the two calls (milliseconds)
        would be lost; docs/deploy.md "Claim-check" says so."""
        from botocore.exceptions import ClientError

        try:
            head = self._client.head_object(Bucket=self.bucket, Key=self._key(blob.key))
            if head["LastModified"].astimezone(timezone.utc) > blob.written:
                return False
            self._client.delete_object(Bucket=self.bucket, Key=self._key(blob.key))
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return False
            raise self._failed("delete_object", e) from None
        except Exception as e:
            raise self._failed("delete_object", e) from None

    def _failed(self, method: str, e: Exception) -> ClaimCheckError:
        first = (str(e).splitlines() or [type(e).__name__])[0]
        return ClaimCheckError(
            f"claim-check store {self.url}: {method} failed ({first}); check {VARIABLE} and the credentials"
        )


class ClaimCheckCodec(PayloadCodec):
    """Payloads whose serialized size is over `threshold` bytes go to `store`; history keeps a reference.
    `inner` (e.g. hitl's encryption) runs first on the way out and last on the way in.

    The same big state goes out again and again: in each step's input, and in the result of every
    `get_state` query (`Run.wait()` polls ten times a second, the inbox page on each view). So a payload
    encoded again within REUSE_SECONDS reuses its reference, unwritten (with encryption each write would
    be a new ciphertext, so a new blob), and verified blobs are kept for reading again (CACHE_BYTES):
    a blob's name is its hash, so a kept one can never be stale."""

    REUSE_SECONDS = 600.0
    """Short against any retention a store keeps blobs for (days: docs/deploy.md "Claim-check"), so a reused
    reference never names a blob about to be deleted."""
    REUSE_ENTRIES = 1024
    CACHE_BYTES = 32 * 1024 * 1024

    def __init__(self, store: BlobStore, threshold: int = DEFAULT_THRESHOLD, inner: PayloadCodec | None = None) -> None:
        self.store = store
        self.threshold = threshold
        self.inner = inner
        self._written: OrderedDict[bytes, tuple[float, float, str, int]] = OrderedDict()
        """sha256 of a payload as given (before `inner`) -> when it was written (monotonic and wall clock),
        its key and size."""
        self._read: OrderedDict[str, bytes] = OrderedDict()
        """key -> its verified blob; at most CACHE_BYTES in all. Bytes, not Payloads: Temporal's SDK
        writes codec results into its messages in place, so a Payload handed out must be a fresh one."""
        self._read_bytes = 0

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        inner = await self.inner.encode(payloads) if self.inner else list(payloads)
        return list(await asyncio.gather(*(self._check(given, p) for given, p in zip(payloads, inner, strict=True))))

    async def _check(self, given: Payload, p: Payload) -> Payload:
        data = p.SerializeToString()
        if len(data) <= self.threshold:
            return p
        source = hashlib.sha256(data if given is p else given.SerializeToString()).digest()
        now, wall = time.monotonic(), time.time()
        reused = self._written.get(source)
        # Both clocks: the monotonic one stops while the machine sleeps (a laptop's lid, a paused VM) while
        # the store's clock and `hitl gc` elsewhere go on, so after a long sleep the blob may be gone.
        if reused and now - reused[0] < self.REUSE_SECONDS and 0 <= wall - reused[1] < self.REUSE_SECONDS:
            return _reference(reused[2], reused[3])
        key = hashlib.sha256(data).hexdigest()
        await self.store.put(key, data)
        self._written[source] = (now, wall, key, len(data))
        self._written.move_to_end(source)
        while len(self._written) > self.REUSE_ENTRIES:
            self._written.popitem(last=False)
        self._keep(key, data)
        return _reference(key, len(data))

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        fetched = list(await asyncio.gather(*(self._fetch(p) for p in payloads)))
        return await self.inner.decode(fetched) if self.inner else fetched

    async def _fetch(self, p: Payload) -> Payload:
        if not claim_checked(p):
            return p
        key, size = reference(p)
        data = self._read.get(key)
        if data is not None:
            self._read.move_to_end(key)
            return Payload.FromString(data)
        data = await self.store.get(key)
        if data is None:
            raise ClaimCheckError(
                f"claim-checked payload {key} ({size} bytes) is not in the store {self.store.url}: check that "
                f"{VARIABLE} names the store the run's workers write to, and that no retention rule deleted it"
            )
        if hashlib.sha256(data).hexdigest() != key:
            raise ClaimCheckError(
                f"claim-checked payload {key} in the store {self.store.url} does not match its sha256 "
                f"({len(data)} bytes, expected {size}): the blob was altered or truncated; restore it from a backup"
            )
        self._keep(key, data)
        return Payload.FromString(data)

    def _keep(self, key: str, data: bytes) -> None:
        if key in self._read or len(data) > self.CACHE_BYTES:
            return
        self._read[key] = data
        self._read_bytes += len(data)
        while self._read_bytes > self.CACHE_BYTES:
            _, dropped = self._read.popitem(last=False)
            self._read_bytes -= len(dropped)


def _reference(key: str, size: int) -> Payload:
    return Payload(metadata={"encoding": ENCODING, KEY: key.encode(), SIZE: str(size).encode()})


def claim_checked(p: Payload) -> bool:
    return p.metadata.get("encoding") == ENCODING


def reference(p: Payload) -> tuple[str, str]:
    """The key and size a reference payload names. The key must be a sha256 in hex: a crafted
    reference (anyone who can write to Temporal can send one) never names a path or object of its own."""
    key = p.metadata.get(KEY, b"").decode(errors="replace")
    if not _HEX_KEY.fullmatch(key):
        raise ClaimCheckError(f"a claim-check reference names {key[:80]!r}, not a sha256 in hex: refused, nothing read")
    return key, p.metadata.get(SIZE, b"?").decode(errors="replace")


def not_configured(p: Payload) -> ClaimCheckError:
    """What a process without a store says about a claim-checked payload."""
    key, size = reference(p)
    return ClaimCheckError(
        f"this run's value is claim-checked (payload {key}, {size} bytes, kept outside Temporal); "
        f"set {VARIABLE} to the store its workers use ({ACCEPTED}) to read it"
    )


def store_from_url(url: str) -> FileStore | S3Store:
    """The store `url` names; one line naming HITL_CLAIM_CHECK when it names none."""
    parts = urlsplit(url)
    query = parse_qs(parts.query, keep_blank_values=True)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/") or parts.query:
            raise _bad(url, "a file URL needs an absolute path and nothing else")
        return FileStore(unquote(parts.path))
    if parts.scheme == "s3":
        unknown = sorted(set(query) - {"endpoint_url", "region"})
        if not parts.netloc or unknown or any(len(v) != 1 or not v[0] for v in query.values()):
            why = f"unknown option {unknown[0]}" if unknown else "an s3 URL needs a bucket and non-empty options"
            raise _bad(url, why)
        return S3Store(
            parts.netloc,
            parts.path,
            endpoint_url=query.get("endpoint_url", [None])[0],
            region=query.get("region", [None])[0],
        )
    raise _bad(url, "not a store URL")


def _bad(url: str, why: str) -> HitlError:
    return HitlError(f"{VARIABLE}={url!r} is unusable ({why}); accepted: {ACCEPTED}")


def threshold_from_env() -> int:
    text = os.environ.get(THRESHOLD_VARIABLE, "").strip()
    if not text:
        return DEFAULT_THRESHOLD
    threshold = whole_number(text, least=1, most=MAX_THRESHOLD)
    if threshold is None:
        raise HitlError(
            f"{THRESHOLD_VARIABLE}={text!r} is unusable; accepted: a whole number of bytes from 1 to {MAX_THRESHOLD} "
            f"(default {DEFAULT_THRESHOLD})"
        )
    return threshold


def from_env(inner: PayloadCodec) -> PayloadCodec:
    """`inner` wrapped in a `ClaimCheckCodec` when HITL_CLAIM_CHECK names a store, else `inner` itself.
    Checked here, at connect time, so a bad value stops the process before it does anything."""
    url = os.environ.get(VARIABLE, "").strip()
    threshold = threshold_from_env()
    if not url:
        if os.environ.get(THRESHOLD_VARIABLE, "").strip():
            raise HitlError(f"{THRESHOLD_VARIABLE} is set but {VARIABLE} is not; set {VARIABLE} to {ACCEPTED}")
        return inner
    return ClaimCheckCodec(store_from_url(url), threshold, inner)
