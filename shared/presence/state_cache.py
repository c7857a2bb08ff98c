"""The sync-state rows this process last wrote, with their ETags: lets an echo be applied in one table
operation (a conditional write on the cached ETag) instead of a read and a write.

Optimistic concurrency, not stale caching: a decision made on a cached row is only committed by a write
conditional on the cached ETag, so if anything else wrote the row meanwhile (another instance, the
reconcile timer, the roster) the write fails with 412 and the engine reads the row and decides again.
Bounded LRU of MAX_ENTRIES rows (about 2 KB each, so under 20 MB per instance)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final

from shared.presence.sync_state import StoredSyncState

MAX_ENTRIES: Final = 10_000


class SyncStateCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._max = max_entries
        self._rows: OrderedDict[tuple[str, str], StoredSyncState] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant_id: str, user_id: str) -> StoredSyncState | None:
        key = (tenant_id, user_id.lower())
        with self._lock:
            stored = self._rows.get(key)
            if stored is not None:
                self._rows.move_to_end(key)
            return stored

    def put(self, stored: StoredSyncState) -> None:
        key = (stored.tenant_id, stored.user_id.lower())
        with self._lock:
            self._rows[key] = stored
            self._rows.move_to_end(key)
            while len(self._rows) > self._max:
                self._rows.popitem(last=False)

    def evict(self, tenant_id: str, user_id: str) -> None:
        with self._lock:
            self._rows.pop((tenant_id, user_id.lower()), None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)
