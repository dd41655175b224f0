"""The tamper-evident decision record (issue 14, item 5) on the real dev server: each record
carries the previous one's hash, edits carry their JSON Patch, what ran afterwards is recorded,
and `hitl audit` exports and verifies the chain across continue-as-new and into forks."""

from __future__ import annotations

import json
from pathlib import Path

import hitl
from hitl.protocol.audit import record, record_hash, verify
from tests.helpers import cli, wait_for


async def _paused(client: hitl.Client, graph: str, input: dict | None = None, **kw: object) -> hitl.Run:
    run = await client.start(graph, input or {}, **kw)  # type: ignore[arg-type]
    await wait_for(run, "interrupted")
    return run


async def test_every_decision_links_to_the_previous_one_and_the_chain_verifies(client: hitl.Client) -> None:
    run = await _paused(client, "review")
    await run.update_state({"draft": "better draft"}, identity="editor")
    done = await run.resume("approve", identity="approver")
    assert done.status == "completed"
    trail = await run.audit()
    kinds = [(d.kind, d.identity) for d in trail.records]
    assert kinds == [("update_state", "editor"), ("resume", "approver"), ("executed", "run")]
    assert [d.seq for d in trail.records] == [0, 1, 2]
    assert trail.records[0].prev_hash is None
    assert [d.prev_hash for d in trail.records[1:]] == [d.hash for d in trail.records[:-1]]
    assert trail.head == trail.records[-1].hash == done.audit_head
    assert all(record_hash(record(d)) == d.hash for d in trail.records)
    assert trail.verify().broken is None


async def test_an_edit_records_its_json_patch_and_the_record_says_what_ran_on_it(client: hitl.Client) -> None:
    run = await _paused(client, "review")
    await run.update_state({"draft": "better draft"}, identity="editor")
    await run.resume("approve", identity="approver")
    edit, answer, executed = (await run.audit()).records
    assert edit.patch == [{"op": "replace", "path": "/draft", "value": "better draft"}]
    assert answer.question == {"draft": "better draft"}, "the approved question is the edited one"
    # What actually executed on the approved value: the node, at which step, and what it wrote.
    assert (executed.kind, executed.node, executed.step) == ("executed", "review", answer.step)
    assert executed.value == {"review": {"log": ["review:approve:better draft"]}}


async def test_a_decision_with_an_update_records_the_patch_of_the_update(client: hitl.Client) -> None:
    run = await _paused(client, "review")
    await run.resume(hitl.Command(resume="approve", update={"draft": "v2"}), identity="root")
    update = next(d for d in (await run.audit()).records if d.kind == "update_state")
    assert update.patch == [{"op": "replace", "path": "/draft", "value": "v2"}]


async def test_the_chain_survives_continue_as_new_beyond_the_snapshot_s_fifty_decisions(client: hitl.Client) -> None:
    run = await client.start("long_loop", {"i": 0, "limit": 120, "every": 2}, max_history_events=300)
    state = await wait_for(run, "interrupted")
    answered = 0
    while state.status == "interrupted":
        await run.resume(f"ok-{answered}", identity="ops")
        answered += 1
        state = await run.wait()  # a resume may return as the run hands over to a fresh history
    assert state.status == "completed"
    assert answered > 50 and len(state.decisions) == 50, "the snapshot lists only the newest 50"
    histories = [e async for e in client.temporal.list_workflows(f'WorkflowId = "{run.run_id}"')]
    assert len(histories) > 1, "the run crossed continue-as-new"
    trail = await run.audit()
    assert [d.seq for d in trail.records] == list(range(2 * answered)), "every decision and what ran after it"
    assert sum(d.kind == "resume" for d in trail.records) == answered
    verdict = trail.verify()
    assert (verdict.broken, verdict.head, verdict.anchor) == (None, state.audit_head, None)


async def test_a_fork_continues_the_source_chain_from_its_checkpoint(client: hitl.Client, tmp_path: Path) -> None:
    run = await _paused(client, "review")
    await run.resume("approve", identity="approver")
    source = await run.audit()
    history = await run.get_state_history()
    last_step = history[0].step
    fork = await run.fork(last_step)
    await wait_for(fork, "completed", "interrupted")
    trail = await fork.audit()
    assert trail.records[0].kind == "fork"
    assert trail.records[0].prev_hash == history[0].audit_head == source.head
    verdict = trail.verify()
    assert verdict.broken is None and verdict.anchor == source.head
    exported = await cli(client, "audit", fork.run_id)
    assert exported.code == 0 and exported.err.strip().endswith(f"continuing {source.head}"), exported
    path = tmp_path / "fork.jsonl"
    path.write_text(exported.out)
    checked = await cli(client, "audit", fork.run_id, "--verify", str(path))
    assert checked.code == 0 and f"against run {fork.run_id}" in checked.err, checked


async def test_hitl_audit_exports_json_lines_and_verifies(client: hitl.Client, tmp_path: Path) -> None:
    run = await _paused(client, "review")
    await run.update_state({"draft": "d2"}, identity="editor")
    await run.resume("reject", identity="approver")
    result = await cli(client, "audit", run.run_id)
    assert result.code == 0, result
    lines = result.out.strip().splitlines()
    assert [json.loads(line)["kind"] for line in lines] == ["update_state", "resume", "executed"]
    assert result.err.startswith(f"chain ok: run {run.run_id}, 3 record(s), head ")
    exported = tmp_path / "audit.jsonl"
    exported.write_text(result.out)
    ok = await cli(client, "audit", run.run_id, "--verify", str(exported))
    assert ok.code == 0 and "chain ok" in ok.err, ok

    # Tampering: the answer changed from reject to approve in the export.
    records = [json.loads(line) for line in lines]
    records[1]["value"] = "approve"
    exported.write_text("\n".join(json.dumps(r) for r in records))
    broken = await cli(client, "audit", "--verify", str(exported))
    assert broken.code == 1, broken
    assert broken.err.strip().splitlines() == [
        f"error: audit chain of {exported} is broken at record seq 1 (resume by approver at {records[1]['at']}): "
        "its hash does not match its content (changed after sealing)"
    ]

    # A forger who reseals the whole chain still differs from the run's own records.
    for prev, rec in zip([None, *records], records, strict=False):
        rec["prev_hash"] = prev["hash"] if prev else None
        rec["hash"] = record_hash(rec)
    assert verify(records).broken is None
    exported.write_text("\n".join(json.dumps(r) for r in records))
    forged = await cli(client, "audit", run.run_id, "--verify", str(exported))
    assert forged.code == 1 and "record seq 1 differs from the run's record of that seq" in forged.err, forged


async def test_hitl_audit_against_the_run_notices_records_dropped_or_added_at_either_end(
    client: hitl.Client, tmp_path: Path
) -> None:
    """Dropping the first or last records (or adding a well-linked forged one) leaves an export whose own
    links hold: only the run can tell, so `--verify FILE RUN_ID` compares the whole chain."""
    run = await _paused(client, "review")
    await run.update_state({"draft": "d2"}, identity="editor")
    await run.resume("reject", identity="approver")
    lines = (await cli(client, "audit", run.run_id)).out.strip().splitlines()
    records = [json.loads(line) for line in lines]
    exported = tmp_path / "audit.jsonl"
    forged = dict(records[1], seq=3, prev_hash=records[2]["hash"], identity="ceo", value="approve")
    forged["hash"] = record_hash(forged)
    cases = {
        "the last dropped": (lines[:-1], "the run's record seq 2 (executed by run at "),
        "the first dropped": (lines[1:], "the run's record seq 0 (update_state by editor at "),
        "one added": (
            [*lines, json.dumps(forged)],
            "record seq 3 is not in the run's chain (the run holds seq 0 to 2)",
        ),
    }
    for name, (kept, message) in cases.items():
        exported.write_text("\n".join(kept))
        alone = await cli(client, "audit", "--verify", str(exported))
        assert alone.code == 0, f"{name}: the export's own links hold ({alone})"
        result = await cli(client, "audit", run.run_id, "--verify", str(exported))
        assert result.code == 1 and message in result.err, f"{name}: {result}"
        assert len(result.err.strip().splitlines()) == 1, result.err


async def test_hitl_audit_refuses_what_is_not_an_export(client: hitl.Client, tmp_path: Path) -> None:
    junk = tmp_path / "junk.jsonl"
    junk.write_text('{"kind": "resume"}\n')
    result = await cli(client, "audit", "--verify", str(junk))
    assert result.code == 2 and "line 1 is not a decision record" in result.err, result
    missing = await cli(client, "audit")
    assert missing.code == 2 and "needs a RUN_ID to export, or --verify FILE" in missing.err, missing
