"""Encrypted payloads: state, questions and decisions unreadable in Temporal.

An AES-GCM payload codec (from the `cryptography` package). Every payload the
client and the worker send through Temporal is encrypted before it leaves the
process, with the key id in the payload's metadata so keys can rotate: new
payloads use the current key, old ones are still read with theirs. The CLI and
the Python client decode transparently when the same keys are configured.

Keys come from the environment:
- `HITL_ENCRYPTION_KEY`: one base64 key of 32 bytes (id `HITL_ENCRYPTION_KEY_ID`, default "default"), or
- `HITL_ENCRYPTION_KEY_FILE`: a JSON file `{"current": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"}}`.
Make a key with `python -m hitl.codec`.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from hitl.types import HitlError

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads; `keys` by id, `current` encrypts."""

    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError:
            raise HitlError("encrypted payloads need the cryptography package: pip install 'hitl[encryption]'") from None
        if current not in keys:
            raise HitlError(f"the current encryption key '{current}' is not among the keys {sorted(keys)}")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise HitlError(f"encryption key '{key_id}' is {len(key)} bytes; AES-256-GCM needs 32 (base64 of 32 random bytes)")
        self.current = current
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self.current]
        out = []
        for p in payloads:
            nonce = secrets.token_bytes(NONCE_BYTES)
            data = nonce + cipher.encrypt(nonce, p.SerializeToString(), None)
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: self.current.encode()}, data=data))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                out.append(p)  # written before encryption was on
                continue
            key_id = p.metadata.get(KEY_ID, b"").decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise HitlError(
                    f"a payload is encrypted with key '{key_id}', which is not configured here "
                    f"(keys: {sorted(self._ciphers)}); add it to HITL_ENCRYPTION_KEY_FILE"
                )
            out.append(Payload.FromString(cipher.decrypt(p.data[:NONCE_BYTES], p.data[NONCE_BYTES:], None)))
        return out


def from_env() -> EncryptionCodec | None:
    """The codec the environment asks for, or None when encryption is off."""
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
    return None


def new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _decode_key(text: str, key_id: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise HitlError(f"encryption key '{key_id}' is not valid base64; make one with `python -m hitl.codec`") from None


if __name__ == "__main__":
    print(new_key())
