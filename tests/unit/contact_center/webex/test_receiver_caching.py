"""The Webex receiver reads the connector through the webhook intake's cache: no connector read per
delivery, every refusal decided on the stored connector (a cached one never refuses what storage
accepts), and a deactivate honoured within the cache's TTL."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.connectors.cache import DEFAULT_TTL, CachedConnectors
from shared.connectors.exceptions import ConnectorNotActive, ConnectorNotFound
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus, WebexContactCenter
from shared.contact_center.exceptions import InvalidEventSignature
from shared.contact_center.intake import ContactCenterEventIntake
from shared.contact_center.webex.model import WebexAuthorization, WebexAuthorizationStatus, WebexSubscription
from shared.contact_center.webex.receiver import WebexEventReceiver, webex_signature
from tests.fakes import FakeClock
from tests.unit.contact_center.support import TENANT, FakeAgents, FakeQueue
from tests.unit.contact_center.webex.fakes import ORG, FakeWebexAuthorizations, fixture
from tests.unit.presence.engine_fakes import CountingConnectorRepository

SECRET = "s" * 64
NEW_SECRET = "n" * 64
AGENT = "c8d4f6a2-1b3e-4d5f-8a7c-9e0b1c2d3e4f"
USER = "a0f4b6a1-0d6f-4a8a-9d3c-2b1f6f1e9c11"
STATE_CHANGE_AT = datetime.fromtimestamp(1764666000, UTC)


class CountingAuthorizations(FakeWebexAuthorizations):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, tenant_id: str) -> WebexAuthorization | None:
        self.reads += 1
        return super().get(tenant_id)


class Wired:
    def __init__(self) -> None:
        self.clock = FakeClock(STATE_CHANGE_AT + timedelta(seconds=2))
        self.connectors = CountingConnectorRepository(
            Connector(
                tenant_id=TENANT,
                status=ConnectorStatus.ACTIVE,
                settings=ConnectorSettings(),
                contact_center=WebexContactCenter("https://api.wxcc-us1.cisco.com", ORG),
                created_at=self.clock(),
                updated_at=self.clock(),
            )
        )
        self.authorizations = CountingAuthorizations()
        self.subscribe(SECRET)
        self.queue = FakeQueue()
        cache = CachedConnectors(self.connectors, self.clock)
        intake = ContactCenterEventIntake(cache, FakeAgents({AGENT: USER}), self.queue, self.clock)
        self.receiver = WebexEventReceiver(cache, self.authorizations, intake)

    def subscribe(self, secret: str) -> None:
        self.authorizations.rows[TENANT] = WebexAuthorization(
            tenant_id=TENANT,
            status=WebexAuthorizationStatus.AUTHORIZED,
            org_id=ORG,
            person_id="person-1",
            authorized_at=self.clock(),
            authorized_by="admin",
            refresh_token="r",
            subscription=WebexSubscription("sub-1", secret, self.clock()),
        )

    def post(self, secret: str = SECRET) -> int:
        raw = json.dumps(fixture("agent-state-change.json")).encode()
        return self.receiver.accept(TENANT, raw, webex_signature(raw, secret)).accepted

    def change(self, **changes: object) -> None:
        self.connectors.rows[TENANT] = replace(self.connectors.rows[TENANT], **changes)  # type: ignore[arg-type]


@pytest.fixture
def wired() -> Wired:
    return Wired()


def test_deliveries_within_the_ttl_read_the_connector_once(wired: Wired) -> None:
    # WHEN Webex delivers 20 signed events within the TTL
    for _ in range(20):
        assert wired.post() == 1
        wired.clock.advance(milliseconds=100)
    # THEN the connector row was read once; the subscription secret (not cached) once per delivery
    assert wired.connectors.reads == 1
    assert wired.authorizations.reads == 20
    assert len(wired.queue.published) == 20


def test_a_reactivated_connector_takes_deliveries_at_once(wired: Wired) -> None:
    wired.change(status=ConnectorStatus.INACTIVE)
    with pytest.raises(ConnectorNotActive):
        wired.post()
    # GIVEN it is reactivated (on another instance) while the inactive connector is cached
    wired.change(status=ConnectorStatus.ACTIVE)
    # THEN the next delivery is accepted: the refusal re-read storage
    assert wired.post() == 1


def test_a_refusal_reads_the_stored_connector_first(wired: Wired) -> None:
    assert wired.post() == 1
    wired.change(status=ConnectorStatus.INACTIVE)
    wired.clock.advance(seconds=DEFAULT_TTL.total_seconds())
    reads = wired.connectors.reads
    with pytest.raises(ConnectorNotActive):
        wired.post()
    # The expired entry is re-read by get(), and the refusal reads storage once more before it stands.
    assert wired.connectors.reads == reads + 2


def test_a_new_subscription_secret_is_accepted_at_once(wired: Wired) -> None:
    assert wired.post() == 1
    wired.subscribe(NEW_SECRET)
    assert wired.post(NEW_SECRET) == 1
    with pytest.raises(InvalidEventSignature):
        wired.post(SECRET)


def test_a_forged_delivery_is_refused_on_the_stored_connector_and_queues_nothing(wired: Wired) -> None:
    assert wired.post() == 1
    with pytest.raises(InvalidEventSignature):
        wired.post("f" * 64)
    assert wired.connectors.reads == 2
    assert len(wired.queue.published) == 1


def test_a_deactivate_stops_deliveries_within_the_ttl(wired: Wired) -> None:
    assert wired.post() == 1
    wired.change(status=ConnectorStatus.INACTIVE)
    # Within the TTL (10 s) the cached connector still takes deliveries (the engine drops them: same cache)
    wired.clock.advance(seconds=DEFAULT_TTL.total_seconds() - 1)
    assert wired.post() == 1
    # ... and once it is over they are refused.
    wired.clock.advance(seconds=1)
    with pytest.raises(ConnectorNotActive):
        wired.post()
    assert timedelta(seconds=10) == DEFAULT_TTL


def test_a_deleted_connector_is_not_found_once_its_refusal_reads_storage(wired: Wired) -> None:
    del wired.connectors.rows[TENANT]
    with pytest.raises(ConnectorNotFound):
        wired.post()
