"""The Webex adapter against the simulator: state round trips, what the simulator learns from the
calls, Webex's refusals and injected 429/503."""

from __future__ import annotations

import socket
import uuid

import pytest

from devstack.contact_center_simulator import ContactCenterSimulator
from shared.connectors.model import WebexContactCenter
from shared.contact_center.clients import HttpContactCenterClients, events_url
from shared.contact_center.exceptions import (
    ContactCenterRejected,
    ContactCenterThrottled,
    ContactCenterUnavailable,
)
from shared.contact_center.model import AgentState
from shared.contact_center.ports import ContactCenterClient
from shared.contact_center.webex_client import WebexContactCenterClient
from tests.integration.contact_center_simulator.helpers import Control, EventsReceiver

pytestmark = pytest.mark.integration

CLIENT_SECRET = "webex-client-secret-0123456789"


@pytest.fixture
def webex(
    simulator: ContactCenterSimulator, clients: HttpContactCenterClients, tenant_id: str
) -> ContactCenterClient:
    config = WebexContactCenter(simulator.base_url, "org-1", "client-1", CLIENT_SECRET)
    return clients.client_for(tenant_id, config)


def test_idle_and_back_to_available_round_trip(webex: ContactCenterClient, control: Control) -> None:
    # WHEN the connector puts an agent in idle through the Webex API
    webex.set_idle("agent-1", "meeting", "Meeting", "Teams: Busy/InAMeeting")
    # THEN the contact center shows the agent idle with that code, changed by the connector
    agent = control.agent("agent-1")
    assert (agent["state"], agent["idleCodeId"], agent["idleCodeName"]) == ("idle", "meeting", "Meeting")
    assert agent["history"][-1]["source"] == "connector"
    # AND the adapter reads the same status back from Webex's agent activities
    status = webex.get_status("agent-1")
    assert status is not None
    assert (status.state, status.idle_code_id, status.idle_code_name) == (
        AgentState.IDLE,
        "meeting",
        "Meeting",
    )
    # WHEN the connector makes the agent available again
    webex.set_available("agent-1", "Teams: Available")
    # THEN the history tells who did what
    history = control.agent("agent-1")["history"]
    assert [(h["state"], h["source"]) for h in history] == [
        ("available", "agent"),
        ("idle", "connector"),
        ("available", "connector"),
    ]
    status = webex.get_status("agent-1")
    assert status is not None
    assert status.state is AgentState.AVAILABLE


def test_the_simulator_learns_the_tenant_from_the_first_call(
    webex: ContactCenterClient, control: Control, receiver: EventsReceiver, tenant_id: str
) -> None:
    webex.set_available("agent-1", "r")
    webex.set_available("agent-1", "r")
    webex.get_status("agent-1")
    tenant = control("GET", f"/tenants/{tenant_id}").json()
    assert tenant == {
        "tenantId": tenant_id,
        "kind": "webexcc",
        "eventsUrl": events_url(receiver.url, tenant_id),
        "secretKnown": True,
        "agentIds": ["agent-1"],
    }
    # AND the token was fetched once for all three calls
    assert len(control.requests("/v1/access_token")) == 1
    assert {r["tenantId"] for r in control.requests()} == {tenant_id}


def test_the_agents_own_changes_are_read_as_webex_reports_them(
    webex: ContactCenterClient, control: Control
) -> None:
    webex.set_available("agent-1", "r")
    for state, expected in [
        ("onCall", AgentState.ON_CALL),
        ("wrapUp", AgentState.WRAP_UP),
        ("ringing", AgentState.RINGING),
        ("loggedOut", AgentState.LOGGED_OUT),
    ]:
        control.set_state("agent-1", state)
        status = webex.get_status("agent-1")
        assert status is not None
        assert status.state is expected


def test_an_unknown_agent_has_no_status(webex: ContactCenterClient) -> None:
    assert webex.get_status("never-seen") is None


def test_idle_codes_come_from_the_auxiliary_code_api(webex: ContactCenterClient, control: Control) -> None:
    assert control("POST", "/idle-codes", {"id": "coaching", "name": "Coaching"}).status == 201
    assert isinstance(webex, WebexContactCenterClient)
    codes = {code.id: code for code in webex.idle_codes()}
    assert codes["meeting"].name == "Meeting"
    assert codes["coaching"].name == "Coaching"
    assert codes["not-ready"].is_default
    assert "wrapup-resolved" not in codes


def test_an_aux_code_webex_does_not_know_is_rejected(webex: ContactCenterClient, control: Control) -> None:
    webex.set_available("agent-1", "r")
    with pytest.raises(ContactCenterRejected, match="not an idle code") as raised:
        webex.set_idle("agent-1", "no-such-code", None, "r")
    assert raised.value.status == 400
    assert control.agent("agent-1")["state"] == "available"


def test_a_logged_out_agent_cannot_be_changed(webex: ContactCenterClient, control: Control) -> None:
    webex.get_status("agent-1")
    webex.set_available("agent-1", "r")
    control.set_state("agent-1", "loggedOut")
    with pytest.raises(ContactCenterRejected, match="no active session"):
        webex.set_idle("agent-1", "meeting", "Meeting", "r")


def test_another_tenants_agent_is_rejected(
    webex: ContactCenterClient, control: Control, simulator: ContactCenterSimulator, tenant_id: str
) -> None:
    other = str(uuid.uuid4())
    assert control("POST", f"/tenants/{other}", {"agentIds": ["theirs"]}).status == 201
    with pytest.raises(ContactCenterRejected) as raised:
        webex.set_available("theirs", "r")
    assert raised.value.status == 404


def test_an_injected_429_is_throttled_with_retry_after_then_recovers(
    webex: ContactCenterClient, control: Control
) -> None:
    fault = {"path": "/v1/agents/session/state", "status": 429, "retryAfterSeconds": 3, "count": 1}
    assert control("POST", "/faults", fault).status == 201
    with pytest.raises(ContactCenterThrottled) as raised:
        webex.set_idle("agent-1", "meeting", "Meeting", "r")
    assert raised.value.retry_after == 3
    # THEN the fault is used up: the redelivered change goes through
    webex.set_idle("agent-1", "meeting", "Meeting", "r")
    assert control.agent("agent-1")["state"] == "idle"


def test_an_injected_503_is_unavailable(webex: ContactCenterClient, control: Control) -> None:
    assert control("POST", "/faults", {"path": "/v1/agents/activities", "status": 503}).status == 201
    with pytest.raises(ContactCenterUnavailable) as raised:
        webex.get_status("agent-1")
    assert raised.value.retry_after == 1
    assert raised.value.status == 503


def test_a_contact_center_that_is_down_is_unavailable(
    clients: HttpContactCenterClients, tenant_id: str
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    config = WebexContactCenter(f"http://127.0.0.1:{closed_port}", "org-1", "client-1", CLIENT_SECRET)
    down = HttpContactCenterClients(
        "http://127.0.0.1:1", webex_token_url=f"http://127.0.0.1:{closed_port}/token"
    )
    try:
        with pytest.raises(ContactCenterUnavailable):
            down.client_for(tenant_id, config).set_available("agent-1", "r")
    finally:
        down.close()


def test_the_connection_test_gets_a_token_and_reads_one_idle_code(
    webex: ContactCenterClient, control: Control
) -> None:
    assert webex.probe() == 200
    paths = [(r["method"], r["path"]) for r in control.requests()]
    assert paths[-1] == ("GET", "/organization/org-1/auxiliary-code")
    assert all(method in ("GET", "POST") for method, _ in paths)
    assert not any(path.endswith("/state") for _, path in paths)
