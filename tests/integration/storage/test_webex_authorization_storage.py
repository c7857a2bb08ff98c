"""The Webex authorization row on Azurite: round trip, sealed secrets, ETag-guarded saves, purge."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables import TableServiceClient

from shared.contact_center.webex.exceptions import StaleWebexAuthorization
from shared.contact_center.webex.model import (
    WebexAuthorization,
    WebexAuthorizationStatus,
    WebexSubscription,
)
from shared.security.exceptions import SecretDecryptionFailed
from shared.security.secret_box import SecretBox
from shared.settings import Settings
from shared.storage.table_names import CONNECTORS
from shared.storage.table_store import TableStore
from shared.storage.tenant_purge import TableTenantPurger
from shared.storage.webex_authorization_repository import ROW_KEY, TableWebexAuthorizations

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
REFRESH = "webex-refresh-token-do-not-leak"
SUBSCRIPTION_SECRET = "subscription-secret-do-not-leak-0123456789abcdef"


@pytest.fixture
def store(azurite_settings: Settings) -> TableStore:
    return TableStore.from_settings(azurite_settings)


@pytest.fixture
def repo(store: TableStore, azurite_settings: Settings) -> TableWebexAuthorizations:
    return TableWebexAuthorizations(store, SecretBox(azurite_settings.secrets_encryption_key))


def authorization(tenant_id: str) -> WebexAuthorization:
    return WebexAuthorization(
        tenant_id=tenant_id,
        status=WebexAuthorizationStatus.AUTHORIZED,
        org_id="2f9eecc5-0472-4549-9a83-2afdae0d4ba1",
        person_id="person-1",
        authorized_at=NOW,
        authorized_by="11111111-2222-3333-4444-555555555555",
        refresh_token=REFRESH,
        refresh_expires_at=NOW + timedelta(days=90),
        last_error="earlier failure",
        last_error_at=NOW,
        subscription=WebexSubscription("sub-1", SUBSCRIPTION_SECRET, NOW),
        subscription_error="earlier registration failure",
    )


def test_every_field_round_trips(repo: TableWebexAuthorizations, tenant_id: str) -> None:
    saved = repo.save(authorization(tenant_id))
    read = repo.get(tenant_id)
    assert read is not None
    assert read.etag == saved.etag
    assert replace(read, etag=None) == authorization(tenant_id)


def test_absent_parts_stay_absent(repo: TableWebexAuthorizations, tenant_id: str) -> None:
    minimal = replace(
        authorization(tenant_id),
        refresh_expires_at=None,
        last_error=None,
        last_error_at=None,
        subscription=None,
        subscription_error=None,
    )
    repo.save(minimal)
    read = repo.get(tenant_id)
    assert read is not None
    assert replace(read, etag=None) == minimal
    assert repo.get("00000000-0000-0000-0000-000000000000") is None


def test_the_refresh_token_and_subscription_secret_are_sealed(
    repo: TableWebexAuthorizations, azurite_settings: Settings, tenant_id: str
) -> None:
    repo.save(authorization(tenant_id))
    raw = TableServiceClient.from_connection_string(azurite_settings.tables_connection_string or "")
    entity = raw.get_table_client(CONNECTORS).get_entity(tenant_id, ROW_KEY)
    assert REFRESH not in str(dict(entity))
    assert SUBSCRIPTION_SECRET not in str(dict(entity))


def test_a_sealed_value_copied_to_another_tenant_does_not_open(
    repo: TableWebexAuthorizations, azurite_settings: Settings, tenant_id: str
) -> None:
    repo.save(authorization(tenant_id))
    other = "0c1a3e5f-7b9d-4f21-8a63-5e7c9b1d2f40"
    raw = TableServiceClient.from_connection_string(azurite_settings.tables_connection_string or "")
    table = raw.get_table_client(CONNECTORS)
    entity = dict(table.get_entity(tenant_id, ROW_KEY))
    entity["PartitionKey"] = other
    table.upsert_entity(entity)
    with pytest.raises(SecretDecryptionFailed):
        repo.get(other)
    table.delete_entity(other, ROW_KEY)


def test_a_save_with_a_stale_etag_is_refused(repo: TableWebexAuthorizations, tenant_id: str) -> None:
    first = repo.save(authorization(tenant_id))
    repo.save(replace(first, refresh_token="rotated-1"))
    with pytest.raises(StaleWebexAuthorization):
        repo.save(replace(first, refresh_token="rotated-2"))
    read = repo.get(tenant_id)
    assert read is not None
    assert read.refresh_token == "rotated-1"


def test_a_fresh_sign_in_replaces_whatever_is_stored(repo: TableWebexAuthorizations, tenant_id: str) -> None:
    repo.save(authorization(tenant_id))
    fresh = replace(authorization(tenant_id), refresh_token="fresh", subscription=None)
    repo.save(fresh)
    read = repo.get(tenant_id)
    assert read is not None
    assert read.refresh_token == "fresh"
    assert read.subscription is None


def test_the_tenant_purge_removes_it(
    repo: TableWebexAuthorizations, store: TableStore, tenant_id: str
) -> None:
    repo.save(authorization(tenant_id))
    assert TableTenantPurger(store).purge(tenant_id) >= 1
    assert repo.get(tenant_id) is None
    repo.delete(tenant_id)  # already gone: still fine
