"""The agent-events intake reads the connector and the agent -> user lookups through short-lived caches
(no table read per accepted batch), yet never refuses what the stored connector accepts, and stops
taking events at most one TTL after a deactivate."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from shared.agents.user_cache import DEFAULT_TTL as USER_TTL
from shared.agents.user_cache import CachedAgentUsers
from shared.connectors.cache import DEFAULT_TTL, CachedConnectors
from shared.connectors.exceptions import ConnectorNotActive, ConnectorNotFound
from shared.connectors.model import Connector, ConnectorSettings, ConnectorStatus, WebhookContactCenter
from shared.contact_center.exceptions import InvalidEventSignature
from shared.contact_center.intake import ContactCenterEventIntake
from shared.contact_center.signatures import signature_for
from tests.fakes import FakeClock
from tests.unit.contact_center.support import SECRET, TENANT, FakeAgents, FakeQueue, batch, event
from tests.unit.presence.engine_fakes import CountingConnectorRepository

USER = "a0f4b6a1-0d6f-4a8a-9d3c-2b1f6f1e9c11"
NEW_SECRET = "a-new-secret-of-enough-length-for-hmac"


class Wired:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.connectors = CountingConnectorRepository(
            Connector(
                tenant_id=TENANT,
                status=ConnectorStatus.ACTIVE,
                settings=ConnectorSettings(),
                contact_center=WebhookContactCenter("https://cc.example.com/hook", SECRET),
                created_at=self.clock(),
                updated_at=self.clock(),
            )
        )
        self.agents = FakeAgents({"agent-1": USER})
        self.queue = FakeQueue()
        self.intake = ContactCenterEventIntake(
            CachedConnectors(self.connectors, self.clock),
            CachedAgentUsers(self.agents, self.clock),
            self.queue,
            self.clock,
        )

    def post(self, secret: str = SECRET) -> int:
        raw = batch(event(self.clock()))
        return self.intake.accept(TENANT, raw, signature_for(raw, secret)).accepted

    def change(self, **changes: object) -> None:
        self.connectors.rows[TENANT] = replace(self.connectors.rows[TENANT], **changes)  # type: ignore[arg-type]


@pytest.fixture
def wired() -> Wired:
    return Wired()


def test_accepted_batches_read_the_connector_and_the_agent_once_per_ttl(wired: Wired) -> None:
    # WHEN the contact center posts 20 batches of the same agent within the TTL
    for _ in range(20):
        assert wired.post() == 1
        wired.clock.advance(milliseconds=100)
    # THEN the connector row and the agent row were each read once
    assert wired.connectors.reads == 1
    assert wired.agents.lookups == [(TENANT, "agent-1")]
    assert len(wired.queue.published) == 20


def test_a_rotated_secret_is_accepted_at_once(wired: Wired) -> None:
    assert wired.post() == 1
    # GIVEN the admin rotated the secret (on another instance) while the old connector is cached
    wired.change(contact_center=WebhookContactCenter("https://cc.example.com/hook", NEW_SECRET))
    # THEN a batch signed with the new secret is accepted without waiting for the TTL
    assert wired.post(NEW_SECRET) == 1
    assert wired.connectors.reads == 2


def test_a_reactivated_connector_takes_events_at_once(wired: Wired) -> None:
    wired.change(status=ConnectorStatus.INACTIVE)
    with pytest.raises(ConnectorNotActive):
        wired.post()
    wired.change(status=ConnectorStatus.ACTIVE)
    assert wired.post() == 1


def test_a_deactivate_stops_the_intake_within_the_ttl(wired: Wired) -> None:
    assert wired.post() == 1
    wired.change(status=ConnectorStatus.INACTIVE)
    # Within the TTL the cached connector still takes events (the engine drops them: same cache) ...
    wired.clock.advance(seconds=DEFAULT_TTL.total_seconds() - 1)
    assert wired.post() == 1
    # ... and once it is over they are refused.
    wired.clock.advance(seconds=1)
    with pytest.raises(ConnectorNotActive):
        wired.post()


def test_a_forged_batch_is_refused_on_the_stored_connector(wired: Wired) -> None:
    assert wired.post() == 1
    with pytest.raises(InvalidEventSignature):
        wired.post("not-the-secret-of-this-tenant-at-all")
    assert wired.connectors.reads == 2


def test_a_deleted_connector_is_not_found_once_its_refusal_reads_storage(wired: Wired) -> None:
    del wired.connectors.rows[TENANT]
    with pytest.raises(ConnectorNotFound):
        wired.post()


def test_unknown_agents_are_not_cached() -> None:
    clock = FakeClock()
    agents = FakeAgents({})
    cache = CachedAgentUsers(agents, clock)
    assert cache.user_id_for(TENANT, "agent-9") is None
    # GIVEN the agent was added meanwhile
    agents.users["agent-9"] = USER
    # THEN his next event finds him at once
    assert cache.user_id_for(TENANT, "agent-9") == USER
    clock.advance(seconds=USER_TTL.total_seconds() - 1)
    assert cache.user_id_for(TENANT, "agent-9") == USER
    assert len(agents.lookups) == 2
    clock.advance(seconds=1)
    cache.user_id_for(TENANT, "agent-9")
    assert len(agents.lookups) == 3


def test_the_user_cache_refuses_a_non_positive_ttl() -> None:
    with pytest.raises(ValueError, match="ttl"):
        CachedAgentUsers(FakeAgents({}), FakeClock(), ttl=timedelta(0))
