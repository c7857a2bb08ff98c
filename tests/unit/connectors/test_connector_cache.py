"""CachedConnectors: the presence hot path reads a tenant's connector at most once per TTL; a change
reaches it within the TTL, and at once after invalidate()."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

from shared.connectors.cache import DEFAULT_TTL, CachedConnectors
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus
from tests.fakes import FakeClock
from tests.unit.presence.engine_fakes import OTHER_TENANT, TENANT, CountingConnectorRepository, connector


def cache_of(*connectors: Connector) -> tuple[CachedConnectors, CountingConnectorRepository, FakeClock]:
    repository = CountingConnectorRepository(*connectors)
    clock = FakeClock()
    return CachedConnectors(repository, clock), repository, clock


def test_a_connector_is_read_once_per_ttl() -> None:
    cache, repository, clock = cache_of(connector())
    # WHEN many messages of the tenant ask for it within the TTL
    first = cache.get(TENANT)
    for _ in range(5):
        clock.advance(seconds=1)
        assert cache.get(TENANT) == first
    # THEN storage was read once
    assert repository.reads == 1
    assert cache.ttl == DEFAULT_TTL == timedelta(seconds=10)


def test_a_change_is_seen_once_the_ttl_is_over() -> None:
    cache, repository, clock = cache_of(connector())
    cache.get(TENANT)
    # GIVEN presence sync was switched off through the API (on another instance)
    switched_off = replace(connector(), settings=ConnectorSettings(presence_sync=False))
    repository.rows[TENANT] = switched_off
    # WHEN the TTL has not passed yet, the cached value is served; once it has, the new one
    clock.advance(seconds=9)
    assert cache.get(TENANT) == connector()
    clock.advance(seconds=1)
    assert cache.get(TENANT) == switched_off
    assert repository.reads == 2


def test_invalidate_makes_the_next_read_go_to_storage() -> None:
    cache, repository, _ = cache_of(connector())
    cache.get(TENANT)
    repository.rows[TENANT] = replace(connector(), status=ConnectorStatus.INACTIVE)
    cache.invalidate(TENANT)
    read = cache.get(TENANT)
    assert read is not None
    assert read.status is ConnectorStatus.INACTIVE


def test_a_missing_connector_is_cached_too_and_tenants_are_apart() -> None:
    cache, repository, clock = cache_of(connector())
    # WHEN a tenant without connector is asked for twice, and another tenant once
    assert cache.get(OTHER_TENANT) is None
    assert cache.get(OTHER_TENANT) is None
    assert cache.get(TENANT) == connector()
    # THEN each tenant cost one read
    assert repository.reads == 2
    # AND a connector created meanwhile shows after the TTL
    repository.rows[OTHER_TENANT] = connector(OTHER_TENANT)
    clock.advance(seconds=10)
    assert cache.get(OTHER_TENANT) == connector(OTHER_TENANT)


def test_invalidate_during_a_read_does_not_let_the_older_connector_back_in() -> None:
    # GIVEN a read of the tenant's connector that is slow, and the connector changes while it runs
    older = connector()
    newer = replace(older, settings=ConnectorSettings(presence_sync=False))

    class SlowRead(CountingConnectorRepository):
        def get(self, tenant_id: str) -> Connector | None:
            read = super().get(tenant_id)
            if self.reads == 1:
                # The PATCH lands (and invalidates) while this read is on the wire with the older row.
                self.rows[tenant_id] = newer
                cache.invalidate(tenant_id)
            return read

    repository = SlowRead(older)
    cache = CachedConnectors(repository, FakeClock())
    # WHEN the slow read returns, and the next message asks again within the TTL
    assert cache.get(TENANT) == older
    # THEN the next message reads the changed connector rather than the older one for a whole TTL
    assert cache.get(TENANT) == newer
    assert repository.reads == 2


def test_concurrent_readers_all_get_the_connector() -> None:
    cache, repository, _ = cache_of(connector())
    results: list[Connector | None] = []
    lock = threading.Lock()

    def read() -> None:
        value = cache.get(TENANT)
        with lock:
            results.append(value)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [connector()] * 8
    assert 1 <= repository.reads <= 8
