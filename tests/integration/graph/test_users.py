"""The msgraph-sdk gateway reads users from the Graph simulator over HTTP, with app-only tokens."""

from __future__ import annotations

import uuid

import pytest

from devstack.graph_simulator import GraphSimulator
from shared.graph.exceptions import GraphAuthenticationFailed
from shared.graph.model import UserQuery
from shared.graph.msgraph_gateway import MsGraphGateway
from tests.integration.graph.conftest import Tenant, make_gateway
from tests.integration.graph.helpers import control

pytestmark = pytest.mark.integration


def _add_user(simulator: GraphSimulator, tenant_id: str, **fields: object) -> dict[str, object]:
    fields.setdefault("userPrincipalName", f"u-{uuid.uuid4().hex[:8]}@contoso.example")
    fields.setdefault("businessPhones", [])
    status, user = control(simulator.base_url, "POST", f"/tenants/{tenant_id}/users", fields)
    assert status == 201, user
    assert isinstance(user, dict)
    return user


@pytest.fixture
def directory(simulator: GraphSimulator, tenant: Tenant) -> dict[str, dict[str, object]]:
    """GIVEN three users in the tenant's directory."""
    return {
        "ann": _add_user(
            simulator,
            tenant.tenant_id,
            displayName="Ann Lee",
            department="Sales EMEA",
            jobTitle="Account Manager",
            businessPhones=["+4512345678"],
        ),
        "bob": _add_user(
            simulator, tenant.tenant_id, displayName="Bob Annson", department="Support", jobTitle="Agent"
        ),
        "cid": _add_user(
            simulator, tenant.tenant_id, displayName="Cid Moe", department="Sales US", jobTitle="Agent Lead"
        ),
    }


def test_get_user_by_id_and_by_upn_includes_department(
    gateway: MsGraphGateway, tenant: Tenant, directory: dict[str, dict[str, object]]
) -> None:
    ann = directory["ann"]
    # WHEN the user is read by object id and by userPrincipalName
    by_id = gateway.get_user(tenant.tenant_id, str(ann["id"]))
    by_upn = gateway.get_user(tenant.tenant_id, str(ann["userPrincipalName"]))
    # THEN both are the same user, with the fields only $select brings back
    assert by_id is not None
    assert by_id == by_upn
    assert by_id.id == ann["id"]
    assert by_id.display_name == "Ann Lee"
    assert by_id.department == "Sales EMEA"
    assert by_id.job_title == "Account Manager"
    assert by_id.business_phones == ("+4512345678",)


def test_unknown_user_is_none(gateway: MsGraphGateway, tenant: Tenant) -> None:
    # WHEN a user the directory does not have is read, THEN there is no user (not an error)
    assert gateway.get_user(tenant.tenant_id, str(uuid.uuid4())) is None
    assert gateway.get_user(tenant.tenant_id, "nobody@contoso.example") is None


def test_search_by_name_uses_tokenized_display_name_search(
    gateway: MsGraphGateway, tenant: Tenant, directory: dict[str, dict[str, object]]
) -> None:
    # WHEN searching for "ann", THEN "Ann Lee" and "Bob Annson" match (word prefixes), "Cid Moe" does not
    found = gateway.search_users(tenant.tenant_id, UserQuery(name="ann"))
    assert {user.id for user in found} == {directory["ann"]["id"], directory["bob"]["id"]}
    # AND the department comes back too ($select)
    assert {user.department for user in found} == {"Sales EMEA", "Support"}


def test_search_by_department_and_job_title_prefixes(
    gateway: MsGraphGateway, tenant: Tenant, directory: dict[str, dict[str, object]]
) -> None:
    sales = gateway.search_users(tenant.tenant_id, UserQuery(department="Sales"))
    assert {user.id for user in sales} == {directory["ann"]["id"], directory["cid"]["id"]}
    agents = gateway.search_users(tenant.tenant_id, UserQuery(job_title="Agent"))
    assert {user.id for user in agents} == {directory["bob"]["id"], directory["cid"]["id"]}
    # WHEN criteria are combined, THEN every one must match
    both = gateway.search_users(tenant.tenant_id, UserQuery(department="Sales", job_title="Agent"))
    assert [user.id for user in both] == [directory["cid"]["id"]]
    named = gateway.search_users(tenant.tenant_id, UserQuery(name="ann", department="Sup"))
    assert [user.id for user in named] == [directory["bob"]["id"]]


def test_search_honours_top_and_quotes_in_values(
    gateway: MsGraphGateway, tenant: Tenant, directory: dict[str, dict[str, object]]
) -> None:
    # WHEN at most one user is asked for, THEN one comes back
    assert len(gateway.search_users(tenant.tenant_id, UserQuery(top=1))) == 1
    # WHEN a value holds quote characters, THEN the query stays valid and simply matches nothing
    assert gateway.search_users(tenant.tenant_id, UserQuery(department="O'Brien")) == []
    assert gateway.search_users(tenant.tenant_id, UserQuery(name='say "hi"')) == []


def test_tenant_without_admin_consent_fails_authentication(
    simulator: GraphSimulator, unconsented_tenant: Tenant
) -> None:
    # GIVEN a tenant whose admin never consented to the app
    # WHEN the gateway reads a user there, THEN no token can be obtained
    with make_gateway(simulator, unconsented_tenant) as graph, pytest.raises(GraphAuthenticationFailed):
        graph.get_user(unconsented_tenant.tenant_id, str(uuid.uuid4()))


def test_get_users_reads_many_users_20_per_batch_call(
    simulator: GraphSimulator,
    gateway: MsGraphGateway,
    tenant: Tenant,
    directory: dict[str, dict[str, object]],
) -> None:
    extra = [_add_user(simulator, tenant.tenant_id, displayName=f"User {index}") for index in range(40)]
    missing = f"nobody-{uuid.uuid4().hex[:6]}@contoso.example"
    refs = [str(user["userPrincipalName"]) for user in extra] + [str(directory["ann"]["id"]), missing]
    _, before = control(simulator.base_url, "GET", "/requests")
    # WHEN 42 users are read at once
    found = gateway.get_users(tenant.tenant_id, refs)
    # THEN each reference has its user, the unknown one None, the fields $select asks for included
    assert found[missing] is None
    assert found[str(directory["ann"]["id"])].department == "Sales EMEA"  # type: ignore[union-attr]
    assert {found[str(u["userPrincipalName"])].id for u in extra} == {u["id"] for u in extra}  # type: ignore[union-attr]
    # AND it took ceil(42 / 20) = 3 Graph calls, all $batch
    _, after = control(simulator.base_url, "GET", "/requests")
    calls = [r for r in after["value"][len(before["value"]) :] if r["kind"] == "graph"]
    assert [(r["method"], r["path"], r["status"]) for r in calls] == [("POST", "/v1.0/$batch", 200)] * 3
