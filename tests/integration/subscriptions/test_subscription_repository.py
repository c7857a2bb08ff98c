"""The Subscriptions table against Azurite: records, the compact shard, the roster version and lease."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.settings import Settings
from shared.storage.subscription_repository import (
    MAX_STRING_PROPERTY_CHARS,
    ROSTER_ROW,
    TableSubscriptionRepository,
    encode_user_ids,
)
from shared.storage.table_names import SUBSCRIPTIONS
from shared.storage.table_store import TableStore
from shared.storage.tenant_purge import TableTenantPurger
from shared.subscriptions.exceptions import ShardTooLarge
from shared.subscriptions.model import SubscriptionRecord, SubscriptionStatus

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 21, 9, 30, 15, 123000, tzinfo=UTC)


@pytest.fixture
def store(azurite_settings: Settings) -> TableStore:
    return TableStore.from_settings(azurite_settings)


@pytest.fixture
def repo(store: TableStore) -> TableSubscriptionRepository:
    return TableSubscriptionRepository(store)


def _record(
    tenant_id: str, account_id: str | None = None, count: int = 3, **changes: object
) -> SubscriptionRecord:
    values: dict[str, object] = {
        "tenant_id": tenant_id,
        "account_id": account_id or str(uuid.uuid4()),
        "subscription_id": str(uuid.uuid4()),
        "user_ids": tuple(str(uuid.uuid4()) for _ in range(count)),
        "expires_at": NOW + timedelta(minutes=59),
        "created_at": NOW,
        "renewed_at": None,
        "reauthorized_at": None,
        "status": SubscriptionStatus.ACTIVE,
        "last_error": None,
        **changes,
    }
    return SubscriptionRecord(**values)  # type: ignore[arg-type]


def test_record_round_trip_with_650_users_in_one_property(
    repo: TableSubscriptionRepository, store: TableStore, tenant_id: str
) -> None:
    # GIVEN a full shard of 650 users (upper-case ids on the way in)
    record = _record(tenant_id, count=650)
    record = replace(record, user_ids=tuple(u.upper() for u in record.user_ids))

    # WHEN it is stored and read back
    stored = repo.put(record)
    loaded = repo.get(tenant_id, record.account_id)

    # THEN everything survives, the ids in lower case, in one property under the 32K limit
    assert loaded is not None
    assert stored.etag
    assert loaded.etag == stored.etag
    assert set(loaded.user_ids) == {u.lower() for u in record.user_ids}
    assert replace(loaded, user_ids=(), etag=None) == replace(record, user_ids=(), etag=None)
    raw = store.table(SUBSCRIPTIONS).get_entity(tenant_id, record.account_id)
    assert len(raw["UserIds"]) == 650 * 36 + 649
    assert len(raw["UserIds"]) < MAX_STRING_PROPERTY_CHARS
    assert raw["UserCount"] == 650


def test_more_than_650_users_are_refused(tenant_id: str) -> None:
    with pytest.raises(ShardTooLarge):
        encode_user_ids([str(uuid.uuid4()) for _ in range(651)])


def test_replace_drops_what_is_no_longer_set(repo: TableSubscriptionRepository, tenant_id: str) -> None:
    record = repo.put(_record(tenant_id, last_error="old", renewed_at=NOW))

    repo.put(
        replace(
            record, subscription_id=None, status=SubscriptionStatus.FAILED, last_error=None, renewed_at=None
        )
    )

    loaded = repo.get(tenant_id, record.account_id)
    assert loaded is not None
    assert loaded.subscription_id is None
    assert loaded.last_error is None
    assert loaded.renewed_at is None
    assert loaded.status is SubscriptionStatus.FAILED


def test_list_and_find_by_subscription_id_stay_in_the_partition(
    repo: TableSubscriptionRepository, tenant_id: str
) -> None:
    # GIVEN two records here, a roster row, and a record of another tenant with the same subscription id
    first = repo.put(_record(tenant_id))
    second = repo.put(_record(tenant_id))
    repo.bump_roster_version(tenant_id)
    other_tenant = str(uuid.uuid4())
    repo.put(_record(other_tenant, subscription_id=first.subscription_id))

    # THEN list holds only this tenant's records (not the roster row)
    assert {r.account_id for r in repo.list(tenant_id)} == {first.account_id, second.account_id}
    # AND the lookup is per tenant and case-insensitive
    assert first.subscription_id is not None
    found = repo.find_by_subscription_id(tenant_id, first.subscription_id.upper())
    assert found is not None
    assert found.account_id == first.account_id
    assert repo.find_by_subscription_id(tenant_id, str(uuid.uuid4())) is None
    assert tenant_id in repo.tenant_ids()
    assert other_tenant in repo.tenant_ids()


def test_renewal_and_errors_merge_only_into_the_same_subscription(
    repo: TableSubscriptionRepository, tenant_id: str
) -> None:
    record = repo.put(_record(tenant_id, reauthorized_at=NOW))
    assert record.subscription_id is not None
    later = NOW + timedelta(minutes=20)

    renewed = repo.record_renewal(
        tenant_id, record.account_id, record.subscription_id, later + timedelta(hours=1), later
    )

    assert renewed is not None
    assert renewed.renewed_at == later
    assert renewed.reauthorized_at == NOW
    assert renewed == repo.get(tenant_id, record.account_id)
    # a lifecycle answer for a subscription the record no longer holds changes nothing
    assert repo.record_reauthorization(tenant_id, record.account_id, str(uuid.uuid4()), later) is None
    failed = repo.record_error(
        tenant_id, record.account_id, record.subscription_id, "removed", SubscriptionStatus.FAILED
    )
    assert failed is not None
    assert failed.status is SubscriptionStatus.FAILED
    assert failed.last_error == "removed"


def test_delete_is_idempotent(repo: TableSubscriptionRepository, tenant_id: str) -> None:
    record = repo.put(_record(tenant_id))

    repo.delete(tenant_id, record.account_id)
    repo.delete(tenant_id, record.account_id)

    assert repo.get(tenant_id, record.account_id) is None


def test_concurrent_roster_bumps_are_never_lost(repo: TableSubscriptionRepository, tenant_id: str) -> None:
    # GIVEN four threads bumping the version three times each: a thread loses an attempt only to one of
    # the other threads' 9 successful bumps, fewer than MAX_ROSTER_ATTEMPTS, so no bump may be given up
    # however the threads are scheduled
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(3):
                repo.bump_roster_version(tenant_id)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN every bump counted
    assert errors == []
    assert repo.roster_state(tenant_id).version == 12


def test_only_one_owner_holds_the_lease_until_it_lapses(
    repo: TableSubscriptionRepository, tenant_id: str
) -> None:
    until = NOW + timedelta(minutes=2)
    assert repo.try_acquire_lease(tenant_id, "first", NOW, until)
    assert not repo.try_acquire_lease(tenant_id, "second", NOW + timedelta(minutes=1), until)
    assert repo.try_acquire_lease(tenant_id, "first", NOW, until)

    # WHEN the lease lapses THEN another owner takes it, and the old one can no longer extend it
    assert repo.try_acquire_lease(
        tenant_id, "second", until + timedelta(seconds=1), until + timedelta(minutes=2)
    )
    assert not repo.extend_lease(tenant_id, "first", until + timedelta(minutes=5))
    assert repo.extend_lease(tenant_id, "second", until + timedelta(minutes=5))
    state = repo.roster_state(tenant_id)
    assert state.lease_owner == "second"
    assert state.lease_until == until + timedelta(minutes=5)


def test_concurrent_acquires_give_the_lease_to_exactly_one(
    repo: TableSubscriptionRepository, tenant_id: str
) -> None:
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def contend(owner: str) -> None:
        barrier.wait()
        if repo.try_acquire_lease(tenant_id, owner, NOW, NOW + timedelta(minutes=2)):
            winners.append(owner)

    threads = [threading.Thread(target=contend, args=(f"owner-{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(winners) == 1
    assert repo.roster_state(tenant_id).lease_owner == winners[0]


def test_release_is_refused_when_the_roster_changed_meanwhile(
    repo: TableSubscriptionRepository, tenant_id: str
) -> None:
    # GIVEN the lease taken at version 1
    repo.bump_roster_version(tenant_id)
    assert repo.try_acquire_lease(tenant_id, "me", NOW, NOW + timedelta(minutes=2))

    # WHEN the roster changes before the release
    repo.bump_roster_version(tenant_id)

    # THEN the release at version 1 keeps the lease (the holder must sync again); at 2 it goes
    assert repo.release_lease(tenant_id, "me", 1) is False
    assert repo.roster_state(tenant_id).lease_owner == "me"
    assert repo.release_lease(tenant_id, "me", 2) is True
    assert repo.roster_state(tenant_id).lease_owner is None
    assert repo.roster_state(tenant_id).version == 2
    # a free lease is taken at once by anyone
    assert repo.try_acquire_lease(tenant_id, "next", NOW, NOW + timedelta(minutes=2))


def test_purge_removes_records_and_the_roster_row(
    repo: TableSubscriptionRepository, store: TableStore, tenant_id: str
) -> None:
    repo.put(_record(tenant_id))
    repo.bump_roster_version(tenant_id)

    TableTenantPurger(store, [SUBSCRIPTIONS]).purge(tenant_id)

    assert repo.list(tenant_id) == []
    assert repo.roster_state(tenant_id).version == 0
    assert ROSTER_ROW not in {r.account_id for r in repo.list(tenant_id)}
