"""Tenant admins authenticated with Entra access tokens, over HTTP on the local host: the simulator's
identity platform mints the tokens, the connector verifies them against its JWKS."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import HostClient
from tests.e2e.stack import redirect_location

pytestmark = pytest.mark.e2e

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"


def test_the_admins_token_sets_the_connector_up_and_names_him_in_the_audit(
    host: HostClient, tenant_id: str
) -> None:
    # GIVEN an admin of the tenant with his own name and object id
    oid = str(uuid.uuid4())
    admin = host.admin_headers(tenant_id, upn="megan@contoso.example", oid=oid)
    # WHEN he creates the connector and follows the consent link
    created = host.call("POST", f"/api/tenants/{tenant_id}/connector", {}, headers=admin)
    assert created.status == 201, created.body
    callback = redirect_location(created.json()["consentUrl"])
    done = host.call("GET", callback.removeprefix(host.base_url), headers={"accept": "application/json"})
    assert done.status == 200, done.body
    # THEN the audit trail names him for both, from his token (no header can claim someone else)
    trail = host.call(
        "GET", f"/api/tenants/{tenant_id}/audit", headers={**admin, "X-MS-CLIENT-PRINCIPAL-NAME": "mallory"}
    ).json()["value"]
    assert [(e["action"], e["actor"], e["actorId"]) for e in trail] == [
        ("grantConsent", "megan@contoso.example", oid),
        ("create", "megan@contoso.example", oid),
    ]


def test_without_a_token_the_answer_is_401_with_a_bearer_challenge(host: HostClient, tenant_id: str) -> None:
    reply = host.call("POST", f"/api/tenants/{tenant_id}/connector", {}, auth=False)
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"].startswith('Bearer realm="teams-contact-center-connector"')
    assert 'error="invalid_token"' in reply.headers["WWW-Authenticate"]
    assert reply.json()["error"]["code"] == "missingCredentials"
    # AND nothing was created
    assert host.call("GET", f"/api/tenants/{tenant_id}/connector").status == 404


@pytest.mark.parametrize(
    "claims",
    [
        {"wids": [PRIVILEGED_ROLE_ADMINISTRATOR]},
        {"roles": ["Connector.Admin"]},
        {"version": "1.0"},
        {"scopes": [], "roles": ["Connector.Admin"]},
    ],
    ids=["privileged role administrator", "Connector.Admin app role", "v1 token", "app-only token"],
)
def test_every_kind_of_admin_token_is_accepted(
    host: HostClient, tenant_id: str, claims: dict[str, object]
) -> None:
    reply = host.call(
        "POST", f"/api/tenants/{tenant_id}/connector", {}, headers=host.admin_headers(tenant_id, **claims)
    )
    assert reply.status == 201, reply.body


def test_a_user_without_an_admin_role_and_another_tenants_admin_are_403(
    host: HostClient, tenant_id: str
) -> None:
    # GIVEN a connector of the tenant
    assert host.call("POST", f"/api/tenants/{tenant_id}/connector", {}).status == 201
    before = host.call("GET", f"/api/tenants/{tenant_id}/connector")
    # WHEN a plain user of the tenant, then a Global Administrator of another tenant, try to change it
    for headers, code in (
        (host.admin_headers(tenant_id, wids=[]), "adminRoleRequired"),
        (host.admin_headers(str(uuid.uuid4())), "tenantMismatch"),
    ):
        reply = host.call(
            "PATCH",
            f"/api/tenants/{tenant_id}/connector",
            {"settings": {"presenceSync": False}},
            headers=headers,
        )
        # THEN 403, and nothing changed
        assert reply.status == 403, reply.body
        assert reply.json()["error"]["code"] == code
    after = host.call("GET", f"/api/tenants/{tenant_id}/connector")
    assert after.headers["ETag"] == before.headers["ETag"]
    assert after.json() == before.json()


def test_expired_and_foreign_audience_tokens_are_401(host: HostClient, tenant_id: str) -> None:
    for claims in ({"expiresInSeconds": -120}, {"audience": "api://another-app"}):
        reply = host.call(
            "GET", f"/api/tenants/{tenant_id}/agents", headers=host.admin_headers(tenant_id, **claims)
        )
        assert reply.status == 401, reply.body
        assert reply.json()["error"]["code"] == "invalidToken"
