"""Directory pages per (tenant, Graph request), for at most 60 seconds.

Users change rarely and the same search is typed by many agents, so a page of users is reused for a
short while; presence is never cached (the service reads it for every answer). Bounded: the oldest
entries go first when it is full.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from shared.graph.model import UserPage, UserPageRequest

MAX_TTL: Final = timedelta(seconds=60)
DEFAULT_MAX_ENTRIES: Final = 1024


class DirectoryPageCache:
    def __init__(
        self,
        clock: Callable[[], datetime],
        ttl: timedelta = MAX_TTL,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        if not timedelta(0) <= ttl <= MAX_TTL:
            raise ValueError("directory results are cached for at most 60 seconds")
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._clock = clock
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[str, UserPageRequest], tuple[datetime, UserPage]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant_id: str, request: UserPageRequest) -> UserPage | None:
        key = (tenant_id, request)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            stored_at, page = entry
            if self._clock() - stored_at >= self._ttl:
                del self._entries[key]
                return None
            return page

    def put(self, tenant_id: str, request: UserPageRequest, page: UserPage) -> None:
        if self._ttl == timedelta(0):
            return
        with self._lock:
            self._entries[(tenant_id, request)] = (self._clock(), page)
            self._entries.move_to_end((tenant_id, request))
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def forget_tenant(self, tenant_id: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == tenant_id]:
                del self._entries[key]
