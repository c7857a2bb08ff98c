"""Hostile input over HTTP, on the local host: oversized bodies and batches (413), bodies of the wrong
shape (400), hostile path and query values (400): never a 5xx, always the error envelope, and the
tenant's state read back unchanged.

The operations that take a body are read from the OpenAPI document, so a route added later is covered
without being listed here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from devstack.dev_certificate import example_settings
from shared.http.openapi import openapi_document
from tests.e2e.conftest import HostClient, Reply, RunningHost
from tests.e2e.stack import AdminTenant, events_signature, set_up_admin_tenant

pytestmark = pytest.mark.e2e


def _document() -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in example_settings().items():
            env.setenv(name, value)
        import function_app

    return openapi_document(function_app.app)


DOCUMENT = _document()
USER_ID = "6e7b768e-07e2-4810-8459-485f84f8f204"
BODY_OPERATIONS = sorted(
    (method.upper(), path)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if "requestBody" in operation
)
# A JSON object over every body limit of the app (256 KB; 64 KB for agent events; 4 MB for Graph's).
OVERSIZED = json.dumps({"filler": "x" * (5 * 1024 * 1024)}).encode()


# One tenant for the module: every test leaves it as it found it, which the next one checks again.
@pytest.fixture(scope="module")
def tenant(local_host: RunningHost) -> AdminTenant:
    return set_up_admin_tenant(local_host)


def state_of(host: HostClient, tenant_id: str) -> dict[str, Any]:
    """Everything an admin can read back, less what moves on its own (timestamps of health evidence)."""
    base = f"/api/tenants/{tenant_id}"
    connector = host.call("GET", f"{base}/connector").json()
    connector.pop("contactCenterHealth", None)
    return {
        "connector": connector,
        "mappings": host.call("GET", f"{base}/presence-mappings").json(),
        "agents": host.call("GET", f"{base}/agents").json(),
        "syncAccounts": host.call("GET", f"{base}/sync-accounts").json(),
    }


def send(host: HostClient, tenant: AdminTenant, method: str, path: str, body: bytes) -> Reply:
    target = "/api" + path.replace("{tenantId}", tenant.tenant_id)
    target = target.replace("{agentId}", tenant.agent_id).replace("{accountId}", USER_ID)
    headers = {"content-type": "application/json"}
    if path.endswith("/contact-center/events"):
        headers["X-Connector-Signature"] = events_signature(body, tenant.secret)
    return host.call(method, target, body, headers)


def assert_refused(reply: Reply, statuses: set[int]) -> None:
    assert reply.status in statuses, (reply.status, reply.body[:300])
    assert reply.headers["Content-Type"].startswith("application/json")
    error = json.loads(reply.body)["error"]
    assert set(error) == {"code", "message"}
    assert error["message"]


@pytest.mark.parametrize(
    ("body", "statuses"),
    [
        pytest.param(OVERSIZED, {413}, id="oversized"),
        pytest.param(b"[]", {400}, id="array"),
        pytest.param(b'"text"', {400}, id="string"),
        pytest.param(b"{", {400}, id="not-json"),
        pytest.param(b"[" * 20_000 + b"]" * 20_000, {400}, id="deeply-nested"),
        pytest.param(json.dumps({"unknownField": 1, "value": 2}).encode(), {400}, id="unknown-field"),
        pytest.param(b"\xff\xfe\x00{", {400}, id="not-utf8"),
    ],
)
@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS, ids=[f"{m} {p}" for m, p in BODY_OPERATIONS])
def test_a_hostile_body_is_refused_and_changes_nothing(
    host: HostClient, tenant: AdminTenant, method: str, path: str, body: bytes, statuses: set[int]
) -> None:
    before = state_of(host, tenant.tenant_id)
    reply = send(host, tenant, method, path, body)
    assert_refused(reply, statuses)
    assert state_of(host, tenant.tenant_id) == before


def _import(n: int) -> dict[str, Any]:
    return {"agents": [{"agentId": f"a{i}", "userId": USER_ID} for i in range(n)]}


def _mappings(n: int) -> dict[str, Any]:
    rules = [{"availability": "Busy", "activity": "InACall", "idleCodeId": f"c{i}"} for i in range(n)]
    return {"teamsToContactCenter": rules, "contactCenterToTeams": []}


def _events(n: int) -> dict[str, Any]:
    return {
        "events": [
            {
                "eventId": f"e{i}",
                "type": "agentStateChanged",
                "agentId": "agent-1",
                "state": "onCall",
                "occurredAt": "2026-11-21T09:00:00Z",
            }
            for i in range(n)
        ]
    }


BATCHES: list[tuple[str, str, Callable[[int], dict[str, Any]], int]] = [
    ("POST", "/tenants/{tenantId}/agents/import", _import, 1000),
    ("PUT", "/tenants/{tenantId}/presence-mappings", _mappings, 100),
    ("POST", "/tenants/{tenantId}/contact-center/events", _events, 100),
    ("POST", "/graph/notifications", lambda n: {"value": [{"subscriptionId": "x"}] * n}, 1000),
    ("POST", "/graph/lifecycle", lambda n: {"value": [{"subscriptionId": "x"}] * n}, 1000),
]


@pytest.mark.parametrize(("method", "path", "build", "cap"), BATCHES, ids=[b[1] for b in BATCHES])
def test_a_batch_over_its_cap_is_a_413_and_changes_nothing(
    host: HostClient,
    tenant: AdminTenant,
    method: str,
    path: str,
    build: Callable[[int], dict[str, Any]],
    cap: int,
) -> None:
    before = state_of(host, tenant.tenant_id)
    body = json.dumps(build(cap + 1), separators=(",", ":")).encode()
    assert_refused(send(host, tenant, method, path, body), {413})
    assert state_of(host, tenant.tenant_id) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/tenants/{t}/agents?limit=" + "9" * 5000),
        ("GET", "/api/tenants/{t}/agents?limit=-1"),
        ("GET", "/api/tenants/{t}/agents?cursor=" + "A" * 5000),
        ("GET", "/api/tenants/{t}/agents?cursor=%00%0a"),
        ("PUT", "/api/tenants/{t}/agents/" + "a" * 129),
        ("PUT", "/api/tenants/{t}/agents/a%2Fb"),
        ("PUT", "/api/tenants/{t}/agents/%E2%80%AEx"),
        ("DELETE", "/api/tenants/{t}/agents/a%23b"),
        ("DELETE", "/api/tenants/{t}/sync-accounts/" + "0" * 5000),
        ("DELETE", "/api/tenants/{t}/sync-accounts/not-a-guid"),
        ("GET", "/api/tenants/" + "7" * 5000 + "/connector"),
        ("GET", "/api/consent/callback?state=" + "s" * 20_000 + "&tenant=x"),
        ("GET", "/api/auth/callback?state=" + "s" * 20_000 + "&code=c"),
    ],
)
def test_hostile_path_and_query_values_are_a_400_and_change_nothing(
    host: HostClient, tenant: AdminTenant, method: str, path: str
) -> None:
    before = state_of(host, tenant.tenant_id)
    target = path.replace("{t}", tenant.tenant_id)
    body = json.dumps({"userId": USER_ID}).encode() if method == "PUT" else None
    headers = {"accept": "application/json", **host.admin_headers(tenant.tenant_id)}
    reply = host.call(method, target, body, headers)
    assert_refused(reply, {400, 404})
    assert state_of(host, tenant.tenant_id) == before


def test_an_if_match_longer_than_any_etag_is_a_400(host: HostClient, tenant: AdminTenant) -> None:
    before = state_of(host, tenant.tenant_id)
    reply = host.call(
        "PATCH",
        f"/api/tenants/{tenant.tenant_id}/connector",
        {"settings": {"presenceSync": False}},
        {"If-Match": "W/" + "x" * 10_000},
    )
    assert_refused(reply, {400})
    assert state_of(host, tenant.tenant_id) == before
