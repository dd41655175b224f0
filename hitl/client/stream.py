"""Watching a run: its events as they happen, and LangGraph's `astream` chunks made of them.

Temporal's history says *that* a run changed: one long poll of the run's history
(`wait_new_event`) wakes the follower whenever a workflow task completes, and
the next history is followed across continue-as-new. *What* changed is read
from the run itself, through the queries every client uses (`get_state_history`
since a checkpoint cursor, then `get_state`), so a stream shows what the run
applied, decoded by the client's own codec (encrypted runs stream as any other),
and no user data is parsed out of history events, except in "custom" mode: what
nodes wrote with their stream writer travels in their results (hitl/runtime.py),
so a stream asked for it reads the node results of the run's current history,
after each reading of the run (so every result the run applied is in it). A
paused run with nobody deciding costs one pending long poll and no queries.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, Protocol

import temporalio.api.enums.v1
import temporalio.client
import temporalio.service

from hitl._temporal_errors import TRANSIENT, ended_outside
from hitl.functional import FunctionalGraph
from hitl.protocol.wire import TASK_ACTIVITY, NodeResult, TaskRun
from hitl.types import Checkpoint, Decision, HitlError, Interrupt, InvalidInputError, RunStatus, StateSnapshot


class _Connected(Protocol):
    @property
    def temporal(self) -> temporalio.client.Client: ...
    def graph(self, name: str) -> Any: ...


class Run(Protocol):
    """What following a run needs of it (hitl.client.client.Run has it): named here, so this module
    imports nothing from the client, which imports it."""

    @property
    def run_id(self) -> str: ...
    @property
    def client(self) -> _Connected: ...
    async def get_state(self) -> StateSnapshot: ...
    async def history_page(self, *, limit: int | None, before: int | None) -> list[Checkpoint]: ...
    def where(self) -> str: ...
    def _rpc_error(self, e: temporalio.service.RPCError, what: str = ...) -> HitlError: ...


EventKind = Literal["values", "node", "custom", "paused", "decision", "completed", "failed", "cancelled"]
StreamMode = Literal["updates", "values", "custom"]
STREAM_MODES: tuple[StreamMode, ...] = ("updates", "values", "custom")
ENDED: tuple[RunStatus, ...] = ("completed", "failed", "cancelled")
RESUMING = ("resume", "deadline", "goto")
"""Decisions that move a paused run on (an edit alone leaves it waiting)."""

_T = temporalio.api.enums.v1.EventType
WAKE = {
    _T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,  # the workflow's state changes only as a workflow task completes
    _T.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    _T.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    _T.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    _T.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    _T.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
}
BEHIND_SECONDS = 0.05
"""Pause before reading again a run that moved on while it was read (never while it waits or idles)."""
WATCH_RETRIES = 2
"""Times a stream polls the run's history again after a transient error, on top of the Temporal client's own
retries of each call (about 10 s): long enough to ride out a restart, short enough to tell a watcher soon."""
WATCH_PAUSE_SECONDS = 1.0
FIRST_PAGE = 4
"""Checkpoints asked for in the first page of a catch-up; each further page asks for twice as many."""


@dataclass(frozen=True, kw_only=True)
class RunEvent:
    """One thing that happened to a run, in order.

    - `values`: the state after a step (`seq` is its checkpoint; `source` says
      what made it: input, loop, update, fork), or, first of a stream opened
      without `since`, the state now (`source` None).
    - `node`: a node finished; `update` is what it wrote (None when nothing).
      Writes over 2 kB come clipped, as in `get_state_history()`.
    - `custom`: a node wrote `update` with its stream writer (`get_stream_writer()`), in order, before
      the node's `node` event (or the pause it asked in); only in streams opened with `custom=True`.
    - `paused`: the run waits for a person: `interrupts`, `next`, `breakpoint`. A pause the stream did
      not see while it lasted (it opened later, or the pause was brief) is rebuilt from the decision
      that answered it, which follows at once: its `source` is "decision" (None for the pause now).
    - `decision`: a person (or a deadline) decided: `decision` is the record (who, what, when).
    - `completed` / `failed` / `cancelled`: the run ended (`values`, `error`); nothing follows.
    """

    kind: EventKind
    run_id: str
    status: RunStatus
    step: int
    seq: int | None = None
    source: str | None = None
    node: str | None = None
    update: Any = None
    values: dict[str, Any] | None = None
    interrupts: list[Interrupt] = field(default_factory=list)
    next: list[str] = field(default_factory=list)
    breakpoint: Literal["before", "after"] | None = None
    decision: Decision | None = None
    error: str | None = None
    at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The event as JSON values (what `hitl watch --json` prints, one per line)."""
        out: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(self), default=_iso))
        return out

    def describe(self) -> str:
        """One line for a person (`hitl watch`)."""
        head = f"step {self.step:>3}  {self.kind:<9}"
        if self.kind == "node" or self.kind == "custom":
            return f"{head} {self.node}: {_text(self.update)}"
        if self.kind == "values":
            return f"{head} {_text(self.values)}"
        if self.kind == "paused":
            if self.interrupts:
                asks = "; ".join(f"[{i.id}] {i.node}: {_text(i.value)}" for i in self.interrupts)
                return f"{head} waiting for {asks}"
            where = f"at a breakpoint {self.breakpoint}" if self.breakpoint else "at a breakpoint"
            return f"{head} {where}, next: {', '.join(self.next) or '-'}"
        if self.kind == "decision" and self.decision is not None:
            d = self.decision
            what = {"resume": "answered" if d.interrupt_id else "continued", "update_state": "edited the state"}.get(
                d.kind, d.kind
            )
            where = f" [{d.interrupt_id}]" if d.interrupt_id else (f" at {d.node}" if d.node else "")
            value = f" with {_text(d.value)}" if d.value is not None else ""
            return f"{head} {d.identity} {what}{where}{value}"
        if self.kind == "failed" or self.kind == "cancelled":
            return f"{head} {self.error or ''}".rstrip()
        return f"{head} {_text(self.values)}"


def check_modes(stream_mode: str | Sequence[str]) -> list[StreamMode]:
    """The stream modes asked for, each one hitl streams; anything else is refused in one line."""
    modes = [stream_mode] if isinstance(stream_mode, str) else list(stream_mode)
    for mode in modes:
        if mode not in STREAM_MODES:
            raise InvalidInputError(
                f"stream_mode {mode!r} is not supported; hitl streams {', '.join(repr(m) for m in STREAM_MODES)} "
                "(or a list of them)"
            )
    if not modes:
        raise InvalidInputError("stream_mode is an empty list; give 'updates', 'values', 'custom' or a list of them")
    return modes  # type: ignore[return-value]


def chunks(event: RunEvent, modes: Sequence[StreamMode]) -> Iterator[tuple[StreamMode, Any]]:
    """LangGraph's `astream` chunks for one event, as (mode, chunk), in LangGraph's order.

    updates: `{node: update}` per node, `{"__interrupt__": (Interrupt, ...)}` at a pause (empty at a
    breakpoint). values: the state after each step that wrote something (and the run's input), and at a
    question the state with `"__interrupt__"` added, as LangGraph 1.2 does. custom: what a node wrote with
    its stream writer, as written.
    """
    for mode in STREAM_MODES:
        if mode not in modes:
            continue
        if mode == "custom":
            if event.kind == "custom":
                yield mode, event.update
        elif mode == "updates":
            if event.kind == "node" and event.node is not None:
                yield mode, {event.node: event.update}
            elif event.kind == "paused":
                yield mode, {"__interrupt__": tuple(event.interrupts)}
        elif event.values is not None:
            if event.kind == "values" and _wrote(event):
                yield mode, dict(event.values)
            elif event.kind == "paused" and event.interrupts:
                yield mode, {**event.values, "__interrupt__": tuple(event.interrupts)}


async def follow(
    run: Run, *, since: int | None = None, until_pause: bool = False, custom: bool = False, tasks: bool = False
) -> AsyncIterator[RunEvent]:
    """The run's events: its picture now (or everything from checkpoint `since`), then each change.

    Ends after the run ends, or, with `until_pause`, at the first pause it reports. With `custom`, also what
    nodes wrote with their stream writer (`custom` events), read from the run's history. With `tasks`, for a
    run of an entrypoint (hitl/functional.py), each `@task` call's result as a `node` event named after the
    task (read from the run's history too), and the body's update as its value (LangGraph's `{name: value}`).
    """
    follower = _Follower(run, since, custom, tasks)
    changed = asyncio.Event()
    watcher: asyncio.Task[None] | None = None
    try:
        first = True
        while True:
            if follower.behind:
                await asyncio.sleep(BEHIND_SECONDS)  # the run moves faster than it is read: read on
            elif not first:
                await changed.wait()
                changed.clear()
            if follower.failure is not None:
                raise follower.failure
            async for event in follower.sync():
                yield event
                if event.kind in ENDED or (until_pause and event.kind == "paused" and follower.live):
                    return
            if first:
                # Started after the first reading: its first page holds every event so far, so nothing is missed.
                watcher = asyncio.create_task(follower.watch(changed))
                first = False
    finally:
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)


class _Follower:
    """The cursor of one stream: which checkpoint, decisions and pause it has reported."""

    def __init__(self, run: Run, since: int | None, custom: bool = False, tasks: bool = False) -> None:
        self.run = run
        self.since = since
        self.custom = _Custom(run) if custom else None
        self.tasks = tasks  # asked for: known to apply once the run's graph is (an entrypoint's: `body`)
        self.body: str | None = None  # an entrypoint's run: its body's node, whose update is its value
        self.cursor: int | None = None  # seq of the last checkpoint reported
        self.step: int | None = None  # and its step
        self.next: list[str] = []  # `next` of that checkpoint: the nodes its following step runs
        self.values: dict[str, Any] | None = None
        self.seen: set[tuple[Any, ...]] = set()
        self.announced: tuple[Any, ...] | None = None  # the pause last reported, while it lasts
        self.newest_at: datetime | None = None
        self.history_closed = False
        self.failure: BaseException | None = None
        self.behind = False  # the last reading found the run past its newest checkpoint read
        self.live = False  # True while reporting what the run is now (not catching up on the past)

    async def watch(self, changed: asyncio.Event) -> None:
        """Long-poll the run's history; wake the reader at each workflow task. Follows continue-as-new.

        A transient error (Temporal restarting, a connection dropped) is retried a few times, reading the
        history again from its start (the reader only re-reads the run, so nothing is reported twice); past
        that, or on any other error (the run deleted), the stream ends with the error rather than waiting
        on a poll that will never answer."""
        temporal = self.run.client.temporal
        failures = 0
        while True:
            try:
                handle = temporal.get_workflow_handle(self.run.run_id)  # no run id: the newest history
                last = None
                async for event in handle.fetch_history_events(wait_new_event=True):
                    failures = 0
                    last = event.event_type
                    if last in WAKE:
                        changed.set()
                if last != _T.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                    self.history_closed = True
                    changed.set()
                    return
            except temporalio.service.RPCError as e:
                if e.status in TRANSIENT and failures < WATCH_RETRIES:
                    failures += 1
                    await asyncio.sleep(WATCH_PAUSE_SECONDS * failures)
                    continue
                self.failure = (
                    HitlError(
                        f"cannot reach Temporal while following run '{self.run.run_id}' ({e.message}; tried "
                        f"{failures + 1} times); follow it again once it is back"
                    )
                    if e.status in TRANSIENT
                    else self.run._rpc_error(e, "its history")
                )
                changed.set()
                return

    async def sync(self) -> AsyncIterator[RunEvent]:
        """Report what changed since the cursor: new checkpoints, then decisions and the pause or end now."""
        self.live = False
        # Closed before the state is read, a history whose run still reads as running was ended from outside
        # hitl; closed only after, it may have been hitl's own end, which the next reading shows.
        closed = self.history_closed
        for _ in range(5):
            checkpoints = await self._checkpoints()
            snap = await self.run.get_state()
            newest = checkpoints[-1].step if checkpoints else self.step
            if newest is None and not await self._checkpoints():
                break  # no checkpoint yet, even after the state was read: it is the run before its first
            if newest is not None and snap.step <= newest:
                break  # read in this order, the state is never older than the checkpoints: is it newer?
        self.behind = newest is not None and snap.step > newest
        if self.tasks:
            self._functional(snap.graph)
        if self.custom is not None:
            await self.custom.collect()  # read after the run: it holds every node result the run applied
        if self.cursor is None:
            for event in self._start(checkpoints, snap):
                yield event
        else:
            for c in checkpoints:
                for event in self._checkpoint(c):
                    yield event
        if self.behind:
            return  # what the state says now comes after checkpoints not read yet: the next reading
        unrecorded = [d for d in snap.decisions if self.newest_at is None or d.at >= self.newest_at]
        for event in self._decisions(unrecorded, snap.step):
            yield event
        self.live = True
        for event in self._now(snap, closed):
            yield event
        if snap.status in ("running", "interrupted"):
            for event in self._written(snap.step + 1):  # the step's nodes done so far, as they finish
                yield event

    def _functional(self, graph: str) -> None:
        """Is the run an entrypoint's (known to this client)? Then its tasks' results are read from history."""
        self.tasks = False
        try:
            compiled = self.run.client.graph(graph)
        except HitlError:
            return  # a graph this client does not serve: its runs stream as a graph's
        if isinstance(compiled, FunctionalGraph):
            self.body = graph
            if self.custom is None:
                self.custom = _Custom(self.run, custom=False)
            self.custom.tasks = True

    def _written(self, before_step: int | None, until: datetime | None = None) -> Iterator[RunEvent]:
        """The custom events of node runs before `before_step` (None: all) not reported yet, in order; with
        `until`, only of node runs that finished by then (a pause rebuilt from its answer: the asking node's
        run after the answer comes after it)."""
        if self.custom is not None:
            yield from self.custom.take(before_step, until)

    def _start(self, checkpoints: list[Checkpoint], snap: StateSnapshot) -> Iterator[RunEvent]:
        if not checkpoints:  # the run routes from START before its first checkpoint: that one comes next
            self.cursor = -1
            return
        newest = checkpoints[-1]
        if self.since is None:  # the picture now: the state, the pause or the end follow
            if self.custom is not None:
                self.custom.drop(snap.step)  # what nodes wrote before now is past
            self._advance(newest)
            self.seen.update(_key(d) for d in snap.decisions)
            self.values = snap.values
            yield self._event("values", snap, step=snap.step, values=snap.values)
            return
        for c in checkpoints:
            if c.seq < self.since:  # the checkpoint before `since`: where the replay starts from
                self.seen.update(_key(d) for d in c.decisions)
                self._advance(c)
                self.values = c.values
            else:
                yield from self._checkpoint(c)
        if self.cursor is None:
            self._advance(newest)

    def _checkpoint(self, c: Checkpoint) -> Iterator[RunEvent]:
        if self.custom is not None and self.custom.floor is None:
            self.custom.drop(self.step if self.step is not None else -1)  # before the replay: not shown
        yield from self._decisions(c.decisions, c.step)
        if c.source == "loop":
            yield from self._written(c.step)
            for node, update in _tasks(self.next, c.writes or {}):
                if node == self.body and isinstance(update, dict):
                    update = update.get("value")  # an entrypoint's update is what it returned
                yield RunEvent(
                    kind="node", run_id=self.run.run_id, status="running", step=c.step, seq=c.seq, node=node,
                    update=update, at=c.created_at,
                )  # fmt: skip
        if c.values is not None:
            self.values = c.values
        yield RunEvent(
            kind="values", run_id=self.run.run_id, status="running", step=c.step, seq=c.seq, source=c.source,
            values=c.values, update=c.writes, next=list(c.next), at=c.created_at,
        )  # fmt: skip
        self._advance(c)

    def _advance(self, c: Checkpoint) -> None:
        self.cursor, self.step, self.next, self.newest_at = c.seq, c.step, list(c.next), c.created_at

    def _decisions(self, decisions: list[Decision], step: int) -> Iterator[RunEvent]:
        """Decisions not reported yet, each answer after the pause it answered (rebuilt from the record
        when the stream did not see that pause: it opened later, or the pause was brief). An edit
        alone rebuilds no pause: the answer that follows it tells which question was waiting."""
        fresh = [d for d in decisions if _key(d) not in self.seen]
        for i, d in enumerate(fresh):
            self.seen.add(_key(d))
            if self.announced is None and d.kind in RESUMING and not _same_request(fresh[i - 1] if i else None, d):
                yield from self._written(d.step + 1, until=d.at)
                asked = [
                    e for e in fresh[i:] if e.kind in ("resume", "deadline") and e.interrupt_id and e.step == d.step
                ]
                yield RunEvent(
                    kind="paused",
                    run_id=self.run.run_id,
                    status="interrupted",
                    step=d.step,
                    values=self.values,
                    interrupts=[
                        Interrupt(id=e.interrupt_id or "", value=e.question, node=e.node or "", step=e.step)
                        for e in asked
                    ],
                    next=(d.node or "").split(",") if d.node and not asked else sorted({e.node or "" for e in asked}),
                    source="decision",
                    at=d.at,
                )
                self.announced = ("rebuilt", d.step)
            yield RunEvent(
                kind="decision", run_id=self.run.run_id, status="running", step=d.step, node=d.node, decision=d, at=d.at
            )
            if d.kind in RESUMING:
                self.announced = None

    def _now(self, snap: StateSnapshot, closed: bool) -> Iterator[RunEvent]:
        if snap.status == "completed" or snap.status == "failed" or snap.status == "cancelled":
            yield from self._written(None)
            yield self._event(snap.status, snap, step=snap.step, values=snap.values, error=snap.error)
            return
        if snap.status == "interrupted":
            # The same questions at the same place stay one pause (an edit while paused leaves it waiting).
            signature = ("now", tuple(i.id for i in snap.interrupts), snap.breakpoint, tuple(snap.next))
            if signature != self.announced:
                yield from self._written(snap.step + 1)
                self.announced = signature
                yield self._event(
                    "paused",
                    snap,
                    step=snap.step,
                    values=snap.values,
                    interrupts=list(snap.interrupts),
                    next=list(snap.next),
                    breakpoint=snap.breakpoint,
                    at=snap.paused_at,
                )
        elif closed:  # ended from outside hitl (terminated in Temporal): nothing more will come
            yield self._event(
                "failed",
                snap,
                step=snap.step,
                values=snap.values,
                error=f"run '{self.run.run_id}': {ended_outside('ended', 'see its history')} — {self.run.where()}",
            )

    def _event(self, kind: EventKind, snap: StateSnapshot, **fields: Any) -> RunEvent:
        status = snap.status if kind != "failed" else "failed"
        return RunEvent(kind=kind, run_id=self.run.run_id, status=status, **{"at": snap.updated_at, **fields})

    async def _checkpoints(self) -> list[Checkpoint]:
        """Checkpoints after the cursor, oldest first (at the start: the newest one, or from `since` - 1)."""
        after = self.cursor if self.cursor is not None else (None if self.since is None else self.since - 2)
        out: list[Checkpoint] = []
        before, limit = None, FIRST_PAGE if after is not None else 1
        while True:
            page = await self.run.history_page(limit=limit, before=before)
            fresh = [c for c in page if after is None or c.seq > after]
            out += fresh
            if after is None or len(fresh) < len(page) or not page or page[-1].seq == 0:
                break
            before, limit = page[-1].seq, limit * 2
        return list(reversed(out))


class _Custom:
    """What a stream in "custom" mode has read of the run's node results: the stream-writer events not
    reported yet, in history order, and how far each history was read (the current one, and the one it
    continued from, read to its end once the run moved to the next: one hand-over between two readings)."""

    def __init__(self, run: Run, custom: bool = True) -> None:
        self.run = run
        self.custom = custom  # what nodes wrote with their stream writer
        self.tasks = False  # each `@task` call's result, as a `node` event named after the task
        self.pending: list[RunEvent] = []
        self.floor: int | None = None  # node runs before this step are before the stream: not shown
        self.read: dict[str | None, int] = {}  # a history (by the run it continued from) -> last event id read
        self.current: str | None = ""  # "" before the first reading

    def drop(self, step: int) -> None:
        self.floor = step
        self.pending = [e for e in self.pending if e.step >= step]

    def take(self, before_step: int | None, until: datetime | None = None) -> Iterator[RunEvent]:
        """The events of node runs before `before_step` (None: all) that finished by `until` (None: any time),
        in order; the others wait."""
        kept = []
        for event in self.pending:
            if (before_step is None or event.step < before_step) and (
                until is None or event.at is None or event.at <= until
            ):
                yield event
            else:
                kept.append(event)
        self.pending = kept

    async def collect(self) -> None:
        """Read the newest history's node results past what was read; first the end of the history it
        continued from, when that is the one read last time."""
        temporal = self.run.client.temporal
        try:
            events = [e async for e in temporal.get_workflow_handle(self.run.run_id).fetch_history_events()]
        except temporalio.service.RPCError as e:
            raise self.run._rpc_error(e, "its history") from None
        if not events:
            return
        started = events[0].workflow_execution_started_event_attributes
        key = started.continued_execution_run_id or None
        if self.current not in ("", key) and key is not None and self.current is not None:
            # the run continued as new since the last reading: finish the history read last time
            older = temporal.get_workflow_handle(self.run.run_id, run_id=key)
            try:
                await self._read([e async for e in older.fetch_history_events()], self.current)
            except temporalio.service.RPCError:
                pass  # gone (retention): what it held is not shown
        self.current = key
        await self._read(events, key)

    async def _read(self, events: Sequence[Any], key: str | None) -> None:
        converter = self.run.client.temporal.data_converter
        scheduled: dict[int, str] = {}
        inputs: dict[int, Any] = {}
        last = self.read.get(key, 0)
        for event in events:
            if event.event_type == _T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attributes = event.activity_task_scheduled_event_attributes
                scheduled[event.event_id] = attributes.activity_type.name
                inputs[event.event_id] = attributes.input.payloads
            if event.event_id <= last:
                continue
            payloads = None
            if event.event_type == _T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                done = event.activity_task_completed_event_attributes
                kind = scheduled.get(done.scheduled_event_id, "hitl.")
                if kind == TASK_ACTIVITY and self.tasks:
                    await self._task(inputs[done.scheduled_event_id], done.result.payloads, event)
                if not self.custom or kind.startswith("hitl."):
                    self.read[key] = event.event_id
                    continue
                payloads = done.result.payloads
            elif event.event_type == _T.EVENT_TYPE_MARKER_RECORDED and self.custom:
                marker = event.marker_recorded_event_attributes
                if marker.marker_name == LOCAL_ACTIVITY_MARKER and "result" in marker.details:
                    payloads = marker.details["result"].payloads
            if payloads:
                try:
                    [result] = await converter.decode(payloads, [NodeResult])
                except Exception:  # noqa: BLE001 - a router's or reducer's local result: no node's
                    result = None
                written = result.custom if isinstance(result, NodeResult) else None
                if written is not None and (self.floor is None or written.step >= self.floor):
                    for chunk in written.chunks():
                        self._pend("custom", written.step, written.node, chunk, event)
            self.read[key] = event.event_id

    async def _task(self, given: Any, result: Any, event: Any) -> None:
        """A `@task` call's result, as LangGraph streams it: `{task: result}` among the updates."""
        converter = self.run.client.temporal.data_converter
        [call] = await converter.decode(given, [TaskRun])
        [value] = await converter.decode(result, [Any]) if result else [None]
        if self.floor is None or call.step >= self.floor:
            self._pend("node", call.step, call.call.name, value, event)

    def _pend(self, kind: EventKind, step: int, node: str, update: Any, event: Any) -> None:
        """Keep an event read from the history event `event` (its time is the event's) until it is reported."""
        at = event.event_time.ToDatetime().replace(tzinfo=timezone.utc)
        self.pending.append(
            RunEvent(kind=kind, run_id=self.run.run_id, status="running", step=step, node=node, update=update, at=at)
        )


LOCAL_ACTIVITY_MARKER = "core_local_activity"
"""The marker Temporal records a local activity's result in (a node's `local=True` or `rerun="local"` run)."""


def _tasks(ran: list[str], writes: dict[str, Any]) -> list[tuple[str, Any]]:
    """The tasks of a step as (node, update), in the order of `ran` (the step's `next`: one entry per
    task, a node run by several Sends once per Send). Writes are keyed by task: the node, or `node#i`
    for the i-th Send; a task that wrote nothing has no key, and its update is None."""
    written: dict[str, list[Any]] = {}
    for key, update in writes.items():
        node, _, push = key.rpartition("#")
        written.setdefault(node if node and push.isdigit() else key, []).append(update)
    out = [(node, written[node].pop(0) if written.get(node) else None) for node in ran]
    return out + [(node, update) for node, updates in written.items() for update in updates]


def _wrote(event: RunEvent) -> bool:
    """Whether a step's values make a LangGraph "values" chunk: the picture now, or a step or input that wrote
    something (LangGraph emits none for a step whose nodes wrote nothing, nor for an edit by a person)."""
    if event.source is None:
        return True
    if event.source == "update":  # a person's edit; but a fork's input (a thread's next turn) is LangGraph's input
        return "__fork__" in (event.update or {})
    return any(v for v in (event.update or {}).values())


def _same_request(before: Decision | None, d: Decision) -> bool:
    """Whether `d` is part of the one request `before` was (several questions answered at once): one
    pause answered, not a pause for each answer."""
    if before is None or before.kind not in RESUMING or d.request_id is None:
        return False
    return (before.request_id, before.step) == (d.request_id, d.step)


def _key(d: Decision) -> tuple[Any, ...]:
    return (d.kind, d.identity, d.at, d.step, d.interrupt_id, d.node, d.request_id)


def _text(value: Any, limit: int = 160) -> str:
    from hitl.protocol.limits import shorten

    return shorten(json.dumps(value, ensure_ascii=False, default=str), limit)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)
