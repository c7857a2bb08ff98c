"""The expert directory over HTTP on the local host: agents with their own Entra token (no admin
role), the contact center with a signed GET, the gate, paging, phones, presence and hostile input."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from shared.contact_center.signatures import get_request_payload, signature_for
from tests.e2e.conftest import HostClient, Reply, RunningHost
from tests.e2e.stack import (
    CONNECTOR_CONTACT_CENTER,
    ControlApi,
    activate_connector,
    graph_simulator,
    sign_in_sync_account,
)

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "graph" / "directory_users.json"
SECRET = CONNECTOR_CONTACT_CENTER["secret"]


def directory_path(tenant_id: str, **params: str) -> str:
    query = urlencode(params)
    return f"/api/tenants/{tenant_id}/directory/users" + (f"?{query}" if query else "")


def agent_headers(host: HostClient, tenant_id: str) -> dict[str, str]:
    """An agent of the tenant: signed in with Microsoft 365, no directory role, no app role."""
    return host.admin_headers(
        tenant_id, upn=f"agent-{uuid.uuid4().hex[:6]}@contoso.example", wids=[], roles=[]
    )


def seed(graph: ControlApi, tenant_id: str) -> dict[str, str]:
    ids = {}
    for entry in json.loads(FIXTURE.read_text(encoding="utf-8"))["users"]:
        body = {k: v for k, v in entry.items() if k != "key"}
        body["userPrincipalName"] = f"{tenant_id[:8]}.{body['userPrincipalName']}"
        ids[entry["key"]] = graph.ok("POST", f"/_sim/tenants/{tenant_id}/users", body)["id"]
    return ids


def enable_directory(host: HostClient, tenant_id: str, on: bool = True) -> None:
    reply = host.call("PATCH", f"/api/tenants/{tenant_id}/connector", {"settings": {"showUserDetails": on}})
    assert reply.status == 200, reply.body


@pytest.fixture
def directory_tenant(local_host: RunningHost, host: HostClient, tenant_id: str) -> dict[str, str]:
    """GIVEN an active connector with showUserDetails on and the fixture directory in Graph."""
    ids = seed(graph_simulator(local_host), tenant_id)
    activate_connector(host, tenant_id)
    enable_directory(host, tenant_id)
    # AND the tenant's sync account (a service user) signed in: it never appears in the directory
    account = sign_in_sync_account(host, tenant_id, f"{tenant_id[:8]}.presence-sync@contoso.example")
    assert account["id"] == ids["sync"]
    return ids


def search(host: HostClient, tenant_id: str, headers: dict[str, str], **params: str) -> Reply:
    return host.call("GET", directory_path(tenant_id, **params), headers=headers)


def test_an_agent_finds_experts_with_presence_and_a_transfer_target(
    host: HostClient, tenant_id: str, directory_tenant: dict[str, str]
) -> None:
    agent = agent_headers(host, tenant_id)
    reply = search(host, tenant_id, agent, department="Customer Support")
    assert reply.status == 200, reply.body
    assert reply.headers["Cache-Control"] == "no-store"
    body = reply.json()
    assert body["nextSkipToken"] is None
    assert [e["displayName"] for e in body["value"]] == ["Ann O'Neil", "Zoë Núñez"]
    ann = body["value"][0]
    assert ann == {
        "id": directory_tenant["ann"],
        "displayName": "Ann O'Neil",
        "department": "Customer Support",
        "jobTitle": "Support Agent",
        "userPrincipalName": f"{tenant_id[:8]}.ann.oneil@contoso.example",
        "mail": f"{tenant_id[:8]}.ann.oneil@contoso.example",
        "businessPhone": "+14255550100",
        "transferable": True,
        "transferTarget": {"type": "pstn", "number": "+14255550100"},
        "presence": {
            "availability": "Available",
            "activity": "Available",
            "outOfOffice": False,
            "statusMessage": "Ask me about refunds",
        },
    }
    # The default region (US) does not make a UK national number E.164
    assert body["value"][1]["businessPhone"] is None
    # By name (apostrophe, accents), role prefix, availability
    assert [e["displayName"] for e in search(host, tenant_id, agent, search="d'arcy").json()["value"]] == [
        "Dara D'Arcy"
    ]
    assert [e["displayName"] for e in search(host, tenant_id, agent, search="núñez").json()["value"]] == [
        "Zoë Núñez"
    ]
    billing = search(host, tenant_id, agent, department="Billing", jobTitle="Billing").json()["value"]
    assert [(e["displayName"], e["businessPhone"]) for e in billing] == [
        ("Dara D'Arcy", "+14255550142"),
        ("Omar Haddad", None),
    ]
    available = search(host, tenant_id, agent, available="true", top="50").json()["value"]
    assert [e["displayName"] for e in available] == ["Ann O'Neil", "Zoë Núñez"]


def test_pages_follow_the_signed_skip_token(
    host: HostClient, tenant_id: str, directory_tenant: dict[str, str]
) -> None:
    agent = agent_headers(host, tenant_id)
    seen: list[str] = []
    params: dict[str, str] = {"top": "4"}
    pages = 0
    while True:
        page = search(host, tenant_id, agent, **params)
        assert page.status == 200, page.body
        pages += 1
        seen += [e["displayName"] for e in page.json()["value"]]
        token = page.json()["nextSkipToken"]
        if token is None:
            break
        params = {"top": "4", "skipToken": token}
    assert pages == 2
    # Everyone but the disabled account and the sync account, each once
    assert sorted(seen) == sorted(
        ["Ann O'Neil", "Zoë Núñez", "Dara D'Arcy", "Omar Haddad", "Li Wei", "Sam Annand"]
    )
    first = search(host, tenant_id, agent, top="4").json()["nextSkipToken"]
    other_query = search(host, tenant_id, agent, top="5", skipToken=first)
    assert other_query.status == 400
    assert other_query.json()["error"]["code"] == "invalidSkipToken"


def test_the_contact_center_reads_it_with_a_signed_get(
    host: HostClient, tenant_id: str, directory_tenant: dict[str, str]
) -> None:
    path = directory_path(tenant_id, search="ann")
    timestamp = str(int(time.time()))
    signed = {
        "X-Connector-Timestamp": timestamp,
        "X-Connector-Signature": signature_for(get_request_payload(path, timestamp), SECRET),
    }
    reply = host.call("GET", path, headers=signed, auth=False)
    assert reply.status == 200, reply.body
    assert [e["displayName"] for e in reply.json()["value"]] == ["Ann O'Neil", "Sam Annand"]
    # The signature covers the query: it cannot be replayed for another search
    replayed = host.call("GET", directory_path(tenant_id, search="zoe"), headers=signed, auth=False)
    assert replayed.status == 401
    wrong = {**signed, "X-Connector-Signature": signature_for(get_request_payload(path, timestamp), "x" * 32)}
    assert host.call("GET", path, headers=wrong, auth=False).status == 401


def test_who_may_not_read_it(host: HostClient, tenant_id: str, directory_tenant: dict[str, str]) -> None:
    path = directory_path(tenant_id)
    assert host.call("GET", path, auth=False).json()["error"]["code"] == "missingCredentials"
    stranger = agent_headers(host, str(uuid.uuid4()))
    refused = host.call("GET", path, headers=stranger)
    assert refused.status == 403
    assert refused.json()["error"]["code"] == "tenantMismatch"


def test_the_gate_show_user_details_and_the_connector_status(
    host: HostClient, tenant_id: str, directory_tenant: dict[str, str]
) -> None:
    agent = agent_headers(host, tenant_id)
    enable_directory(host, tenant_id, on=False)
    closed = search(host, tenant_id, agent)
    assert closed.status == 403
    assert closed.json()["error"]["code"] == "showUserDetailsDisabled"
    enable_directory(host, tenant_id, on=True)
    assert search(host, tenant_id, agent).status == 200
    assert host.call("POST", f"/api/tenants/{tenant_id}/connector/deactivate").status == 200
    inactive = search(host, tenant_id, agent)
    assert inactive.status == 409
    assert inactive.json()["error"]["code"] == "connectorNotActive"
    assert "inactive" in inactive.json()["error"]["message"]
    # A member of a tenant without a connector
    other = str(uuid.uuid4())
    unknown = search(host, other, agent_headers(host, other))
    assert unknown.status == 404
    assert unknown.json()["error"]["code"] == "connectorNotFound"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"search": "' or 1 eq 1 or '"}, 200),
        ({"department": "') or startswith(displayName,'"}, 200),
        ({"search": '"'}, 200),
        ({"search": "ann\u0000"}, 400),
        ({"department": "x" * 65}, 400),
        ({"top": "51"}, 400),
        ({"top": "0"}, 400),
        ({"available": "maybe"}, 400),
        ({"$filter": "true"}, 400),
        ({"skipToken": "forged.token"}, 400),
    ],
)
def test_hostile_input_is_a_clear_4xx_or_an_unwidened_answer(
    host: HostClient, tenant_id: str, directory_tenant: dict[str, str], params: dict[str, Any], status: int
) -> None:
    reply = search(host, tenant_id, agent_headers(host, tenant_id), **params)
    assert reply.status == status, reply.body
    if status == 200:
        assert reply.json()["value"] == []
    else:
        assert set(reply.json()["error"]) == {"code", "message"}
