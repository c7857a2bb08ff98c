"""The admin's contact-center test with fake ports: what it answers, what it keeps, what it audits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.connectors.exceptions import ConnectorNotFound, InvalidTransition
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus, WebhookContactCenter
from shared.contact_center.connection_test import AUDIT_ACTION, ContactCenterConnectionTest
from shared.contact_center.exceptions import ContactCenterNotConfigured, ContactCenterUnavailable
from shared.contact_center.health import CheckSource, ContactCenterCheck, ContactCenterHealth
from tests.fakes import FakeAuditLog, FakeClock, FakeConnectorRepository
from tests.support.identity import ADMIN
from tests.unit.presence.engine_fakes import FakeContactCenters

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
HOOK = WebhookContactCenter("https://cc.example.com/hook", "s" * 24)


class HealthLog:
    def __init__(self) -> None:
        self.checks: dict[str, ContactCenterCheck] = {}

    def record(self, tenant_id: str, check: ContactCenterCheck) -> None:
        self.checks[tenant_id] = check

    def get(self, tenant_id: str) -> ContactCenterHealth:
        return ContactCenterHealth(last_test=self.checks.get(tenant_id))


class Ticks:
    """perf_counter that moves 42 ms between the two reads around the probe."""

    def __init__(self) -> None:
        self.values = iter([10.0, 10.042])

    def __call__(self) -> float:
        return next(self.values)


class World:
    def __init__(self, status: ConnectorStatus = ConnectorStatus.ACTIVE, configured: bool = True) -> None:
        self.repo = FakeConnectorRepository()
        created = datetime(2026, 11, 20, tzinfo=UTC)
        self.repo.rows[TENANT] = Connector(
            TENANT, status, ConnectorSettings(), HOOK if configured else None, created, created, etag='W/"v0"'
        )
        self.centers = FakeContactCenters()
        self.health = HealthLog()
        self.audit = FakeAuditLog()
        self.clock = FakeClock()
        self.test = ContactCenterConnectionTest(
            self.repo, self.centers, self.health, self.audit, self.clock, timer=Ticks()
        )


def test_an_accepted_test_answers_status_and_latency_keeps_the_check_and_audits_it() -> None:
    world = World()
    check = world.test.run(TENANT, ADMIN)
    assert world.centers.calls == [("probe", TENANT)]
    assert world.centers.clients_asked == [(TENANT, HOOK)]
    assert (check.source, check.reachable, check.accepted, check.status) == (
        CheckSource.TEST,
        True,
        True,
        204,
    )
    assert check.latency_ms == 42.0
    assert check.at == world.clock.now
    assert world.health.checks[TENANT] == check
    [entry] = world.audit.entries
    assert (entry.action, entry.outcome, entry.actor) == (AUDIT_ACTION, "succeeded", ADMIN)


def test_an_unreachable_contact_center_is_an_answer_not_an_error() -> None:
    world = World()
    world.centers.failures.append(
        ContactCenterUnavailable(
            "webhook connection test: the contact center at cc.example.com:443 cannot be reached"
        )
    )
    check = world.test.run(TENANT, ADMIN)
    assert (check.reachable, check.accepted, check.status) == (False, False, None)
    assert "cannot be reached" in check.reason
    assert world.health.checks[TENANT] == check
    [entry] = world.audit.entries
    assert entry.outcome == "failed"
    assert entry.detail == check.reason


def test_without_a_contact_center_there_is_nothing_to_test() -> None:
    world = World(configured=False)
    with pytest.raises(ContactCenterNotConfigured, match="PATCH the connector's contactCenter first"):
        world.test.run(TENANT, ADMIN)
    assert world.centers.calls == []
    [entry] = world.audit.entries
    assert (entry.outcome, (entry.detail or "").split(":")[0]) == ("failed", "contactCenterNotConfigured")


def test_a_connector_being_deleted_is_not_tested_and_a_missing_one_is_not_found() -> None:
    with pytest.raises(InvalidTransition):
        World(ConnectorStatus.DELETING).test.run(TENANT, ADMIN)
    world = World()
    world.repo.rows.clear()
    with pytest.raises(ConnectorNotFound):
        world.test.run(TENANT, ADMIN)
    assert world.audit.entries == []


@pytest.mark.parametrize("status", [ConnectorStatus.PENDING_CONSENT, ConnectorStatus.INACTIVE])
def test_a_contact_center_can_be_tested_before_consent_and_while_inactive(status: ConnectorStatus) -> None:
    assert World(status).test.run(TENANT, ADMIN).accepted
