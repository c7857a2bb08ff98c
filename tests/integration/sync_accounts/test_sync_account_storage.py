"""The sync-account tables against Azurite: mapping, sealing at rest, the 32K split, ETag conditions,
single-use sign-ins under concurrency, and the cleanup of expired sign-ins."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.security.exceptions import SecretDecryptionFailed
from shared.security.secret_box import SecretBox
from shared.settings import Settings
from shared.storage.sync_account_repository import TableSignInRepository, TableSyncAccountRepository
from shared.storage.table_names import SYNC_ACCOUNTS, SYNC_SIGN_INS
from shared.storage.table_store import TableStore
from shared.sync_accounts.exceptions import StaleSyncAccount, SyncAccountNotFound
from shared.sync_accounts.model import PendingSignIn, SyncAccount, SyncAccountStatus
from tests.support.identity import ADMIN_OID

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 21, 9, 30, 15, tzinfo=UTC)
ACCOUNT = "5f0c2a4e-9d1b-4c3a-8e7f-6a5b4c3d2e1f"
SECOND = "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d"
REFRESH_TOKEN = "1.AVEA-refresh-token-that-must-never-be-stored-in-clear"
CACHE = json.dumps({"RefreshToken": {"k": {"secret": REFRESH_TOKEN}}})


@pytest.fixture
def store(azurite_settings: Settings) -> TableStore:
    return TableStore.from_settings(azurite_settings)


@pytest.fixture
def box(azurite_settings: Settings) -> SecretBox:
    return SecretBox(azurite_settings.secrets_encryption_key)


@pytest.fixture
def accounts(store: TableStore, box: SecretBox) -> TableSyncAccountRepository:
    return TableSyncAccountRepository(store, box)


@pytest.fixture
def sign_ins(store: TableStore, box: SecretBox) -> TableSignInRepository:
    return TableSignInRepository(store, box)


def account(
    tenant_id: str,
    account_id: str = ACCOUNT,
    *,
    user_principal_name: str = "sync1@contoso.example",
    display_name: str | None = "Sync One",
    signed_in_at: datetime = NOW,
) -> SyncAccount:
    return SyncAccount(
        tenant_id=tenant_id,
        account_id=account_id,
        user_principal_name=user_principal_name,
        display_name=display_name,
        status=SyncAccountStatus.HEALTHY,
        created_at=NOW,
        signed_in_at=signed_in_at,
        last_token_at=NOW,
    )


def test_an_account_round_trips_and_its_cache_is_sealed_at_rest(
    accounts: TableSyncAccountRepository, store: TableStore, tenant_id: str
) -> None:
    # WHEN an account is saved with its token cache
    saved = accounts.save_signed_in(account(tenant_id, display_name=None), CACHE)
    # THEN it reads back the same, and its cache opens
    assert saved.etag
    assert accounts.get(tenant_id, ACCOUNT) == saved
    assert accounts.list(tenant_id) == [saved]
    credentials = accounts.load_credentials(tenant_id, ACCOUNT)
    assert credentials is not None
    assert (credentials.account, credentials.token_cache) == (saved, CACHE)
    # AND the row itself shows no token
    row = store.table(SYNC_ACCOUNTS).get_entity(tenant_id, ACCOUNT)
    assert REFRESH_TOKEN not in json.dumps(dict(row), default=str)
    assert "displayName" not in row


def test_a_cache_beyond_one_property_is_split_and_shrinks_back(
    accounts: TableSyncAccountRepository, store: TableStore, tenant_id: str
) -> None:
    # GIVEN a cache that seals to more than 32K characters
    large = json.dumps({"blob": "x" * 70_000})
    saved = accounts.save_signed_in(account(tenant_id), large)
    row = store.table(SYNC_ACCOUNTS).get_entity(tenant_id, ACCOUNT)
    assert row["tokenCacheParts"] == 4
    assert all(len(row[f"tokenCache{i}"]) <= 30_000 for i in range(4))
    credentials = accounts.load_credentials(tenant_id, ACCOUNT)
    assert credentials is not None
    assert credentials.token_cache == large
    # WHEN a small cache replaces it, THEN the old parts are gone
    accounts.save_token_cache(saved, CACHE)
    row = store.table(SYNC_ACCOUNTS).get_entity(tenant_id, ACCOUNT)
    assert row["tokenCacheParts"] == 1
    assert "tokenCache1" not in row


def test_a_cache_sealed_with_another_key_does_not_open(
    accounts: TableSyncAccountRepository, store: TableStore, tenant_id: str
) -> None:
    accounts.save_signed_in(account(tenant_id), CACHE)
    rotated = TableSyncAccountRepository(store, SecretBox(os.urandom(32)))
    with pytest.raises(SecretDecryptionFailed):
        rotated.load_credentials(tenant_id, ACCOUNT)


def test_cache_writes_and_marks_are_conditional_on_the_etag(
    accounts: TableSyncAccountRepository, tenant_id: str
) -> None:
    # GIVEN an account read by two workers, and one of them writes first
    first = accounts.save_signed_in(account(tenant_id), CACHE)
    newer = accounts.save_token_cache(replace(first, last_token_at=NOW + timedelta(hours=1)), CACHE)
    assert newer.etag != first.etag
    # WHEN the other writes with what it read, THEN it is refused
    with pytest.raises(StaleSyncAccount):
        accounts.save_token_cache(first, CACHE)
    with pytest.raises(StaleSyncAccount):
        accounts.mark_reauthorization_required(first, "revoked", NOW)
    # AND a mark with the current etag applies, keeping the rest of the row
    marked = accounts.mark_reauthorization_required(newer, "refresh token revoked", NOW + timedelta(hours=2))
    stored = accounts.get(tenant_id, ACCOUNT)
    assert stored == marked
    assert stored.status is SyncAccountStatus.REAUTHORIZATION_REQUIRED
    assert stored.last_error == "refresh token revoked"
    assert stored.last_token_at == NOW + timedelta(hours=1)
    credentials = accounts.load_credentials(tenant_id, ACCOUNT)
    assert credentials is not None
    assert credentials.token_cache == CACHE


def test_writes_to_a_deleted_account_are_not_found(
    accounts: TableSyncAccountRepository, tenant_id: str
) -> None:
    saved = accounts.save_signed_in(account(tenant_id), CACHE)
    accounts.delete(tenant_id, ACCOUNT)
    accounts.delete(tenant_id, ACCOUNT)
    assert accounts.get(tenant_id, ACCOUNT) is None
    assert accounts.load_credentials(tenant_id, ACCOUNT) is None
    with pytest.raises(SyncAccountNotFound):
        accounts.save_token_cache(saved, CACHE)
    with pytest.raises(SyncAccountNotFound):
        accounts.mark_reauthorization_required(saved, "x", NOW)


def test_a_new_sign_in_replaces_the_whole_row(accounts: TableSyncAccountRepository, tenant_id: str) -> None:
    first = accounts.save_signed_in(account(tenant_id), CACHE)
    accounts.mark_reauthorization_required(first, "revoked", NOW)
    again = accounts.save_signed_in(account(tenant_id, signed_in_at=NOW + timedelta(days=1)), '{"new": 1}')
    stored = accounts.get(tenant_id, ACCOUNT)
    assert stored == again
    assert stored.last_error is None
    assert stored.status is SyncAccountStatus.HEALTHY


def test_accounts_are_listed_per_tenant(accounts: TableSyncAccountRepository, tenant_id: str) -> None:
    accounts.save_signed_in(account(tenant_id), CACHE)
    accounts.save_signed_in(account(tenant_id, SECOND, user_principal_name="sync2@contoso.example"), CACHE)
    other = "0c1a3e5f-7b9d-4f21-8a63-5e7c9b1d2f40"
    accounts.save_signed_in(account(other), CACHE)
    try:
        assert sorted(a.account_id for a in accounts.list(tenant_id)) == [ACCOUNT, SECOND]
    finally:
        accounts.delete(other, ACCOUNT)


def pending(tenant_id: str, attempt_id: str, expires_at: datetime) -> PendingSignIn:
    return PendingSignIn(
        tenant_id=tenant_id,
        attempt_id=attempt_id,
        code_verifier="verifier-" + "v" * 70,
        login_hint="sync1@contoso.example",
        created_at=expires_at - timedelta(minutes=15),
        expires_at=expires_at,
        requested_by=ADMIN_OID,
    )


def test_a_sign_in_is_sealed_and_taken_once(
    sign_ins: TableSignInRepository, store: TableStore, tenant_id: str
) -> None:
    # GIVEN a pending sign-in
    sign_ins.add(pending(tenant_id, "attempt-1", NOW))
    row = store.table(SYNC_SIGN_INS).get_entity(tenant_id, "attempt-1")
    assert "verifier-" not in json.dumps(dict(row), default=str)
    # WHEN it is taken twice, THEN only the first gets it, verifier opened
    taken = sign_ins.take(tenant_id, "attempt-1")
    assert taken is not None
    assert taken.code_verifier == "verifier-" + "v" * 70
    assert (taken.login_hint, taken.expires_at, taken.requested_by) == (
        "sync1@contoso.example",
        NOW,
        ADMIN_OID,
    )
    assert sign_ins.take(tenant_id, "attempt-1") is None


def test_concurrent_callbacks_with_one_state_get_the_sign_in_once(
    sign_ins: TableSignInRepository, tenant_id: str
) -> None:
    # GIVEN one pending sign-in and eight callbacks racing for it
    sign_ins.add(pending(tenant_id, "attempt-race", NOW))
    barrier = threading.Barrier(8)
    results: list[PendingSignIn | None] = []
    lock = threading.Lock()

    def callback() -> None:
        barrier.wait()
        taken = sign_ins.take(tenant_id, "attempt-race")
        with lock:
            results.append(taken)

    threads = [threading.Thread(target=callback) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN exactly one of them got it
    assert len(results) == 8
    assert sum(result is not None for result in results) == 1


def test_expired_sign_ins_of_the_tenant_are_removed(
    sign_ins: TableSignInRepository, store: TableStore, tenant_id: str
) -> None:
    sign_ins.add(pending(tenant_id, "old", NOW - timedelta(minutes=1)))
    sign_ins.add(pending(tenant_id, "fresh", NOW + timedelta(minutes=10)))
    other = "0c1a3e5f-7b9d-4f21-8a63-5e7c9b1d2f40"
    sign_ins.add(pending(other, f"old-{tenant_id}", NOW - timedelta(minutes=1)))
    try:
        assert sign_ins.remove_expired(tenant_id, NOW) == 1
        keys = [
            e["RowKey"] for e in store.table(SYNC_SIGN_INS).query_entities(f"PartitionKey eq '{tenant_id}'")
        ]
        assert keys == ["fresh"]
        assert sign_ins.take(other, f"old-{tenant_id}") is not None
    finally:
        sign_ins.take(other, f"old-{tenant_id}")
