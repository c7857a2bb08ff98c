"""Agent-event intake with fakes of its ports: the signature gate, the connector checks, replay and
unknown-agent drops, and that what passes reaches the queue in one batch."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from shared.connectors.exceptions import ConnectorNotActive, ConnectorNotFound
from shared.connectors.model import (
    Connector,
    ConnectorSettings,
    ConnectorStatus,
    WebexContactCenter,
    WebhookContactCenter,
)
from shared.contact_center.exceptions import (
    AgentEventsTooLarge,
    ContactCenterNotConfigured,
    InvalidAgentEvents,
    InvalidEventSignature,
)
from shared.contact_center.intake import ContactCenterEventIntake, DroppedEvent
from shared.contact_center.messages import AgentStateChange
from shared.contact_center.model import AgentState
from shared.contact_center.signatures import signature_for
from shared.presence.exceptions import PresenceQueueUnavailable
from tests.fakes import FakeClock, FakeConnectorRepository
from tests.unit.contact_center.support import SECRET, TENANT, FakeAgents, FakeQueue, batch, event

USER = "A0F4B6A1-0D6F-4A8A-9D3C-2B1F6F1E9C11"


class Wired:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.connectors = FakeConnectorRepository()
        self.agents = FakeAgents({"agent-1": USER})
        self.queue = FakeQueue()
        self.intake = ContactCenterEventIntake(self.connectors, self.agents, self.queue, self.clock)
        self.connectors.add(
            Connector(
                tenant_id=TENANT,
                status=ConnectorStatus.ACTIVE,
                settings=ConnectorSettings(),
                contact_center=WebhookContactCenter("https://cc.example.com/hook", SECRET),
                created_at=self.clock(),
                updated_at=self.clock(),
            )
        )

    def set_connector(self, **changes: Any) -> None:
        self.connectors.rows[TENANT] = replace(self.connectors.rows[TENANT], **changes)

    def published(self) -> list[AgentStateChange]:
        return [m for sent in self.queue.published for m in sent if isinstance(m, AgentStateChange)]


@pytest.fixture
def wired() -> Wired:
    return Wired()


def test_signed_events_of_known_agents_are_published_in_one_batch(wired: Wired) -> None:
    # GIVEN two signed events of a known agent
    raw = batch(
        event(wired.clock()),
        event(wired.clock(), eventId="evt-2", state="onCall", idleCodeId=None, idleCodeName=None),
    )
    # WHEN the contact center posts them
    report = wired.intake.accept(TENANT, raw, signature_for(raw, SECRET))
    # THEN both are queued together, for the agent's (lower-cased) user, with the event's facts
    assert (report.received, report.accepted, report.dropped) == (2, 2, ())
    assert len(wired.queue.published) == 1
    first, second = wired.published()
    assert first == AgentStateChange(
        tenant_id=TENANT,
        user_id=USER.lower(),
        agent_id="agent-1",
        state=AgentState.IDLE,
        idle_code_id="meeting",
        idle_code_name="Meeting",
        occurred_at=wired.clock(),
        event_id="evt-1",
        sequence_number=7,
    )
    assert second.state is AgentState.ON_CALL
    # AND the roster was asked once for the agent of both events
    assert wired.agents.lookups == [(TENANT, "agent-1")]


def test_webex_tenants_are_not_taken_on_the_webhook_contract(wired: Wired) -> None:
    # Webex signs its own deliveries (X-WebexCC-Signature, received elsewhere): no secret here.
    wired.set_connector(
        contact_center=WebexContactCenter(
            "https://api.wxcc-us1.cisco.com", "2f9eecc5-0472-4549-9a83-2afdae0d4ba1"
        )
    )
    raw = batch(event(wired.clock()))
    with pytest.raises(InvalidEventSignature):
        wired.intake.accept(TENANT, raw, signature_for(raw, ""))


@pytest.mark.parametrize("header", [None, "", "sha256=00", "garbage"])
def test_a_bad_or_missing_signature_is_refused_and_nothing_changes(wired: Wired, header: str | None) -> None:
    raw = batch(event(wired.clock()))
    with pytest.raises(InvalidEventSignature):
        wired.intake.accept(TENANT, raw, header)
    assert wired.queue.published == []
    assert wired.agents.lookups == []


def test_the_signature_is_checked_before_the_body_is_parsed(wired: Wired) -> None:
    # GIVEN a body that is not even JSON, with a forged signature
    # THEN the answer is about the signature, revealing nothing about the contract
    with pytest.raises(InvalidEventSignature):
        wired.intake.accept(TENANT, b"{not json", "sha256=" + "0" * 64)


def test_a_tampered_body_is_refused(wired: Wired) -> None:
    raw = batch(event(wired.clock()))
    header = signature_for(raw, SECRET)
    with pytest.raises(InvalidEventSignature):
        wired.intake.accept(TENANT, raw.replace(b"meeting", b"lunch"), header)


def test_an_unknown_tenant_is_not_found(wired: Wired) -> None:
    raw = batch(event(wired.clock()))
    with pytest.raises(ConnectorNotFound):
        wired.intake.accept("00000000-0000-0000-0000-000000000001", raw, signature_for(raw, SECRET))


def test_a_connector_without_contact_center_cannot_take_events(wired: Wired) -> None:
    wired.set_connector(contact_center=None)
    raw = batch(event(wired.clock()))
    with pytest.raises(ContactCenterNotConfigured):
        wired.intake.accept(TENANT, raw, signature_for(raw, SECRET))


@pytest.mark.parametrize(
    "status", [ConnectorStatus.INACTIVE, ConnectorStatus.PENDING_CONSENT, ConnectorStatus.DELETING]
)
def test_a_connector_that_is_not_active_refuses_signed_events(wired: Wired, status: ConnectorStatus) -> None:
    wired.set_connector(status=status)
    raw = batch(event(wired.clock()))
    with pytest.raises(ConnectorNotActive):
        wired.intake.accept(TENANT, raw, signature_for(raw, SECRET))
    assert wired.queue.published == []


def test_an_inactive_connector_is_not_revealed_to_unsigned_callers(wired: Wired) -> None:
    wired.set_connector(status=ConnectorStatus.INACTIVE)
    with pytest.raises(InvalidEventSignature):
        wired.intake.accept(TENANT, batch(event(wired.clock())), None)


def test_a_signed_body_off_contract_is_refused(wired: Wired) -> None:
    raw = batch(event(wired.clock(), state="sleeping"))
    with pytest.raises(InvalidAgentEvents):
        wired.intake.accept(TENANT, raw, signature_for(raw, SECRET))
    assert wired.queue.published == []


def test_an_oversized_body_is_refused_before_the_hmac(wired: Wired) -> None:
    with pytest.raises(AgentEventsTooLarge):
        wired.intake.accept(TENANT, b"{" + b" " * 70_000 + b"}", None)


def test_replays_late_events_and_future_events_are_dropped_and_reported(wired: Wired) -> None:
    # GIVEN events 11 minutes old, 9 minutes old, 3 minutes ahead and 1 minute ahead
    now = wired.clock()
    raw = batch(
        event(now - timedelta(minutes=11), eventId="old"),
        event(now - timedelta(minutes=9), eventId="late-but-fine"),
        event(now + timedelta(minutes=3), eventId="future"),
        event(now + timedelta(minutes=1), eventId="skewed-but-fine"),
    )
    # WHEN they arrive
    report = wired.intake.accept(TENANT, raw, signature_for(raw, SECRET))
    # THEN only those inside the window are queued; the others are reported
    assert [m.event_id for m in wired.published()] == ["late-but-fine", "skewed-but-fine"]
    assert report.dropped == (
        DroppedEvent("old", "agent-1", "tooOld"),
        DroppedEvent("future", "agent-1", "fromTheFuture"),
    )
    assert report.dropped_by_reason() == {"tooOld": 1, "fromTheFuture": 1}


def test_unknown_agents_are_dropped_and_the_rest_is_published(wired: Wired) -> None:
    raw = batch(event(wired.clock()), event(wired.clock(), eventId="evt-2", agentId="stranger"))
    report = wired.intake.accept(TENANT, raw, signature_for(raw, SECRET))
    assert report.accepted == 1
    assert report.dropped == (DroppedEvent("evt-2", "stranger", "unknownAgent"),)
    assert [m.agent_id for m in wired.published()] == ["agent-1"]


def test_nothing_to_publish_means_no_queue_call(wired: Wired) -> None:
    raw = batch(event(wired.clock(), agentId="stranger"))
    report = wired.intake.accept(TENANT, raw, signature_for(raw, SECRET))
    assert report.accepted == 0
    assert wired.queue.published == []


def test_a_queue_outage_is_raised_so_the_contact_center_delivers_again(wired: Wired) -> None:
    wired.queue.fail = True
    raw = batch(event(wired.clock()))
    with pytest.raises(PresenceQueueUnavailable):
        wired.intake.accept(TENANT, raw, signature_for(raw, SECRET))
