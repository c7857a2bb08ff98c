"""Who the policies admit, how credential sources are tried, and what a refusal logs and answers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import cast

import azure.functions as func
import pytest

from shared.bootstrap import Services, use_services
from shared.http.auth import authorized, policy_of
from shared.identity.credentials import Authenticator, BearerTokenSource, CredentialRequest
from shared.identity.exceptions import AdminRoleRequired, InvalidToken, MissingCredentials, TenantMismatch
from shared.identity.policies import (
    ADMIN,
    CONNECTOR_ADMIN_ROLE,
    GLOBAL_ADMINISTRATOR,
    PRIVILEGED_ROLE_ADMINISTRATOR,
    TENANT_MEMBER,
    Policy,
)
from shared.identity.principal import AuthMethod, Principal, PrincipalKind
from tests.support.identity import ADMIN_OID, AdminTokens

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER = "0c1a3e5f-7b9d-4f21-8a63-5e7c9b1d2f40"


def user(**fields: object) -> Principal:
    values: dict[str, object] = {
        "tenant_id": TENANT,
        "object_id": ADMIN_OID,
        "kind": PrincipalKind.USER,
        "method": AuthMethod.BEARER,
        **fields,
    }
    return Principal(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "principal",
    [
        user(directory_roles=frozenset({GLOBAL_ADMINISTRATOR})),
        user(directory_roles=frozenset({PRIVILEGED_ROLE_ADMINISTRATOR, "some-other-role"})),
        user(roles=frozenset({CONNECTOR_ADMIN_ROLE})),
        user(kind=PrincipalKind.APPLICATION, roles=frozenset({CONNECTOR_ADMIN_ROLE})),
    ],
    ids=[
        "global administrator",
        "privileged role administrator",
        "Connector.Admin",
        "app with Connector.Admin",
    ],
)
def test_admins_of_the_tenant_pass_the_admin_policy(principal: Principal) -> None:
    ADMIN.authorize(principal, TENANT)
    ADMIN.authorize(principal, TENANT.upper())


@pytest.mark.parametrize(
    "principal",
    [
        user(),
        user(directory_roles=frozenset({"fe930be7-5e62-47db-91af-98c3a49a38b1"})),  # User Administrator
        user(roles=frozenset({"Connector.Reader", "connector.admin"})),
        user(scopes=frozenset({"Connector.Manage"})),
    ],
    ids=["no role", "another directory role", "other app roles (case matters)", "the scope alone"],
)
def test_signed_in_users_without_an_admin_role_are_refused(principal: Principal) -> None:
    with pytest.raises(AdminRoleRequired):
        ADMIN.authorize(principal, TENANT)
    # AND any member of the tenant passes the tenant-member policy
    TENANT_MEMBER.authorize(principal, TENANT)


def test_no_policy_admits_another_tenant() -> None:
    admin = user(directory_roles=frozenset({GLOBAL_ADMINISTRATOR}))
    for policy in (ADMIN, TENANT_MEMBER):
        with pytest.raises(TenantMismatch):
            policy.authorize(admin, OTHER)


def request(headers: dict[str, str] | None = None) -> CredentialRequest:
    return CredentialRequest(
        "GET", "http://127.0.0.1/api/tenants/x", {k.lower(): v for k, v in (headers or {}).items()}
    )


class FixedSource:
    """A credential source of another kind (the console's session, a contact center's signature)."""

    def __init__(self, method: AuthMethod, principal: Principal | None) -> None:
        self._method = method
        self.principal = principal
        self.asked = 0

    @property
    def method(self) -> AuthMethod:
        return self._method

    def authenticate(self, request: CredentialRequest) -> Principal | None:
        self.asked += 1
        return self.principal


def test_the_bearer_source_reads_the_authorization_header(admin_tokens: AdminTokens) -> None:
    source = BearerTokenSource(admin_tokens.verifier())
    assert source.authenticate(request()) is None
    assert source.authenticate(request({"Authorization": "  "})) is None
    principal = source.authenticate(request({"Authorization": f"bearer  {admin_tokens.token(TENANT)} "}))
    assert principal is not None
    assert principal.tenant_id == TENANT
    with pytest.raises(InvalidToken, match="Bearer"):
        source.authenticate(request({"Authorization": f"Token {admin_tokens.token(TENANT)}"}))


def test_sources_are_tried_in_order_among_those_the_policy_accepts(admin_tokens: AdminTokens) -> None:
    # GIVEN a bearer source and a session source (what the console adds)
    session = FixedSource(AuthMethod.SESSION, user(method=AuthMethod.SESSION))
    signature = FixedSource(
        AuthMethod.SIGNATURE, user(kind=PrincipalKind.CONTACT_CENTER, method=AuthMethod.SIGNATURE)
    )
    authenticator = (
        Authenticator([BearerTokenSource(admin_tokens.verifier())])
        .with_source(session)
        .with_source(signature)
    )
    # WHEN a request carries a bearer token, the bearer source answers first
    with_token = request({"Authorization": f"Bearer {admin_tokens.token(TENANT)}"})
    assert authenticator.authenticate(with_token, ADMIN).method is AuthMethod.BEARER
    assert session.asked == 0
    # WHEN it carries none, the session source answers
    assert authenticator.authenticate(request(), ADMIN).method is AuthMethod.SESSION
    # AND a source the policy does not accept is never asked
    assert signature.asked == 0
    readers = Policy(
        "readers", "members or their contact center", frozenset({AuthMethod.SIGNATURE}), lambda p: None
    )
    assert authenticator.authenticate(request(), readers).kind is PrincipalKind.CONTACT_CENTER


def test_a_bad_credential_is_not_treated_as_no_credential(admin_tokens: AdminTokens) -> None:
    session = FixedSource(AuthMethod.SESSION, user(method=AuthMethod.SESSION))
    authenticator = Authenticator([BearerTokenSource(admin_tokens.verifier()), session])
    with pytest.raises(InvalidToken):
        authenticator.authenticate(request({"Authorization": "Bearer forged"}), ADMIN)
    assert session.asked == 0
    with pytest.raises(MissingCredentials):
        Authenticator([BearerTokenSource(admin_tokens.verifier())]).authenticate(request(), ADMIN)


# -- the decorator, on a route of its own -------------------------------------------------------------

CALLS: list[Principal] = []


@authorized(ADMIN)
def echo(req: func.HttpRequest, caller: Principal) -> func.HttpResponse:
    CALLS.append(caller)
    return func.HttpResponse("ok", status_code=200)


@pytest.fixture
def wired(admin_tokens: AdminTokens) -> Iterator[None]:
    CALLS.clear()
    use_services(cast(Services, SimpleNamespace(authenticator=admin_tokens.authenticator())))
    try:
        yield
    finally:
        use_services(None)


def http_request(tenant: str, headers: dict[str, str] | None = None) -> func.HttpRequest:
    return func.HttpRequest(
        "GET",
        f"http://127.0.0.1/api/tenants/{tenant}/x",
        headers=headers or {},
        route_params={"tenantId": tenant},
        body=b"",
    )


def test_the_handler_gets_the_verified_caller(wired: None, admin_tokens: AdminTokens) -> None:
    response = echo(http_request(TENANT, admin_tokens.headers(TENANT)))
    assert response.status_code == 200
    assert CALLS[0].object_id == ADMIN_OID
    assert policy_of(echo) is ADMIN


def test_a_refusal_is_logged_with_tenant_and_reason_but_never_the_token(
    wired: None, admin_tokens: AdminTokens, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    expired = admin_tokens.token(TENANT, expires_in=timedelta(minutes=-10))
    other = admin_tokens.token(OTHER)
    assert echo(http_request(TENANT, {"Authorization": f"Bearer {expired}"})).status_code == 401
    assert echo(http_request(TENANT, {"Authorization": f"Bearer {other}"})).status_code == 403
    assert echo(http_request("a\nforged log line", {})).status_code == 401
    assert CALLS == []
    text = caplog.text
    assert f"tenant {TENANT}: GET echo refused (401): the token has expired" in text
    assert f"tenant {TENANT}: GET echo refused (403)" in text
    assert "<not a tenant id>" in text
    assert "forged log line" not in text
    for token in (expired, other):
        for part in token.split("."):
            assert part not in text


def test_a_401_carries_the_bearer_challenge_and_a_malformed_tenant_of_a_caller_is_400(
    wired: None, admin_tokens: AdminTokens
) -> None:
    refused = echo(http_request(TENANT))
    assert refused.headers["WWW-Authenticate"] == (
        'Bearer realm="teams-contact-center-connector", error="invalid_token", '
        'error_description="no bearer token was sent (Authorization: Bearer <access token>)"'
    )
    assert echo(http_request("contoso.com", admin_tokens.headers(TENANT))).status_code == 400
