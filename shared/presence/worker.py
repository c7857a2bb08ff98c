"""What the Service Bus-triggered function does with one queue message.

Messages that can never be applied (unreadable, unknown kind) are logged and completed: retrying them
ten times would only delay the agent's later messages in the same session. Transient failures raise, so
Service Bus delivers the message again and dead-letters it after the queue's maximum delivery count.
"""

from __future__ import annotations

import json
import logging
from typing import Protocol

from shared.operations.ports import ChangeOutcome, NoReports, OperationsReporter
from shared.presence.exceptions import InvalidPresenceMessage
from shared.presence.messages import SCHEMA as PRESENCE_CHANGE
from shared.presence.messages import PresenceChange

logger = logging.getLogger(__name__)

# The presence queue's maxDeliveryCount (infra/modules/service-bus.bicep): a message that fails this
# delivery is dead-lettered by Service Bus.
MAX_DELIVERY_COUNT = 10


class MessageHandler(Protocol):
    def __call__(self, body: bytes, *, message_id: str | None, delivery_count: int) -> None: ...


def message_kind(body: bytes) -> str:
    """The `schema` of a queue message; InvalidPresenceMessage when the body is no JSON object."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidPresenceMessage("the queue message is not JSON") from exc
    kind = document.get("schema") if isinstance(document, dict) else None
    if not isinstance(kind, str):
        raise InvalidPresenceMessage("the queue message names no schema")
    return kind


class PresenceWorker:
    """Routes each message kind to its handler."""

    def __init__(
        self,
        handlers: dict[str, MessageHandler],
        *,
        reporter: OperationsReporter | None = None,
        max_delivery_count: int = MAX_DELIVERY_COUNT,
    ) -> None:
        if PRESENCE_CHANGE not in handlers:
            raise ValueError("the worker needs a handler for presence changes")
        self._handlers = dict(handlers)
        self._reporter: OperationsReporter = reporter if reporter is not None else NoReports()
        self._max_delivery_count = max_delivery_count

    def handle(
        self,
        body: bytes,
        *,
        message_id: str | None,
        delivery_count: int,
        tenant_id: str | None = None,
    ) -> None:
        """`tenant_id`: the message's tenantId application property, for the dead-letter report."""
        kind = "unknown"
        try:
            kind = message_kind(body)
            handler = self._handlers.get(kind)
            if handler is None:
                raise InvalidPresenceMessage(f"no handler for queue messages of kind {kind!r}")
            handler(body, message_id=message_id, delivery_count=delivery_count)
        except InvalidPresenceMessage as exc:
            logger.error("queue message %s dropped: %s", message_id, exc.message)
            self._reporter.change(tenant_id or "unknown", ChangeOutcome.DROPPED, "invalidMessage")
        except Exception:
            if delivery_count >= self._max_delivery_count:
                # This was the last delivery: Service Bus moves the message to the dead-letter queue.
                logger.error(
                    "tenant %s: queue message %s (%s) failed its last delivery (%s); it is dead-lettered",
                    tenant_id,
                    message_id,
                    kind,
                    delivery_count,
                )
                self._reporter.dead_lettered(tenant_id, kind)
            raise


class TeamsPresenceRecorder(Protocol):
    def record_teams_presence(self, tenant_id: str, change: PresenceChange) -> bool: ...


class RecordTeamsPresence:
    """Keeps the newest Teams presence of each agent (what the agents list shows)."""

    def __init__(self, recorder: TeamsPresenceRecorder) -> None:
        self._recorder = recorder

    def __call__(self, body: bytes, *, message_id: str | None, delivery_count: int) -> None:
        change = PresenceChange.from_json(body)
        recorded = self._recorder.record_teams_presence(change.tenant_id, change)
        logger.info(
            "tenant %s user %s: Teams presence %s/%s %s (delivery %s)",
            change.tenant_id,
            change.user_id,
            change.availability,
            change.activity,
            "recorded" if recorded else "ignored (stale, duplicate or not an agent)",
            delivery_count,
        )
