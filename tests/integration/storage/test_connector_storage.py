"""The Table Storage adapters against Azurite: mapping, ETag concurrency, secrets at rest, purge."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables import TableServiceClient

from devstack.azurite import DEV_CONNECTION_STRING_TEMPLATE, free_port
from shared.connectors.exceptions import ConnectorAlreadyExists, StaleConnector
from shared.connectors.model import (
    AuditEntry,
    Connector,
    ConnectorSettings,
    ConnectorStatus,
    ConsentAttempt,
    ConsentFailure,
    PreviousSecret,
    WebexContactCenter,
    WebhookContactCenter,
)
from shared.security.secret_box import SecretBox
from shared.settings import Settings, load_settings
from shared.storage.audit_log import TableAuditLog
from shared.storage.connector_repository import TableConnectorRepository
from shared.storage.exceptions import InvalidTableKey, StorageUnavailable
from shared.storage.table_names import CONNECTOR_AUDIT, CONNECTORS
from shared.storage.table_store import TableStore
from shared.storage.tenant_purge import TableTenantPurger
from tests.support.identity import ADMIN

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 21, 9, 30, 15, 123456, tzinfo=UTC)
SECRET = "webhook-secret-do-not-leak"
PREVIOUS_SECRET = "previous-secret-do-not-leak-either"


@pytest.fixture
def store(azurite_settings: Settings) -> TableStore:
    return TableStore.from_settings(azurite_settings)


@pytest.fixture
def repo(store: TableStore, azurite_settings: Settings) -> TableConnectorRepository:
    return TableConnectorRepository(store, SecretBox(azurite_settings.secrets_encryption_key))


def pending(tenant_id: str) -> Connector:
    return Connector(
        tenant_id=tenant_id,
        status=ConnectorStatus.PENDING_CONSENT,
        settings=ConnectorSettings(show_user_details=False, presence_sync=True),
        contact_center=WebhookContactCenter("https://cc.example.com/hook", SECRET),
        created_at=NOW,
        updated_at=NOW,
        consent_attempt=ConsentAttempt("attempt-1", NOW + timedelta(minutes=15), ADMIN),
        last_consent_failure=ConsentFailure("access_denied", "declined", NOW),
        contact_center_changed_at=NOW,
        previous_secret=PreviousSecret(PREVIOUS_SECRET, NOW),
    )


def test_a_connector_round_trips_every_field(repo: TableConnectorRepository, tenant_id: str) -> None:
    # GIVEN a connector with every optional part set
    original = pending(tenant_id)
    # WHEN it is added and read back
    stored = repo.add(original)
    read = repo.get(tenant_id)
    # THEN everything survives, with the ETag Table Storage assigned
    assert read is not None
    assert stored.etag
    assert read.etag == stored.etag
    assert replace(read, etag=None) == original


def test_absent_optional_parts_stay_absent(repo: TableConnectorRepository, tenant_id: str) -> None:
    minimal = replace(
        pending(tenant_id),
        contact_center=None,
        consent_attempt=None,
        last_consent_failure=None,
        contact_center_changed_at=None,
        previous_secret=None,
    )
    repo.add(minimal)
    read = repo.get(tenant_id)
    assert read is not None
    assert replace(read, etag=None) == minimal
    assert repo.get("00000000-0000-0000-0000-000000000000") is None


def test_secrets_are_not_stored_in_clear_text(
    repo: TableConnectorRepository, azurite_settings: Settings, tenant_id: str
) -> None:
    repo.add(pending(tenant_id))
    raw = TableServiceClient.from_connection_string(azurite_settings.tables_connection_string or "")
    entity = raw.get_table_client(CONNECTORS).get_entity(tenant_id, "connector")
    assert SECRET not in str(dict(entity))
    assert PREVIOUS_SECRET not in str(dict(entity))


def test_a_webex_contact_center_round_trips_and_old_credential_fields_are_ignored(
    repo: TableConnectorRepository, azurite_settings: Settings, tenant_id: str
) -> None:
    webex = WebexContactCenter("https://api.wxcc-us1.cisco.com", "2f9eecc5-0472-4549-9a83-2afdae0d4ba1")
    repo.add(replace(pending(tenant_id), contact_center=webex, previous_secret=None))
    read = repo.get(tenant_id)
    assert read is not None
    assert read.contact_center == webex
    # A row written before the Webex sign-in carried clientId / clientSecret: it still reads.
    raw = TableServiceClient.from_connection_string(azurite_settings.tables_connection_string or "")
    table = raw.get_table_client(CONNECTORS)
    entity = table.get_entity(tenant_id, "connector")
    entity["ContactCenter"] = json.dumps(
        {"baseUrl": webex.base_url, "orgId": webex.org_id, "clientId": "c", "clientSecret": "v1:xx"}
    )
    table.update_entity(entity)
    again = repo.get(tenant_id)
    assert again is not None
    assert again.contact_center == webex


def test_a_second_add_conflicts(repo: TableConnectorRepository, tenant_id: str) -> None:
    repo.add(pending(tenant_id))
    with pytest.raises(ConnectorAlreadyExists):
        repo.add(pending(tenant_id))


def test_save_with_a_stale_etag_is_refused(repo: TableConnectorRepository, tenant_id: str) -> None:
    first = repo.add(pending(tenant_id))
    repo.save(replace(first, status=ConnectorStatus.ACTIVE))
    with pytest.raises(StaleConnector):
        repo.save(replace(first, settings=ConnectorSettings(presence_sync=False)))
    with pytest.raises(StaleConnector):
        repo.delete(first)


def test_concurrent_updates_with_one_etag_exactly_one_wins(
    repo: TableConnectorRepository, tenant_id: str
) -> None:
    # GIVEN eight writers holding the same version of the connector
    base = repo.add(pending(tenant_id))
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def writer(index: int) -> None:
        changed = replace(
            base, contact_center=WebhookContactCenter(f"https://h{index}.example.com", "s" * 16)
        )
        barrier.wait()
        try:
            repo.save(changed)
            result = f"won:{index}"
        except StaleConnector:
            result = "lost"
        with lock:
            outcomes.append(result)

    # WHEN they all write at once
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN exactly one write wins and the stored row is the winner's
    winners = [o for o in outcomes if o.startswith("won")]
    assert len(winners) == 1
    assert outcomes.count("lost") == 7
    stored = repo.get(tenant_id)
    assert stored is not None
    assert isinstance(stored.contact_center, WebhookContactCenter)
    assert stored.contact_center.url == f"https://h{winners[0].split(':')[1]}.example.com"


def test_illegal_keys_never_reach_the_service(repo: TableConnectorRepository) -> None:
    for bad in ("a/b", "a\\b", "a#b", "a?b", "a\x01b", ""):
        with pytest.raises(InvalidTableKey):
            repo.get(bad)


def test_audit_entries_come_back_newest_first(store: TableStore, tenant_id: str) -> None:
    audit = TableAuditLog(store)
    for minute, action in enumerate(["create", "grantConsent", "deactivate"]):
        audit.record(AuditEntry(tenant_id, action, NOW + timedelta(minutes=minute), "succeeded", ADMIN))
    audit.record(AuditEntry(tenant_id, "same-instant", NOW + timedelta(minutes=2), "failed"))
    entries = audit.list_recent(tenant_id, 10)
    assert [e.action for e in entries][2:] == ["grantConsent", "create"]
    assert {e.action for e in entries[:2]} == {"deactivate", "same-instant"}
    assert entries[-1].actor == ADMIN
    assert entries[-1].at == NOW
    assert len(audit.list_recent(tenant_id, 2)) == 2


def test_purge_removes_every_tenant_entity_and_nothing_else(store: TableStore, tenant_id: str) -> None:
    # GIVEN more audit entries than one batch holds, for two tenants
    audit = TableAuditLog(store)
    other = "99999999-9999-9999-9999-999999999999"
    table = store.table(CONNECTOR_AUDIT)
    entities = [
        {"PartitionKey": tenant_id, "RowKey": f"{i:05d}", "Action": "x", "At": NOW, "Outcome": "succeeded"}
        for i in range(230)
    ]
    for start in range(0, len(entities), 100):
        table.submit_transaction([("create", e) for e in entities[start : start + 100]])
    audit.record(AuditEntry(other, "create", NOW, "succeeded"))
    # WHEN the tenant is purged
    removed = TableTenantPurger(store).purge(tenant_id)
    # THEN its entities are gone and the other tenant's remain
    assert removed == 230
    assert audit.list_recent(tenant_id, 500) == []
    assert len(audit.list_recent(other, 10)) >= 1


def test_an_unreachable_table_service_is_reported_as_unavailable(example_values: dict[str, str]) -> None:
    settings = load_settings(
        {
            **example_values,
            "TABLES_CONNECTION_STRING": DEV_CONNECTION_STRING_TEMPLATE.format(port=free_port()),
        }
    )
    probe = TableStore.from_settings(settings, retry_total=0, connection_timeout=1)
    with pytest.raises(StorageUnavailable):
        probe.ping()


def test_a_batch_hitting_rows_another_delete_removed_finishes_one_by_one(
    store: TableStore, tenant_id: str
) -> None:
    # GIVEN three audit rows, one of which a concurrent delete already removed
    from shared.storage.tenant_purge import _delete_chunk

    table = store.table(CONNECTOR_AUDIT)
    for key in ("a", "b", "c"):
        table.create_entity({"PartitionKey": tenant_id, "RowKey": key, "Action": "x"})
    table.delete_entity(tenant_id, "b")
    # WHEN the purge deletes the batch it listed before
    _delete_chunk(table, tenant_id, ["a", "b", "c"])
    # THEN the batch fails as a whole, the rows are deleted one by one and nothing is left
    assert list(table.query_entities(f"PartitionKey eq '{tenant_id}'")) == []
