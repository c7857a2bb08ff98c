"""The webhook adapter against the simulator's /webhook: signatures checked when the secret is known,
round trips, refusals and injected faults."""

from __future__ import annotations

import pytest

from devstack.contact_center_simulator import ContactCenterSimulator
from shared.connectors.model import WebhookContactCenter
from shared.contact_center.clients import HttpContactCenterClients, events_url
from shared.contact_center.exceptions import (
    ContactCenterAuthFailed,
    ContactCenterRejected,
    ContactCenterThrottled,
    ContactCenterUnavailable,
)
from shared.contact_center.model import AgentState
from shared.contact_center.ports import ContactCenterClient
from tests.integration.contact_center_simulator.helpers import Control, EventsReceiver

pytestmark = pytest.mark.integration

SECRET = "webhook-secret-0123456789abcdef"


def webhook(
    simulator: ContactCenterSimulator, clients: HttpContactCenterClients, tenant_id: str, secret: str = SECRET
) -> ContactCenterClient:
    return clients.client_for(tenant_id, WebhookContactCenter(simulator.webhook_url, secret))


@pytest.fixture
def configured(control: Control, receiver: EventsReceiver, tenant_id: str) -> None:
    """GIVEN the simulator knows the tenant's secret and agent, like an admin would set it up."""
    body = {"connectorUrl": receiver.url, "secret": SECRET, "agentIds": ["agent-1"]}
    assert control("POST", f"/tenants/{tenant_id}", body).status == 201


@pytest.mark.usefixtures("configured")
def test_signed_round_trip(
    simulator: ContactCenterSimulator, clients: HttpContactCenterClients, control: Control, tenant_id: str
) -> None:
    client = webhook(simulator, clients, tenant_id)
    # WHEN the connector sets the agent idle, then reads him
    client.set_idle("agent-1", "do-not-disturb", "Do Not Disturb", "Teams: DoNotDisturb")
    status = client.get_status("agent-1")
    # THEN the simulator verified both signatures and applied the change
    assert [r["signature"] for r in control.requests()] == ["valid", "valid"]
    assert status is not None
    assert (status.state, status.idle_code_id, status.idle_code_name) == (
        AgentState.IDLE,
        "do-not-disturb",
        "Do Not Disturb",
    )
    assert control.agent("agent-1")["history"][-1]["source"] == "connector"
    client.set_available("agent-1", "Teams: Available")
    assert control.agent("agent-1")["state"] == "available"


@pytest.mark.usefixtures("configured")
def test_a_wrong_secret_is_refused_and_changes_nothing(
    simulator: ContactCenterSimulator, clients: HttpContactCenterClients, control: Control, tenant_id: str
) -> None:
    client = webhook(simulator, clients, tenant_id, secret="not-the-tenants-secret")
    with pytest.raises(ContactCenterAuthFailed):
        client.set_idle("agent-1", "meeting", "Meeting", "r")
    with pytest.raises(ContactCenterAuthFailed):
        client.get_status("agent-1")
    assert [r["signature"] for r in control.requests()] == ["invalid", "invalid"]
    assert control.agent("agent-1")["state"] == "available"


def test_without_a_known_secret_calls_are_taken_unchecked_and_the_tenant_is_learned(
    simulator: ContactCenterSimulator,
    clients: HttpContactCenterClients,
    control: Control,
    receiver: EventsReceiver,
    tenant_id: str,
) -> None:
    webhook(simulator, clients, tenant_id).set_available("agent-7", "r")
    assert control.requests()[0]["signature"] == "unchecked"
    assert control("GET", f"/tenants/{tenant_id}").json() == {
        "tenantId": tenant_id,
        "kind": "webhook",
        "eventsUrl": events_url(receiver.url, tenant_id),
        "secretKnown": False,
        "agentIds": ["agent-7"],
    }


@pytest.mark.usefixtures("configured")
def test_an_unknown_agent_has_no_status(
    simulator: ContactCenterSimulator, clients: HttpContactCenterClients, tenant_id: str
) -> None:
    assert webhook(simulator, clients, tenant_id).get_status("nobody") is None


@pytest.mark.usefixtures("configured")
def test_a_logged_out_agent_is_rejected(
    simulator: ContactCenterSimulator, clients: HttpContactCenterClients, control: Control, tenant_id: str
) -> None:
    control.set_state("agent-1", "loggedOut")
    with pytest.raises(ContactCenterRejected) as raised:
        webhook(simulator, clients, tenant_id).set_idle("agent-1", "meeting", None, "r")
    assert raised.value.status == 409


@pytest.mark.usefixtures("configured")
@pytest.mark.parametrize(
    ("status", "error"), [(429, ContactCenterThrottled), (503, ContactCenterUnavailable)]
)
def test_injected_faults(
    simulator: ContactCenterSimulator,
    clients: HttpContactCenterClients,
    control: Control,
    tenant_id: str,
    status: int,
    error: type[ContactCenterThrottled | ContactCenterUnavailable],
) -> None:
    fault = {"path": "/webhook", "status": status, "retryAfterSeconds": 5, "count": 2}
    assert control("POST", "/faults", fault).status == 201
    client = webhook(simulator, clients, tenant_id)
    for _ in range(2):
        with pytest.raises(error) as raised:
            client.set_available("agent-1", "r")
        failure = raised.value
        assert isinstance(failure, ContactCenterThrottled | ContactCenterUnavailable)
        assert failure.retry_after == 5
    client.set_available("agent-1", "r")
    assert control("GET", "/faults").json() == {"faults": []}
