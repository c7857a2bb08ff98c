"""The contact-center checks row against Azurite: both sources side by side, merge writes that leave
the connector's ETag alone, and the tenant purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus, WebhookContactCenter
from shared.contact_center.exceptions import ContactCenterUnavailable
from shared.contact_center.health import CheckSource, ContactCenterHealth, accepted_check, failed_check
from shared.security.secret_box import SecretBox
from shared.settings import Settings
from shared.storage.connector_repository import TableConnectorRepository
from shared.storage.contact_center_health_repository import TableContactCenterHealth
from shared.storage.table_names import CONNECTORS
from shared.storage.table_store import TableStore
from shared.storage.tenant_purge import TableTenantPurger

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, 9, 30, 15, 123000, tzinfo=UTC)
HOOK = WebhookContactCenter("https://cc.example.com/hook", "s" * 24)


@pytest.fixture
def store(azurite_settings: Settings) -> TableStore:
    return TableStore.from_settings(azurite_settings)


def test_the_latest_check_of_each_source_round_trips(store: TableStore, tenant_id: str) -> None:
    health = TableContactCenterHealth(store)
    assert health.get(tenant_id) == ContactCenterHealth()
    tested = accepted_check(CheckSource.TEST, NOW, HOOK, 204, 41.7)
    failing = failed_check(
        CheckSource.SYNC, NOW + timedelta(seconds=5), HOOK, ContactCenterUnavailable("cannot be reached")
    )
    health.record(tenant_id, tested)
    health.record(tenant_id, failing)
    assert health.get(tenant_id) == ContactCenterHealth(last_test=tested, last_sync=failing)
    # A newer test replaces the older one and leaves the engine's evidence alone
    retested = failed_check(
        CheckSource.TEST,
        NOW + timedelta(seconds=9),
        HOOK,
        ContactCenterUnavailable("answered 503", status=503),
        12.0,
    )
    health.record(tenant_id, retested)
    assert health.get(tenant_id) == ContactCenterHealth(last_test=retested, last_sync=failing)


def test_recording_health_does_not_change_the_connectors_etag_and_the_purge_removes_it(
    store: TableStore, azurite_settings: Settings, tenant_id: str
) -> None:
    connectors = TableConnectorRepository(store, SecretBox(azurite_settings.secrets_encryption_key))
    stored = connectors.add(
        Connector(tenant_id, ConnectorStatus.INACTIVE, ConnectorSettings(), None, NOW, NOW)
    )
    health = TableContactCenterHealth(store)
    health.record(tenant_id, accepted_check(CheckSource.SYNC, NOW, HOOK, None))
    # An admin holding the ETag read before the engine reported can still write with it
    assert connectors.get(tenant_id) == stored
    connectors.save(stored)
    # WHEN the tenant is purged THEN the health row goes, the connector row stays for the service to delete
    removed = TableTenantPurger(store).purge(tenant_id)
    assert removed == 1
    assert health.get(tenant_id) == ContactCenterHealth()
    assert connectors.get(tenant_id) is not None
    keys = [e["RowKey"] for e in store.table(CONNECTORS).query_entities(f"PartitionKey eq '{tenant_id}'")]
    assert keys == ["connector"]
