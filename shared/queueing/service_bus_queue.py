"""Sync messages (presence changes, contact-center agent events) sent to a sessions-enabled Service
Bus queue with the azure-servicebus SDK.

The Functions output binding cannot set SessionId or MessageId, hence the SDK. One sender is kept
open for the process (opening an AMQP link costs tens of milliseconds, more than the whole budget of a
notification); the SDK sender is not thread-safe, so sends are serialised.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusSender
from azure.servicebus.exceptions import MessageSizeExceededError, ServiceBusError

from shared.operations import telemetry
from shared.presence.exceptions import PresenceQueueUnavailable
from shared.presence.ports import SyncMessage

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/json"


def to_service_bus_message(message: SyncMessage) -> ServiceBusMessage:
    # The W3C trace context of the request that brought the change in: the worker continues it.
    properties: dict[str | bytes, Any] = {"tenantId": message.tenant_id, "schemaVersion": 1}
    properties.update(telemetry.trace_properties())
    return ServiceBusMessage(
        message.to_json(),
        session_id=message.session_id,
        message_id=message.message_id,
        content_type=CONTENT_TYPE,
        subject=message.kind,
        application_properties=properties,
    )


class ServiceBusPresenceQueue:
    def __init__(self, fully_qualified_namespace: str, queue_name: str, credential: Any) -> None:
        self._namespace = fully_qualified_namespace
        self._queue_name = queue_name
        self._credential = credential
        self._client: ServiceBusClient | None = None
        self._sender: ServiceBusSender | None = None
        self._lock = threading.Lock()

    def publish(self, changes: Sequence[SyncMessage]) -> None:
        if not changes:
            return
        with self._lock:
            try:
                sender = self._open_sender()
                batch = sender.create_message_batch()
                for change in changes:
                    message = to_service_bus_message(change)
                    try:
                        batch.add_message(message)
                    except MessageSizeExceededError:
                        sender.send_messages(batch)
                        batch = sender.create_message_batch()
                        batch.add_message(message)
                sender.send_messages(batch)
            except ServiceBusError as exc:
                self._reset()
                logger.warning("Service Bus send to %s failed: %s", self._queue_name, type(exc).__name__)
                raise PresenceQueueUnavailable("the presence queue did not accept the changes") from exc

    def close(self) -> None:
        with self._lock:
            self._reset()

    def _open_sender(self) -> ServiceBusSender:
        if self._sender is None:
            self._client = ServiceBusClient(self._namespace, self._credential, retry_total=2)
            self._sender = self._client.get_queue_sender(self._queue_name)
        return self._sender

    def _reset(self) -> None:
        for closable in (self._sender, self._client):
            if closable is not None:
                try:
                    closable.close()
                except Exception:
                    logger.debug("closing the Service Bus client failed", exc_info=True)
        self._sender = None
        self._client = None
