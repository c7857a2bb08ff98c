"""Connectors read on the presence hot path, cached briefly per process.

Every queue message needs its tenant's connector (status, presenceSync, contact center); reading the
row each time would be a third table operation per change. A change made through the API (deactivate,
presenceSync off, a new contact center) is seen by the engine after at most `ttl`: 10 seconds by
default, on every instance alike.

The agent-events intake reads through the same cache, and calls `fresh()` before it refuses a request
(unknown tenant, bad signature, not active): so the cache can only let events in for at most `ttl`
after a deactivate or a secret rotation (the engine drops them, since it sees the same connector), and
never refuses a request that the stored connector would accept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.connectors.model import Connector
from shared.connectors.ports import ConnectorRepository

DEFAULT_TTL = timedelta(seconds=10)
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class _Entry:
    connector: Connector | None
    expires_at: datetime


class CachedConnectors:
    def __init__(
        self, repository: ConnectorRepository, clock: Callable[[], datetime], ttl: timedelta = DEFAULT_TTL
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._ttl = ttl
        self._entries: dict[str, _Entry] = {}
        # Bumped by invalidate(): a read that started before it must not cache what it read.
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def ttl(self) -> timedelta:
        return self._ttl

    def get(self, tenant_id: str) -> Connector | None:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(tenant_id)
            if entry is not None and entry.expires_at > now:
                return entry.connector
            generation = self._generations.get(tenant_id, 0)
        return self._load(tenant_id, now, generation)

    def fresh(self, tenant_id: str) -> Connector | None:
        """The stored connector, read now (and cached for the next `get`)."""
        now = self._clock()
        with self._lock:
            generation = self._generations.get(tenant_id, 0)
        return self._load(tenant_id, now, generation)

    def _load(self, tenant_id: str, now: datetime, generation: int) -> Connector | None:
        connector = self._repository.get(tenant_id)
        with self._lock:
            if self._generations.get(tenant_id, 0) == generation:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[tenant_id] = _Entry(connector, now + self._ttl)
        return connector

    def invalidate(self, tenant_id: str) -> None:
        with self._lock:
            self._entries.pop(tenant_id, None)
            self._generations[tenant_id] = self._generations.get(tenant_id, 0) + 1
