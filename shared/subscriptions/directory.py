"""Which subscriptions are ours, for the notification intake: a table lookup behind a process cache.

The intake asks for every notification, inside Graph's 3-second window, so answers are cached: known
subscriptions for `ttl`, unknown ones for the shorter `negative_ttl` (a subscription created by another
instance a moment ago becomes known soon; forged ids cost one read per id per `negative_ttl`). The
cache is bounded (least recently used entries go first) and thread-safe. The service calls `forget`
when it deletes or replaces a subscription in this process; other processes see it after `ttl`, and
their intake keeps accepting a replaced subscription's in-flight notifications until then, which is
harmless (they are verified like any other and ordered by sequence number downstream).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from shared.notifications.intake import KnownSubscription
from shared.subscriptions.ports import SubscriptionLookup

logger = logging.getLogger(__name__)

DEFAULT_MAX_ENTRIES: Final = 20_000


@dataclass(frozen=True)
class _Entry:
    known: KnownSubscription | None
    until: datetime


class TableSubscriptionDirectory:
    def __init__(
        self,
        repository: SubscriptionLookup,
        clock: Callable[[], datetime],
        ttl: timedelta = timedelta(minutes=5),
        negative_ttl: timedelta = timedelta(seconds=30),
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        if ttl <= timedelta(0) or negative_ttl <= timedelta(0):
            raise ValueError("cache lifetimes must be positive")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._repository = repository
        self._clock = clock
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def find(self, subscription_id: str, tenant_id: str) -> KnownSubscription | None:
        key = (subscription_id.lower(), tenant_id.lower())
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.until > now:
                self._entries.move_to_end(key)
                return entry.known
        # The read happens outside the lock: one slow lookup must not hold up every other notification.
        record = self._repository.find_by_subscription_id(tenant_id, subscription_id)
        known = None
        if record is not None and record.subscription_id is not None:
            known = KnownSubscription(subscription_id=record.subscription_id, tenant_id=record.tenant_id)
        until = now + (self._ttl if known is not None else self._negative_ttl)
        with self._lock:
            self._entries[key] = _Entry(known, until)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return known

    def forget(self, subscription_id: str) -> None:
        wanted = subscription_id.lower()
        with self._lock:
            for key in [key for key in self._entries if key[0] == wanted]:
                del self._entries[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
