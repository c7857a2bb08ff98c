"""Graph users: auth, $select, $search with ConsistencyLevel, $filter startswith, paging, $count."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest

from tests.integration.graph_simulator.conftest import SeededTenant
from tests.integration.graph_simulator.helpers import Sim, http

pytestmark = pytest.mark.integration

EVENTUAL = {"ConsistencyLevel": "eventual"}


@pytest.fixture
def directory(sim: Sim, tenant: SeededTenant) -> SeededTenant:
    """GIVEN a small directory."""
    sim.add_user(
        tenant.tenant_id,
        displayName="Ann Smith",
        department="Sales",
        jobTitle="Agent",
        businessPhones=["+4930123"],
    )
    sim.add_user(tenant.tenant_id, displayName="Annabel Jones", department="Support", jobTitle="Agent Lead")
    sim.add_user(tenant.tenant_id, displayName="Bob Annson", department="Sales", jobTitle="Manager")
    sim.add_user(tenant.tenant_id, displayName="Joanne Miller", department="Salesforce Ops", jobTitle="Agent")
    return tenant


def test_graph_requires_a_valid_bearer_token(sim: Sim, tenant: SeededTenant) -> None:
    missing = sim.graph("GET", "/users", None)
    assert missing.status == 401
    assert missing.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "innerError" in missing.json()["error"]
    forged = sim.graph("GET", "/users", "eyJhbGciOiJub25lIn0.e30.")
    assert forged.status == 401


def test_user_read_needs_the_application_permission(sim: Sim, directory: SeededTenant) -> None:
    token = sim.app_token(directory.tenant_id, directory.client_id, roles=["Presence.Read.All"])
    result = sim.graph("GET", "/users", token)
    assert result.status == 403
    assert result.json()["error"]["code"] == "Authorization_RequestDenied"


def test_get_user_by_id_or_upn_honours_select(sim: Sim, tenant: SeededTenant) -> None:
    user = sim.add_user(tenant.tenant_id, displayName="Ann Smith", department="Sales")
    token = sim.app_token(tenant.tenant_id, tenant.client_id)
    # WHEN read without $select, THEN Graph's default set comes back, without department
    plain = sim.graph("GET", f"/users/{user['id']}", token).json()
    assert plain["displayName"] == "Ann Smith"
    assert "department" not in plain
    # WHEN read by UPN with $select, THEN exactly the selected properties come back
    selected = sim.graph(
        "GET", f"/users/{quote(user['userPrincipalName'])}?$select=id,department", token
    ).json()
    assert {k: v for k, v in selected.items() if not k.startswith("@")} == {
        "id": user["id"],
        "department": "Sales",
    }
    assert sim.graph("GET", f"/users/{user['id']}?$select=nope", token).status == 400
    missing = sim.graph("GET", "/users/00000000-0000-0000-0000-000000000001", token)
    assert (missing.status, missing.json()["error"]["code"]) == (404, "Request_ResourceNotFound")


def test_search_needs_consistency_level(sim: Sim, directory: SeededTenant) -> None:
    token = sim.app_token(directory.tenant_id, directory.client_id)
    path = '/users?$search="displayName:ann"&$select=displayName'
    refused = sim.graph("GET", path, token)
    assert refused.status == 400
    assert refused.json()["error"]["code"] == "Request_UnsupportedQuery"
    found = sim.graph("GET", path, token, headers=EVENTUAL)
    assert found.status == 200
    # Tokenized prefix search: "Joanne" does not match "ann", "Annson" does.
    assert sorted(u["displayName"] for u in found.json()["value"]) == [
        "Ann Smith",
        "Annabel Jones",
        "Bob Annson",
    ]
    assert sim.graph("GET", "/users?$search=displayName:ann", token, headers=EVENTUAL).status == 400


def test_filter_startswith_with_and(sim: Sim, directory: SeededTenant) -> None:
    token = sim.app_token(directory.tenant_id, directory.client_id)
    query = "startswith(department,'Sales') and startswith(jobTitle,'agent')"
    result = sim.graph("GET", f"/users?$filter={quote(query)}&$select=displayName,department", token)
    assert result.status == 200
    assert sorted(u["displayName"] for u in result.json()["value"]) == ["Ann Smith", "Joanne Miller"]
    unsupported = sim.graph("GET", f"/users?$filter={quote('endswith(displayName,x)')}", token)
    assert unsupported.status == 400


def test_paging_with_next_link_and_count(sim: Sim, directory: SeededTenant) -> None:
    token = sim.app_token(directory.tenant_id, directory.client_id)
    assert sim.graph("GET", "/users?$count=true", token).status == 400
    first = sim.graph(
        "GET", "/users?$top=3&$count=true&$select=id,displayName", token, headers=EVENTUAL
    ).json()
    assert first["@odata.count"] == 4
    assert len(first["value"]) == 3
    second = http(
        "GET", first["@odata.nextLink"], headers={"Authorization": f"Bearer {token}", **EVENTUAL}
    ).json()
    assert len(second["value"]) == 1
    assert "@odata.nextLink" not in second
    ids = {u["id"] for u in first["value"]} | {u["id"] for u in second["value"]}
    assert len(ids) == 4
    assert sim.graph("GET", "/users?$top=1000", token).status == 400


def test_tenants_are_isolated(sim: Sim, directory: SeededTenant) -> None:
    # GIVEN a user in another tenant
    other_tenant = str(uuid.uuid4())
    stranger = sim.add_user(other_tenant)
    # WHEN the first tenant's app looks it up, THEN it does not exist there
    token = sim.app_token(directory.tenant_id, directory.client_id)
    assert sim.graph("GET", f"/users/{stranger['id']}", token).status == 404
    listed = sim.graph("GET", "/users?$top=999", token).json()["value"]
    assert stranger["id"] not in {u["id"] for u in listed}
