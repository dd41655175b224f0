"""`StateGraph`: build a graph the LangGraph way, compile it to a runnable graph.

The builder checks the definition as it goes (one clear error per mistake) and
`compile()` captures the topology as a `GraphSpec`, the JSON the workflow walks.
The node functions and routers stay here, on the worker side: the workflow
only ever sees names.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import typing
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import temporalio.common

from hitl import _interrupt, runtime
from hitl.protocol.limits import MAX_STATE_BYTES, too_large
from hitl.protocol.wire import EdgeSpec, GraphSpec, NodeSpec, RetrySpec, Route, SendPacket
from hitl.state import StateSchema, to_json
from hitl.types import END, START, GraphValidationError, InvalidInputError, Send, StateSnapshot

Router = Callable[..., Any]


@dataclass
class Branch:
    """A conditional edge: `router(state)` names where to go, through `path_map`."""

    router: Router
    path_map: dict[Any, str] | None = None

    def resolve(self, result: Any, *, source: str, nodes: Sequence[str]) -> list[str | Send]:
        """The node names a router's result means (a `Send` passes as is, as in LangGraph,
        untouched by `path_map`); one clear error if it names none."""
        items = result if isinstance(result, (list, tuple)) else [result]
        out: list[str | Send] = []
        for item in items:
            if isinstance(item, Send):
                out.append(item)
                continue
            if self.path_map is not None:
                if item not in self.path_map:
                    raise GraphValidationError(
                        f"router of '{source}' returned {item!r}, which is not in its path_map "
                        f"{sorted(map(str, self.path_map))}"
                    )
                item = self.path_map[item]
            if not isinstance(item, str) or (item != END and item not in nodes):
                raise GraphValidationError(
                    f"router of '{source}' returned {item!r}; it must name a node ({', '.join(nodes)}) or END"
                )
            out.append(item)
        return out


Rerun = Literal["activity", "local"]
RERUNS: tuple[Rerun, ...] = ("activity", "local")


@dataclass
class Node:
    """A node: its function and the Temporal settings of the activity that runs it."""

    name: str
    fn: Callable[..., Any]
    spec: NodeSpec
    wants_config: bool = False
    subgraph: CompiledGraph | None = None
    input: StateSchema | None = None
    """The node's own input schema (`input_schema=`, or its first parameter's type): it is called with
    just those keys, and only they travel to its activity."""
    rerun: Rerun = "activity"
    """How the node runs again after an answer to its interrupt() (see `StateGraph.add_node`)."""
    inject: tuple[str, ...] = ()
    """The keyword parameters LangGraph fills in that the function takes: `runtime`, `writer`."""

    @property
    def reruns_locally(self) -> bool:
        """The run after an answer goes as a local activity (a `local=True` node is local anyway)."""
        return self.rerun == "local" and not self.spec.local


@dataclass
class _Definition:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[EdgeSpec] = field(default_factory=list)
    branches: dict[str, list[Branch]] = field(default_factory=dict)


class StateGraph:
    """A graph whose nodes read and update one shared state.

    `StateGraph(State)` with `State` a `TypedDict` or a pydantic `BaseModel`;
    `Annotated[T, reducer]` on a key combines writes with `reducer` (for example
    `operator.add`); other keys keep the last value written.
    """

    def __init__(self, state_schema: type, context_schema: type | None = None, **options: Any) -> None:
        _check_options("StateGraph()", options, ["state_schema", "context_schema"], _IGNORED_GRAPH_OPTIONS)
        if context_schema is not None and not isinstance(context_schema, type):
            raise GraphValidationError(
                f"StateGraph(): context_schema must be a class (a dataclass, TypedDict or pydantic model); "
                f"got {context_schema!r}"
            )
        self.context_schema = context_schema
        """What a run's context is (`client.start(..., context=)`): nodes read it as `runtime.context`."""
        self.schema = StateSchema(state_schema)
        self._def = _Definition()

    def add_node(
        self,
        node: str | Callable[..., Any],
        action: Callable[..., Any] | None = None,
        *,
        retry_policy: temporalio.common.RetryPolicy | None = None,
        timeout: timedelta | None = None,
        schedule_to_close_timeout: timedelta | None = None,
        heartbeat_timeout: timedelta | None = None,
        local: bool = False,
        input_schema: type | None = None,
        rerun: Rerun = "activity",
        **options: Any,
    ) -> StateGraph:
        """Add a node. `fn(state)` (sync or async) returns a dict, a `Command` or None.

        Temporal settings of the node's activity: `retry_policy` (default: 3
        attempts), `timeout` (start-to-close, default 5 minutes),
        `schedule_to_close_timeout`, `heartbeat_timeout`. `local=True` runs a
        short node as a local activity: fewer server round trips, no separate
        task-queue dispatch; use it for fast, cheap nodes. `input_schema` (a
        TypedDict or pydantic model of some of the state's keys; as in LangGraph,
        taken from the type of the function's first parameter when not given)
        makes the node read only those keys: only they go into its activity's
        input, so a large state is not copied into the history at every step.
        `rerun` says how a node that called interrupt() runs again after the
        answer (LangGraph's semantics: from the top): "activity" (default), or
        "local": as a local activity inside the workflow task that applies the
        answer, with the node's timeout and retry policy (no task-queue round
        trip, five fewer history events per answer). Use "local" for a node whose
        code after interrupt() is quick and has no side effects (it returns a
        verdict, routes, records the answer): that code runs before Temporal has
        recorded the answer, and again should the workflow task fail.
        LangGraph's other options are refused when unknown, and warned about
        when hitl ignores them.
        """
        _check_options("add_node()", options, _NODE_OPTIONS, _IGNORED_NODE_OPTIONS)
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
            timeout = timedelta(seconds=timeout)  # LangGraph takes seconds too
        if action is None:
            if not callable(node):
                raise GraphValidationError(f"add_node({node!r}) needs a function to run")
            action, name = node, getattr(node, "__name__", None)
        else:
            name = node
        if not isinstance(name, str) or not name:
            raise GraphValidationError(f"node name must be a non-empty string; got {name!r}")
        if name in (START, END):
            raise GraphValidationError(f"node name '{name}' is reserved")
        if name in self._def.nodes:
            raise GraphValidationError(f"node '{name}' is already in the graph; node names must be unique")
        if isinstance(action, StateGraph):
            raise GraphValidationError(f"node '{name}': compile the subgraph first (builder.compile(name=...))")
        subgraph = action if isinstance(action, CompiledGraph) else None
        if subgraph is None and not callable(action):
            raise GraphValidationError(f"node '{name}': {action!r} is not callable")
        _check_rerun(name, rerun, heartbeat=heartbeat_timeout is not None, subgraph=subgraph is not None)
        reads = self._input_of(name, action, input_schema) if subgraph is None else None
        if subgraph is not None and input_schema is not None:
            raise GraphValidationError(f"node '{name}': a subgraph runs on the parent's state; drop input_schema")
        spec = NodeSpec(
            name=name,
            reads=[k for k in reads.channels if k in self.schema.channels] if reads is not None else None,
            start_to_close_s=(timeout or timedelta(minutes=5)).total_seconds(),
            schedule_to_close_s=schedule_to_close_timeout.total_seconds() if schedule_to_close_timeout else None,
            heartbeat_s=heartbeat_timeout.total_seconds() if heartbeat_timeout else None,
            retry=_retry_spec(retry_policy),
            local=local,
        )
        if subgraph is not None:
            self._def.nodes[name] = Node(name, _runs_as_child, spec, subgraph=subgraph)
        else:
            self._def.nodes[name] = Node(
                name, action, spec, _wants_config(action), input=reads, rerun=rerun, inject=_injected(action)
            )
        return self

    def _input_of(self, name: str, action: Callable[..., Any], given: type | None) -> StateSchema | None:
        """The node's input schema: given, or (as LangGraph) the class its first parameter is typed with.
        A given one must name only state keys (one line naming the others, a typo more likely than
        LangGraph's private channels, which hitl does not have); of an inferred one, the node gets the
        keys the state has (LangGraph's private channels would be empty here: never written)."""
        schema = given if given is not None else _first_parameter_type(action)
        if schema is None or schema is self.schema.schema:
            return None
        try:
            read = StateSchema(schema)
        except InvalidInputError:
            if given is None:
                return None
            raise GraphValidationError(
                f"node '{name}': input_schema {given!r} is not a TypedDict or a pydantic BaseModel"
            ) from None
        unknown = [k for k in read.channels if k not in self.schema.channels]
        if given is None:
            return read if read.channels else None
        if unknown or not read.channels:
            close = difflib.get_close_matches(unknown[0], list(self.schema.channels), n=1) if unknown else []
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise GraphValidationError(
                f"node '{name}': input_schema {given.__name__} names "
                + (f"key(s) {', '.join(map(repr, unknown))} not in the state{hint}" if unknown else "no keys")
                + f"; the state has {', '.join(self.schema.channels)}"
            )
        return read

    def add_edge(self, start_key: str | list[str], end_key: str) -> StateGraph:
        """`a -> b`; with a list of sources, `b` runs once after all of them."""
        sources = [start_key] if isinstance(start_key, str) else list(start_key)
        if not sources:
            raise GraphValidationError("add_edge needs at least one source node")
        if END in sources:
            raise GraphValidationError("END cannot be the source of an edge")
        if end_key == START:
            raise GraphValidationError("START cannot be the target of an edge")
        if len(sources) > 1 and START in sources:
            raise GraphValidationError("START cannot be part of a join")
        self._def.edges.append(EdgeSpec(sources=sources, target=end_key))
        return self

    def add_conditional_edges(
        self,
        source: str,
        path: Router,
        path_map: dict[Any, str] | list[str] | None = None,
    ) -> StateGraph:
        """After `source`, run the node(s) `path(state)` names (through `path_map`)."""
        if source == END:
            raise GraphValidationError("END cannot be the source of an edge")
        if not callable(path):
            raise GraphValidationError(f"conditional edge from '{source}': {path!r} is not callable")
        mapping = {name: name for name in path_map} if isinstance(path_map, list) else path_map
        self._def.branches.setdefault(source, []).append(Branch(path, mapping))
        return self

    def add_sequence(self, nodes: Sequence[Callable[..., Any] | tuple[str, Callable[..., Any]]]) -> StateGraph:
        """Add nodes chained one after the other."""
        previous: str | None = None
        for item in nodes:
            name, fn = item if isinstance(item, tuple) else (getattr(item, "__name__", ""), item)
            self.add_node(name, fn)
            if previous is not None:
                self.add_edge(previous, name)
            previous = name
        return self

    def set_entry_point(self, key: str) -> StateGraph:
        return self.add_edge(START, key)

    def set_conditional_entry_point(
        self, path: Router, path_map: dict[Any, str] | list[str] | None = None
    ) -> StateGraph:
        return self.add_conditional_edges(START, path, path_map)

    def set_finish_point(self, key: str) -> StateGraph:
        return self.add_edge(key, END)

    def compile(
        self,
        checkpointer: Any = None,
        *,
        name: str | None = None,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
        notify: Callable[[StateSnapshot], Any] | None = None,
        guard: Sequence[str] | None = None,
        readers: Sequence[str] | None = None,
        **options: Any,
    ) -> CompiledGraph:
        """Check the graph and freeze it. `checkpointer` is accepted and unused
        (with a warning): Temporal's event history is the checkpoint.

        `guard` (reviewer entries, like `interrupt(..., reviewers=)`) guards every
        run of the graph from its start: overriding it (edit, goto, cancel, fork)
        takes someone it allows. Without it a run is guarded only once a node asks
        a limited question, so before that anyone may steer it past the question.

        `readers` (entries as for `guard`) limits who `hitl serve` shows the graph's
        runs to, and who may start them there: without it, anyone signed in. The
        inbox server reads it from the graphs it serves, so it applies to every run of
        the graph, older ones too (`hitl/web/scope.py`); the CLI and the Python
        client read Temporal directly and are bounded by namespace access only.

        `notify(snapshot)` (sync or async) is called in an activity each time a
        run pauses, e.g. to post the pending question to a chat or a URL
        (`hitl.prebuilt.notify.webhook(url)`); its failures never block or fail the run.
        """
        _check_options(
            "compile()", {"checkpointer": checkpointer, **options}, _COMPILE_OPTIONS, _IGNORED_COMPILE_OPTIONS
        )
        name = name or "LangGraph"
        nodes = list(self._def.nodes)
        known = set(nodes)
        for edge in self._def.edges:
            for src in edge.sources:
                if src != START and src not in known:
                    raise GraphValidationError(f"graph '{name}': edge from unknown node '{src}'; nodes are {nodes}")
            if edge.target != END and edge.target not in known:
                raise GraphValidationError(f"graph '{name}': edge to unknown node '{edge.target}'; nodes are {nodes}")
        for src, branches in self._def.branches.items():
            if src != START and src not in known:
                raise GraphValidationError(
                    f"graph '{name}': conditional edge from unknown node '{src}'; nodes are {nodes}"
                )
            for branch in branches:
                for target in (branch.path_map or {}).values():
                    if target != END and target not in known:
                        raise GraphValidationError(
                            f"graph '{name}': path_map of '{src}' names unknown node '{target}'; nodes are {nodes}"
                        )
        if not any(e.sources == [START] for e in self._def.edges) and START not in self._def.branches:
            raise GraphValidationError(
                f"graph '{name}' has no entry point: add an edge from START, e.g. add_edge(START, '{nodes[0] if nodes else 'node'}')"
            )
        before = _breakpoints(interrupt_before, nodes, "interrupt_before")
        after = _breakpoints(interrupt_after, nodes, "interrupt_after")
        return CompiledGraph(
            name,
            self.schema,
            self._def,
            before,
            after,
            notify,
            _entries(guard, name, "guard", "nobody could cancel or fix a run"),
            _entries(readers, name, "readers", "nobody could see a run"),
            self.context_schema,
        )


class CompiledGraph:
    """A checked, frozen graph: what a worker serves and a client starts."""

    def __init__(
        self,
        name: str,
        schema: StateSchema,
        definition: _Definition,
        before: list[str],
        after: list[str],
        notify: Callable[[StateSnapshot], Any] | None = None,
        guard: list[str] | None = None,
        readers: list[str] | None = None,
        context_schema: type | None = None,
    ) -> None:
        self.name = name
        self.context_schema = context_schema
        self.notify = notify
        self.guard = guard
        self.readers = readers
        """Who `hitl serve` shows runs of this graph to (None: anyone signed in); never part of the run."""
        self.schema = schema
        self.nodes = dict(definition.nodes)
        self.edges = list(definition.edges)
        self.branches = {k: list(v) for k, v in definition.branches.items()}
        self.interrupt_before = before
        self.interrupt_after = after

    def spec(self) -> GraphSpec:
        """The topology the workflow walks, captured now for a new run."""
        nodes = []
        for node in self.nodes.values():
            sub = node.subgraph.spec() if node.subgraph else None
            if sub is not None:  # a subgraph's questions surface on the parent; its breakpoints do not
                sub = dataclasses.replace(sub, interrupt_before=[], interrupt_after=[])
            nodes.append(dataclasses.replace(node.spec, has_router=node.name in self.branches, subgraph=sub))
        return GraphSpec(
            name=self.name,
            nodes=nodes,
            edges=[EdgeSpec(sources=list(e.sources), target=e.target) for e in self.edges],
            channels=self.schema.specs(),
            start_has_router=START in self.branches,
            interrupt_before=list(self.interrupt_before),
            interrupt_after=list(self.interrupt_after),
            notify=self.notify is not None,
            guard=list(self.guard) if self.guard else None,
        )

    def with_subgraphs(self) -> list[CompiledGraph]:
        """This graph and every graph nested in it, for a worker to serve: as a node, or called inside a node
        (`sub.invoke()`: a compiled graph the node's function refers to, by a global or closure variable)."""
        out = [self]
        for graph in out:  # grows as it goes: each graph found is looked into in turn
            for node in graph.nodes.values():
                found = [node.subgraph] if node.subgraph is not None else []
                out += [g for g in [*found, *_called_graphs(node.fn)] if g not in out]
        return out

    def invoke(self, input: Any, config: Any = None, **kwargs: Any) -> dict[str, Any]:
        """Inside a node of another graph: run this graph as that node's subgraph and return its final values.

        Its run is a run of its own, started by the node's run; its questions are asked there, under the calling
        node, and the node runs again once it ended (as after an `interrupt()`: calls are matched by order), this
        time getting its values. Should it fail, this raises `CalledGraphFailed`. `config` is accepted for
        LangGraph's signature and unused (the called run gets the calling run's context). Outside a node, start
        a run with `client.start(name, input)` instead."""
        if kwargs:
            raise InvalidInputError(
                f"graph '{self.name}': invoke() takes the input and a config only; got {sorted(kwargs)}"
            )
        return _interrupt.call_graph(self, input)

    async def ainvoke(self, input: Any, config: Any = None, **kwargs: Any) -> dict[str, Any]:
        """`invoke()` for an async node."""
        return self.invoke(input, config, **kwargs)

    def validate_input(self, data: Any) -> dict[str, Any]:
        return self.schema.validate_input(data)

    def check_context(self, context: Any) -> Any:
        """A run's context, checked against `context_schema` and as JSON (one line when it does not fit)."""
        return runtime.context_json(self.context_schema, context, self.name)

    def context_of(self, value: Any) -> Any:
        """The context JSON a run carries, as this graph's nodes see it (`runtime.context`)."""
        return runtime.context_value(self.context_schema, value)

    def check_breakpoints(self, names: Sequence[str] | str | None, what: str) -> list[str] | None:
        return None if names is None else _breakpoints(names, list(self.nodes), what)

    def route(self, source: str, values: dict[str, Any]) -> list[Route]:
        """Where the conditional edges of `source` lead for state `values` (user code):
        node names and `Send` tasks, in the order the routers gave them."""
        state = self.schema.node_input(values)
        targets: list[Route] = []
        for branch in self.branches.get(source, []):
            result = branch.router(state)
            if inspect.isawaitable(result):
                raise GraphValidationError(f"router of '{source}' is async; routers must be plain functions")
            for item in branch.resolve(result, source=source, nodes=list(self.nodes)):
                targets.append(self.packet(item, where=f"router of '{source}'") if isinstance(item, Send) else item)
        self.check_sends([t for t in targets if isinstance(t, SendPacket)], where=f"router of '{source}'")
        return targets

    def check_sends(self, packets: Sequence[SendPacket], *, where: str) -> None:
        """All the args of one step's worth of Sends must travel together (one activity result)."""
        refused = too_large(
            [p.arg for p in packets], MAX_STATE_BYTES, f"the args of the {len(packets)} Sends from {where}"
        )
        if refused:
            raise GraphValidationError(refused)

    def packet(self, send: Send, *, where: str) -> SendPacket:
        """A `Send` as the workflow takes it; one clear error, where it was made, if it names no
        node, names a subgraph, or carries an arg that cannot travel (not JSON, too large)."""
        shown = f"Send({send.node!r}, ...)"
        if not isinstance(send.node, str) or send.node not in self.nodes:
            raise GraphValidationError(
                f"{where} returned {shown}; a Send must name a node of graph '{self.name}' ({', '.join(self.nodes)})"
            )
        if self.nodes[send.node].subgraph is not None:
            raise GraphValidationError(
                f"{where} returned {shown}, but '{send.node}' is a subgraph: hitl runs a subgraph on the "
                "parent's state, not on a Send's arg; send to a plain node, or route to the subgraph by name"
            )
        arg = to_json(send.arg, what=f"{where} returned {shown} whose arg")
        refused = too_large(arg, MAX_STATE_BYTES, f"the arg of {shown} from {where}")
        if refused:
            raise GraphValidationError(refused)
        return SendPacket(node=send.node, arg=arg)

    def __repr__(self) -> str:
        return f"<CompiledGraph {self.name!r} nodes={list(self.nodes)}>"


_NODE_OPTIONS = [
    "retry_policy",
    "timeout",
    "schedule_to_close_timeout",
    "heartbeat_timeout",
    "local",
    "input_schema",
    "rerun",
]
_COMPILE_OPTIONS = ["name", "interrupt_before", "interrupt_after", "notify", "guard", "readers"]
_IGNORED_GRAPH_OPTIONS: dict[str, str] = {
    "input_schema": "a run's input is checked against the state schema",
    "output_schema": "a run returns its whole state",
}
_IGNORED_NODE_OPTIONS: dict[str, str] = {
    "defer": "a node runs in the step it is triggered in",
    "metadata": "nodes carry no metadata",
    "cache_policy": "node results are not cached",
    "error_handler": "a node that fails after its retries fails the run",
    "destinations": "it only draws the graph",
    "trace_policy": "nodes are traced as Temporal activities",
}
_IGNORED_COMPILE_OPTIONS: dict[str, str] = {
    "checkpointer": "Temporal's event history is the checkpoint",
    "store": "there is no long-term store",
    "cache": "node results are not cached",
    "debug": "see each run in the Temporal Web UI or with `hitl history`",
    "transformers": "runs stream no output",
}


_RENAMED = {
    "retry": "retry_policy",
    "input": "input_schema",
    "output": "output_schema",
    "config_schema": "context_schema",
}
"""LangGraph's deprecated spellings, pointed at the current ones."""


def _check_options(what: str, given: dict[str, Any], accepted: list[str], ignored: dict[str, str]) -> None:
    """Refuse an option no one knows (a typo), naming the accepted ones; warn about a
    LangGraph option that hitl accepts and ignores. Options left at their default pass."""
    for key, value in given.items():
        if key in ignored:
            if value is not None and value is not False:
                warnings.warn(
                    f"{what}: hitl ignores LangGraph's option '{key}' ({ignored[key]})", UserWarning, stacklevel=3
                )
            continue
        close = [_RENAMED[key]] if key in _RENAMED else difflib.get_close_matches(key, [*accepted, *ignored], n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise GraphValidationError(
            f"{what} got an unknown option '{key}'; {hint}it accepts {', '.join(accepted)}"
            + (f" (and ignores LangGraph's {', '.join(ignored)})" if ignored else "")
        )


def _called_graphs(fn: Callable[..., Any]) -> list[CompiledGraph]:
    """The compiled graphs a node function refers to (globals and closure variables it names): the graphs it
    may call with `invoke()`, which a worker serving the node's graph serves too."""
    try:
        names = inspect.getclosurevars(fn)
    except (TypeError, ValueError):  # not a plain function (a callable object, a builtin): none found
        return []
    return [v for v in (*names.nonlocals.values(), *names.globals.values()) if isinstance(v, CompiledGraph)]


def _runs_as_child(state: Any) -> Any:
    raise GraphValidationError("a subgraph node runs as a child workflow, not as an activity")


def _check_rerun(name: str, rerun: Any, *, heartbeat: bool, subgraph: bool) -> None:
    """`add_node(rerun=...)`: one of RERUNS, and nothing it contradicts."""
    if rerun not in RERUNS:
        raise GraphValidationError(f"node '{name}': rerun={rerun!r}; use one of {', '.join(map(repr, RERUNS))}")
    if rerun == "local" and subgraph:
        raise GraphValidationError(f"node '{name}': a subgraph runs as a child workflow; drop rerun='local'")
    if rerun == "local" and heartbeat:
        raise GraphValidationError(
            f"node '{name}': a local activity cannot heartbeat; drop heartbeat_timeout or rerun='local'"
        )


def _retry_spec(policy: temporalio.common.RetryPolicy | None) -> RetrySpec:
    if policy is None:
        return RetrySpec()
    return RetrySpec(
        maximum_attempts=policy.maximum_attempts,
        initial_interval_s=policy.initial_interval.total_seconds(),
        backoff_coefficient=policy.backoff_coefficient,
        maximum_interval_s=policy.maximum_interval.total_seconds() if policy.maximum_interval else None,
        non_retryable_error_types=list(policy.non_retryable_error_types or []),
    )


def _entries(entries: Sequence[str] | None, graph: str, option: str, if_empty: str) -> list[str] | None:
    """A declared guard or readers list is a non-empty list of reviewer entries (an identity or `role:NAME`)."""
    if entries is None:
        return None
    shape = f"a list of reviewer entries, e.g. {option}=['alice', 'role:finance']"
    if isinstance(entries, str) or not isinstance(entries, Sequence):
        raise GraphValidationError(f"graph '{graph}': {option} must be {shape}; got {type(entries).__name__}")
    bad = [e for e in entries if not isinstance(e, str) or not e.strip()]
    if bad or not entries:
        what = f"has entries that are not names {bad}" if bad else f"is empty ({if_empty})"
        raise GraphValidationError(f"graph '{graph}': {option} {what}; it must be {shape}")
    return list(entries)


def _breakpoints(names: Sequence[str] | str | None, nodes: list[str], what: str) -> list[str]:
    if names is None:
        return []
    if names == "*":
        return ["*"]
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if "*" in names:
        return ["*"]
    unknown = [n for n in names if n not in nodes]
    if unknown:
        raise InvalidInputError(f"{what} names unknown node(s) {unknown}; nodes are {nodes} or '*'")
    return names


def _first_parameter_type(fn: Callable[..., Any]) -> type | None:
    """The class annotating a node function's first parameter, if any (LangGraph infers the input from it)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
        hints = typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - unresolvable annotations: no inference, the node reads the whole state
        return None
    first = params[0].name if params else None
    hint = hints.get(first) if first else None
    return hint if isinstance(hint, type) else None


INJECTED = ("runtime", "writer")
"""Parameters LangGraph fills in by name (besides `config`): the node's `Runtime` and its stream writer."""


def _parameters(fn: Callable[..., Any]) -> list[inspect.Parameter]:
    try:
        return list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return []


def _wants_config(fn: Callable[..., Any]) -> bool:
    """LangGraph passes `config` to node functions that take a second parameter (other than the ones it
    fills in by name: `runtime`, `writer`)."""
    params = _parameters(fn)
    if any(p.name == "config" for p in params):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 and positional[1].name not in INJECTED


def _injected(fn: Callable[..., Any]) -> tuple[str, ...]:
    """The parameters of `INJECTED` the node function takes by keyword, as LangGraph finds them: by name."""
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in _parameters(fn) if p.name in INJECTED and p.kind in keyword)
