"""The presence policy of an agent as the sync engine applies it: his group's, cached per process.

Bound: the same as the tenant's mappings (shared.mappings.cache): after a group PUT or DELETE, this
process uses the change at once (the group service invalidates the tenant's entry); every other
instance of the function app uses it at most `ttl` (10 s by default) later. A tenant's groups are read
whole, in one range query, so a tenant with many groups costs the engine one query per ttl.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from shared.agents.groups import AgentGroup, AgentPolicy, resolve_policy
from shared.agents.ports import GroupRepository
from shared.mappings.cache import DEFAULT_TTL
from shared.mappings.model import PresenceMappings

logger = logging.getLogger(__name__)

DEFAULT_MAX_TENANTS: Final = 10_000


class TenantMappings(Protocol):
    def get(self, tenant_id: str) -> PresenceMappings: ...


@dataclass(frozen=True)
class _Entry:
    groups: Mapping[str, AgentGroup]
    loaded_at: datetime


class CachedGroupPolicies:
    """Thread-safe like CachedMappings: storage is read outside the lock, and a generation counter per
    tenant keeps a read that started before an invalidation from putting older groups back."""

    def __init__(
        self,
        groups: GroupRepository,
        mappings: TenantMappings,
        clock: Callable[[], datetime],
        ttl: timedelta = DEFAULT_TTL,
        *,
        max_tenants: int = DEFAULT_MAX_TENANTS,
    ) -> None:
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        self._groups = groups
        self._mappings = mappings
        self._clock = clock
        self._ttl = ttl
        self._max_tenants = max_tenants
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, tenant_id: str) -> PresenceMappings:
        """The tenant's own mappings (the default group's)."""
        return self._mappings.get(tenant_id)

    def policy(
        self, tenant_id: str, group_id: str | None, *, tenant_presence_sync: bool = True
    ) -> AgentPolicy:
        return resolve_policy(
            group_id,
            self.groups(tenant_id),
            self._mappings.get(tenant_id),
            tenant_presence_sync=tenant_presence_sync,
        )

    def groups(self, tenant_id: str) -> Mapping[str, AgentGroup]:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(tenant_id)
            if entry is not None and now - entry.loaded_at < self._ttl:
                self._entries.move_to_end(tenant_id)
                return entry.groups
            generation = self._generations.get(tenant_id, 0)
        groups = {group.group_id: group for group in self._groups.list(tenant_id)}
        with self._lock:
            if self._generations.get(tenant_id, 0) == generation:
                self._entries[tenant_id] = _Entry(groups, now)
                self._entries.move_to_end(tenant_id)
                while len(self._entries) > self._max_tenants:
                    self._entries.popitem(last=False)
        logger.debug("loaded %s agent group(s) of tenant %s", len(groups), tenant_id)
        return groups

    def invalidate(self, tenant_id: str) -> None:
        with self._lock:
            self._entries.pop(tenant_id, None)
            self._generations[tenant_id] = self._generations.get(tenant_id, 0) + 1
