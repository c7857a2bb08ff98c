"""The two health views: one agent's sync status and a tenant's sync health.

Both only read rows the engine, the subscription service and the sync accounts write anyway (plus the
per-minute figures the recorder flushes on a timer): they add nothing to the per-change path.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from shared.agents.exceptions import AgentNotFound
from shared.connectors.exceptions import ConnectorNotFound
from shared.connectors.model import Connector
from shared.operations.health import (
    AgentProblem,
    Authorization,
    Coverage,
    LastHour,
    Problem,
    SubscriptionCounts,
    agent_problems,
    contact_center_authorization,
    coverage_of,
    last_hour,
    subscription_counts,
)
from shared.operations.ports import (
    AgentLookup,
    ConnectorLookup,
    ContactCenterHealthReader,
    OperationsStatsStore,
    SubscriptionRecords,
    SyncAccountLister,
    SyncStateReader,
    UnflushedStats,
)
from shared.presence.sync_state import AgentSyncState
from shared.sync_accounts.model import SyncAccount

logger = logging.getLogger(__name__)

WINDOW: Final = timedelta(hours=1)


@dataclass(frozen=True)
class AgentSyncStatus:
    tenant_id: str
    agent_id: str
    user_id: str
    state: AgentSyncState
    coverage: Coverage
    problems: list[AgentProblem]
    at: datetime


@dataclass(frozen=True)
class TenantSyncHealth:
    tenant_id: str
    at: datetime
    agents_total: int
    agents_in_sync: int
    agents_with_problem: dict[str, int]
    subscriptions: SubscriptionCounts
    accounts: list[SyncAccount]
    contact_center: Authorization
    last_hour: LastHour


class OperationsService:
    def __init__(
        self,
        connectors: ConnectorLookup,
        agents: AgentLookup,
        states: SyncStateReader,
        subscriptions: SubscriptionRecords,
        accounts: SyncAccountLister,
        contact_center_health: ContactCenterHealthReader,
        stats: OperationsStatsStore,
        clock: Callable[[], datetime],
        unflushed: UnflushedStats | None = None,
    ) -> None:
        self._unflushed = unflushed
        self._connectors = connectors
        self._agents = agents
        self._states = states
        self._subscriptions = subscriptions
        self._accounts = accounts
        self._contact_center_health = contact_center_health
        self._stats = stats
        self._clock = clock

    def agent_status(self, tenant_id: str, agent_id: str) -> AgentSyncStatus:
        connector = self._connector(tenant_id)
        agent = self._agents.get(tenant_id, agent_id)
        if agent is None:
            raise AgentNotFound(tenant_id, agent_id)
        stored = self._states.load(tenant_id, agent.user_id)
        state = stored.state if stored is not None else AgentSyncState()
        now = self._clock()
        coverage = coverage_of(
            agent.user_id, self._subscriptions.list(tenant_id), self._accounts.list(tenant_id)
        )
        return AgentSyncStatus(
            tenant_id=tenant_id,
            agent_id=agent_id,
            user_id=agent.user_id,
            state=state,
            coverage=coverage,
            problems=agent_problems(connector, state, coverage, now),
            at=now,
        )

    def tenant_health(self, tenant_id: str) -> TenantSyncHealth:
        connector = self._connector(tenant_id)
        now = self._clock()
        records = self._subscriptions.list(tenant_id)
        accounts = self._accounts.list(tenant_id)
        states = self._states.list_tenant(tenant_id)
        with_problem: Counter[str] = Counter()
        in_sync = 0
        for stored in states:
            problems = agent_problems(
                connector, stored.state, coverage_of(stored.user_id, records, accounts), now
            )
            for code in {problem.code for problem in problems}:
                with_problem[code.value] += 1
            if not problems:
                in_sync += 1
        return TenantSyncHealth(
            tenant_id=tenant_id,
            at=now,
            agents_total=len(states),
            agents_in_sync=in_sync,
            agents_with_problem={code.value: with_problem.get(code.value, 0) for code in Problem},
            subscriptions=subscription_counts(records, now),
            accounts=accounts,
            contact_center=self._authorization(connector),
            last_hour=self._last_hour(tenant_id, now),
        )

    def _last_hour(self, tenant_id: str, now: datetime) -> LastHour:
        since = now - WINDOW
        stored = self._stats.read(tenant_id, since)
        own = self._unflushed.pending(tenant_id) if self._unflushed is not None else []
        return last_hour([*stored, *(stats for stats in own if stats.minute >= since)])

    def _connector(self, tenant_id: str) -> Connector:
        connector = self._connectors.get(tenant_id)
        if connector is None:
            raise ConnectorNotFound(tenant_id)
        return connector

    def _authorization(self, connector: Connector) -> Authorization:
        if connector.contact_center is None:
            return Authorization.UNKNOWN
        health = self._contact_center_health.get(connector.tenant_id)
        return contact_center_authorization(
            health.current(connector.contact_center, connector.contact_center_changed_at)
        )
