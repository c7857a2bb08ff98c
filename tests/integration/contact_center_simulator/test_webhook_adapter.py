"""The webhook adapter against the simulator's /webhook: signatures checked when the secret is known,
round trips, refusals and injected faults."""

from __future__ import annotations

import socket

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


# -- the connection test (probe) -------------------------------------------------------------------


@pytest.mark.usefixtures("configured")
def test_the_connection_test_is_one_signed_post_that_changes_nothing(
    simulator: ContactCenterSimulator, clients: HttpContactCenterClients, control: Control, tenant_id: str
) -> None:
    before = control.agent("agent-1")
    # WHEN the admin's connection test runs
    status = webhook(simulator, clients, tenant_id).probe()
    # THEN one signed POST reached the webhook, which verified it and answered 204
    assert status == 204
    [request] = control.requests()
    assert (request["method"], request["path"], request["signature"], request["status"]) == (
        "POST",
        "/webhook",
        "valid",
        204,
    )
    # AND no agent changed
    assert control.agent("agent-1") == before


@pytest.mark.usefixtures("configured")
def test_a_connection_test_with_the_wrong_secret_is_refused_like_any_call(
    simulator: ContactCenterSimulator, clients: HttpContactCenterClients, tenant_id: str
) -> None:
    with pytest.raises(ContactCenterAuthFailed) as refused:
        webhook(simulator, clients, tenant_id, secret="not-the-tenants-secret").probe()
    assert refused.value.status == 401


def test_a_connection_test_to_a_closed_port_says_the_connection_was_refused(
    clients: HttpContactCenterClients, tenant_id: str
) -> None:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        closed_port = spare.getsockname()[1]
    config = WebhookContactCenter(f"http://127.0.0.1:{closed_port}/hook?token=kept-out-of-logs", SECRET)
    with pytest.raises(ContactCenterUnavailable) as unreachable:
        clients.client_for(tenant_id, config).probe()
    # The message says what happened, names host and port, and never the path or query
    assert unreachable.value.status is None
    assert unreachable.value.message == (
        f"webhook connection test: the contact center at 127.0.0.1:{closed_port} cannot be reached: "
        "the connection was refused (nothing accepts connections on that port)"
    )
