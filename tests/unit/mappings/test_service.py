"""The presence-mappings use cases with fakes: connector checks, defaults, If-Match, no-op writes,
cache invalidation and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from shared.connectors.exceptions import ConnectorNotFound, InvalidTransition
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus
from shared.mappings.defaults import DEFAULT_MAPPINGS
from shared.mappings.exceptions import InvalidMapping, StaleMappings
from shared.mappings.model import DEFAULT_ETAG
from shared.mappings.service import AUDIT_ACTION, PresenceMappingService
from shared.mappings.views import rules_json
from tests.fakes import FakeAuditLog, FakeClock, FakeConnectorRepository
from tests.support.identity import ADMIN
from tests.unit.mappings.fakes import FakeMappingRepository, RecordingCache

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
BODY: dict[str, Any] = {
    "teamsToContactCenter": [{"availability": "DoNotDisturb", "activity": "*", "idleCodeId": "aux-7"}],
    "contactCenterToTeams": [{"agentState": "onCall", "availability": "Busy", "activity": "InACall"}],
}


class Wired:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.repo = FakeMappingRepository()
        self.connectors = FakeConnectorRepository()
        self.cache = RecordingCache()
        self.audit = FakeAuditLog()
        self.service = PresenceMappingService(self.repo, self.connectors, self.cache, self.audit, self.clock)

    def connector(self, status: ConnectorStatus = ConnectorStatus.ACTIVE) -> None:
        now: datetime = self.clock()
        self.connectors.add(Connector(TENANT, status, ConnectorSettings(), None, now, now))


@pytest.fixture
def wired() -> Wired:
    return Wired()


def test_a_connector_without_stored_mappings_reads_the_defaults(wired: Wired) -> None:
    wired.connector()
    assert wired.service.get(TENANT) is DEFAULT_MAPPINGS


@pytest.mark.parametrize("status", list(ConnectorStatus))
def test_mappings_are_readable_and_writable_unless_the_connector_is_being_deleted(
    wired: Wired, status: ConnectorStatus
) -> None:
    # GIVEN a connector in any status
    wired.connector(status)
    if status is ConnectorStatus.DELETING:
        # THEN while it is being deleted both reading and writing are refused
        with pytest.raises(InvalidTransition, match="deleting"):
            wired.service.get(TENANT)
        with pytest.raises(InvalidTransition, match="deleting"):
            wired.service.put(TENANT, BODY, None, ADMIN)
        assert wired.repo.writes == 0
    else:
        # THEN otherwise mappings can be prepared before and after activation
        assert not wired.service.put(TENANT, BODY, None, ADMIN).is_default


def test_a_tenant_without_connector_gets_not_found_and_nothing_is_stored(wired: Wired) -> None:
    with pytest.raises(ConnectorNotFound):
        wired.service.get(TENANT)
    with pytest.raises(ConnectorNotFound):
        wired.service.put(TENANT, BODY, None, ADMIN)
    assert wired.repo.writes == 0


def test_a_put_stores_invalidates_the_cache_and_is_audited(wired: Wired) -> None:
    # GIVEN a connector WHEN an admin stores mappings
    wired.connector()
    saved = wired.service.put(TENANT, BODY, None, ADMIN)
    # THEN they are stored, returned with their version, and read back
    assert rules_json(saved.rules) == {
        "teamsToContactCenter": [{**BODY["teamsToContactCenter"][0], "idleCodeName": None}],
        "contactCenterToTeams": BODY["contactCenterToTeams"],
    }
    assert saved.etag
    assert wired.service.get(TENANT) == saved
    assert wired.repo.updated_at[TENANT] == wired.clock()
    # AND the worker's cache in this process forgets the old ones
    assert wired.cache.invalidated == [TENANT]
    # AND the audit trail says who did it
    entry = wired.audit.entries[-1]
    assert (entry.action, entry.actor, entry.outcome) == (AUDIT_ACTION, ADMIN, "succeeded")


def test_invalid_mappings_change_nothing(wired: Wired) -> None:
    wired.connector()
    with pytest.raises(InvalidMapping):
        wired.service.put(TENANT, {**BODY, "teamsToContactCenter": [{"availability": "Busy"}]}, None, ADMIN)
    assert wired.repo.writes == 0
    assert wired.cache.invalidated == []
    assert [(e.outcome, (e.detail or "").split(":")[0]) for e in wired.audit.entries] == [
        ("failed", "invalidMapping")
    ]


def test_if_match_with_the_defaults_version_stores_only_over_the_defaults(wired: Wired) -> None:
    # GIVEN the defaults read by two admins
    wired.connector()
    etag = wired.service.get(TENANT).etag
    assert etag == DEFAULT_ETAG
    # WHEN both store with that version THEN the first wins and the second is told to read again
    wired.service.put(TENANT, BODY, etag, ADMIN)
    with pytest.raises(StaleMappings):
        wired.service.put(TENANT, {**BODY, "contactCenterToTeams": []}, etag, ADMIN)
    assert wired.repo.writes == 1


def test_if_match_with_the_current_version_stores_and_a_stale_one_is_refused(wired: Wired) -> None:
    wired.connector()
    first = wired.service.put(TENANT, BODY, None, ADMIN)
    assert first.etag is not None
    second = wired.service.put(TENANT, {**BODY, "contactCenterToTeams": []}, first.etag, ADMIN)
    assert second.etag != first.etag
    with pytest.raises(StaleMappings):
        wired.service.put(TENANT, BODY, first.etag, ADMIN)
    assert wired.service.get(TENANT) == second


def test_if_match_with_a_version_of_nothing_stored_is_refused(wired: Wired) -> None:
    wired.connector()
    with pytest.raises(StaleMappings):
        wired.service.put(TENANT, BODY, 'W/"somewhere-else"', ADMIN)
    assert wired.repo.writes == 0


def test_if_match_star_and_no_if_match_mean_last_writer_wins(wired: Wired) -> None:
    wired.connector()
    wired.service.put(TENANT, BODY, None, ADMIN)
    saved = wired.service.put(TENANT, {**BODY, "contactCenterToTeams": []}, "*", ADMIN)
    assert wired.service.get(TENANT) == saved


def test_storing_the_same_rules_again_writes_nothing_and_keeps_the_version(wired: Wired) -> None:
    # GIVEN stored mappings
    wired.connector()
    saved = wired.service.put(TENANT, BODY, None, ADMIN)
    # WHEN the same rules are PUT again (with or without its version)
    again = wired.service.put(TENANT, BODY, saved.etag, ADMIN)
    and_again = wired.service.put(TENANT, BODY, None, ADMIN)
    # THEN nothing is written, the version stays, nothing is invalidated or audited twice
    assert again == saved == and_again
    assert wired.repo.writes == 1
    assert wired.cache.invalidated == [TENANT]
    assert len(wired.audit.entries) == 1


def test_an_audit_failure_does_not_undo_or_fail_the_change(wired: Wired) -> None:
    wired.connector()
    wired.audit.fail = True
    saved = wired.service.put(TENANT, BODY, None, ADMIN)
    assert wired.service.get(TENANT) == saved
