"""A thread's next turn: new input on a run that completed goes on from its state, as LangGraph's next run
on a thread does (the next message of a chat).

The turn is a fork of the finished run's newest checkpoint, started under the same id (Temporal allows a new
execution of a closed workflow id), at the next step: its `next` is the graph's entry nodes and the input is
written through the graph's reducers by the workflow, as a fork's edit is (user reducers in an activity,
never user code in the workflow). It carries the thread's earlier checkpoints (`ForkFrom.history`, patch
hitl-thread-turns), so history, checkpoint steps and the decision chain continue the thread's; the finished
execution is then deleted, leaving one execution per thread for searches and counts (Temporal deletes a closed
execution some 30 s later: until then a listing shows each thread's newest execution only, `search.newest_each`,
while a COUNT may include both). Checkpoints keep their state copies while they fit in half a Temporal payload,
the newest first (older ones show `values_dropped`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from hitl.client.client import Client, Run, check_json, check_size
from hitl.client.serving import check_workers, run_patches
from hitl.client.threads import ThreadStart, delete_executions
from hitl.protocol.limits import MAX_PAYLOAD_BYTES, MAX_STATE_BYTES, json_size, over_limit
from hitl.protocol.patches import THREAD_TURNS
from hitl.protocol.policy import override_refused
from hitl.protocol.wire import SUBGRAPH_RUN_MARK, ForkFrom, RunInput
from hitl.types import Checkpoint, InvalidInputError, NoWorkerError, RunAlreadyExistsError

CARRY_BYTES = MAX_PAYLOAD_BYTES // 2


async def next_turn(
    client: Client,
    run_id: str,
    input: dict[str, Any] | None,
    *,
    interrupt_before: Sequence[str] | str | None = None,
    interrupt_after: Sequence[str] | str | None = None,
    thread: ThreadStart | None = None,
    context: Any = None,
) -> Run:
    """Start the next turn of the completed run `run_id` with `input` (its checks are a start's: the input
    against the state schema; and, as a fork's, the run's reviewer guard). A subgraph's run is no thread: its
    parent waits on it under the parent's guard, so it has no turns of its own. `context`: the turn's runtime
    context; None keeps the previous turn's."""
    if SUBGRAPH_RUN_MARK in run_id:
        raise RunAlreadyExistsError(
            f"'{run_id}' is a subgraph's run inside its parent run's step, not a thread: it takes no new input"
        )
    source = client.get_run(run_id)
    state = await source.get_state()
    if state.status != "completed":
        raise RunAlreadyExistsError(
            f"thread '{run_id}' is {state.status}; a new turn starts only once its run completed "
            "(answer it with command, or start a new thread)"
        )
    original: RunInput = await source._query("get_spec", RunInput)
    compiled = client.graph(original.graph.name)
    if original.graph.start_has_router:
        raise InvalidInputError(
            f"graph '{compiled.name}' routes from START by a condition: its next turn cannot be started yet; "
            "start a new thread"
        )
    check_json(input, "input")
    values = compiled.validate_input(input if input is not None else {})
    check_size(values, MAX_STATE_BYTES, "input")
    kept_context = compiled.check_context(context) if context is not None else original.context
    refused = override_refused(state.guarded_by, client.identity, client.roles, "start its next turn")
    if refused:
        raise RunAlreadyExistsError(f"thread '{run_id}' refused a next turn: {refused}")
    earlier = list(reversed(await source.get_state_history()))
    head = earlier[-1]
    if head.values is None:
        raise InvalidInputError(f"thread '{run_id}' keeps no state of its last checkpoint; start a new thread")
    workers = await check_workers(client.temporal, client.task_queue)
    patches = run_patches(workers)
    if THREAD_TURNS not in patches:
        raise NoWorkerError(
            f"the workers of task queue '{client.task_queue}' predate thread turns (patch {THREAD_TURNS}); "
            "upgrade them to start a thread's next turn"
        )
    from hitl.protocol.topology import entry_nodes  # noqa: PLC0415 - only this path needs the graph walk

    described = await source._handle.describe()
    previous = described.run_id
    fork = ForkFrom(
        run_id=run_id,
        step=head.step + 1,
        values=head.values,
        next=entry_nodes(original.graph, []),
        guard=state.guarded_by,
        audit_head=state.audit_head,
    )
    bare = await client._run_input(
        compiled,
        original.graph,
        values,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
        max_history_events=original.max_history_events,
        patches=patches,
        fork=fork,
        context=kept_context,
    )
    history = carried(earlier, MAX_PAYLOAD_BYTES - payload_size(bare))
    run_input = dataclasses.replace(bare, fork=dataclasses.replace(fork, history=history))
    refused = turn_refused(run_id, run_input)
    if refused:
        raise InvalidInputError(refused)
    kept = thread or ThreadStart()
    run = await client._start(run_input, run_id, ThreadStart(kept.metadata, kept.created_at, previous))
    current = (await run._handle.describe()).run_id
    # Only the turn this one continues and what came before it: should another turn have started and ended
    # meanwhile from the same state, its execution stays (listed as the older of the two), never lost.
    await delete_executions(
        client.temporal, run_id, keep=current, known=[previous] if previous else [], started_by=described.start_time
    )
    return run


def payload_size(run_input: RunInput) -> int:
    """What a run's start weighs as JSON: one Temporal payload."""
    return json_size(dataclasses.asdict(run_input))


def turn_refused(run_id: str, run_input: RunInput) -> str | None:
    """Why a next turn cannot start (None when it can): what it starts with is one Temporal payload, which
    carries its input and the thread's state whole (the earlier checkpoints' state copies, dropped first to make
    room), over MAX_PAYLOAD_BYTES. Refused before anything is started or deleted."""
    size = payload_size(run_input)
    if size <= MAX_PAYLOAD_BYTES:
        return None
    what = f"thread '{run_id}''s next turn (its input with the thread's state, which its start carries whole)"
    return over_limit(size, MAX_PAYLOAD_BYTES, what)


def carried(checkpoints: list[Checkpoint], room: int = CARRY_BYTES) -> list[Checkpoint]:
    """The checkpoints a turn carries (oldest first): state copies kept newest first while they fit in
    CARRY_BYTES, and in the `room` its start has left beside its input and the thread's state."""
    metadata = json_size([dataclasses.asdict(dataclasses.replace(c, values=None)) for c in checkpoints])
    budget = min(CARRY_BYTES, room) - metadata
    out: list[Checkpoint] = []
    for c in reversed(checkpoints):
        size = json_size(c.values) if c.values is not None else 0
        if size <= budget:
            budget -= size
            out.append(c)
        else:
            budget = 0
            out.append(dataclasses.replace(c, values=None))
    return out[::-1]
