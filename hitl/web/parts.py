"""LangGraph Server's stream parts for one run request, made from the run's events (`hitl.client.stream.RunEvent`).

Every mode comes from the one source every hitl stream reads (`Run.events()`), in the order and chunk shapes
`langgraph dev` sends (checked by tests/test_compat_server.py): `values` and `updates` as `Run.astream` makes
them, `checkpoints` and `debug` per checkpoint, `tasks` and `debug` per node, `events` (`on_chain_start`,
`on_chain_stream`, `on_chain_end` for the graph and each node), `messages-tuple` (event `messages`,
`[message, metadata]`) and `messages` (`messages/metadata`, `messages/complete`) for each message a node
wrote. hitl's nodes run as activities and report what they wrote when they finish, so a node's messages come
whole, once it is done (no tokens), and a node's start is reported with its end. `custom` sends what a node
wrote with its stream writer (`get_stream_writer()`), each value as written, once the node run is done
(hitl/runtime.py: bounded per node run).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any, Literal

from hitl.client.stream import RunEvent, chunks
from hitl.types import Interrupt, InvalidInputError
from hitl.web import shapes

Mode = Literal["values", "updates", "events", "messages-tuple", "messages", "debug", "tasks", "checkpoints", "custom"]
MODES: tuple[Mode, ...] = (
    "values",
    "updates",
    "events",
    "messages-tuple",
    "messages",
    "debug",
    "tasks",
    "checkpoints",
    "custom",
)
Part = tuple[str, Any]


def check_modes(stream_mode: str | Sequence[str] | None) -> list[Mode]:
    """The modes asked for (default `values`), each one LangGraph Server streams; anything else in one line."""
    modes = ["values"] if stream_mode is None else [stream_mode] if isinstance(stream_mode, str) else list(stream_mode)
    for mode in modes:
        if mode not in MODES:
            raise InvalidInputError(
                f"stream_mode {mode!r} is not a stream mode; use one of {', '.join(MODES)} or a list"
            )
    return modes or ["values"]  # type: ignore[return-value]


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


class Parts:
    """Turns one run request's events into LangGraph Server's parts, as (event name, data).

    `command` is the resume's command (None for a start); `values` tracks the state a node ran on,
    which `events`, `tasks` and `debug` report as its input."""

    def __init__(self, thread_id: str, graph: str, run_id: str, modes: Sequence[Mode], command: Any = None) -> None:
        self.thread_id, self.graph, self.run_id, self.modes = thread_id, graph, run_id, set(modes)
        self.command = command
        self.values: dict[str, Any] = {}
        self.parent: int | None = None  # the step of the last checkpoint reported
        self.forked: RunEvent | None = None  # a fork checkpoint not reported yet (see `of`)

    def meta(self, **extra: Any) -> dict[str, Any]:
        return {**shapes.metadata(self.graph), "run_id": self.run_id, "thread_id": self.thread_id, **extra}

    @staticmethod
    def task(node: str, step: int) -> str:
        """The id of the task running `node` in `step`: keyed by the checkpoint it runs after, as the state's tasks."""
        return shapes.task_id(node, step - 1)

    def node_meta(self, node: str, step: int) -> dict[str, Any]:
        return self.meta(
            langgraph_step=step,
            langgraph_node=node,
            langgraph_triggers=[f"branch:to:{node}"],
            langgraph_path=["__pregel_pull", node],
            langgraph_checkpoint_ns=f"{node}:{self.task(node, step)}",
        )

    def graph_event(self, kind: str, data: dict[str, Any]) -> Part:
        return "events", {
            "event": kind, "data": data, "name": self.graph, "tags": [], "run_id": self.run_id,
            "metadata": self.meta(), "parent_ids": [],
        }  # fmt: skip

    def node_event(self, kind: str, node: str, step: int, data: dict[str, Any]) -> Part:
        return "events", {
            "event": kind, "data": data, "name": node, "tags": [f"graph:step:{step}"],
            "run_id": self.task(node, step), "metadata": self.node_meta(node, step), "parent_ids": [self.run_id],
        }  # fmt: skip

    def start(self, given: Any) -> Iterator[Part]:
        """The request's opening: the graph starts on its input (or the resume's command)."""
        if "events" in self.modes:
            data = given if self.command is None else {"graph": None, "update": None, "goto": None, **self.command}
            yield self.graph_event("on_chain_start", {"input": data})

    def checkpoint(
        self, step: int, values: dict[str, Any], next_: list[str], source: str, asked: list[Interrupt]
    ) -> Iterator[Part]:
        """`checkpoints` and `debug` for the checkpoint a step made (its tasks: the next step's nodes)."""
        if not {"checkpoints", "debug"} & self.modes:
            return
        ref = shapes.checkpoint_ref(self.thread_id, step)
        parent = shapes.checkpoint_ref(self.thread_id, self.parent)
        payload = {
            "config": {"configurable": ref},
            "parent_config": {"configurable": parent} if parent else None,
            "values": values,
            "metadata": {"source": source, "step": step, "parents": {}},
            "next": list(next_),
            "tasks": [
                {
                    "id": shapes.task_id(n, step),
                    "name": n,
                    "interrupts": [shapes.output_interrupt(i) for i in asked if i.node == n],
                    "state": None,
                }
                for n in next_
            ],
        }
        self.parent = step
        if "checkpoints" in self.modes:
            yield "checkpoints", payload
        if "debug" in self.modes:
            yield "debug", {
                "step": step, "timestamp": now(), "type": "checkpoint",
                "payload": {**payload, "checkpoint": ref, "parent_checkpoint": parent},
            }  # fmt: skip

    def task_start(self, node: str, step: int) -> Iterator[Part]:
        task = {
            "id": self.task(node, step), "name": node, "input": self.values,
            "triggers": [f"branch:to:{node}"], "metadata": self.meta(),
        }  # fmt: skip
        if "tasks" in self.modes:
            yield "tasks", task
        if "debug" in self.modes:
            yield "debug", {"step": step, "timestamp": now(), "type": "task", "payload": task}
        if "events" in self.modes:
            yield self.node_event("on_chain_start", node, step, {"input": self.values})

    def task_result(self, node: str, step: int, result: Any, asked: list[Interrupt]) -> Iterator[Part]:
        task = {
            "id": self.task(node, step), "name": node, "error": None, "result": result if result else {},
            "interrupts": [shapes.output_interrupt(i) for i in asked],
        }  # fmt: skip
        if "tasks" in self.modes:
            yield "tasks", task
        if "debug" in self.modes:
            yield "debug", {"step": step, "timestamp": now(), "type": "task_result", "payload": task}

    def messages(self, node: str, step: int, update: Any) -> Iterator[Part]:
        """Each message the node wrote, whole, with LangGraph's metadata for the node's task."""
        if not {"messages-tuple", "messages"} & self.modes:
            return
        meta = self.node_meta(node, step)
        for message in written_messages(update):
            if "messages-tuple" in self.modes:
                yield "messages", [message, meta]
            if "messages" in self.modes:
                yield "messages/metadata", {str(message.get("id")): {"metadata": meta}}
                yield "messages/complete", [message]

    def of(self, event: RunEvent) -> Iterator[Part]:
        """The parts for one event of the run, in LangGraph Server's order."""
        if event.kind == "custom":
            if "custom" in self.modes:
                yield "custom", event.update
        elif event.kind == "node" and event.node is not None:
            node, step = event.node, event.step
            yield from self.task_start(node, step)
            if "events" in self.modes:
                if event.update:
                    yield self.node_event("on_chain_stream", node, step, {"chunk": event.update})
                yield self.node_event("on_chain_end", node, step, {"output": event.update or {}, "input": self.values})
            yield from self.messages(node, step, event.update)
            yield from self.chunks(event)
            yield from self.task_result(node, step, event.update, [])
        elif event.kind == "values" and event.values is not None:
            if event.source == "fork" and self.parent is None and self.forked is None:
                self.forked, self.values = event, dict(event.values)  # reported with what follows it
                return
            turn_input = is_turn_input(event)
            yield from self.fork_checkpoint(turn_input)
            if event.source == "input" and self.parent is None:  # LangGraph's input checkpoint: the defaults
                given = given_input(event)
                defaults = {k: v for k, v in event.values.items() if not (isinstance(given, dict) and k in given)}
                yield from self.checkpoint(event.step - 1, defaults, ["__start__"], "input", [])
            yield from self.chunks(event)
            self.values = dict(event.values)
            source = "loop" if turn_input else event.source or "loop"
            yield from self.checkpoint(event.step, self.values, event.next, source, [])
        elif event.kind == "paused":
            asking = list(dict.fromkeys(i.node for i in event.interrupts))
            for node in asking:
                yield from self.task_start(node, event.step + 1)
            yield from self.chunks(event)
            for node in asking:
                yield from self.task_result(node, event.step + 1, None, [i for i in event.interrupts if i.node == node])
            yield from self.end(event.values)
        elif event.kind in ("completed", "failed", "cancelled"):
            yield from self.end(event.values)

    def fork_checkpoint(self, turn_input: bool) -> Iterator[Part]:
        """The fork checkpoint a run began at, once what follows it is known: before a thread's next turn's
        input, LangGraph's input checkpoint of that run (the state before the input, `__start__` next, as
        hitl/web/history.py shows it); else the fork as it is."""
        forked, self.forked = self.forked, None
        if forked is None or forked.values is None:
            return
        if turn_input:
            self.parent = forked.step - 1  # the thread's checkpoint before the turn: the last of its previous run
            yield from self.checkpoint(forked.step, dict(forked.values), ["__start__"], "input", [])
        else:
            yield from self.checkpoint(forked.step, dict(forked.values), forked.next, "fork", [])

    def opening(self, state: RunEvent | None, pause: RunEvent | None) -> Iterator[Part]:
        """A resume's first parts: the state as the decision found it, its tasks with the questions answered
        (the pause's; none known when the run went on before the stream saw one)."""
        yield from self.start(None)
        state = state or pause
        if state is not None and state.values is not None:
            self.values = dict(state.values)
            self.parent = state.step - 1 if state.step > 0 else None
            if "values" in self.modes:
                yield "values", self.values
            next_, asked = (pause.next, pause.interrupts) if pause is not None else ([], [])
            yield from self.checkpoint(state.step, self.values, state.next or next_, "loop", asked)

    def chunks(self, event: RunEvent) -> Iterator[Part]:
        for mode, chunk in chunks(event, [m for m in ("updates", "values") if m in self.modes]):
            yield mode, shapes.chunk(chunk)

    def end(self, values: dict[str, Any] | None) -> Iterator[Part]:
        if "events" in self.modes:
            yield self.graph_event("on_chain_end", {"output": values if values is not None else self.values})


def given_input(event: RunEvent) -> Any:
    """What a run was started with: its input checkpoint's write (a next turn's: its fork's), else the state it made."""
    if event.source == "input" and isinstance(event.update, dict) and "__input__" in event.update:
        return event.update["__input__"]
    if is_turn_input(event):
        return event.update["__fork__"]
    return event.values


def is_turn_input(event: RunEvent) -> bool:
    """The checkpoint that applied a fork's input (a thread's next turn, hitl/client/turns.py): LangGraph's first
    `loop` of that run, its input the run's own (`hitl.client.stream` sends it as a values chunk)."""
    return event.source == "update" and isinstance(event.update, dict) and "__fork__" in event.update


def written_messages(update: Any) -> list[dict[str, Any]]:
    """The chat messages in a node's update: each message dict (LangChain `type` or OpenAI `role`) under any key."""
    if not isinstance(update, dict):
        return []
    out: list[dict[str, Any]] = []
    for value in update.values():
        items = value if isinstance(value, list) else [value]
        out += [m for m in items if isinstance(m, dict) and "content" in m and ("type" in m or "role" in m)]
    return out


def mode_of(event: str) -> str:
    """The mode a part's event name belongs to (`messages` is `messages-tuple`'s; `messages/...` is `messages`')."""
    if event == "messages":
        return "messages-tuple"
    return event.split("/")[0]
