"""Encrypted payloads: state, questions and decisions unreadable in Temporal.

An AES-GCM payload codec (from the `cryptography` package). Every payload the
client and the worker send through Temporal is encrypted before it leaves the
process, with the key id in the payload's metadata so keys can rotate: new
payloads use the current key, old ones are still read with theirs. The CLI and
the Python client decode transparently when the same keys are configured.

Each payload also names the fingerprint of its key, so a process holding a
different key under the same id says so in one line instead of failing to
decrypt. A process without keys installs `PlaintextCodec`, which needs no
`cryptography` and turns an encrypted payload into the same kind of one line.

Keys come from the environment:
- `HITL_ENCRYPTION_KEY`: one base64 key of 32 bytes (id `HITL_ENCRYPTION_KEY_ID`, default "default"), or
- `HITL_ENCRYPTION_KEY_FILE`: a JSON file `{"current": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"}}`.
Make a key with `python -m hitl.payloads.codec`.

`from_env` also wraps the result in `ClaimCheckCodec` when `HITL_CLAIM_CHECK` names a
blob store (hitl/payloads/blobs.py): encryption first, so the store sees only ciphertext.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

import temporalio.client
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from hitl.payloads import blobs as _claim_check
from hitl.payloads.blobs import BlobStore as BlobStore
from hitl.payloads.blobs import ClaimCheckCodec as ClaimCheckCodec
from hitl.payloads.blobs import ClaimCheckError as ClaimCheckError
from hitl.payloads.blobs import FileStore as FileStore
from hitl.payloads.blobs import S3Store as S3Store
from hitl.types import HitlError, KeyMismatchError

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
KEY_FINGERPRINT = "encryption-key-fingerprint"
NONCE_BYTES = 12


def fingerprint(key: bytes) -> str:
    """A short public name for a key (8 hex digits of its SHA-256): two processes
    can tell whether they hold the same key without either revealing it."""
    return hashlib.sha256(key).hexdigest()[:8]


def _encrypted(p: Payload) -> bool:
    return p.metadata.get("encoding") == ENCODING


def _named(p: Payload) -> str:
    """Which key an encrypted payload names, as the error lines show it."""
    key_id = p.metadata.get(KEY_ID, b"").decode()
    fp = p.metadata.get(KEY_FINGERPRINT, b"").decode()
    return f"key '{key_id}'" + (f", fingerprint {fp}" if fp else "")


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads; `keys` by id, `current` encrypts."""

    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        try:
            from cryptography.exceptions import InvalidTag
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError:
            raise HitlError(
                "encrypted payloads need the cryptography package: pip install 'hitl[encryption]'"
            ) from None
        if current not in keys:
            raise HitlError(f"the current encryption key '{current}' is not among the keys {sorted(keys)}")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise HitlError(
                    f"encryption key '{key_id}' is {len(key)} bytes; AES-256-GCM needs 32 (base64 of 32 random bytes)"
                )
        self.current = current
        self.fingerprints = {key_id: fingerprint(key) for key_id, key in keys.items()}
        """Each key's fingerprint by id: written into payloads, advertised by workers."""
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._invalid_tag = InvalidTag

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self.current]
        metadata = {
            "encoding": ENCODING,
            KEY_ID: self.current.encode(),
            KEY_FINGERPRINT: self.fingerprints[self.current].encode(),
        }
        out = []
        for p in payloads:
            nonce = secrets.token_bytes(NONCE_BYTES)
            data = nonce + cipher.encrypt(nonce, p.SerializeToString(), None)
            out.append(Payload(metadata=metadata, data=data))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if not _encrypted(p):
                _refuse_claim_checked(p)
                out.append(p)  # written before encryption was on
                continue
            key_id = p.metadata.get(KEY_ID, b"").decode()
            self._check_key(p, key_id)
            try:
                out.append(
                    Payload.FromString(self._ciphers[key_id].decrypt(p.data[:NONCE_BYTES], p.data[NONCE_BYTES:], None))
                )
            except self._invalid_tag:  # a payload from before fingerprints, under a key that differs
                raise KeyMismatchError(
                    f"payload encrypted with {_named(p)} does not decrypt with the key configured here under that id "
                    f"(fingerprint {self.fingerprints[key_id]}): the key differs, or the payload was altered"
                ) from None
        return out

    def _check_key(self, p: Payload, key_id: str) -> None:
        """Refuse, in one line, a payload whose key is not the one configured here under its id."""
        if key_id not in self.fingerprints:
            raise KeyMismatchError(
                f"a payload is encrypted with {_named(p)}, which is not configured here "
                f"(keys: {sorted(self._ciphers)}); add it to HITL_ENCRYPTION_KEY_FILE"
            )
        written = p.metadata.get(KEY_FINGERPRINT, b"").decode()
        if written and written != self.fingerprints[key_id]:
            raise KeyMismatchError(
                f"payload encrypted with key '{key_id}' (fingerprint {written}) but the key configured here under "
                f"that id has fingerprint {self.fingerprints[key_id]}: client and worker use different keys"
            )


class PlaintextCodec(PayloadCodec):
    """What a process without keys installs: plaintext passes through both ways, and
    an encrypted payload is one clear line (not a converter's KeyError, and no
    `cryptography` needed) naming its key and how to configure it."""

    fingerprints: dict[str, str] = {}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        for p in payloads:
            if _encrypted(p):
                raise KeyMismatchError(
                    f"this run's payloads are encrypted ({_named(p)}); "
                    "set HITL_ENCRYPTION_KEY or HITL_ENCRYPTION_KEY_FILE to read them"
                )
            _refuse_claim_checked(p)
        return list(payloads)


def _refuse_claim_checked(p: Payload) -> None:
    """A claim-check reference reaching a codec with no store behind it (a process without
    HITL_CLAIM_CHECK): one line saying so, not the converter's "unknown encoding"."""
    if _claim_check.claim_checked(p):
        raise _claim_check.not_configured(p)


def encryption(codec: PayloadCodec | None) -> PayloadCodec | None:
    """The codec under a claim-check (which only moves bytes), where the keys are."""
    return codec.inner if isinstance(codec, ClaimCheckCodec) else codec


def key_fingerprints(codec: PayloadCodec | None) -> list[str] | None:
    """The fingerprints of the keys a process holds: [] when it has none, None when
    its codec is not hitl's (someone else's encryption, which hitl cannot judge)."""
    codec = encryption(codec)
    if codec is None:
        return []
    if isinstance(codec, (EncryptionCodec, PlaintextCodec)):
        return sorted(set(codec.fingerprints.values()))
    return None


def with_codec(client: temporalio.client.Client) -> temporalio.client.Client:
    """`client`, or the same connection with `PlaintextCodec` when it has no codec:
    a keyless process then reads an encrypted run as one clear line."""
    if client.data_converter.payload_codec is not None:
        return client
    config = client.config()
    config["data_converter"] = dataclasses.replace(config["data_converter"], payload_codec=PlaintextCodec())
    return temporalio.client.Client(**config)


def from_env() -> PayloadCodec:
    """The codec the environment asks for: encryption (`PlaintextCodec` when it names no key),
    inside a claim-check when HITL_CLAIM_CHECK names a store. The one place every client,
    worker, CLI command and server gets its codec (through `hitl.connect`)."""
    return _claim_check.from_env(encryption_from_env())


def encryption_from_env() -> EncryptionCodec | PlaintextCodec:
    """The encryption codec the environment asks for: `PlaintextCodec` when it names no key."""
    path = os.environ.get("HITL_ENCRYPTION_KEY_FILE")
    if path:
        try:
            config = json.loads(Path(path).read_text())
            keys = {k: _decode_key(v, k) for k, v in config["keys"].items()}
            return EncryptionCodec(keys, config["current"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise HitlError(
                f"HITL_ENCRYPTION_KEY_FILE {path} is unusable ({e}); it must be JSON like "
                '{"current": "k1", "keys": {"k1": "<base64 of 32 bytes>"}}'
            ) from None
    key = os.environ.get("HITL_ENCRYPTION_KEY")
    if key:
        key_id = os.environ.get("HITL_ENCRYPTION_KEY_ID", "default")
        return EncryptionCodec({key_id: _decode_key(key, key_id)}, key_id)
    return PlaintextCodec()


def new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _decode_key(text: str, key_id: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise HitlError(
            f"encryption key '{key_id}' is not valid base64; make one with `python -m hitl.payloads.codec`"
        ) from None


if __name__ == "__main__":
    print(new_key())
