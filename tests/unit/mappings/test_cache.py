"""The per-process cache of mappings the sync worker reads: fresh for its TTL, never stale after an
invalidation, safe under threads."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from shared.contact_center.model import AgentState
from shared.mappings.cache import DEFAULT_TTL, CachedMappings
from shared.mappings.defaults import DEFAULT_MAPPINGS
from shared.mappings.model import ContactCenterToTeamsRule, MappingRules, PresenceMappings
from shared.storage.exceptions import StorageUnavailable
from tests.fakes import FakeClock
from tests.unit.mappings.fakes import FakeMappingRepository

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER = "11111111-2222-3333-4444-555555555555"
RULES = MappingRules(
    teams_to_contact_center=(),
    contact_center_to_teams=(ContactCenterToTeamsRule(AgentState.WRAP_UP, "Busy", "InACall"),),
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def repo() -> FakeMappingRepository:
    return FakeMappingRepository()


def test_the_documented_bound_is_ten_seconds() -> None:
    assert timedelta(seconds=10) == DEFAULT_TTL


def test_a_tenant_without_stored_mappings_gets_the_defaults(
    repo: FakeMappingRepository, clock: FakeClock
) -> None:
    cache = CachedMappings(repo, clock)
    assert cache.get(TENANT) is DEFAULT_MAPPINGS


def test_reads_within_the_ttl_hit_the_cache_and_later_ones_reload(
    repo: FakeMappingRepository, clock: FakeClock
) -> None:
    # GIVEN stored mappings read once
    stored = repo.upsert(TENANT, RULES, clock())
    cache = CachedMappings(repo, clock, ttl=timedelta(seconds=10))
    assert cache.get(TENANT) == stored
    # WHEN read again just inside the TTL THEN storage is not asked again
    clock.advance(seconds=9.9)
    cache.get(TENANT)
    assert repo.reads == 1
    # WHEN the TTL has passed THEN the next read goes to storage and sees what changed there
    changed = repo.upsert(TENANT, MappingRules((), ()), clock())
    clock.advance(seconds=0.1)
    assert cache.get(TENANT) == changed
    assert repo.reads == 2


def test_invalidation_makes_the_next_read_load_at_once(repo: FakeMappingRepository, clock: FakeClock) -> None:
    # GIVEN cached defaults
    cache = CachedMappings(repo, clock)
    assert cache.get(TENANT).is_default
    # WHEN mappings are stored and the entry invalidated (what the service does on PUT)
    stored = repo.upsert(TENANT, RULES, clock())
    cache.invalidate(TENANT)
    # THEN the very next read, still within the TTL, returns them
    assert cache.get(TENANT) == stored


def test_invalidation_touches_only_its_tenant(repo: FakeMappingRepository, clock: FakeClock) -> None:
    cache = CachedMappings(repo, clock)
    cache.get(TENANT)
    cache.get(OTHER)
    cache.invalidate(TENANT)
    cache.get(OTHER)
    assert repo.reads == 2
    cache.get(TENANT)
    assert repo.reads == 3


def test_a_read_that_started_before_an_invalidation_does_not_cache_what_it_read(clock: FakeClock) -> None:
    # GIVEN a storage read that is slow and returns the old mappings
    repo = FakeMappingRepository()
    old = repo.upsert(TENANT, MappingRules((), ()), clock())
    reading, release = threading.Event(), threading.Event()
    original_get = repo.get

    def slow_get(tenant_id: str) -> PresenceMappings | None:
        result = original_get(tenant_id)
        reading.set()
        release.wait(timeout=10)
        return result

    repo.get = slow_get  # type: ignore[method-assign]
    cache = CachedMappings(repo, clock)
    results: list[PresenceMappings] = []
    reader = threading.Thread(target=lambda: results.append(cache.get(TENANT)))
    reader.start()
    try:
        assert reading.wait(timeout=10)
        # WHEN new mappings are stored and invalidated while that read is in flight
        repo.get = original_get  # type: ignore[method-assign]
        new = repo.upsert(TENANT, RULES, clock())
        cache.invalidate(TENANT)
    finally:
        release.set()
        reader.join(timeout=10)
    # THEN the slow reader returns what it read, but the cache serves the new mappings
    assert results == [old]
    assert cache.get(TENANT) == new


def test_storage_failures_reach_the_caller_and_are_not_cached(
    repo: FakeMappingRepository, clock: FakeClock
) -> None:
    cache = CachedMappings(repo, clock)
    repo.fail_reads = StorageUnavailable("down")
    with pytest.raises(StorageUnavailable):
        cache.get(TENANT)
    repo.fail_reads = None
    assert cache.get(TENANT).is_default


def test_the_cache_holds_at_most_max_entries(repo: FakeMappingRepository, clock: FakeClock) -> None:
    # GIVEN a cache for two tenants, filled with three
    cache = CachedMappings(repo, clock, max_entries=2)
    for tenant in ("t1", "t2", "t3"):
        cache.get(tenant)
    # THEN the least recently used one was dropped and is read again, the others are not
    cache.get("t3")
    cache.get("t2")
    assert repo.reads == 3
    cache.get("t1")
    assert repo.reads == 4


def test_many_threads_reading_and_invalidating_see_only_stored_mappings(
    repo: FakeMappingRepository, clock: FakeClock
) -> None:
    # GIVEN threads reading while others store and invalidate
    cache = CachedMappings(repo, clock)
    versions = [MappingRules((), (ContactCenterToTeamsRule(AgentState.WRAP_UP, "Busy", "InACall"),)), RULES]
    seen: list[PresenceMappings] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(200):
                seen.append(cache.get(TENANT))
        except BaseException as exc:  # handed over to the test thread, which asserts on it
            errors.append(exc)

    def writer() -> None:
        for index in range(50):
            repo.upsert(TENANT, versions[index % 2], clock())
            cache.invalidate(TENANT)

    threads = [threading.Thread(target=reader) for _ in range(4)] + [threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # THEN nothing failed, and every read returned defaults or one of the stored versions
    assert errors == []
    assert {m.rules for m in seen} <= {DEFAULT_MAPPINGS.rules, *versions}
    # AND after the last invalidation the cache serves the last stored version
    assert cache.get(TENANT) == repo.rows[TENANT]


@pytest.mark.parametrize(("ttl", "entries"), [(timedelta(0), 10), (timedelta(seconds=1), 0)])
def test_nonsense_configuration_is_refused(
    repo: FakeMappingRepository, clock: FakeClock, ttl: timedelta, entries: int
) -> None:
    with pytest.raises(ValueError, match="must be"):
        CachedMappings(repo, clock, ttl, max_entries=entries)
