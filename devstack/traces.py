"""Traces on the local stack: without Application Insights, the app's OpenTelemetry spans are kept in
memory (the newest MAX_SPANS) and served under /_devstack/traces, so a developer (and the end-to-end
tests) can see that one change is one trace: intake -> queue -> worker -> contact-center call.

GET /_devstack/traces?traceId=...   the spans, oldest first (all traces without traceId)
DELETE /_devstack/traces            forget them
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Sequence
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from devstack.host import HostRequest, HttpReply, LocalHost, error_reply

ROUTE: Final = "/_devstack/traces"
MAX_SPANS: Final = 5000


class RecentSpans(SpanExporter):
    """An in-memory exporter that keeps only the newest spans (a dev session runs for hours)."""

    def __init__(self, limit: int = MAX_SPANS) -> None:
        self._spans: deque[ReadableSpan] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            self._spans.extend(spans)
        return SpanExportResult.SUCCESS

    def spans(self) -> list[ReadableSpan]:
        with self._lock:
            return list(self._spans)

    def clear(self) -> None:
        with self._lock:
            self._spans.clear()


def span_json(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    parent = span.parent
    return {
        "name": span.name,
        "kind": span.kind.name.lower(),
        "traceId": format(context.trace_id, "032x") if context is not None else None,
        "spanId": format(context.span_id, "016x") if context is not None else None,
        "parentSpanId": format(parent.span_id, "016x") if parent is not None else None,
        "status": span.status.status_code.name.lower(),
        "startTime": span.start_time,
        "endTime": span.end_time,
        "attributes": {key: value for key, value in (span.attributes or {}).items()},
    }


class LocalTraces:
    def __init__(self, exporter: RecentSpans) -> None:
        self.exporter = exporter

    @classmethod
    def install(cls, host: LocalHost) -> LocalTraces:
        """Make the process's tracer provider keep spans in memory and serve them on `host`."""
        exporter = RecentSpans()
        provider = TracerProvider(resource=Resource.create({"service.name": "connector-local"}))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        traces = cls(exporter)
        host.add_host_route(ROUTE, traces.handle_http)
        return traces

    def handle_http(self, request: HostRequest) -> HttpReply:
        if request.path.rstrip("/") != ROUTE:
            return error_reply(404, "notFound", f"Nothing in the local stack serves {request.path}")
        if request.method == "DELETE":
            self.exporter.clear()
            return HttpReply(204)
        if request.method not in ("GET", "HEAD"):
            return HttpReply(405, [("Allow", "DELETE, GET, HEAD")])
        wanted = request.query.get("traceId")
        spans = [span_json(span) for span in self.exporter.spans()]
        if wanted:
            spans = [span for span in spans if span["traceId"] == wanted]
        body = json.dumps({"spans": spans}).encode("utf-8")
        return HttpReply(200, [("Content-Type", "application/json; charset=utf-8")], body)
