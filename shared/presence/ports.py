"""What presence sync needs from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from shared.presence.messages import PresenceChange


class PresenceQueue(Protocol):
    def publish(self, changes: Sequence[PresenceChange]) -> None:
        """Persist the changes durably; raise PresenceQueueUnavailable if any was not persisted."""
        ...
