"""Graph's JSON batching ($batch) as documented: up to 20 requests, unique ids, relative URLs, a body
only with Content-Type; each request answered on its own (a 404 or a 429 of one leaves the others)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.integration.graph_simulator.conftest import SeededTenant
from tests.integration.graph_simulator.helpers import Sim

pytestmark = pytest.mark.integration


def batch(sim: Sim, token: str, requests: Any) -> Any:
    return sim.graph("POST", "/$batch", token, {"requests": requests})


def test_a_batch_answers_each_request_with_its_own_status(sim: Sim, tenant: SeededTenant) -> None:
    ann = sim.add_user(tenant.tenant_id, displayName="Ann Smith", department="Sales")
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    answer = batch(
        sim,
        token,
        [
            {
                "id": "1",
                "method": "GET",
                "url": f"/users/{quote(ann['userPrincipalName'])}?$select=id,department",
            },
            {"id": "2", "method": "GET", "url": "users/nobody@contoso.example"},
        ],
    )
    assert answer.status == 200
    by_id = {item["id"]: item for item in answer.json()["responses"]}
    assert by_id["1"]["status"] == 200
    assert {k: v for k, v in by_id["1"]["body"].items() if not k.startswith("@")} == {
        "id": ann["id"],
        "department": "Sales",
    }
    assert by_id["2"]["status"] == 404
    assert by_id["2"]["body"]["error"]["code"] == "Request_ResourceNotFound"


def test_a_throttled_request_in_a_batch_leaves_the_others(sim: Sim, tenant: SeededTenant) -> None:
    ann = sim.add_user(tenant.tenant_id, displayName="Ann")
    bob = sim.add_user(tenant.tenant_id, displayName="Bob")
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    fault = {"pathPrefix": f"/v1.0/users/{bob['id']}", "status": 429, "retryAfterSeconds": 3}
    assert sim.control("POST", "/faults", fault).status == 201
    try:
        answer = batch(
            sim,
            token,
            [
                {"id": "a", "method": "GET", "url": f"/users/{ann['id']}"},
                {"id": "b", "method": "GET", "url": f"/users/{bob['id']}"},
            ],
        )
    finally:
        sim.control("DELETE", "/faults")
    by_id = {item["id"]: item for item in answer.json()["responses"]}
    assert (by_id["a"]["status"], by_id["b"]["status"]) == (200, 429)
    assert by_id["b"]["headers"]["Retry-After"] == "3"


@pytest.mark.parametrize(
    ("requests", "message"),
    [
        ([], "'requests' is required"),
        ([{"id": str(i), "method": "GET", "url": "/users"} for i in range(21)], "maximum of 20"),
        (
            [{"id": "1", "method": "GET", "url": "/users"}, {"id": "1", "method": "GET", "url": "/me"}],
            "unique",
        ),
        (
            [{"id": "A", "method": "GET", "url": "/users"}, {"id": "a", "method": "GET", "url": "/me"}],
            "unique",
        ),
        ([{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users"}], "relative URL"),
        ([{"id": "1", "method": "GET"}], "relative URL"),
        ([{"method": "GET", "url": "/users"}], "'id' is required"),
        ([{"id": "1", "method": "PATCH", "url": "/me", "body": {"city": "x"}}], "Content-Type"),
        ([{"id": "1", "method": "GET", "url": "/me", "dependsOn": ["2"]}], "unknown request"),
    ],
)
def test_a_malformed_batch_is_refused_whole(
    sim: Sim, tenant: SeededTenant, requests: Any, message: str
) -> None:
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    answer = batch(sim, token, requests)
    assert answer.status == 400
    assert answer.json()["error"]["code"] == "BadRequest"
    assert message in answer.json()["error"]["message"]


def test_a_batch_needs_a_token_itself(sim: Sim, tenant: SeededTenant) -> None:
    answer = sim.graph("POST", "/$batch", None, {"requests": [{"id": "1", "method": "GET", "url": "/users"}]})
    assert answer.status == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_each_request_of_a_batch_needs_its_own_permission(sim: Sim, tenant: SeededTenant) -> None:
    token = sim.app_token(tenant.tenant_id, tenant.client_id, roles=["Presence.Read.All"])
    answer = batch(sim, token, [{"id": "1", "method": "GET", "url": "/users"}])
    assert answer.status == 200
    assert answer.json()["responses"][0]["status"] == 403
