"""Request bodies of the LangGraph-shaped API, as pydantic models.

Fields a LangGraph client may send but hitl cannot honour are declared here and
refused with a line naming them (never silently ignored); fields nobody knows
are refused by `extra="forbid"`. Values LangGraph clients send by default and
that mean what hitl does anyway (`stream_mode="values"`, `multitask_strategy=
"reject"`, ...) are accepted.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hitl._whole import whole_number
from hitl.protocol.limits import shorten
from hitl.web.parts import MODES as STREAM_MODES

LgStatus = Literal["idle", "busy", "interrupted", "error"]
SortBy = Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"]
Breakpoints = Literal["*"] | list[str] | None
MultitaskStrategy = Literal["reject", "enqueue", "interrupt", "rollback"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def unsupported(name: str, why: str) -> ValueError:
    return ValueError(f"hitl does not support '{name}': {why}")


def only(name: str, value: Any, accepted: tuple[Any, ...], why: str) -> Any:
    """Accept a field only at values that change nothing in hitl."""
    if value is not None and value not in accepted:
        raise unsupported(name, why)
    return value


class MetadataFilter(BaseModel):
    """What `metadata` filters on: the run's graph and the node it waits at (in the visibility query), and
    any other key, matched against the metadata a thread was given (hitl/web/threads.py)."""

    model_config = ConfigDict(extra="allow")
    graph_id: str | None = None
    assistant_id: str | None = None
    graph: str | None = None
    node: str | None = None

    @property
    def graph_name(self) -> str | None:
        return self.graph_id or self.assistant_id or self.graph

    @property
    def given(self) -> dict[str, Any]:
        """The keys matched against a thread's own metadata."""
        return dict(self.model_extra or {})


class ThreadSearch(Body):
    status: LgStatus | None = None
    metadata: MetadataFilter | None = None
    values: dict[str, Any] | None = None
    ids: list[str] | None = Field(None, max_length=1000)
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0)
    sort_by: SortBy | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[str] | None = None
    extract: dict[str, str] | None = None

    @field_validator("extract")
    @classmethod
    def _extract(cls, v: Any) -> Any:
        if v:
            raise unsupported("extract", "use select, or read the thread's state")
        return v


class ThreadCount(Body):
    status: LgStatus | None = None
    metadata: MetadataFilter | None = None
    values: dict[str, Any] | None = None


class ThreadCreate(Body):
    thread_id: str | None = Field(None, min_length=1, max_length=200)
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None
    supersteps: list[Any] | None = None
    ttl: Any | None = None
    graph_id: str | None = None

    @field_validator("supersteps")
    @classmethod
    def _supersteps(cls, v: Any) -> Any:
        if v:
            raise unsupported("supersteps", "a thread's state comes from its run's input; start a run instead")
        return v

    @field_validator("ttl")
    @classmethod
    def _ttl(cls, v: Any) -> Any:
        if v is not None:
            raise unsupported("ttl", "runs live until they end; retention is the Temporal namespace's setting")
        return v


class ThreadPatch(Body):
    metadata: dict[str, Any] | None = None
    ttl: Any | None = None

    @field_validator("ttl")
    @classmethod
    def _ttl(cls, v: Any) -> Any:
        if v is not None:
            raise unsupported("ttl", "a thread lives until it is deleted; run retention is the namespace's setting")
        return v


class StateUpdate(Body):
    values: dict[str, Any] | None = None
    as_node: str | None = None
    checkpoint: dict[str, Any] | None = None
    checkpoint_id: str | None = None

    @field_validator("checkpoint", "checkpoint_id")
    @classmethod
    def _checkpoint(cls, v: Any, info: Any) -> Any:
        if v:
            raise unsupported(info.field_name, "edits apply to the run's current state; to edit an older step, fork it")
        return v


class ClaimBody(Body):
    """Claim, release or delegate a pending question (hitl's own endpoint; LangGraph has none)."""

    action: Literal["claim", "release", "delegate"] = "claim"
    interrupt_id: str | None = Field(None, min_length=1, max_length=64)
    to: str | None = Field(None, min_length=1, max_length=200)
    ttl_seconds: int = Field(1800, ge=1, le=30 * 86400)


class HistoryRequest(Body):
    limit: int = Field(10, ge=1, le=1000)
    before: str | dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: dict[str, Any] | None = None
    select: list[str] | None = None

    @field_validator("metadata", "checkpoint")
    @classmethod
    def _no_filters(cls, v: Any, info: Any) -> Any:
        if v:
            raise unsupported(
                info.field_name, "history lists a run's checkpoints newest first; page with limit and before"
            )
        return v

    @field_validator("before")
    @classmethod
    def _before(cls, v: Any) -> Any:
        raw = v.get("checkpoint_id") if isinstance(v, dict) else v
        if raw not in (None, "") and whole_number(raw) is None:
            raise ValueError(
                f"'{shorten(raw, 40)}' is not a checkpoint id of this thread (they are step numbers: ASCII digits)"
            )
        return v

    @property
    def before_step(self) -> int | None:
        raw = self.before.get("checkpoint_id") if isinstance(self.before, dict) else self.before
        return None if raw in (None, "") else whole_number(raw)


class CommandBody(Body):
    """LangGraph's `Command`: `resume` (one value or `{interrupt_id: value}`), `update`, `goto`."""

    resume: Any = None
    update: dict[str, Any] | None = None
    goto: str | list[str] | None = None

    @field_validator("update", mode="before")
    @classmethod
    def _update(cls, v: Any) -> Any:
        if isinstance(v, list):
            raise unsupported("command.update", "a list of (key, value) pairs; send a JSON object of state keys")
        return v

    @field_validator("goto", mode="before")
    @classmethod
    def _goto(cls, v: Any) -> Any:
        items = v if isinstance(v, list) else [v]
        if any(isinstance(g, dict) for g in items):
            raise unsupported("command.goto", "Send objects; name the node(s) to continue at")
        return v

    @property
    def has_resume(self) -> bool:
        return "resume" in self.model_fields_set


class RunCreate(Body):
    assistant_id: str = Field(min_length=1, max_length=200)
    input: dict[str, Any] | None = None
    command: CommandBody | None = None
    interrupt_before: Breakpoints = None
    interrupt_after: Breakpoints = None
    metadata: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    webhook: str | None = None
    multitask_strategy: MultitaskStrategy | None = None
    """What to do when the thread is running a step (hitl/web/api.py `busy_thread`)."""
    checkpoint: dict[str, Any] | None = None
    checkpoint_id: str | None = None
    """Taken on a run that goes on from the thread's head (as `useStream` sends it); another one is refused."""
    checkpoint_during: bool | None = None
    durability: str | None = None
    if_not_exists: Literal["create", "reject"] | None = None
    on_disconnect: str | None = None
    on_completion: str | None = None
    after_seconds: float | None = None
    stream_mode: str | list[str] | None = None
    stream_subgraphs: bool | None = None
    """Taken either way: a subgraph runs as its own run (thread), streamed on its own; the parent's stream
    carries the parent's steps."""
    stream_resumable: bool | None = None
    """Taken either way (front-ends send it): every run stream can be rejoined (GET
    /threads/{id}/runs/{run_id}/stream with Last-Event-ID), rebuilt from the run's history."""
    feedback_keys: list[str] | None = None
    langsmith_tracer: Any | None = None
    strict_resume: bool | None = None

    @model_validator(mode="after")
    def _honourable(self) -> RunCreate:
        refuse = {
            "metadata": (self.metadata, "runs carry no free-form metadata"),
            "webhook": (self.webhook, "use the graph's notify hook (compile(notify=...))"),
            "checkpoint_during": (
                self.checkpoint_during is not None or None,
                "every step is checkpointed in Temporal's history",
            ),
            "after_seconds": (self.after_seconds, "runs start at once"),
            "feedback_keys": (self.feedback_keys, "there is no feedback store"),
            "langsmith_tracer": (self.langsmith_tracer, "there is no LangSmith tracing"),
        }
        for name, (value, why) in refuse.items():
            if value:
                raise unsupported(name, why)
        only("durability", self.durability, ("sync",), "every step is durable in Temporal before the next starts")
        only(
            "on_disconnect",
            self.on_disconnect,
            ("continue", "cancel"),
            "'cancel' cancels the run when its stream's client goes away before it pauses or ends; "
            "'continue' leaves it running",
        )
        only("on_completion", self.on_completion, ("keep",), "runs are kept; retention is the namespace's setting")
        modes = [self.stream_mode] if isinstance(self.stream_mode, str) else (self.stream_mode or [])
        bad = [m for m in modes if m not in STREAM_MODES]
        if bad:
            raise unsupported(f"stream_mode '{bad[0]}'", f"the stream modes are {', '.join(STREAM_MODES)}")
        if self.config:
            extra = {k for k in self.config if k != "configurable"} | {
                k for k in (self.config.get("configurable") or {}) if k not in ("thread_id",)
            }
            if extra:
                raise unsupported(
                    f"config.{sorted(extra)[0]}", "graphs take their input as state; nothing is configurable per run"
                )
        self.checkpoint_step  # noqa: B018 -- a checkpoint id that names no step is refused here, before anything is read
        if self.command is not None and self.input == {}:
            self.input = None  # front-ends send `input: {}` beside an answer: nothing to start with
        if self.command is not None and self.input is not None:
            raise ValueError("send either input (start a run) or command (answer it), not both")
        return self

    @property
    def checkpoint_step(self) -> int | None:
        """The step the run request names as its thread's head (`checkpoint_id`, or `checkpoint.checkpoint_id`)."""
        raw = self.checkpoint_id or (self.checkpoint or {}).get("checkpoint_id")
        if raw in (None, ""):
            return None
        step = whole_number(raw)
        if step is None:
            raise ValueError(
                f"checkpoint id '{shorten(raw, 40)}' is not a checkpoint of this thread "
                "(they are step numbers: ASCII digits, as the thread's state gives them)"
            )
        return step


class AssistantSearch(Body):
    """`POST /assistants/search`: the graphs this server serves."""

    graph_id: str | None = None
    metadata: dict[str, Any] | None = None
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0)
    name: str | None = None
    sort_by: str | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[str] | None = None


class BatchResume(Body):
    """One answer to many waiting runs (hitl's own endpoint; LangGraph Server has none).

    Which runs: `run_ids`, or every waiting run matching `graph`, `node` and
    `question` (words of the question). Each run applies `value` once to the one
    question it waits on (at `node`, if given); the same `batch_id` sent again
    applies nothing twice."""

    run_ids: list[str] | None = Field(None, min_length=1, max_length=1000)
    graph: str | None = None
    node: str | None = None
    question: str | None = Field(None, min_length=1, max_length=200)
    value: Any = Field(..., description="the answer each run gets (checked by each run against its question)")
    batch_id: str | None = Field(None, description="resend a batch under its id: nothing is applied twice")
    dry_run: bool = False
    concurrency: int = Field(8, ge=1, le=64)

    @model_validator(mode="after")
    def _which(self) -> BatchResume:
        if self.run_ids is None and not (self.graph or self.node or self.question):
            raise ValueError("say which runs: run_ids, or a filter (graph, node, question)")
        if self.run_ids is not None and self.graph:
            raise ValueError("pass run_ids or a graph filter, not both (node and question narrow run_ids)")
        return self
