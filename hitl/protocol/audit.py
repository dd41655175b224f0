"""The tamper-evident decision record: a hash chain per run, and JSON Patch for edits.

Every record a run keeps of what people (and deadlines) did to it, and of what
ran afterwards, carries `seq` (its place in the run's chain), `prev_hash` (the
hash of the record before it) and `hash`: sha256 over the record's canonical
JSON (sorted keys, no spaces, UTF-8, times as ISO 8601, fields that are None
left out), `prev_hash` included and `hash` left out. Change, drop or reorder one record and every hash after it
stops matching, so an export can be checked by anyone holding it
(`hitl audit RUN_ID`, `hitl audit --verify FILE`).

The workflow seals records as it makes them (deterministically: the same
history gives the same hashes on replay), carries the chain across
continue-as-new (the last record's hash) and into forks (the source
checkpoint's head). Pure functions over JSON values: the workflow imports this
module too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from hitl.protocol.finite import dumps
from hitl.types import Decision

HASHED_OUT = ("hash",)
"""Fields a record's hash does not cover (the hash itself)."""


def record(decision: Decision) -> dict[str, Any]:
    """A decision as the JSON object the chain hashes and `hitl audit` exports.

    A shallow copy: the fields are JSON values already, and `dataclasses.asdict` would deep-copy each
    answer, question and patch once more for every record sealed (same JSON, same hash)."""
    out = {f.name: getattr(decision, f.name) for f in dataclasses.fields(decision)}
    out["at"] = _iso(decision.at)
    return out


def record_hash(rec: Mapping[str, Any]) -> str:
    """sha256 of the record's canonical JSON, its own `hash` and empty (None) fields left out, so a
    field added to records later leaves the hashes of older records as they were."""
    body = {k: v for k, v in rec.items() if k not in HASHED_OUT and v is not None}
    return hashlib.sha256(_canonical(body).encode()).hexdigest()


def seal(decision: Decision, seq: int, prev_hash: str | None) -> Decision:
    """The decision with its place in the chain and its hash."""
    placed = dataclasses.replace(decision, seq=seq, prev_hash=prev_hash, hash=None)
    return dataclasses.replace(placed, hash=record_hash(record(placed)))


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What checking an exported chain found: None for `broken` when every link holds."""

    records: int
    head: str | None
    anchor: str | None
    broken: str | None = None


def verify(records: Iterable[Mapping[str, Any]], head: str | None = None) -> Verdict:
    """Check a chain in order: each hash recomputes, each record points at the one before, `seq`
    has no gaps, and (when given) the last hash is the run's `head`.

    The first record may point at a hash outside the export (`anchor`): a fork's source run,
    or records older than the run still keeps. The first broken link is named in `broken`.
    """
    prev: Mapping[str, Any] | None = None
    anchor: str | None = None
    count = 0
    for rec in records:
        count += 1
        seq = rec.get("seq")
        name = f"record seq {seq} ({rec.get('kind')} by {rec.get('identity')} at {rec.get('at')})"
        if rec.get("hash") != record_hash(rec):
            return Verdict(count, None, anchor, f"{name}: its hash does not match its content (changed after sealing)")
        if prev is None:
            anchor = rec.get("prev_hash")
        elif rec.get("prev_hash") != prev.get("hash"):
            return Verdict(count, None, anchor, f"{name}: prev_hash does not match the hash of seq {prev.get('seq')}")
        elif seq != (prev.get("seq") or 0) + 1:
            return Verdict(count, None, anchor, f"{name}: follows seq {prev.get('seq')} (records missing between)")
        prev = rec
    last = prev.get("hash") if prev is not None else None
    if head is not None and last != head:
        where = f"seq {prev.get('seq')}" if prev is not None else "no record"
        return Verdict(count, last, anchor, f"the chain ends at {where} but the run's head is {head} (records missing)")
    return Verdict(count, last, anchor)


@dataclasses.dataclass
class AuditTrail:
    """A run's chain as `Run.audit()` reads it: every sealed record it still keeps, oldest first,
    and the run's head (the newest record's hash)."""

    run_id: str
    records: list[Decision]
    head: str | None

    def lines(self) -> list[str]:
        """The records as JSON Lines, each the exact object its hash covers (plus the hash)."""
        return [dumps(record(d), sort_keys=True, ensure_ascii=False, default=str) for d in self.records]

    def verify(self) -> Verdict:
        return verify([record(d) for d in self.records], self.head)


def read_lines(text: str, what: str) -> list[dict[str, Any]]:
    """Records from JSON Lines (blank lines skipped); one clear line naming the first that is not a record."""
    out: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{what} line {number} is not JSON ({e.msg}); expected one record per line") from None
        if not isinstance(rec, dict) or "hash" not in rec:
            raise ValueError(f"{what} line {number} is not a decision record (a JSON object with a 'hash')")
        out.append(rec)
    return out


def differs(exported: list[dict[str, Any]], live: list[Decision]) -> str | None:
    """Why an export is not the chain the run holds: a record the run holds otherwise or not at all, or one
    of the run's records the export leaves out (dropped at its start or end, where its own links cannot
    show it). Records older than any the run still keeps are taken as they are."""
    held = {d.seq: d for d in live if d.seq is not None}
    oldest = min(held, default=None)
    for rec in exported:
        seq = rec.get("seq")
        mine = held.get(seq) if isinstance(seq, int) else None
        if mine is None:
            if isinstance(seq, int) and oldest is not None and seq < oldest:
                continue  # older than what the run keeps: its links in the export were checked
            kept = f"seq {oldest} to {max(held)}" if held else "no record"
            return f"record seq {seq} is not in the run's chain (the run holds {kept})"
        if mine.hash != rec.get("hash"):
            return f"record seq {seq} differs from the run's record of that seq (hash {mine.hash})"
    exported_seqs = {rec.get("seq") for rec in exported}
    missing = [d for s, d in sorted(held.items()) if s not in exported_seqs]
    if missing:
        first = missing[0]
        return (
            f"the run's record seq {first.seq} ({first.kind} by {first.identity} at {_iso(first.at)}) is not in "
            f"the export ({len(missing)} of the run's records missing from it)"
        )
    return None


def diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """RFC 6902 JSON Patch turning `before` into `after`: objects key by key, equal-length arrays
    item by item, anything else replaced whole. Deterministic (keys in sorted order)."""
    if _canonical(before) == _canonical(after):  # strict: 1, 1.0 and true differ in JSON
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        ops: list[dict[str, Any]] = []
        for key in sorted(set(before) | set(after)):
            where = f"{path}/{_pointer(str(key))}"
            if key not in after:
                ops.append({"op": "remove", "path": where})
            elif key not in before:
                ops.append({"op": "add", "path": where, "value": after[key]})
            else:
                ops.extend(diff(before[key], after[key], where))
        return ops
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [op for i, (b, a) in enumerate(zip(before, after, strict=True)) for op in diff(b, a, f"{path}/{i}")]
    return [{"op": "replace", "path": path, "value": after}]


def _canonical(value: Any) -> str:
    """The JSON a hash covers: strict JSON, as exported (a NaN or infinite number, which only records from
    before hitl refused them can hold, is hashed as its name in a string, as the export writes it)."""
    return dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _pointer(key: str) -> str:
    """One JSON Pointer reference token (RFC 6901): `~` and `/` escaped."""
    return key.replace("~", "~0").replace("/", "~1")


def _iso(at: datetime) -> str:
    return at.isoformat()
