"""The Service Bus-triggered function that applies presence changes and agent events, one session
(tenant + user) at a time, in order.

An exception abandons the message and Service Bus delivers it again, up to the queue's maximum delivery
count, after which it is dead-lettered with the reason; so only transient failures may raise.

The message's application properties carry the W3C trace context of the request that queued it: the
worker's span continues that trace, so one change is one trace.
"""

from __future__ import annotations

import logging

import azure.functions as func
from opentelemetry.trace import SpanKind

from shared.bootstrap import services
from shared.operations import telemetry

logger = logging.getLogger(__name__)

bp = func.Blueprint()


@bp.function_name("presence_worker")
@bp.service_bus_queue_trigger(
    arg_name="message",
    queue_name="%PRESENCE_QUEUE_NAME%",
    connection="ServiceBusConnection",
    is_sessions_enabled=True,
)
def presence_worker(message: func.ServiceBusMessage) -> None:
    properties = message.application_properties or {}
    tenant_id = properties.get("tenantId")
    tenant = tenant_id if isinstance(tenant_id, str) else None
    delivery_count = message.delivery_count or 1
    with telemetry.span(
        "presence_worker process",
        kind=SpanKind.CONSUMER,
        parent=properties,
        attributes={
            telemetry.TENANT_ID: tenant or "",
            telemetry.MESSAGE_KIND: message.subject or "",
            "messaging.system": "servicebus",
            "messaging.message.id": message.message_id or "",
            "messaging.message.delivery_count": delivery_count,
        },
    ):
        services().presence_worker.handle(
            message.get_body(),
            message_id=message.message_id,
            delivery_count=delivery_count,
            tenant_id=tenant,
        )
