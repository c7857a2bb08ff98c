"""OpenTelemetry for the connector: one Teams change (or contact-center event) is one trace, from the
request that brought it in, through the Service Bus message, into the worker and its Graph and
contact-center calls.

W3C trace context (`traceparent`, `tracestate`) travels in the message's application properties, the
place Service Bus leaves for them; HTTP calls to the contact center carry it as headers. With
APPLICATIONINSIGHTS_CONNECTION_STRING set, `configure_telemetry` installs the Azure Monitor distro, which
exports these spans, the metrics of metrics.py and the logs to Application Insights. Without it the
OpenTelemetry API stays a no-op (or whatever provider a test or the local stack installed).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

logger = logging.getLogger(__name__)

TRACER_NAME: Final = "teams-contact-center-connector"
CONNECTION_STRING_SETTING: Final = "APPLICATIONINSIGHTS_CONNECTION_STRING"
# The W3C names, as they travel in HTTP headers and Service Bus application properties.
TRACEPARENT: Final = "traceparent"
TRACESTATE: Final = "tracestate"
# Span attributes: ids only, never names, UPNs or phone numbers.
TENANT_ID: Final = "connector.tenant_id"
AGENT_ID: Final = "connector.agent_id"
USER_ID: Final = "connector.user_id"
SUBSCRIPTION_ID: Final = "connector.subscription_id"
MESSAGE_KIND: Final = "connector.message_kind"

_configured = threading.Event()
_lock = threading.Lock()


def configure_telemetry(connection_string: str | None) -> bool:
    """Install the Azure Monitor distro once per process when a connection string is set; True when it
    is (now or before) installed. The Function App's managed identity authenticates the export
    (APPLICATIONINSIGHTS_AUTHENTICATION_STRING, read by the distro)."""
    if not connection_string:
        return False
    with _lock:
        if _configured.is_set():
            return True
        from azure.identity import ManagedIdentityCredential
        from azure.monitor.opentelemetry import configure_azure_monitor

        client_id = os.environ.get("AZURE_CLIENT_ID") or None
        configure_azure_monitor(
            connection_string=connection_string,
            credential=ManagedIdentityCredential(client_id=client_id),
            logger_name="shared",
        )
        _configured.set()
        logger.info("telemetry: exporting to Application Insights")
    return True


def tracer() -> trace.Tracer:
    # Asked for on each use: a provider installed after import (distro, test, local stack) is honoured.
    return trace.get_tracer(TRACER_NAME)


def inject(carrier: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Write the current trace context into `carrier` (message properties, HTTP headers)."""
    propagate.inject(carrier)
    return carrier


def trace_properties() -> dict[str, str]:
    """The current trace context as Service Bus application properties (empty when nothing is traced)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {name: carrier[name] for name in (TRACEPARENT, TRACESTATE) if carrier.get(name)}


def _carrier(properties: Mapping[Any, Any] | None) -> dict[str, str]:
    """Application properties as text (the SDK may hand keys and values back as bytes)."""
    carrier: dict[str, str] = {}
    for name, value in (properties or {}).items():
        key = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
        if key.lower() in (TRACEPARENT, TRACESTATE):
            carrier[key.lower()] = (
                value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            )
    return carrier


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: Mapping[Any, Any] | None = None,
    attributes: Mapping[str, str | int | bool] | None = None,
) -> Iterator[Span]:
    """A span around a piece of work; `parent`: a carrier (application properties or HTTP headers) whose
    trace context the span continues (the current context when it holds none). An exception marks the
    span failed and propagates."""
    token = None
    if parent is not None:
        carrier = _carrier(parent)
        if carrier:
            token = otel_context.attach(propagate.extract(carrier))
    try:
        with tracer().start_as_current_span(
            name, kind=kind, attributes=dict(attributes or {}), record_exception=True
        ) as current:
            try:
                yield current
            except Exception as exc:
                current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise
    finally:
        if token is not None:
            otel_context.detach(token)


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, for log lines; None outside a trace."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


class TraceIdFilter(logging.Filter):
    """Adds `trace` (" trace=<32 hex>" inside a trace, "" outside) to every record, so a log format
    can carry the trace id of the change a line is about. (In Azure the distro links each exported
    log line to its trace by itself: operation_Id is the trace id.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        trace_id = current_trace_id()
        record.trace = f" trace={trace_id}" if trace_id else ""
        return True
