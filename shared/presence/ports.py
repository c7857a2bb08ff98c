"""What presence sync needs from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class SyncMessage(Protocol):
    """A message for the presence queue: Teams presence changes and contact-center agent events.

    `session_id` is always `{tenantId}:{userId}`, so everything about one agent is handled in order by
    one consumer; `message_id` is stable for the same fact, so Service Bus drops re-deliveries.
    """

    @property
    def session_id(self) -> str: ...

    @property
    def message_id(self) -> str: ...

    @property
    def tenant_id(self) -> str: ...

    @property
    def kind(self) -> str:
        """The message schema name (`presenceChange`, `agentStateChange`), also the Service Bus subject."""
        ...

    def to_json(self) -> bytes: ...


class PresenceQueue(Protocol):
    def publish(self, changes: Sequence[SyncMessage]) -> None:
        """Persist the messages durably; raise PresenceQueueUnavailable if any was not persisted."""
        ...
