"""The presence queue when no Service Bus namespace is configured: every publish fails loudly, so the
notification route answers 503 (Graph delivers again) instead of acknowledging what it cannot keep."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from shared.presence.exceptions import PresenceQueueUnavailable
from shared.presence.ports import SyncMessage

logger = logging.getLogger(__name__)


class UnconfiguredPresenceQueue:
    def publish(self, changes: Sequence[SyncMessage]) -> None:
        if not changes:
            return
        logger.error(
            "%s message(s) not queued: ServiceBusConnection__fullyQualifiedNamespace is not set", len(changes)
        )
        raise PresenceQueueUnavailable("no Service Bus namespace is configured for the presence queue")
