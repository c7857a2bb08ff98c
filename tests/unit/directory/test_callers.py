"""Who may read the directory: any signed-in user of the tenant, or its contact center (signed GET);
the admin routes still take neither a plain user nor the contact center."""

from __future__ import annotations

import pytest

from shared.contact_center.signature_source import ContactCenterSignatureSource
from shared.contact_center.signatures import get_request_payload, signature_for
from shared.identity.credentials import Authenticator, BearerTokenSource, CredentialRequest
from shared.identity.exceptions import AdminRoleRequired, MissingCredentials, TenantMismatch
from shared.identity.policies import ADMIN, DIRECTORY_READER
from shared.identity.principal import AuthMethod, PrincipalKind
from tests.fakes import FakeClock
from tests.support.identity import AdminTokens
from tests.unit.directory.fakes import OTHER_TENANT, SECRET, TENANT, FakeConnectors, connector

PATH = f"/api/tenants/{TENANT}/directory/users"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def authenticator(admin_tokens: AdminTokens, clock: FakeClock) -> Authenticator:
    return Authenticator([BearerTokenSource(admin_tokens.verifier())]).with_source(
        ContactCenterSignatureSource(FakeConnectors({TENANT: connector()}), clock)
    )


def bearer(token: str) -> CredentialRequest:
    return CredentialRequest(
        "GET", f"http://h{PATH}", {"authorization": f"Bearer {token}"}, {"tenantId": TENANT}
    )


def test_a_plain_user_of_the_tenant_may_read_the_directory_but_not_administer(
    authenticator: Authenticator, admin_tokens: AdminTokens
) -> None:
    agent = admin_tokens.token(TENANT, wids=[], roles=[])
    principal = authenticator.authenticate(bearer(agent), DIRECTORY_READER)
    DIRECTORY_READER.authorize(principal, TENANT)
    with pytest.raises(AdminRoleRequired):
        ADMIN.authorize(authenticator.authenticate(bearer(agent), ADMIN), TENANT)
    with pytest.raises(TenantMismatch):
        DIRECTORY_READER.authorize(principal, OTHER_TENANT)


def test_the_contact_center_may_read_the_directory_only(
    authenticator: Authenticator, clock: FakeClock
) -> None:
    timestamp = str(int(clock().timestamp()))
    signed = CredentialRequest(
        "GET",
        f"http://h{PATH}?top=5",
        {
            "x-connector-timestamp": timestamp,
            "x-connector-signature": signature_for(get_request_payload(f"{PATH}?top=5", timestamp), SECRET),
        },
        {"tenantId": TENANT},
    )
    principal = authenticator.authenticate(signed, DIRECTORY_READER)
    assert (principal.kind, principal.method) == (PrincipalKind.CONTACT_CENTER, AuthMethod.SIGNATURE)
    DIRECTORY_READER.authorize(principal, TENANT)
    # The admin policy does not even ask the signature source
    with pytest.raises(MissingCredentials):
        authenticator.authenticate(signed, ADMIN)
