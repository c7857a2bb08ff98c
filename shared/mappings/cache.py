"""The mappings the sync worker applies, cached per process for a short time.

Bound: after a PUT, this process uses the new mappings at once (the service invalidates its entry);
every other instance of the function app uses them at most `ttl` (10 s by default) later.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from shared.mappings.defaults import DEFAULT_MAPPINGS
from shared.mappings.model import PresenceMappings
from shared.mappings.ports import MappingRepository

logger = logging.getLogger(__name__)

DEFAULT_TTL: Final = timedelta(seconds=10)
DEFAULT_MAX_ENTRIES: Final = 10_000


@dataclass(frozen=True)
class _Entry:
    mappings: PresenceMappings
    loaded_at: datetime


class CachedMappings:
    """Thread-safe: one lock guards the entries; storage is read outside it, so one slow tenant does not
    hold up the others. A generation counter per tenant makes sure a read that started before an
    invalidation never puts the older mappings back into the cache."""

    def __init__(
        self,
        repository: MappingRepository,
        clock: Callable[[], datetime],
        ttl: timedelta = DEFAULT_TTL,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._repository = repository
        self._clock = clock
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def ttl(self) -> timedelta:
        return self._ttl

    def get(self, tenant_id: str) -> PresenceMappings:
        """The tenant's stored mappings, or the defaults when it has none. Storage errors propagate."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(tenant_id)
            if entry is not None and now - entry.loaded_at < self._ttl:
                self._entries.move_to_end(tenant_id)
                return entry.mappings
            generation = self._generations.get(tenant_id, 0)
        stored = self._repository.get(tenant_id)
        mappings = DEFAULT_MAPPINGS if stored is None else stored
        with self._lock:
            if self._generations.get(tenant_id, 0) == generation:
                self._entries[tenant_id] = _Entry(mappings, now)
                self._entries.move_to_end(tenant_id)
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)
        logger.debug("loaded presence mappings of tenant %s (default: %s)", tenant_id, mappings.is_default)
        return mappings

    def invalidate(self, tenant_id: str) -> None:
        with self._lock:
            self._entries.pop(tenant_id, None)
            self._generations[tenant_id] = self._generations.get(tenant_id, 0) + 1
