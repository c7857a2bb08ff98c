"""Which Entra user backs a contact-center agent, cached per process for a short time.

Every agent event (each echo of a command the connector sent among them) names its agent, and the
intake needs the user to put the event on that user's queue session; reading the agent row for each
would be a table operation per event. Only found agents are cached, for `ttl` (60 s by default): an
agent added just now is looked up again on his first event. A stale entry cannot apply an event to the
wrong agent: the engine checks that the user's sync state still belongs to the event's agent and drops
the event otherwise (shared/presence/sync_service.py). So after an agent id is given to another user,
his events are dropped for at most `ttl`, and the reconcile timer sets his state right on its next run.
The TTL is longer than the connector cache's because an agent comes back every few seconds, while a
connector is read once per tenant: 10 s would still be a read for most events of a 400-agent tenant.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final, Protocol

DEFAULT_TTL: Final = timedelta(seconds=60)
MAX_ENTRIES: Final = 100_000


class AgentUsers(Protocol):
    def user_id_for(self, tenant_id: str, agent_id: str) -> str | None: ...


class CachedAgentUsers:
    def __init__(
        self, agents: AgentUsers, clock: Callable[[], datetime], ttl: timedelta = DEFAULT_TTL
    ) -> None:
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        self._agents = agents
        self._clock = clock
        self._ttl = ttl
        self._entries: dict[tuple[str, str], tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def user_id_for(self, tenant_id: str, agent_id: str) -> str | None:
        key = (tenant_id, agent_id)
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[1] > now:
            return entry[0]
        user_id = self._agents.user_id_for(tenant_id, agent_id)
        with self._lock:
            if user_id is None:
                self._entries.pop(key, None)
            else:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key] = (user_id, now + self._ttl)
        return user_id
