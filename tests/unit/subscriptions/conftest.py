"""A subscriptions service wired to fakes of every port, and helpers to arrange a tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus
from shared.notifications.client_state import ClientStateSigner
from shared.notifications.encryption_keys import EncryptionCertificate, EncryptionKeyRing
from shared.subscriptions.service import SubscriptionService
from tests.fakes import FakeClock, FakeConnectorRepository
from tests.support.notification_encryption import generate_encryption_certificate
from tests.unit.subscriptions.fakes import (
    FakeAccounts,
    FakeActiveTenants,
    FakeGraph,
    FakeQueue,
    FakeRoster,
    FakeSubscriptionRepository,
    RecordingCache,
)

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b"
NOTIFICATION_URL = "https://connector.example/api/graph/notifications"
LIFECYCLE_URL = "https://connector.example/api/graph/lifecycle"
START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def user(number: int) -> str:
    return str(uuid.UUID(int=number))


def users(start: int, count: int) -> list[str]:
    return [user(n) for n in range(start, start + count)]


@pytest.fixture(scope="session")
def certificate() -> EncryptionCertificate:
    return generate_encryption_certificate("presence-2026")


@dataclass
class World:
    clock: FakeClock
    repository: FakeSubscriptionRepository
    graph: FakeGraph
    roster: FakeRoster
    accounts: FakeAccounts
    connectors: FakeConnectorRepository
    queue: FakeQueue
    active: FakeActiveTenants
    cache: RecordingCache
    signer: ClientStateSigner
    keys: EncryptionKeyRing
    service: SubscriptionService

    def tenant(
        self,
        tenant_id: str = TENANT,
        *,
        agents: list[str] | None = None,
        accounts: list[str] | None = None,
        status: ConnectorStatus = ConnectorStatus.ACTIVE,
    ) -> str:
        now = self.clock()
        self.connectors.rows[tenant_id] = Connector(
            tenant_id=tenant_id,
            status=status,
            settings=ConnectorSettings(),
            contact_center=None,
            created_at=now,
            updated_at=now,
            etag='W/"1"',
        )
        self.roster.users[tenant_id] = list(agents or [])
        self.accounts.usable[tenant_id] = list(accounts or [])
        if status is ConnectorStatus.ACTIVE:
            self.active.tenant_ids.append(tenant_id)
        return tenant_id

    def deactivate(self, tenant_id: str = TENANT) -> None:
        self.connectors.rows[tenant_id] = replace(
            self.connectors.rows[tenant_id], status=ConnectorStatus.INACTIVE
        )
        self.active.tenant_ids.remove(tenant_id)

    def shards(self, tenant_id: str = TENANT) -> dict[str, frozenset[str]]:
        return {r.account_id: frozenset(r.user_ids) for r in self.repository.list(tenant_id)}


def build_world(certificate: EncryptionCertificate, **options: Any) -> World:
    clock = FakeClock(START)
    repository = FakeSubscriptionRepository()
    graph = FakeGraph(clock)
    roster = FakeRoster()
    accounts = FakeAccounts()
    connectors = FakeConnectorRepository()
    queue = FakeQueue()
    active = FakeActiveTenants()
    cache = RecordingCache()
    signer = ClientStateSigner(b"k" * 32)
    keys = EncryptionKeyRing(certificate)
    service = SubscriptionService(
        repository,
        graph,
        roster,
        accounts,
        connectors,
        queue,
        signer,
        keys,
        NOTIFICATION_URL,
        LIFECYCLE_URL,
        clock,
        active_tenants=active,
        directory=cache,
        **options,
    )
    return World(
        clock, repository, graph, roster, accounts, connectors, queue, active, cache, signer, keys, service
    )


@pytest.fixture
def world(certificate: EncryptionCertificate) -> World:
    return build_world(certificate)
