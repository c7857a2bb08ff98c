"""PresenceMappingService: the GET/PUT use cases over small fakes of storage, connectors, cache and audit."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.connectors.exceptions import ConnectorNotFound, InvalidTransition
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus
from shared.mappings.defaults import DEFAULT_MAPPINGS
from shared.mappings.exceptions import InvalidMapping, StaleMappings
from shared.mappings.model import DEFAULT_ETAG, MappingRules, PresenceMappings
from shared.mappings.service import AUDIT_ACTION, PresenceMappingService
from tests.fakes import FakeAuditLog, FakeClock, FakeConnectorRepository
from tests.support.identity import ADMIN

TENANT = "11111111-1111-1111-1111-111111111111"


class FakeMappingRepository:
    """Keeps the adapter's contract: every write gets a new ETag, insert/replace refuse a stale version."""

    def __init__(self) -> None:
        self.rows: dict[str, PresenceMappings] = {}
        self.writes: list[str] = []
        self._versions = itertools.count(1)

    def _store(self, tenant_id: str, rules: MappingRules, operation: str) -> PresenceMappings:
        self.writes.append(operation)
        saved = PresenceMappings(rules, is_default=False, etag=f'W/"m{next(self._versions)}"')
        self.rows[tenant_id] = saved
        return saved

    def get(self, tenant_id: str) -> PresenceMappings | None:
        return self.rows.get(tenant_id)

    def insert(self, tenant_id: str, rules: MappingRules, updated_at: datetime) -> PresenceMappings:
        if tenant_id in self.rows:
            raise StaleMappings(tenant_id)
        return self._store(tenant_id, rules, "insert")

    def replace(
        self, tenant_id: str, rules: MappingRules, etag: str, updated_at: datetime
    ) -> PresenceMappings:
        current = self.rows.get(tenant_id)
        if current is None or current.etag != etag:
            raise StaleMappings(tenant_id)
        return self._store(tenant_id, rules, "replace")

    def upsert(self, tenant_id: str, rules: MappingRules, updated_at: datetime) -> PresenceMappings:
        return self._store(tenant_id, rules, "upsert")


class RecordingCache:
    def __init__(self) -> None:
        self.invalidated: list[str] = []

    def invalidate(self, tenant_id: str) -> None:
        self.invalidated.append(tenant_id)


class Harness:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.repository = FakeMappingRepository()
        self.connectors = FakeConnectorRepository()
        self.cache = RecordingCache()
        self.audit = FakeAuditLog()
        self.service = PresenceMappingService(
            self.repository, self.connectors, self.cache, self.audit, self.clock
        )

    def add_connector(self, status: ConnectorStatus = ConnectorStatus.ACTIVE) -> None:
        now = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
        self.connectors.add(Connector(TENANT, status, ConnectorSettings(), None, now, now))


@pytest.fixture
def harness() -> Harness:
    h = Harness()
    h.add_connector()
    return h


def put_body(idle_code: str = "lunch") -> dict[str, Any]:
    return {
        "teamsToContactCenter": [
            {"availability": "DoNotDisturb", "activity": "*", "idleCodeId": idle_code, "idleCodeName": "DND"}
        ],
        "contactCenterToTeams": [{"agentState": "onCall", "availability": "Busy", "activity": "InACall"}],
    }


# --- connector checks -----------------------------------------------------------------------------------


def test_without_a_connector_get_and_put_are_not_found() -> None:
    # GIVEN a tenant without a connector
    h = Harness()
    # WHEN its mappings are read or written THEN the connector is reported missing and nothing is stored
    with pytest.raises(ConnectorNotFound):
        h.service.get(TENANT)
    with pytest.raises(ConnectorNotFound):
        h.service.put(TENANT, put_body(), None, ADMIN)
    assert h.repository.writes == []
    assert h.audit.entries == []


def test_a_connector_being_deleted_refuses_reads_and_writes() -> None:
    # GIVEN a connector that is being deleted
    h = Harness()
    h.add_connector(ConnectorStatus.DELETING)
    # WHEN / THEN both calls are refused as an invalid transition, nothing is stored or invalidated
    with pytest.raises(InvalidTransition):
        h.service.get(TENANT)
    with pytest.raises(InvalidTransition):
        h.service.put(TENANT, put_body(), None, ADMIN)
    assert h.repository.writes == []
    assert h.cache.invalidated == []


@pytest.mark.parametrize(
    "status", [ConnectorStatus.PENDING_CONSENT, ConnectorStatus.ACTIVE, ConnectorStatus.INACTIVE]
)
def test_mappings_can_be_prepared_before_and_after_activation(status: ConnectorStatus) -> None:
    h = Harness()
    h.add_connector(status)
    assert h.service.put(TENANT, put_body(), None, ADMIN).is_default is False


# --- get ------------------------------------------------------------------------------------------------


def test_a_tenant_without_stored_mappings_gets_the_defaults(harness: Harness) -> None:
    # GIVEN a connector whose admin never stored mappings WHEN they are read THEN the defaults come back
    mappings = harness.service.get(TENANT)
    assert mappings is DEFAULT_MAPPINGS
    assert mappings.is_default
    assert mappings.etag == DEFAULT_ETAG


def test_stored_mappings_are_returned_once_put(harness: Harness) -> None:
    saved = harness.service.put(TENANT, put_body(), None, ADMIN)
    assert harness.service.get(TENANT) == saved


# --- put ------------------------------------------------------------------------------------------------


def test_put_stores_invalidates_the_cache_and_audits(harness: Harness) -> None:
    # GIVEN a connector with default mappings
    # WHEN an admin PUTs new mappings without If-Match
    saved = harness.service.put(TENANT, put_body(), None, ADMIN)
    # THEN they are stored (last writer wins), with a real ETag, not as defaults
    assert harness.repository.writes == ["upsert"]
    assert saved.is_default is False
    assert saved.etag
    assert saved.etag != DEFAULT_ETAG
    assert saved.teams_to_contact_center[0].idle_code_id == "lunch"
    # AND this process's cache forgets the tenant
    assert harness.cache.invalidated == [TENANT]
    # AND the change is audited with who did it, when, and how many rules
    [entry] = harness.audit.entries
    assert (entry.tenant_id, entry.action, entry.outcome, entry.actor) == (
        TENANT,
        AUDIT_ACTION,
        "succeeded",
        ADMIN,
    )
    assert entry.at == harness.clock.now
    assert entry.detail == "1 Teams rules, 1 contact-center rules"


def test_an_invalid_body_stores_nothing(harness: Harness) -> None:
    # GIVEN a body with an offending rule
    bad = put_body()
    bad["contactCenterToTeams"][0]["activity"] = "InAMeeting"
    # WHEN it is PUT THEN it is rejected and nothing changes anywhere
    with pytest.raises(InvalidMapping, match=r"contactCenterToTeams\[0\]"):
        harness.service.put(TENANT, bad, None, ADMIN)
    assert harness.repository.writes == []
    assert harness.cache.invalidated == []
    # AND the refused PUT is in the audit trail with the reason
    [entry] = harness.audit.entries
    assert (entry.outcome, entry.actor) == ("failed", ADMIN)
    assert (entry.detail or "").startswith("invalidMapping: contactCenterToTeams[0]")


def test_if_match_the_defaults_etag_stores_only_the_first_mappings(harness: Harness) -> None:
    # GIVEN two admins who both read the defaults (ETag DEFAULT_ETAG)
    first = harness.service.put(TENANT, put_body("first"), DEFAULT_ETAG, ADMIN)
    assert harness.repository.writes == ["insert"]
    # WHEN the second one PUTs with the same, now stale, version
    # THEN it is refused and the first admin's mappings stay
    with pytest.raises(StaleMappings):
        harness.service.put(TENANT, put_body("second"), DEFAULT_ETAG, ADMIN)
    assert harness.service.get(TENANT) == first
    assert [e.outcome for e in harness.audit.entries] == ["succeeded", "failed"]
    assert (harness.audit.entries[1].detail or "").startswith("preconditionFailed")


def test_if_match_the_current_etag_replaces(harness: Harness) -> None:
    current = harness.service.put(TENANT, put_body("first"), None, ADMIN)
    assert current.etag is not None
    saved = harness.service.put(TENANT, put_body("second"), current.etag, ADMIN)
    assert harness.repository.writes == ["upsert", "replace"]
    assert saved.etag != current.etag
    assert harness.cache.invalidated == [TENANT, TENANT]


def test_if_match_a_stale_etag_is_refused(harness: Harness) -> None:
    # GIVEN mappings stored twice: the first version's ETag is stale
    stale = harness.service.put(TENANT, put_body("first"), None, ADMIN)
    assert stale.etag is not None
    harness.service.put(TENANT, put_body("second"), None, ADMIN)
    invalidations = list(harness.cache.invalidated)
    # WHEN a PUT carries the stale ETag
    # THEN it fails with StaleMappings, stores nothing and invalidates nothing
    with pytest.raises(StaleMappings) as caught:
        harness.service.put(TENANT, put_body("third"), stale.etag, ADMIN)
    assert caught.value.code == "preconditionFailed"
    assert harness.repository.writes == ["upsert", "upsert"]
    assert harness.cache.invalidated == invalidations
    stored = harness.service.get(TENANT)
    assert stored.teams_to_contact_center[0].idle_code_id == "second"


def test_if_match_an_etag_while_only_defaults_exist_is_stale(harness: Harness) -> None:
    with pytest.raises(StaleMappings):
        harness.service.put(TENANT, put_body(), 'W/"m1"', ADMIN)
    assert harness.repository.writes == []


def test_if_match_star_writes_whatever_is_stored(harness: Harness) -> None:
    harness.service.put(TENANT, put_body("first"), "*", ADMIN)
    harness.service.put(TENANT, put_body("second"), "*", ADMIN)
    assert harness.repository.writes == ["upsert", "upsert"]
    assert harness.service.get(TENANT).teams_to_contact_center[0].idle_code_id == "second"


def test_putting_the_same_rules_again_writes_nothing(harness: Harness) -> None:
    # GIVEN stored mappings
    saved = harness.service.put(TENANT, put_body(), None, ADMIN)
    # WHEN the same rules are PUT again
    again = harness.service.put(TENANT, put_body(), saved.etag, ADMIN)
    # THEN nothing is written, the ETag stays, and no second audit entry or invalidation happens
    assert again == saved
    assert harness.repository.writes == ["upsert"]
    assert len(harness.audit.entries) == 1
    assert harness.cache.invalidated == [TENANT]


def test_a_failing_audit_log_does_not_fail_a_stored_put(harness: Harness) -> None:
    # GIVEN an audit table that is down
    harness.audit.fail = True
    # WHEN mappings are PUT THEN they are stored and the cache invalidated all the same
    saved = harness.service.put(TENANT, put_body(), None, ADMIN)
    assert harness.service.get(TENANT) == saved
    assert harness.cache.invalidated == [TENANT]


# --- idle codes checked against the contact center --------------------------------------------------------


class StubIdleCodes:
    def __init__(self, known: set[str] | None, reason: str | None = None) -> None:
        self.known = known
        self.reason = reason
        self.asked: list[frozenset[str]] = []

    def verify(self, tenant_id: str, idle_code_ids: Any) -> Any:
        from shared.contact_center.idle_codes import IdleCodeVerification

        wanted = frozenset(idle_code_ids)
        self.asked.append(wanted)
        if self.known is None:
            return IdleCodeVerification(checked=False, reason=self.reason)
        return IdleCodeVerification(checked=True, unknown=wanted - self.known)


def _with_idle_codes(stub: StubIdleCodes) -> Harness:
    h = Harness()
    h.add_connector()
    h.service = PresenceMappingService(h.repository, h.connectors, h.cache, h.audit, h.clock, idle_codes=stub)
    return h


def test_an_idle_code_the_contact_center_does_not_list_is_refused_naming_the_rule() -> None:
    from shared.mappings.exceptions import UnknownIdleCode

    h = _with_idle_codes(StubIdleCodes({"meeting"}))
    with pytest.raises(UnknownIdleCode, match=r"teamsToContactCenter\[0\] \(DoNotDisturb/\*\).*'lunch'"):
        h.service.put(TENANT, put_body("lunch"), None, ADMIN)
    assert h.repository.writes == []
    assert h.audit.entries[-1].outcome == "failed"


def test_known_idle_codes_are_stored_and_the_check_is_reported() -> None:
    h = _with_idle_codes(StubIdleCodes({"lunch"}))
    saved, verification = h.service.put_checked(TENANT, put_body("lunch"), None, ADMIN)
    assert verification.checked
    assert saved.rules.teams_to_contact_center[0].idle_code_id == "lunch"
    assert h.repository.writes == ["upsert"]


def test_when_the_contact_center_cannot_be_asked_the_mappings_are_stored_and_it_says_so() -> None:
    h = _with_idle_codes(StubIdleCodes(None, "the contact center at cc.example.com cannot be reached"))
    _, verification = h.service.put_checked(TENANT, put_body("lunch"), None, ADMIN)
    assert not verification.checked
    assert verification.reason == "the contact center at cc.example.com cannot be reached"
    assert h.repository.writes == ["upsert"]
    assert h.audit.entries[-1].detail is not None
    assert h.audit.entries[-1].detail.endswith("idle codes not checked")
