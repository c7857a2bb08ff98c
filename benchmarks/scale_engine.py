"""The engine's side of the scale benchmark (bench_scale_subscriptions): the agents' rows in Table
Storage, the first presences applied by the real PresenceSyncService, and reconcile runs by the real
ReconcileService, against Azurite and the Graph simulator.

The contact center is a counting stand-in that says every agent is available (what a fresh roster of
logged-in agents shows): the connector's table operations, Graph calls and CPU are what is measured,
not a contact center; commands and status reads it is asked for are counted and printed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from shared.agents.group_policies import CachedGroupPolicies
from shared.agents.groups import DEFAULT_GROUP_ID
from shared.connectors.model import ContactCenterConfig
from shared.contact_center.model import AgentState, AgentStatus, IdleCode
from shared.graph.ports import GraphGateway
from shared.mappings.cache import CachedMappings
from shared.presence.commands import CommandRunner
from shared.presence.messages import PresenceChange
from shared.presence.reconcile import ReconcileService, SubscribedUsers
from shared.presence.sync_service import ConnectorLookup, PresenceSyncService
from shared.storage.agent_group_repository import TableAgentGroupRepository
from shared.storage.agent_repository import TableAgentRepository
from shared.storage.agent_sync_state_repository import TableAgentSyncStates
from shared.storage.mapping_repository import TableMappingRepository
from shared.storage.table_names import AGENTS
from shared.storage.table_store import TableStore

# A Table Storage batch holds at most 100 operations of one partition: 50 agents (agent| + user| row).
AGENTS_PER_BATCH: Final = 50
# The function host's default Service Bus concurrency on a small plan is about this many messages.
APPLY_WORKERS: Final = 16
# shared/triggers/reconcile_timer.py: "30 */2 * * * *".
RECONCILE_TIMER_PERIOD_SECONDS: Final = 120


class AvailableContactCenter:
    """Every agent is available; status reads and commands are counted (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.status_reads = 0
        self.commands = 0

    def client_for(self, tenant_id: str, config: ContactCenterConfig) -> AvailableContactCenter:
        return self

    def get_status(self, agent_id: str) -> AgentStatus | None:
        with self._lock:
            self.status_reads += 1
        return AgentStatus(AgentState.AVAILABLE, changed_at=datetime.now(UTC) - timedelta(hours=1))

    def set_idle(self, agent_id: str, idle_code_id: str, idle_code_name: str | None, reason: str) -> None:
        with self._lock:
            self.commands += 1

    def set_available(self, agent_id: str, reason: str) -> None:
        with self._lock:
            self.commands += 1

    def idle_codes(self) -> list[IdleCode]:
        return []

    def probe(self) -> int:
        return 200


class NoResubscribe:
    def roster_changed(self, tenant_id: str) -> None:
        return


def seed_agents(store: TableStore, user_ids: dict[str, list[str]]) -> int:
    """Write every agent as the roster does (an agent| row and its user| row), 50 agents per batch.
    Returns the number of batches."""
    table = store.table(AGENTS)
    now = datetime.now(UTC)
    batches: list[list[Any]] = []
    for tenant_id, ids in user_ids.items():
        for start in range(0, len(ids), AGENTS_PER_BATCH):
            operations: list[Any] = []
            for index, listed in enumerate(ids[start : start + AGENTS_PER_BATCH], start):
                agent_id = f"agent-{index:05d}"
                user_id = listed.lower()
                operations.append(
                    (
                        "create",
                        {
                            "PartitionKey": tenant_id,
                            "RowKey": f"agent|{agent_id}",
                            "agentId": agent_id,
                            "userId": user_id,
                            "createdAt": now,
                            "updatedAt": now,
                            "groupId": DEFAULT_GROUP_ID,
                        },
                    )
                )
                operations.append(
                    (
                        "create",
                        {
                            "PartitionKey": tenant_id,
                            "RowKey": f"user|{user_id}",
                            "agentId": agent_id,
                            "userId": user_id,
                            "groupId": DEFAULT_GROUP_ID,
                        },
                    )
                )
            batches.append(operations)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(table.submit_transaction, batches))
    return len(batches)


class Engine:
    """The presence engine and the reconcile timer as bootstrap wires them, over the benchmark's ports."""

    def __init__(
        self,
        store: TableStore,
        connectors: ConnectorLookup,
        tenants: Any,
        graph: GraphGateway,
        subscribed: SubscribedUsers,
        client_id: str,
    ) -> None:
        clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731
        self.contact_center = AvailableContactCenter()
        policies = CachedGroupPolicies(
            TableAgentGroupRepository(store), CachedMappings(TableMappingRepository(store), clock), clock
        )
        states = self._states = TableAgentSyncStates(store)
        self.sync = PresenceSyncService(
            connectors,
            policies,
            states,
            CommandRunner(self.contact_center, graph, client_id),
            TableAgentRepository(store),
            NoResubscribe(),
            clock,
            statuses=self.contact_center,
        )
        self.reconcile = ReconcileService(
            tenants,
            connectors,
            policies,
            states,
            graph,
            self.contact_center,
            CommandRunner(self.contact_center, graph, client_id, max_inline_wait=0),
            subscribed,
            clock,
        )

    def apply(self, changes: Iterable[PresenceChange]) -> int:
        """Run every presence change through the engine as the queue trigger would, 16 at a time."""
        bodies = [change.to_json() for change in changes]

        def handle(body: bytes) -> None:
            self.sync.teams_change(body, message_id=None, delivery_count=1)

        with ThreadPoolExecutor(APPLY_WORKERS) as pool:
            list(pool.map(handle, bodies))
        return len(bodies)

    def applied_agents(self, tenant_ids: Iterable[str]) -> tuple[int, int]:
        """(agents whose row holds a Teams presence and a contact-center state, agents)."""
        applied = agents = 0
        for tenant_id in tenant_ids:
            for stored in self._states.list_tenant(tenant_id):
                agents += 1
                if stored.state.teams is not None and stored.state.contact_center is not None:
                    applied += 1
        return applied, agents
