"""OpenTelemetry tracing, off unless configured: whether it is on, and hitl's spans.

On when the standard environment asks for traces (`OTEL_TRACES_EXPORTER` other than `none`, or an OTLP
endpoint in `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; `OTEL_SDK_DISABLED=true`
turns it off), or when a program hands hitl a tracer provider with `use()`. Off, this module imports
nothing of OpenTelemetry, adds no interceptor, and `span()` costs one function call: the SDK is the
optional extra `hitl[otel]`.

On, Temporal's own `TracingInterceptor` (hitl/client/otel_interceptor.py adds the decision spans) sits on
every hitl client and worker, and hitl opens a span per deciding HTTP request and CLI command (`span()`)
and per node activity.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import temporalio.client

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

    from hitl.client.otel_interceptor import HitlTracingInterceptor

TRACER_NAME = "hitl"

_provider: TracerProvider | None = None
"""The provider hitl traces to, once chosen (by `use()` or from the environment)."""
_interceptor: HitlTracingInterceptor | None = None


def _asked_by_environment() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def enabled() -> bool:
    """Is tracing on in this process? Reads the environment only; imports nothing."""
    return _provider is not None or _asked_by_environment()


def use(provider: TracerProvider | None) -> None:
    """Trace to `provider` (e.g. one with an in-memory exporter in a test), or, with None, go back to
    what the environment says. Clients and workers made afterwards pick it up."""
    global _provider, _interceptor
    _provider, _interceptor = provider, None


def _chosen_provider() -> TracerProvider:
    """The provider to trace to: the one given to `use()`, else an SDK provider the program installed
    globally, else one built from the `OTEL_*` environment (installed globally, so user code's spans in
    nodes join hitl's traces)."""
    global _provider
    if _provider is not None:
        return _provider
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
    except ImportError:
        from hitl.types import HitlError

        raise HitlError(
            "OTEL_* asks for traces but OpenTelemetry's SDK is not installed; pip install 'hitl[otel]' "
            "(or unset OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT)"
        ) from None
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        _provider = current
        return current
    exporter_name = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    exporter: SpanExporter
    if exporter_name == "console":
        exporter = ConsoleSpanExporter()
    elif exporter_name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # endpoint, headers, timeout: OTEL_EXPORTER_OTLP_* (http/protobuf)
    else:
        from hitl.types import InvalidInputError

        raise InvalidInputError(
            f"OTEL_TRACES_EXPORTER={exporter_name!r} is not one hitl builds; use otlp (OTLP over HTTP), console "
            "or none, or install your own TracerProvider before hitl starts"
        )
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "hitl")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def tracer() -> Tracer:
    """hitl's tracer (call only when `enabled()`)."""
    return _chosen_provider().get_tracer(TRACER_NAME)


def interceptor() -> HitlTracingInterceptor:
    """The tracing interceptor for clients and workers (call only when `enabled()`)."""
    global _interceptor
    if _interceptor is None:
        from hitl.client.otel_interceptor import HitlTracingInterceptor

        _interceptor = HitlTracingInterceptor(tracer())
    return _interceptor


def traced(client: temporalio.client.Client) -> temporalio.client.Client:
    """`client` with the tracing interceptor when tracing is on (once); else `client` itself, untouched.
    A worker built on the returned client takes the interceptor too (Temporal passes a client's worker
    interceptors on)."""
    if not enabled():
        return client
    config = client.config()
    if any(type(i).__name__ == "HitlTracingInterceptor" for i in config["interceptors"]):
        return client
    config["interceptors"] = [*config["interceptors"], interceptor()]
    return temporalio.client.Client(**config)


def attribute(value: Any) -> str | int | float | bool | list[str]:
    """An attribute value OpenTelemetry accepts: scalars as they are, lists as lists of text, else text."""
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def flush() -> None:
    """Send the spans still buffered: a process about to leave without interpreter teardown (the CLI) calls it."""
    if _provider is not None:
        _provider.force_flush()


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Span | None]:
    """A span around what follows when tracing is on (current, so Temporal's client spans nest under it);
    without tracing, nothing (None). Attributes with value None are left out."""
    if not enabled():
        yield None
        return
    given = {k.replace("_", "."): attribute(v) for k, v in attributes.items() if v is not None}
    with tracer().start_as_current_span(name, attributes=given) as current:
        yield current
