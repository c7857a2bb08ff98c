"""The simulator's control API: bad input is a 4xx, reset forgets everything."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.contact_center_simulator.helpers import Control, http

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"state": "sleeping"}, "state must be one of"),
        ({}, "state must be one of"),
        ({"state": "idle", "idleCodeId": "no-such-code"}, "not an idle code"),
        ({"state": "onCall", "idleCodeId": "meeting"}, "idle state only"),
    ],
)
def test_bad_state_changes_are_400(
    control: Control, tenant_id: str, body: dict[str, Any], fragment: str
) -> None:
    assert control("POST", f"/tenants/{tenant_id}", {"agentIds": ["agent-1"]}).status == 201
    result = control("POST", "/agents/agent-1/state", body)
    assert result.status == 400
    assert fragment in result.json()["error"]["message"]
    assert control.agent("agent-1")["state"] == "available"


def test_idle_without_a_code_uses_the_default_idle_code(control: Control, tenant_id: str) -> None:
    control("POST", f"/tenants/{tenant_id}", {"agentIds": ["agent-1"]})
    agent = control.set_state("agent-1", "idle")["agent"]
    assert (agent["idleCodeId"], agent["idleCodeName"]) == ("not-ready", "Not Ready")


def test_an_unknown_agent_is_404(control: Control) -> None:
    assert control("POST", "/agents/ghost/state", {"state": "available"}).status == 404
    assert control("GET", "/agents/ghost").status == 404


def test_tenants_are_created_then_updated_and_agents_stay_with_their_tenant(control: Control) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    assert control("POST", f"/tenants/{first}", {"agentIds": ["a"]}).status == 201
    updated = control("POST", f"/tenants/{first}", {"connectorUrl": "http://127.0.0.1:7071", "secret": "s"})
    assert updated.status == 200
    assert updated.json()["eventsUrl"] == f"http://127.0.0.1:7071/api/tenants/{first}/contact-center/events"
    assert updated.json()["secretKnown"] is True
    assert "secret" not in updated.json()
    assert control("POST", f"/tenants/{second}", {"agentIds": ["a"]}).status == 409


@pytest.mark.parametrize(
    "body",
    [
        {"connectorUrl": "ftp://x"},
        {"agentIds": "a"},
        {"agentIds": [""]},
        {"secret": 5},
        {"unknown": True},
    ],
)
def test_bad_tenant_setups_are_400(control: Control, tenant_id: str, body: dict[str, Any]) -> None:
    assert control("POST", f"/tenants/{tenant_id}", body).status == 400


@pytest.mark.parametrize(
    "body",
    [
        {"path": "/webhook", "status": 500},
        {"path": "/_sim/agents", "status": 503},
        {"path": "webhook", "status": 503},
        {"path": "/webhook", "status": 429, "count": 0},
        {"status": 503},
    ],
)
def test_bad_faults_are_400(control: Control, body: dict[str, Any]) -> None:
    assert control("POST", "/faults", body).status == 400


def test_reset_forgets_tenants_agents_faults_and_records(control: Control, tenant_id: str) -> None:
    control("POST", f"/tenants/{tenant_id}", {"agentIds": ["agent-1"]})
    control("POST", "/faults", {"path": "/webhook", "status": 503})
    http("POST", control.base_url + "/webhook", {}, {"X-Connector-Tenant": tenant_id})
    assert control("POST", "/reset").status == 204
    assert control("GET", f"/tenants/{tenant_id}").status == 404
    assert control("GET", "/agents").json() == {"agents": []}
    assert control("GET", "/faults").json() == {"faults": []}
    assert control.requests() == []
