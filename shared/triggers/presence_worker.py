"""The Service Bus-triggered function that applies presence changes and agent events, one session
(tenant + user) at a time, in order.

An exception abandons the message and Service Bus delivers it again, up to the queue's maximum delivery
count, after which it is dead-lettered with the reason; so only transient failures may raise.
"""

from __future__ import annotations

import logging

import azure.functions as func

from shared.bootstrap import services

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
    services().presence_worker.handle(
        message.get_body(),
        message_id=message.message_id,
        delivery_count=message.delivery_count or 1,
    )
