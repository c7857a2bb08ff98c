"""IdleCodeCatalog: the tenant's idle codes from its contact center, and the mapping check."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.connectors.exceptions import ConnectorNotFound
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus, WebhookContactCenter
from shared.contact_center.exceptions import ContactCenterNotConfigured, ContactCenterUnavailable
from shared.contact_center.idle_codes import IdleCodeCatalog
from shared.contact_center.model import IdleCode
from tests.fakes import FakeConnectorRepository
from tests.unit.contact_center.support import SECRET, TENANT
from tests.unit.presence.engine_fakes import FakeContactCenters

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def catalog(config: WebhookContactCenter | None) -> tuple[IdleCodeCatalog, FakeContactCenters]:
    connectors = FakeConnectorRepository()
    connectors.add(Connector(TENANT, ConnectorStatus.ACTIVE, ConnectorSettings(), config, NOW, NOW))
    centers = FakeContactCenters()
    centers.idle_codes = [IdleCode("meeting", "Meeting", True), IdleCode("lunch", "Lunch")]
    return IdleCodeCatalog(connectors, centers), centers


HOOK = WebhookContactCenter("https://cc.example.com/hook", SECRET)


def test_the_list_comes_from_the_contact_center_every_time() -> None:
    codes, centers = catalog(HOOK)
    assert codes.list(TENANT) == [IdleCode("meeting", "Meeting", True), IdleCode("lunch", "Lunch")]
    centers.idle_codes.append(IdleCode("new", "New"))
    assert [c.id for c in codes.list(TENANT)] == ["meeting", "lunch", "new"]


def test_without_connector_or_contact_center_there_is_no_list() -> None:
    codes, _ = catalog(None)
    with pytest.raises(ContactCenterNotConfigured):
        codes.list(TENANT)
    with pytest.raises(ConnectorNotFound):
        codes.list("00000000-0000-0000-0000-000000000000")


def test_verify_names_the_unknown_ids() -> None:
    codes, _ = catalog(HOOK)
    verification = codes.verify(TENANT, ["meeting", "nope"])
    assert verification.checked
    assert verification.unknown == {"nope"}


def test_verify_without_ids_asks_nothing() -> None:
    codes, centers = catalog(HOOK)
    assert codes.verify(TENANT, []).checked
    assert centers.calls == []


def test_verify_says_why_it_could_not_check() -> None:
    codes, centers = catalog(HOOK)
    centers.failures.append(ContactCenterUnavailable("webhook idle codes: the contact center answered 503"))
    verification = codes.verify(TENANT, ["meeting"])
    assert not verification.checked
    assert verification.reason == "webhook idle codes: the contact center answered 503"
    no_center, _ = catalog(None)
    assert not no_center.verify(TENANT, ["meeting"]).checked
