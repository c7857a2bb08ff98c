"""W3C trace context in and out: a span continues the trace a carrier names, the queue message and the
contact-center request carry it on, and the Azure Monitor distro is installed only with a connection
string. (The OpenTelemetry API propagates context even without an SDK installed, so these tests need
no tracer provider; tests/e2e/test_operations.py follows one trace through the whole local stack.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from shared.operations import telemetry
from shared.presence.messages import PresenceChange
from shared.queueing.service_bus_queue import to_service_bus_message

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
CHANGE = PresenceChange(
    "72f988bf-86f1-41af-91ab-2d7cd011db47",
    "9c4e1b2a-0000-4000-8000-000000000001",
    "Busy",
    "InACall",
    "1",
    datetime(2026, 12, 2, 10, 0, tzinfo=UTC),
    "sub-1",
)


def test_outside_a_trace_nothing_is_propagated() -> None:
    assert telemetry.trace_properties() == {}
    assert telemetry.current_trace_id() is None
    assert "traceparent" not in (to_service_bus_message(CHANGE).application_properties or {})


@pytest.mark.parametrize(
    "carrier",
    [{"traceparent": PARENT}, {"Traceparent": PARENT}, {b"traceparent": PARENT.encode()}],
    ids=["http-header", "any-case", "amqp-bytes"],
)
def test_a_span_continues_the_trace_its_carrier_names(carrier: dict[Any, Any]) -> None:
    with telemetry.span("presence_worker process", parent=carrier):
        assert telemetry.current_trace_id() == TRACE_ID
        # The queue message and the contact-center request carry it on
        properties = to_service_bus_message(CHANGE).application_properties
        assert properties is not None
        assert str(properties["traceparent"]).split("-")[1] == TRACE_ID
        request = httpx.Request("POST", "https://cc.example.com/hook")
        telemetry.inject(request.headers)
        assert request.headers["traceparent"].split("-")[1] == TRACE_ID
    # AND the context is detached afterwards
    assert telemetry.current_trace_id() is None


def test_an_exception_in_a_span_propagates_and_detaches_the_context() -> None:
    with pytest.raises(RuntimeError, match="boom"), telemetry.span("x", parent={"traceparent": PARENT}):
        raise RuntimeError("boom")
    assert telemetry.current_trace_id() is None


def test_the_log_filter_adds_the_trace_id() -> None:
    import logging

    record = logging.LogRecord("shared", logging.INFO, __file__, 1, "m", None, None)
    telemetry.TraceIdFilter().filter(record)
    assert getattr(record, "trace") == ""  # noqa: B009 - set by the filter
    with telemetry.span("x", parent={"traceparent": PARENT}):
        telemetry.TraceIdFilter().filter(record)
    assert getattr(record, "trace") == f" trace={TRACE_ID}"  # noqa: B009


def test_the_distro_is_installed_only_with_a_connection_string(monkeypatch: pytest.MonkeyPatch) -> None:
    import azure.monitor.opentelemetry as distro

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(distro, "configure_azure_monitor", lambda **kwargs: calls.append(kwargs))
    monkeypatch.setattr(telemetry, "_configured", type(telemetry._configured)())
    assert telemetry.configure_telemetry(None) is False
    assert telemetry.configure_telemetry("") is False
    assert calls == []
    connection = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://x"
    assert telemetry.configure_telemetry(connection) is True
    assert telemetry.configure_telemetry(connection) is True  # once per process
    assert len(calls) == 1
    assert calls[0]["connection_string"] == connection
    assert calls[0]["logger_name"] == "shared"
    assert calls[0]["credential"] is not None
