"""Who is serving a task queue, and whether they hold this client's keys.

Temporal accepts a run or a decision whether or not any worker will ever take
it, and a worker that cannot decrypt a run only says so in its own log. So a
client asks the server which workers polled the task queue lately (each worker
advertises the fingerprints of its keys in its Temporal identity) and refuses,
in one line and before sending anything, what no live worker could handle.
"""

from __future__ import annotations

import asyncio
import re
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone

import temporalio.client
import temporalio.service
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import PollerInfo, TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetWorkflowExecutionHistoryReverseRequest

from hitl._temporal_errors import namespace_missing, read_with_retries
from hitl._whole import whole_number
from hitl.payloads.codec import ClaimCheckCodec, ClaimCheckError, EncryptionCodec, encryption, key_fingerprints
from hitl.protocol.wire import RUN_PATCHES
from hitl.types import HitlError, KeyMismatchError, NoWorkerError

LIVE_SECONDS = 70.0
"""A live worker starts a long poll at least every minute; the server keeps listing
a dead one for minutes, with the time of its last poll."""

STARTUP_SECONDS = 5.0
"""How long to look again for a worker that was just started and has not polled yet."""

CACHE_SECONDS = 5.0
"""A passed check holds this long, so a loop of decisions costs one RPC per 5 s."""

MARKER = "hitl-keys="
PATCHES_MARKER = "hitl-patches="
"""A worker's identity names how many of `RUN_PATCHES` it has (`hitl-patches=N`: the first N)."""
CLAIM_CHECK_MARKER = "hitl-claim-check"
"""A worker's identity says it reads and writes claim-checked payloads (HITL_CLAIM_CHECK is set there)."""

_checks: weakref.WeakKeyDictionary[
    temporalio.client.Client, dict[tuple[str, bool], tuple[float, asyncio.Future[list[WorkerInfo]]]]
] = weakref.WeakKeyDictionary()


@dataclass
class WorkerInfo:
    """A worker as the server lists it on a task queue (dead ones too, for a few minutes)."""

    identity: str
    keys: list[str] | None
    """Fingerprints of the keys it holds; None for a worker that does not say (an older hitl)."""
    live: bool
    """It polled within LIVE_SECONDS."""
    patches: int = 0
    """How many of `RUN_PATCHES` it has (0 for a worker that does not say: an older hitl)."""
    claim_check: bool = False
    """It has a claim-check store (no worker without one, an older hitl too, can read a claim-checked value)."""
    polled_at: datetime | None = None
    """When it last started a poll, by the server's clock (compared only with another listing's)."""


def worker_identity(client: temporalio.client.Client) -> str:
    """The Temporal identity a worker polls with: the client's, plus the patches it has and the keys it holds."""
    identity = f"{client.identity} {PATCHES_MARKER}{len(RUN_PATCHES)}"
    if isinstance(client.data_converter.payload_codec, ClaimCheckCodec):
        identity += f" {CLAIM_CHECK_MARKER}"
    keys = key_fingerprints(client.data_converter.payload_codec)
    if keys is None:
        return identity
    return f"{identity} {MARKER}{','.join(keys) or 'none'}"


def run_patches(workers: list[WorkerInfo]) -> list[str]:
    """The patches a new run may have from its start (`RunInput.patches`): those every live worker has.

    A run that lists a patch must never be served by a worker without it: such a worker would write the
    patch's marker, which a worker honouring the list does not expect on replay. So while an older worker
    still polls (an upgrade under way), new runs list only what it has too, and take the rest by marker."""
    return list(RUN_PATCHES[: min((w.patches for w in workers if w.live), default=0)])


async def check_workers(client: temporalio.client.Client, task_queue: str, *, queue: bool = False) -> list[WorkerInfo]:
    """Refuse (NoWorkerError, KeyMismatchError) what no live worker on `task_queue` could handle; return
    the workers seen.

    With `queue`, a decision may wait in the run's history for a worker, so only keys
    are checked. Concurrent callers share one check; a passed one holds CACHE_SECONDS.
    """
    checks = _checks.setdefault(client, {})
    started, check = checks.get((task_queue, queue), (0.0, None))
    if check is None or not _reusable(check, started):
        started, check = time.monotonic(), asyncio.ensure_future(_check(client, task_queue, queue))
        checks[(task_queue, queue)] = (started, check)
    return await asyncio.shield(check)


def _reusable(check: asyncio.Future[list[WorkerInfo]], started: float) -> bool:
    """A check in flight is shared; a passed one is reused while fresh; a failed one never."""
    if not check.done():
        return True
    return not check.cancelled() and check.exception() is None and time.monotonic() - started < CACHE_SECONDS


async def _check(client: temporalio.client.Client, task_queue: str, queue: bool) -> list[WorkerInfo]:
    """Liveness first (a worker just started gets STARTUP_SECONDS to poll), then one helper per key rule."""
    where = f"task queue '{task_queue}' on namespace '{client.namespace}'"
    seen = await list_workers(client, task_queue)
    deadline = time.monotonic() + STARTUP_SECONDS
    while not queue and not any(w.live for w in seen) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        seen = await list_workers(client, task_queue)
    live = [w for w in seen if w.live]
    if not live and not queue:
        raise NoWorkerError(
            f"no worker is polling {where} (checked just now); nothing was sent. Start one with `hitl worker` "
            "(or `hitl dev`), or send a decision with --queue to apply it when a worker is back"
        )
    _refuse_without_store(client, live or seen, where)
    codec = encryption(client.data_converter.payload_codec)
    if key_fingerprints(codec) is None:
        return seen  # not hitl's encryption: nothing here to judge
    mine = (codec.current, codec.fingerprints[codec.current]) if isinstance(codec, EncryptionCodec) else None
    judged = [w for w in (live or seen) if w.keys is not None]  # none live (queueing): the last ones seen
    for rule in (_keyless_client, _keyless_worker, _key_not_held):
        problem = rule(mine, judged, where)
        if problem:
            raise KeyMismatchError(f"{problem}; nothing was sent")
    return seen


def _refuse_without_store(client: temporalio.client.Client, workers: list[WorkerInfo], where: str) -> None:
    """A claim-checking client's big values would stall a run on a worker with no store to read them from."""
    codec = client.data_converter.payload_codec
    bare = [w.identity for w in workers if not w.claim_check]
    if isinstance(codec, ClaimCheckCodec) and bare:
        raise ClaimCheckError(
            f"this client keeps values over {codec.threshold} bytes in the claim-check store {codec.store.url} but "
            f"worker '{bare[0]}' on {where} has none and could not read them: give every worker the same "
            "HITL_CLAIM_CHECK; nothing was sent"
        )


def _keyless_client(mine: tuple[str, str] | None, workers: list[WorkerInfo], where: str) -> str | None:
    """A client without a key must never write plaintext into runs whose workers encrypt."""
    held = sorted({k for w in workers for k in w.keys or []})
    if mine is None and held:
        return (
            f"this client has no encryption key but the workers on {where} encrypt (key fingerprints "
            f"{', '.join(held)}): set HITL_ENCRYPTION_KEY or HITL_ENCRYPTION_KEY_FILE as they do"
        )
    return None


def _keyless_worker(mine: tuple[str, str] | None, workers: list[WorkerInfo], where: str) -> str | None:
    """An encrypting client's run would stall on a worker that holds no key."""
    bare = [w.identity for w in workers if not w.keys]
    if mine is not None and bare:
        return (
            f"this client encrypts with key '{mine[0]}' (fingerprint {mine[1]}) but worker '{bare[0]}' on {where} "
            "holds no key: give every worker HITL_ENCRYPTION_KEY or HITL_ENCRYPTION_KEY_FILE"
        )
    return None


def _key_not_held(mine: tuple[str, str] | None, workers: list[WorkerInfo], where: str) -> str | None:
    """An encrypting client's run would stall if no worker holds its current key."""
    if mine is not None and workers and not any(mine[1] in (w.keys or []) for w in workers):
        held = sorted({k for w in workers for k in w.keys or []})
        return (
            f"this client encrypts with key '{mine[0]}' (fingerprint {mine[1]}) but no live worker on {where} "
            f"holds it (they hold {', '.join(held)}): client and worker use different keys"
        )
    return None


async def list_workers(client: temporalio.client.Client, task_queue: str) -> list[WorkerInfo]:
    """Workers the server lists as polling `task_queue` for workflow tasks (for minutes after they die)."""
    try:
        request = DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
        response = await read_with_retries(lambda: client.workflow_service.describe_task_queue(request))
    except temporalio.service.RPCError as e:
        raise namespace_missing(client, e) or HitlError(
            f"cannot check the workers of task queue '{task_queue}' on namespace '{client.namespace}': {e.message}"
        ) from None
    now = datetime.now(timezone.utc)
    return [
        WorkerInfo(
            p.identity,
            advertised_keys(p.identity),
            _age(p, now) <= LIVE_SECONDS,
            advertised_patches(p.identity),
            advertised_claim_check(p.identity),
            p.last_access_time.ToDatetime(timezone.utc),
        )
        for p in response.pollers
    ]


def polled_since(before: list[WorkerInfo], after: list[WorkerInfo]) -> bool:
    """Did any worker start a poll between two listings of a task queue (or a new worker appear)?

    The sure sign of a live worker when a decision finds none taking it: the server lists a killed
    worker for minutes with the time of its last poll, and a live idle one may hold one long poll for
    a minute, so neither that time nor its age tells them apart; a poll started since an earlier
    listing does. Both times are the server's, so client clocks do not matter."""
    last = {w.identity: w.polled_at for w in before}
    for w in after:
        seen = last.get(w.identity)
        if w.identity not in last or (w.polled_at is not None and (seen is None or w.polled_at > seen)):
            return True
    return False


def _age(poller: PollerInfo, now: datetime) -> float:
    return (now - poller.last_access_time.ToDatetime(timezone.utc)).total_seconds()


def advertised_keys(identity: str) -> list[str] | None:
    """The key fingerprints a worker's identity names ([] for none); None if it names none at all."""
    found = re.search(rf"\b{MARKER}(\S+)", identity)
    if not found:
        return None
    return [] if found.group(1) == "none" else found.group(1).split(",")


def advertised_patches(identity: str) -> int:
    """How many of `RUN_PATCHES` a worker's identity says it has (0 when it does not say)."""
    found = re.search(rf"\b{PATCHES_MARKER}(\d+)\b", identity)
    return (whole_number(found.group(1)) or 0) if found else 0


async def wait_until_polling(
    client: temporalio.client.Client, task_queue: str, identity: str, timeout: float = 10.0
) -> None:
    """Return once the server lists a live poller with `identity`, so a check made right
    after a worker starts sees it (and its keys). Best effort: gives up quietly."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if any(w.identity == identity and w.live for w in await list_workers(client, task_queue)):
                return
        except HitlError:
            return
        await asyncio.sleep(0.1)


def explaining(client: temporalio.client.Client) -> temporalio.client.Client:
    """`client`, or the same connection with `_ExplainFailingTask` installed once."""
    config = client.config()
    if any(isinstance(i, _ExplainFailingTask) for i in config["interceptors"]):
        return client
    config["interceptors"] = [
        *config["interceptors"],
        _ExplainFailingTask(config["service_client"], config["namespace"]),
    ]
    return temporalio.client.Client(**config)


class _ExplainFailingTask(temporalio.client.Interceptor):
    """Temporal refuses a query on a run whose workflow task keeps failing (e.g. on a
    worker holding another key) without saying why: "Workflow Task in failed state",
    or a timeout while a retry is in flight. The reason is in the run's history: show it."""

    def __init__(self, service: temporalio.service.ServiceClient, namespace: str) -> None:
        self.service, self.namespace = service, namespace

    def intercept_client(self, next: temporalio.client.OutboundInterceptor) -> temporalio.client.OutboundInterceptor:
        return _ExplainingOutbound(next, self)


class _ExplainingOutbound(temporalio.client.OutboundInterceptor):
    def __init__(self, next: temporalio.client.OutboundInterceptor, explain: _ExplainFailingTask) -> None:
        super().__init__(next)
        self.explain = explain

    async def query_workflow(self, input: temporalio.client.QueryWorkflowInput) -> object:
        try:
            return await super().query_workflow(input)
        except temporalio.service.RPCError:
            reason = await self._failing_task(input.id)
            if reason is None:
                raise
            raise HitlError(f"run '{input.id}' cannot answer: its workflow task fails: {reason}") from None

    async def _failing_task(self, run_id: str) -> str | None:
        return await failing_task(self.explain.service, self.explain.namespace, run_id)


async def failing_task(service: temporalio.service.ServiceClient, namespace: str, run_id: str) -> str | None:
    """The first line of the failure a run's workflow task is stuck on, if it is stuck (a worker is alive
    but cannot run the run's code on what it holds), else None."""
    try:
        response = await service.workflow_service.get_workflow_execution_history_reverse(
            GetWorkflowExecutionHistoryReverseRequest(
                namespace=namespace,
                execution=WorkflowExecution(workflow_id=run_id),
                maximum_page_size=10,
            )
        )
    except temporalio.service.RPCError:
        return None
    for event in response.history.events:
        if event.HasField("workflow_task_completed_event_attributes"):
            return None
        if event.HasField("workflow_task_failed_event_attributes"):
            return (event.workflow_task_failed_event_attributes.failure.message.splitlines() or ["(no message)"])[0]
    return None


def advertised_claim_check(identity: str) -> bool:
    """Whether a worker's identity says it has a claim-check store (a whole word of it)."""
    return re.search(rf"(?<!\S){CLAIM_CHECK_MARKER}(?!\S)", identity) is not None
