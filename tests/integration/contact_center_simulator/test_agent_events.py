"""Agent events the simulator sends to the connector: signed like the contract says, parseable by the
connector's own intake, retried on 5xx, and echoed for the connector's own changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from devstack.contact_center_simulator import ContactCenterSimulator
from shared.connectors.model import (
    Connector,
    ConnectorSettings,
    ConnectorStatus,
    WebhookContactCenter,
)
from shared.contact_center.clients import HttpContactCenterClients
from shared.contact_center.events import AgentEventType, parse_agent_events, verify_signature
from shared.contact_center.intake import ContactCenterEventIntake
from shared.contact_center.messages import AgentStateChange
from shared.contact_center.model import AgentState
from tests.fakes import FakeConnectorRepository
from tests.integration.contact_center_simulator.helpers import Control, EventsReceiver, ReceivedPost
from tests.unit.contact_center.support import FakeAgents, FakeQueue

pytestmark = pytest.mark.integration

SECRET = "webhook-secret-0123456789abcdef"
USER = "6e7b768e-07e2-4810-8459-485f84f8f204"


@pytest.fixture
def configured(control: Control, receiver: EventsReceiver, tenant_id: str) -> None:
    """GIVEN a webhook tenant whose connector URL, secret and agent the simulator knows."""
    body = {"connectorUrl": receiver.url, "secret": SECRET, "agentIds": ["agent-1"]}
    assert control("POST", f"/tenants/{tenant_id}", body).status == 201


def only_post(receiver: EventsReceiver) -> ReceivedPost:
    (post,) = receiver.posts()
    return post


@pytest.mark.usefixtures("configured")
def test_an_agents_own_change_is_posted_signed_to_the_tenants_events_route(
    simulator: ContactCenterSimulator, control: Control, receiver: EventsReceiver, tenant_id: str
) -> None:
    # WHEN the agent goes idle in the contact center
    outcome = control.set_state("agent-1", "idle", idleCodeId="lunch")
    assert outcome["delivery"] == "queued"
    assert simulator.wait_for_deliveries(10)
    # THEN the connector's events route gets it, signed with the tenant's secret
    post = only_post(receiver)
    assert post.path == f"/api/tenants/{tenant_id}/contact-center/events"
    assert verify_signature(post.body, post.headers["x-connector-signature"], SECRET)
    # AND the connector's own parser reads it
    (event,) = parse_agent_events(post.body)
    assert event.event_id == outcome["event"]["eventId"]
    assert (event.type, event.agent_id, event.state) == (
        AgentEventType.STATE_CHANGED,
        "agent-1",
        AgentState.IDLE,
    )
    assert (event.idle_code_id, event.idle_code_name) == ("lunch", "Lunch")
    assert event.sequence_number == 1
    # AND the simulator shows the change as the agent's own
    assert control.agent("agent-1")["history"][-1] == {
        "state": "idle",
        "idleCodeId": "lunch",
        "idleCodeName": "Lunch",
        "at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "source": "agent",
    }


@pytest.mark.usefixtures("configured")
def test_logout_and_login_have_their_event_types_and_growing_sequence_numbers(
    simulator: ContactCenterSimulator, control: Control, receiver: EventsReceiver
) -> None:
    control.set_state("agent-1", "loggedOut")
    control.set_state("agent-1", "available")
    control.set_state("agent-1", "onCall")
    assert simulator.wait_for_deliveries(10)
    events = sorted(receiver.events(), key=lambda e: e["sequenceNumber"])
    assert [(e["type"], e["state"], e["sequenceNumber"]) for e in events] == [
        ("agentLogout", "loggedOut", 1),
        ("agentLogin", "available", 2),
        ("agentStateChanged", "onCall", 3),
    ]


@pytest.mark.usefixtures("configured")
def test_events_are_accepted_by_the_connectors_intake(
    simulator: ContactCenterSimulator, control: Control, receiver: EventsReceiver, tenant_id: str
) -> None:
    # GIVEN the connector's intake for that tenant, with the agent on the roster
    now = datetime.now(UTC)
    connectors = FakeConnectorRepository()
    hook = WebhookContactCenter(simulator.webhook_url, SECRET)
    connectors.add(Connector(tenant_id, ConnectorStatus.ACTIVE, ConnectorSettings(), hook, now, now))
    queue = FakeQueue()
    intake = ContactCenterEventIntake(
        connectors, FakeAgents({"agent-1": USER}), queue, lambda: datetime.now(UTC)
    )
    # WHEN the simulator sends an event and the intake takes the request as it arrived
    control.set_state("agent-1", "wrapUp")
    assert simulator.wait_for_deliveries(10)
    post = only_post(receiver)
    report = intake.accept(tenant_id, post.body, post.headers["x-connector-signature"])
    # THEN the event is queued as an agent state change
    assert report.accepted == 1
    (change,) = queue.published[0]
    assert isinstance(change, AgentStateChange)
    assert (change.user_id, change.state) == (USER, AgentState.WRAP_UP)


@pytest.mark.usefixtures("configured")
def test_a_failing_connector_gets_the_event_again(
    simulator: ContactCenterSimulator, control: Control, receiver: EventsReceiver
) -> None:
    # GIVEN the connector answers 503 twice
    receiver.fail_next = 2
    # WHEN the agent changes state
    event_id = control.set_state("agent-1", "onCall")["event"]["eventId"]
    assert simulator.wait_for_deliveries(10)
    # THEN the same event was delivered three times, the last one accepted
    bodies = {p.body for p in receiver.posts()}
    assert len(receiver.posts()) == 3
    assert len(bodies) == 1
    attempts = [(d["eventId"], d["attempt"], d["status"]) for d in control.deliveries()]
    assert attempts == [(event_id, 1, 503), (event_id, 2, 503), (event_id, 3, 202)]


def test_without_a_connector_url_the_change_happens_but_nothing_is_sent(
    simulator: ContactCenterSimulator, control: Control, receiver: EventsReceiver, tenant_id: str
) -> None:
    assert control("POST", f"/tenants/{tenant_id}", {"agentIds": ["agent-1"]}).status == 201
    assert control.set_state("agent-1", "onCall")["delivery"] == "noConnectorUrl"
    assert control.agent("agent-1")["state"] == "onCall"
    assert simulator.wait_for_deliveries(10)
    assert receiver.posts() == []


@pytest.mark.usefixtures("configured")
def test_the_connectors_own_changes_are_echoed_like_a_real_contact_center(
    simulator: ContactCenterSimulator,
    clients: HttpContactCenterClients,
    control: Control,
    receiver: EventsReceiver,
    tenant_id: str,
) -> None:
    clients.client_for(tenant_id, WebhookContactCenter(simulator.webhook_url, SECRET)).set_idle(
        "agent-1", "meeting", "Meeting", "Teams: Busy/InAMeeting"
    )
    assert simulator.wait_for_deliveries(10)
    (event,) = receiver.events()
    assert (event["state"], event["idleCodeId"]) == ("idle", "meeting")


@pytest.fixture
def quiet_simulator() -> Iterator[ContactCenterSimulator]:
    sim = ContactCenterSimulator(port=0, echo_connector_changes=False)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def test_echo_can_be_turned_off(
    quiet_simulator: ContactCenterSimulator, receiver: EventsReceiver, tenant_id: str
) -> None:
    control = Control(quiet_simulator.base_url)
    body = {"connectorUrl": receiver.url, "secret": SECRET, "agentIds": ["agent-1"]}
    assert control("POST", f"/tenants/{tenant_id}", body).status == 201
    clients = HttpContactCenterClients(receiver.url)
    try:
        config = WebhookContactCenter(quiet_simulator.webhook_url, SECRET)
        clients.client_for(tenant_id, config).set_idle("agent-1", "meeting", "Meeting", "r")
    finally:
        clients.close()
    control.set_state("agent-1", "onCall")
    assert quiet_simulator.wait_for_deliveries(10)
    assert [e["state"] for e in receiver.events()] == ["onCall"]
