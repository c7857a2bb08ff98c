"""Fakes of the ports the presence sync engine calls, and builders of its queue messages.

The fakes keep the contracts of the real adapters: the sync-state store merges entities and checks
ETags like Table Storage (and round-trips the state through its table form), the contact center
answers with the errors of shared.contact_center.exceptions, Graph with those of shared.graph.exceptions.
The rules and the default mappings are the real ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.agents.group_policies import CachedGroupPolicies
from shared.agents.groups import DEFAULT_GROUP_ID
from shared.connectors.cache import CachedConnectors
from shared.connectors.model import (
    Connector,
    ConnectorSettings,
    ConnectorStatus,
    ContactCenterConfig,
    WebhookContactCenter,
)
from shared.contact_center.exceptions import (
    ContactCenterError,
    ContactCenterRejected,
    ContactCenterThrottled,
    ContactCenterUnavailable,
)
from shared.contact_center.messages import AgentStateChange
from shared.contact_center.model import AgentState, AgentStatus, IdleCode
from shared.graph.exceptions import GraphError
from shared.graph.model import (
    DirectoryUser,
    GraphSubscription,
    Presence,
    SubscriptionRequest,
    UserPage,
    UserPageRequest,
    UserQuery,
)
from shared.graph.ports import DelegatedTokenProvider
from shared.mappings.cache import CachedMappings
from shared.mappings.model import MappingRules, PresenceMappings
from shared.presence.commands import CommandRunner
from shared.presence.exceptions import AgentSyncStateGone, StaleAgentSyncState
from shared.presence.messages import PresenceChange
from shared.presence.reconcile import ReconcileService
from shared.presence.state_cache import SyncStateCache
from shared.presence.status_messages import StatusMessages
from shared.presence.sync_service import PresenceSyncService
from shared.presence.sync_state import AgentSyncState, ContactCenterView, StoredSyncState, TeamsView
from tests.fakes import FakeClock, FakeOperationsReporter
from tests.unit.agents.fakes import FakeGroupRepository

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "5b9c1f0e-3d2a-4e6f-8a7b-9c0d1e2f3a4b"
USER = "0d3e5c1a-7a8b-4c2d-9e0f-123456789abc"
AGENT = "agent-7"
APP_ID = "9b1f4a52-6c3d-4e8f-a0b1-c2d3e4f5a6b7"
START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
CONTACT_CENTER = WebhookContactCenter("https://contact-center.example.test/hook", "webhook-secret-0123")


def connector(
    tenant_id: str = TENANT,
    *,
    status: ConnectorStatus = ConnectorStatus.ACTIVE,
    presence_sync: bool = True,
    contact_center: ContactCenterConfig | None = CONTACT_CENTER,
) -> Connector:
    return Connector(
        tenant_id=tenant_id,
        status=status,
        settings=ConnectorSettings(presence_sync=presence_sync),
        contact_center=contact_center,
        created_at=START - timedelta(days=1),
        updated_at=START - timedelta(days=1),
        activated_at=START - timedelta(days=1),
        etag='W/"connector-1"',
    )


def seen_in_contact_center(
    state: AgentState,
    at: datetime,
    *,
    idle_code_id: str | None = None,
    idle_code_name: str | None = None,
    sequence_number: int = 1,
) -> ContactCenterView:
    """What an agent event of `state` at `at` left in the agent's sync state."""
    return ContactCenterView(
        state=state,
        idle_code_id=idle_code_id,
        idle_code_name=idle_code_name,
        changed_at=at,
        sequence_number=sequence_number,
        event_id=f"event-{sequence_number}",
        recorded_at=at,
    )


def seen_in_teams(availability: str, activity: str, sequence_number: str, at: datetime) -> TeamsView:
    """What a Teams notification of the user's own presence left in the agent's sync state."""
    return TeamsView(availability, activity, sequence_number, observed_at=at, recorded_at=at)


# -- queue messages -----------------------------------------------------------------------------------


def teams_change(
    availability: str,
    activity: str,
    sequence_number: str | None,
    observed_at: datetime,
    *,
    tenant_id: str = TENANT,
    user_id: str = USER,
) -> PresenceChange:
    return PresenceChange(
        tenant_id, user_id, availability, activity, sequence_number, observed_at, "subscription-1"
    )


def agent_event(
    state: AgentState,
    sequence_number: int,
    occurred_at: datetime,
    *,
    idle_code_id: str | None = None,
    idle_code_name: str | None = None,
    event_id: str | None = None,
    tenant_id: str = TENANT,
    user_id: str = USER,
    agent_id: str = AGENT,
) -> AgentStateChange:
    return AgentStateChange(
        tenant_id=tenant_id,
        user_id=user_id,
        agent_id=agent_id,
        state=state,
        idle_code_id=idle_code_id,
        idle_code_name=idle_code_name,
        occurred_at=occurred_at,
        event_id=event_id or f"event-{sequence_number}",
        sequence_number=sequence_number,
    )


# -- contact center -----------------------------------------------------------------------------------


class FakeContactCenters:
    """ContactCenterClients whose clients share one call log: ("set_idle", tenant, agent, idle code),
    ("set_available", tenant, agent), ("get_status", tenant, agent). `failures` are raised, in order,
    by the next set_idle / set_available calls (the call is logged first, as the request was sent)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.failures: list[ContactCenterError] = []
        self.statuses: dict[tuple[str, str], AgentStatus] = {}
        self.status_failures: dict[tuple[str, str], ContactCenterError] = {}
        self.clients_asked: list[tuple[str, ContactCenterConfig]] = []
        self.idle_codes: list[IdleCode] = []

    # Answers of a real contact center, as the HTTP adapters translate them.

    def throttle(self, retry_after: float | None) -> None:
        self.failures.append(ContactCenterThrottled("429 Too Many Requests", retry_after=retry_after))

    def unavailable(self, retry_after: float | None = None) -> None:
        self.failures.append(
            ContactCenterUnavailable("503 Service Unavailable", retry_after=retry_after, status=503)
        )

    def reject(self) -> None:
        self.failures.append(ContactCenterRejected("404 unknown agent", status=404))

    @property
    def commands(self) -> list[tuple[str, ...]]:
        return [call for call in self.calls if call[0] != "get_status"]

    def client_for(self, tenant_id: str, config: ContactCenterConfig) -> FakeContactCenterClient:
        self.clients_asked.append((tenant_id, config))
        return FakeContactCenterClient(self, tenant_id)


@dataclass
class FakeContactCenterClient:
    center: FakeContactCenters
    tenant_id: str

    def set_idle(self, agent_id: str, idle_code_id: str, idle_code_name: str | None, reason: str) -> None:
        self.center.calls.append(("set_idle", self.tenant_id, agent_id, idle_code_id))
        self._maybe_fail()

    def set_available(self, agent_id: str, reason: str) -> None:
        self.center.calls.append(("set_available", self.tenant_id, agent_id))
        self._maybe_fail()

    def get_status(self, agent_id: str) -> AgentStatus | None:
        self.center.calls.append(("get_status", self.tenant_id, agent_id))
        failure = self.center.status_failures.get((self.tenant_id, agent_id))
        if failure is not None:
            raise failure
        return self.center.statuses.get((self.tenant_id, agent_id))

    def idle_codes(self) -> list[IdleCode]:
        self.center.calls.append(("idle_codes", self.tenant_id))
        self._maybe_fail()
        return list(self.center.idle_codes)

    def probe(self) -> int:
        self.center.calls.append(("probe", self.tenant_id))
        self._maybe_fail()
        return 204

    def _maybe_fail(self) -> None:
        if self.center.failures:
            raise self.center.failures.pop(0)


# -- Graph ----------------------------------------------------------------------------------------------


class FakeGraph:
    """The presence part of the GraphGateway. `failures` are raised, in order, by the next set / clear
    presence calls; `read_failures[tenant]` by every get_presences of that tenant."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.failures: list[GraphError] = []
        self.presences: dict[tuple[str, str], Presence] = {}
        self.read_failures: dict[str, GraphError] = {}
        self.sessions: dict[tuple[str, str, str], tuple[str, str, timedelta]] = {}

    def calls_of(self, method: str) -> list[tuple[Any, ...]]:
        return [call for call in self.calls if call[0] == method]

    @property
    def reads(self) -> int:
        return len(self.calls_of("get_presences"))

    def show(self, tenant_id: str, user_id: str, availability: str, activity: str, sequence: str) -> None:
        self.presences[(tenant_id, user_id)] = Presence(user_id, availability, activity, sequence)

    def set_presence(
        self,
        tenant_id: str,
        user_id: str,
        session_id: str,
        availability: str,
        activity: str,
        expiration: timedelta,
    ) -> None:
        self.calls.append(
            ("set_presence", tenant_id, user_id, session_id, availability, activity, expiration)
        )
        self._maybe_fail()
        self.sessions[(tenant_id, user_id, session_id)] = (availability, activity, expiration)

    def clear_presence(self, tenant_id: str, user_id: str, session_id: str) -> bool:
        self.calls.append(("clear_presence", tenant_id, user_id, session_id))
        self._maybe_fail()
        return self.sessions.pop((tenant_id, user_id, session_id), None) is not None

    def set_status_message(
        self, tenant_id: str, user_id: str, content: str, expires_at: datetime | None
    ) -> None:
        self.calls.append(("set_status_message", tenant_id, user_id, content, expires_at))
        self._maybe_fail()
        current = self.presences.get((tenant_id, user_id))
        if current is not None:
            self.presences[(tenant_id, user_id)] = replace(current, status_message=content or None)

    def get_presences(self, tenant_id: str, user_ids: Sequence[str]) -> list[Presence]:
        self.calls.append(("get_presences", tenant_id, tuple(user_ids)))
        failure = self.read_failures.get(tenant_id)
        if failure is not None:
            raise failure
        return [self.presences[(tenant_id, u)] for u in user_ids if (tenant_id, u) in self.presences]

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    # The engine never calls the rest of the gateway: a call is a test failure.

    def get_user(self, tenant_id: str, id_or_upn: str) -> DirectoryUser | None:
        raise AssertionError("the sync engine does not read users")

    def list_users_page(self, tenant_id: str, request: UserPageRequest) -> UserPage:
        raise AssertionError("the sync engine does not list users")

    def search_users(self, tenant_id: str, query: UserQuery) -> list[DirectoryUser]:
        raise AssertionError("the sync engine does not search users")

    def create_subscription(
        self, tenant_id: str, token_provider: DelegatedTokenProvider, request: SubscriptionRequest
    ) -> GraphSubscription:
        raise AssertionError("the sync engine does not create subscriptions")

    def renew_subscription(
        self,
        tenant_id: str,
        token_provider: DelegatedTokenProvider,
        subscription_id: str,
        expiration: datetime,
    ) -> GraphSubscription:
        raise AssertionError("the sync engine does not renew subscriptions")

    def delete_subscription(
        self, tenant_id: str, token_provider: DelegatedTokenProvider, subscription_id: str
    ) -> None:
        raise AssertionError("the sync engine does not delete subscriptions")

    def reauthorize_subscription(
        self, tenant_id: str, token_provider: DelegatedTokenProvider, subscription_id: str
    ) -> None:
        raise AssertionError("the sync engine does not reauthorize subscriptions")


# -- the Agents table's user| rows ----------------------------------------------------------------------


class FakeSyncStates:
    """The `user|` rows with Table Storage's rules: a save is a MERGE conditional on the ETag read
    (StaleAgentSyncState on a mismatch, AgentSyncStateGone when the row is gone), the state goes
    through its table form. `before_save` callbacks run at the start of the next saves, one per save,
    to play a writer outside the session (`after_list` ones after the next listing); every call is
    logged in `operations`."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        self.operations: list[tuple[str, str, str]] = []
        self.before_save: list[Callable[[], None]] = []
        # Run once each after the next tenant listing: a writer acting while the timer works through it.
        self.after_list: list[Callable[[], None]] = []
        self.list_failures: dict[str, Exception] = {}
        self._versions = itertools.count(1)

    def _etag(self) -> str:
        return f"W/\"datetime'{next(self._versions)}'\""

    def add_agent(
        self,
        tenant_id: str = TENANT,
        user_id: str = USER,
        agent_id: str = AGENT,
        state: AgentSyncState | None = None,
        group_id: str | None = None,
    ) -> None:
        entity: dict[str, Any] = {"agentId": agent_id, "userId": user_id}
        if group_id is not None:
            entity["groupId"] = group_id
        if state is not None:
            entity.update(state.to_entity())
        self.rows[(tenant_id, user_id)] = (entity, self._etag())

    def write_foreign(self, tenant_id: str, user_id: str, state: AgentSyncState) -> None:
        """Someone outside the message's session merged this state into the row."""
        entity, _ = self.rows[(tenant_id, user_id)]
        self.rows[(tenant_id, user_id)] = ({**entity, **state.to_entity()}, self._etag())

    def remove(self, tenant_id: str = TENANT, user_id: str = USER) -> None:
        del self.rows[(tenant_id, user_id)]

    def state_of(self, tenant_id: str = TENANT, user_id: str = USER) -> AgentSyncState:
        return AgentSyncState.from_entity(self.rows[(tenant_id, user_id)][0])

    def entity_of(self, tenant_id: str = TENANT, user_id: str = USER) -> dict[str, Any]:
        return dict(self.rows[(tenant_id, user_id)][0])

    def count(self, operation: str) -> int:
        return sum(1 for logged in self.operations if logged[0] == operation)

    def load(self, tenant_id: str, user_id: str) -> StoredSyncState | None:
        self.operations.append(("load", tenant_id, user_id))
        row = self.rows.get((tenant_id, user_id.lower()))
        return None if row is None else _stored(tenant_id, user_id.lower(), *row)

    def save(self, stored: StoredSyncState, state: AgentSyncState) -> StoredSyncState:
        self.operations.append(("save", stored.tenant_id, stored.user_id))
        if self.before_save:
            self.before_save.pop(0)()
        key = (stored.tenant_id, stored.user_id)
        row = self.rows.get(key)
        if row is None:
            raise AgentSyncStateGone(stored.tenant_id, stored.user_id)
        entity, etag = row
        if etag != stored.etag:
            raise StaleAgentSyncState(stored.tenant_id, stored.user_id)
        new_etag = self._etag()
        self.rows[key] = ({**entity, **state.to_entity()}, new_etag)
        return StoredSyncState(
            stored.tenant_id, stored.user_id, stored.agent_id, state, new_etag, stored.group_id
        )

    def list_tenant(self, tenant_id: str) -> list[StoredSyncState]:
        self.operations.append(("list_tenant", tenant_id, ""))
        failure = self.list_failures.get(tenant_id)
        if failure is not None:
            raise failure
        listed = [
            _stored(tenant, user, entity, etag)
            for (tenant, user), (entity, etag) in sorted(self.rows.items())
            if tenant == tenant_id
        ]
        while self.after_list:
            self.after_list.pop(0)()
        return listed


def _stored(tenant_id: str, user_id: str, entity: dict[str, Any], etag: str) -> StoredSyncState:
    return StoredSyncState(
        tenant_id,
        user_id,
        str(entity["agentId"]),
        AgentSyncState.from_entity(entity),
        etag,
        str(entity.get("groupId") or DEFAULT_GROUP_ID),
    )


# -- the other ports ------------------------------------------------------------------------------------


class CountingConnectorRepository:
    """The connector rows, counting reads (the hot path must not read them per message)."""

    def __init__(self, *connectors: Connector) -> None:
        self.rows = {item.tenant_id: item for item in connectors}
        self.reads = 0

    def get(self, tenant_id: str) -> Connector | None:
        self.reads += 1
        return self.rows.get(tenant_id)

    def add(self, connector: Connector) -> Connector:
        self.rows[connector.tenant_id] = connector
        return connector

    def save(self, connector: Connector) -> Connector:
        self.rows[connector.tenant_id] = connector
        return connector

    def delete(self, connector: Connector) -> None:
        self.rows.pop(connector.tenant_id, None)


class CountingMappingRepository:
    """No tenant stored mappings (the defaults apply); reads are counted."""

    def __init__(self) -> None:
        self.reads = 0

    def get(self, tenant_id: str) -> PresenceMappings | None:
        self.reads += 1
        return None

    def insert(self, tenant_id: str, rules: MappingRules, updated_at: datetime) -> PresenceMappings:
        raise AssertionError("the sync engine does not store mappings")

    def replace(
        self, tenant_id: str, rules: MappingRules, etag: str, updated_at: datetime
    ) -> PresenceMappings:
        raise AssertionError("the sync engine does not store mappings")

    def upsert(self, tenant_id: str, rules: MappingRules, updated_at: datetime) -> PresenceMappings:
        raise AssertionError("the sync engine does not store mappings")


class FakeRecorder:
    """TeamsPresenceRecorder: what the agents list shows while presence sync is off."""

    def __init__(self) -> None:
        self.recorded: list[tuple[str, PresenceChange]] = []

    def record_teams_presence(self, tenant_id: str, change: PresenceChange) -> bool:
        self.recorded.append((tenant_id, change))
        return True


class FakeSubscriptions:
    """Resubscriber (roster_changed) and SubscribedUsers of the subscription service."""

    def __init__(self) -> None:
        self.roster_changes: list[str] = []
        self.subscribed: dict[str, frozenset[str]] = {}

    def roster_changed(self, tenant_id: str) -> None:
        self.roster_changes.append(tenant_id)

    def subscribed_user_ids(self, tenant_id: str) -> frozenset[str]:
        return self.subscribed.get(tenant_id, frozenset())


class FakeSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class FakeTenants:
    def __init__(self, *tenant_ids: str) -> None:
        self.tenant_ids = list(tenant_ids)

    def active_tenant_ids(self) -> list[str]:
        return list(self.tenant_ids)


# -- the engine wired to the fakes ----------------------------------------------------------------------


@dataclass
class Engine:
    clock: FakeClock
    connectors: CountingConnectorRepository
    mapping_rows: CountingMappingRepository
    states: FakeSyncStates
    contact_centers: FakeContactCenters
    graph: FakeGraph
    recorder: FakeRecorder
    subscriptions: FakeSubscriptions
    sleep: FakeSleep
    tenants: FakeTenants
    reporter: FakeOperationsReporter = field(default_factory=FakeOperationsReporter)
    # The rows the engine last wrote (shared.presence.state_cache); None: every message reads its row.
    state_cache: SyncStateCache | None = None
    connector_cache: CachedConnectors = field(init=False)
    mappings: CachedMappings = field(init=False)
    group_rows: FakeGroupRepository = field(init=False)
    policies: CachedGroupPolicies = field(init=False)
    sync: PresenceSyncService = field(init=False)
    reconciler: ReconcileService = field(init=False)

    def __post_init__(self) -> None:
        # Wired like shared/bootstrap.py: cached lookups, the worker's runner waits, the timer's does not.
        self.connector_cache = CachedConnectors(self.connectors, self.clock)
        self.mappings = CachedMappings(self.mapping_rows, self.clock)
        self.group_rows = FakeGroupRepository()
        self.policies = CachedGroupPolicies(self.group_rows, self.mappings, self.clock)
        self.sync = PresenceSyncService(
            self.connector_cache,
            self.policies,
            self.states,
            CommandRunner(self.contact_centers, self.graph, APP_ID, sleep=self.sleep, reporter=self.reporter),
            self.recorder,
            self.subscriptions,
            self.clock,
            reporter=self.reporter,
            status_messages=StatusMessages(self.graph),
            state_cache=self.state_cache,
        )
        self.reconciler = ReconcileService(
            self.tenants,
            self.connector_cache,
            self.policies,
            self.states,
            self.graph,
            self.contact_centers,
            CommandRunner(self.contact_centers, self.graph, APP_ID, sleep=self.sleep, max_inline_wait=0),
            self.subscriptions,
            self.clock,
        )

    def teams(self, change: PresenceChange, *, delivery_count: int = 1) -> None:
        self.sync.teams_change(change.to_json(), message_id=change.message_id, delivery_count=delivery_count)

    def event(self, event: AgentStateChange, *, delivery_count: int = 1) -> None:
        self.sync.agent_event(event.to_json(), message_id=event.message_id, delivery_count=delivery_count)


def build_engine(*connectors: Connector) -> Engine:
    """The engine with one active, synced tenant (TENANT) unless connectors are given."""
    chosen = connectors or (connector(),)
    return Engine(
        clock=FakeClock(START),
        connectors=CountingConnectorRepository(*chosen),
        mapping_rows=CountingMappingRepository(),
        states=FakeSyncStates(),
        contact_centers=FakeContactCenters(),
        graph=FakeGraph(),
        recorder=FakeRecorder(),
        subscriptions=FakeSubscriptions(),
        sleep=FakeSleep(),
        tenants=FakeTenants(*(item.tenant_id for item in chosen)),
    )
