"""Tracing (issue 29 item 1): a decision is traced from the person who made it, through the workflow that
applied it, to the node it let run; off, nothing of OpenTelemetry is loaded or added.

Spans go to the SDK's in-memory exporter, and, for the CLI (a process of its own), over OTLP/HTTP to a
receiver this file starts on 127.0.0.1, which decodes what it gets with opentelemetry-proto."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import pytest_asyncio
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import hitl
from hitl.client import tracing
from hitl.server import DevServer, free_port
from hitl.types import DecisionRejectedError, HitlError
from hitl.web import NoAuth, create_app
from tests.helpers import cli as cli_run
from tests.hitl_graphs import review

ON_THE_SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on in this process, to memory, for one test."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    try:
        yield exporter
    finally:
        tracing.use(None)
        provider.shutdown()


@pytest_asyncio.fixture(loop_scope="session")
async def traced_client(server: DevServer, spans: InMemorySpanExporter) -> AsyncIterator[hitl.Client]:
    """A client and in-process worker made while tracing is on, on a task queue of their own."""
    c = await hitl.connect(server.address, task_queue=f"traced-{free_port()}", graphs=[review], identity="alice")
    async with c.worker():
        yield c


def named(spans: Sequence[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith(prefix)]


def linked_traces(span: ReadableSpan) -> set[int]:
    return {link.context.trace_id for link in span.links}


@ON_THE_SESSION_LOOP
async def test_a_decision_is_traced_from_the_person_to_the_node_it_let_run(
    traced_client: hitl.Client, spans: InMemorySpanExporter
) -> None:
    run = await traced_client.start("review", {"draft": "d1"})
    await run.wait()
    with pytest.raises(DecisionRejectedError):
        await run.resume("maybe", identity="bob")  # not an accepted answer: refused up front
    with tracing.span("alice approves") as alice:
        assert alice is not None
        await run.resume("approve", identity="alice")
    assert (await run.get_state()).values["status"] == "published"

    done = spans.get_finished_spans()
    alice_trace = alice.get_span_context().trace_id
    decisions = named(done, "hitl.decision:resume")
    applied = [d for d in decisions if d.attributes and d.attributes["hitl.outcome"] == "applied"]
    refused = [d for d in decisions if d.attributes and d.attributes["hitl.outcome"] == "refused"]
    assert len(applied) == 1 and len(refused) == 1, [(d.name, d.attributes) for d in decisions]
    decision = applied[0]
    assert decision.attributes is not None and refused[0].attributes is not None
    assert decision.attributes["hitl.identity"] == "alice"
    assert decision.attributes["hitl.nodes"] == ("review",)
    assert len(decision.attributes["hitl.interrupt_ids"]) == 1  # type: ignore[arg-type]
    assert refused[0].attributes["hitl.identity"] == "bob"
    assert "maybe" in str(refused[0].attributes["hitl.refusal"])
    assert alice_trace in linked_traces(decision)  # applied because of alice's request

    publish = named(done, "hitl.node:review.publish")
    assert len(publish) == 1
    node = publish[0]
    assert node.attributes is not None
    assert node.attributes["hitl.graph"] == "review" and node.attributes["hitl.node"] == "publish"
    assert node.attributes["hitl.run.id"] == run.run_id and isinstance(node.attributes["hitl.step"], int)
    assert decision.context is not None and node.context is not None
    assert node.context.trace_id == decision.context.trace_id  # the run's trace: the decision, then the node
    assert node.start_time is not None and decision.start_time is not None
    assert node.start_time >= decision.start_time
    asked = named(done, "hitl.node:review.review")
    assert asked and asked[0].attributes and asked[0].attributes.get("hitl.interrupted") is True


@ON_THE_SESSION_LOOP
async def test_an_http_decision_is_a_span_the_workflow_links_to(
    traced_client: hitl.Client, spans: InMemorySpanExporter
) -> None:
    run = await traced_client.start("review", {"draft": "d2"})
    await run.wait()
    app = create_app(traced_client, NoAuth("alice"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hitl") as http:
        answered = await http.post(
            f"/threads/{run.run_id}/runs/wait", json={"assistant_id": "review", "command": {"resume": "approve"}}
        )
    assert answered.status_code == 200, answered.text
    done = spans.get_finished_spans()
    requests = named(done, "hitl.http POST")
    assert len(requests) == 1, [s.name for s in done]
    request = requests[0]
    assert request.attributes is not None
    assert request.attributes["http.route"] == "/threads/{thread_id}/runs/wait"
    assert request.attributes["http.response.status_code"] == 200
    assert request.context is not None
    [decision] = [
        d for d in named(done, "hitl.decision:resume") if d.attributes and d.attributes["hitl.outcome"] == "applied"
    ]
    assert request.context.trace_id in linked_traces(decision)
    assert named(done, "hitl.node:review.publish")


def test_tracing_is_off_unless_configured() -> None:
    """Without OTEL_* settings no OpenTelemetry module of hitl's or Temporal's is imported by hitl, its worker
    or a client, and a client gets no interceptor."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    probe = (
        "import sys, json, hitl, hitl.worker, hitl.activities, hitl.cli.entry\n"
        "import temporalio.client\n"
        "from hitl.client import tracing\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'temporalio.contrib.opentelemetry',"
        " 'hitl.client.otel_interceptor')))\n"
        "print(json.dumps({'loaded': loaded, 'enabled': tracing.enabled()}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == {"loaded": [], "enabled": False}
    on = {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}
    out = subprocess.run([sys.executable, "-c", probe], env=on, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["enabled"] is True
    off = {**on, "OTEL_TRACES_EXPORTER": "none"}
    out = subprocess.run([sys.executable, "-c", probe], env=off, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["enabled"] is False


@ON_THE_SESSION_LOOP
async def test_a_client_gets_no_interceptor_when_tracing_is_off(client: hitl.Client) -> None:
    assert not tracing.enabled()
    names = [type(i).__name__ for i in client.temporal.config()["interceptors"]]
    assert "HitlTracingInterceptor" not in names


class _Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver: POST /v1/traces with a protobuf ExportTraceServiceRequest."""

    got: list[ExportTraceServiceRequest]

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
            self.send_response(404)
            self.end_headers()
            return
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.got.append(request)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(b"")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    got: list[ExportTraceServiceRequest] = []
    handler = type("Receiver", (_Receiver,), {"got": got})
    http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_address[1]}", got
    finally:
        http.shutdown()
        http.server_close()


def _received(got: list[ExportTraceServiceRequest]) -> list[tuple[str, dict[str, Any], bytes, list[bytes]]]:
    """Every span received: name, attributes (strings), span id, and the trace ids it links to."""
    found = []
    for request in got:
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                for s in scope.spans:
                    attributes = {a.key: a.value.string_value for a in s.attributes}
                    found.append((s.name, attributes, s.trace_id, [link.trace_id for link in s.links]))
    return found


@ON_THE_SESSION_LOOP
async def test_the_cli_sends_its_decision_span_over_otlp_and_the_run_links_to_it(
    traced_client: hitl.Client,
    spans: InMemorySpanExporter,
    server: DevServer,
    receiver: tuple[str, list[ExportTraceServiceRequest]],
) -> None:
    """`hitl resume` with OTEL_EXPORTER_OTLP_ENDPOINT set exports its span to the receiver; the worker (here,
    tracing to memory) records the decision linked to that span's trace."""
    url, got = receiver
    run = await traced_client.start("review", {"draft": "d3"})
    await run.wait()
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_SERVICE_NAME": "hitl-cli-test"}
    done = await cli_run(
        traced_client,
        *("resume", run.run_id, "--value", '"approve"', "--identity", "carol"),
        env=env,
        task_queue=traced_client.task_queue,
        graphs=("tests.hitl_graphs",),
        process=True,  # a process of its own: this one traces to memory already, and the span must leave by OTLP
    )
    assert done.code == 0, done.err
    received = _received(got)
    cli = [r for r in received if r[0] == "hitl.cli:resume"]
    assert len(cli) == 1, [r[0] for r in received]
    assert cli[0][1]["hitl.identity"] == "carol" and cli[0][1]["hitl.command"] == "resume"
    assert any(r[0].startswith("StartWorkflowUpdate:resume") and r[2] == cli[0][2] for r in received)
    [decision] = [
        d
        for d in named(spans.get_finished_spans(), "hitl.decision:resume")
        if d.attributes and d.attributes["hitl.identity"] == "carol"
    ]
    assert int.from_bytes(cli[0][2], "big") in linked_traces(decision)


def test_an_unknown_exporter_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(HitlError, match="OTEL_TRACES_EXPORTER='zipkin' is not one hitl builds; use otlp"):
        tracing.tracer()


@ON_THE_SESSION_LOOP
async def test_decisions_are_traced_in_the_sandbox_too(server: DevServer, spans: InMemorySpanExporter) -> None:
    """`create_worker(sandboxed=True)`: the decision spans come from the interceptor inside Temporal's sandbox."""
    c = await hitl.connect(server.address, task_queue=f"traced-{free_port()}", graphs=[review], identity="alice")
    async with c.worker(sandboxed=True):
        run = await c.start("review", {"draft": "sandboxed"})
        await run.wait()
        await run.resume("approve", identity="alice")
    decisions = named(spans.get_finished_spans(), "hitl.decision:resume")
    assert [d.attributes["hitl.outcome"] for d in decisions if d.attributes] == ["applied"]
    assert named(spans.get_finished_spans(), "hitl.node:review.publish")
