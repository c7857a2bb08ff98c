"""The subscription directory the notification intake asks: cached answers, bounded, forgettable."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from shared.notifications.intake import KnownSubscription
from shared.subscriptions.directory import TableSubscriptionDirectory
from shared.subscriptions.model import SubscriptionRecord, SubscriptionStatus
from tests.fakes import FakeClock
from tests.unit.subscriptions.conftest import OTHER_TENANT, START, TENANT

SUBSCRIPTION = "0b6a3c9e-4a7f-4c1e-9d2b-5f8e7a6b4c3d"


class CountingLookup:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], SubscriptionRecord] = {}
        self.reads = 0
        self._lock = threading.Lock()

    def add(self, tenant_id: str, subscription_id: str) -> None:
        self.records[(tenant_id, subscription_id)] = SubscriptionRecord(
            tenant_id=tenant_id,
            account_id="account",
            subscription_id=subscription_id,
            user_ids=(),
            expires_at=START + timedelta(hours=1),
            created_at=START,
            renewed_at=None,
            reauthorized_at=None,
            status=SubscriptionStatus.ACTIVE,
            last_error=None,
        )

    def find_by_subscription_id(self, tenant_id: str, subscription_id: str) -> SubscriptionRecord | None:
        with self._lock:
            self.reads += 1
        return self.records.get((tenant_id, subscription_id.lower()))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def lookup() -> CountingLookup:
    return CountingLookup()


def test_known_subscription_is_read_once_then_served_from_memory(
    clock: FakeClock, lookup: CountingLookup
) -> None:
    # GIVEN a recorded subscription
    lookup.add(TENANT, SUBSCRIPTION)
    directory = TableSubscriptionDirectory(lookup, clock)

    # WHEN the intake asks many times within the TTL
    answers = [directory.find(SUBSCRIPTION, TENANT) for _ in range(50)]

    # THEN one table read, the same answer each time (the id's case does not matter)
    assert set(answers) == {KnownSubscription(SUBSCRIPTION, TENANT)}
    assert directory.find(SUBSCRIPTION.upper(), TENANT) == KnownSubscription(SUBSCRIPTION, TENANT)
    assert lookup.reads == 1


def test_known_entries_expire_after_the_ttl(clock: FakeClock, lookup: CountingLookup) -> None:
    lookup.add(TENANT, SUBSCRIPTION)
    directory = TableSubscriptionDirectory(lookup, clock, ttl=timedelta(minutes=5))
    directory.find(SUBSCRIPTION, TENANT)

    clock.advance(minutes=5, seconds=1)
    lookup.records.clear()

    assert directory.find(SUBSCRIPTION, TENANT) is None
    assert lookup.reads == 2


def test_unknown_answers_are_cached_briefly(clock: FakeClock, lookup: CountingLookup) -> None:
    # GIVEN a subscription id that is not (yet) recorded
    directory = TableSubscriptionDirectory(lookup, clock, negative_ttl=timedelta(seconds=30))
    assert directory.find(SUBSCRIPTION, TENANT) is None
    assert directory.find(SUBSCRIPTION, TENANT) is None
    assert lookup.reads == 1

    # WHEN another instance records it and the negative TTL passes
    lookup.add(TENANT, SUBSCRIPTION)
    clock.advance(seconds=31)

    # THEN it becomes known
    assert directory.find(SUBSCRIPTION, TENANT) == KnownSubscription(SUBSCRIPTION, TENANT)


def test_tenant_is_part_of_the_key(clock: FakeClock, lookup: CountingLookup) -> None:
    lookup.add(TENANT, SUBSCRIPTION)
    directory = TableSubscriptionDirectory(lookup, clock)

    assert directory.find(SUBSCRIPTION, OTHER_TENANT) is None
    assert directory.find(SUBSCRIPTION, TENANT) == KnownSubscription(SUBSCRIPTION, TENANT)


def test_forget_drops_every_entry_of_the_subscription(clock: FakeClock, lookup: CountingLookup) -> None:
    lookup.add(TENANT, SUBSCRIPTION)
    directory = TableSubscriptionDirectory(lookup, clock)
    directory.find(SUBSCRIPTION, TENANT)
    directory.find(SUBSCRIPTION, OTHER_TENANT)

    # WHEN the service deletes the subscription in this process
    lookup.records.clear()
    directory.forget(SUBSCRIPTION.upper())

    # THEN the next notification is checked against the table again
    assert directory.find(SUBSCRIPTION, TENANT) is None
    assert lookup.reads == 3


def test_cache_is_bounded_least_recently_used_first(clock: FakeClock, lookup: CountingLookup) -> None:
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(5)]
    for subscription_id in ids:
        lookup.add(TENANT, subscription_id)
    directory = TableSubscriptionDirectory(lookup, clock, max_entries=3)

    for subscription_id in ids[:3]:
        directory.find(subscription_id, TENANT)
    directory.find(ids[0], TENANT)  # most recently used now
    directory.find(ids[3], TENANT)  # evicts ids[1]
    reads = lookup.reads

    assert len(directory) == 3
    directory.find(ids[0], TENANT)
    assert lookup.reads == reads
    directory.find(ids[1], TENANT)
    assert lookup.reads == reads + 1


def test_concurrent_lookups_are_safe(clock: FakeClock, lookup: CountingLookup) -> None:
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(200)]
    for subscription_id in ids:
        lookup.add(TENANT, subscription_id)
    directory = TableSubscriptionDirectory(lookup, clock, max_entries=50)
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            for index in range(400):
                subscription_id = ids[(index + offset) % len(ids)]
                assert directory.find(subscription_id, TENANT) == KnownSubscription(subscription_id, TENANT)
                if index % 7 == 0:
                    directory.forget(subscription_id)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n * 13,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(directory) <= 50


def test_lifetimes_must_be_positive(clock: FakeClock, lookup: CountingLookup) -> None:
    with pytest.raises(ValueError, match="positive"):
        TableSubscriptionDirectory(lookup, clock, negative_ttl=timedelta(0))
