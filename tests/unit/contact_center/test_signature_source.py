"""The contact center as a caller of a GET: signature over path, query and timestamp, 5-minute window."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.connectors.model import PreviousSecret
from shared.contact_center.signature_source import ContactCenterSignatureSource
from shared.contact_center.signatures import get_request_payload, signature_for
from shared.identity.credentials import CredentialRequest
from shared.identity.exceptions import NotAuthenticated
from shared.identity.principal import AuthMethod, PrincipalKind
from tests.fakes import FakeClock
from tests.unit.directory.fakes import SECRET, TENANT, FakeConnectors, connector

PATH = f"/api/tenants/{TENANT}/directory/users"
QUERY = "search=O%27Brien&top=10"


def signed(
    clock: FakeClock, secret: str = SECRET, target: str = f"{PATH}?{QUERY}", **headers: str
) -> CredentialRequest:
    timestamp = str(int(clock().timestamp()))
    return CredentialRequest(
        method="GET",
        url=f"http://127.0.0.1:7071{PATH}?{QUERY}",
        headers={
            "x-connector-timestamp": timestamp,
            "x-connector-signature": signature_for(get_request_payload(target, timestamp), secret),
            **headers,
        },
        route_params={"tenantId": TENANT},
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def source(clock: FakeClock) -> ContactCenterSignatureSource:
    return ContactCenterSignatureSource(FakeConnectors({TENANT: connector()}), clock)


def test_a_signed_get_is_the_tenants_contact_center(
    source: ContactCenterSignatureSource, clock: FakeClock
) -> None:
    principal = source.authenticate(signed(clock))
    assert principal is not None
    assert (principal.tenant_id, principal.kind, principal.method) == (
        TENANT,
        PrincipalKind.CONTACT_CENTER,
        AuthMethod.SIGNATURE,
    )


def test_without_a_signature_another_source_is_asked(source: ContactCenterSignatureSource) -> None:
    assert source.authenticate(CredentialRequest("GET", f"http://h{PATH}", {}, {"tenantId": TENANT})) is None


@pytest.mark.parametrize(
    "case",
    ["wrong secret", "other query", "no query", "late", "early", "no timestamp", "POST", "unknown tenant"],
)
def test_what_does_not_verify_is_refused(
    source: ContactCenterSignatureSource, clock: FakeClock, case: str
) -> None:
    request = signed(clock)
    if case == "wrong secret":
        request = signed(clock, secret="another-secret-0123456789")
    elif case == "other query":
        request = signed(clock, target=f"{PATH}?search=x")
    elif case == "no query":
        request = signed(clock, target=PATH)
    elif case == "late":
        request = signed(clock)
        clock.advance(minutes=5, seconds=2)
    elif case == "early":
        clock.advance(minutes=6)
        request = signed(clock)
        clock.advance(minutes=-6)
    elif case == "no timestamp":
        request = replace(
            request, headers={"x-connector-signature": request.headers["x-connector-signature"]}
        )
    elif case == "POST":
        request = replace(request, method="POST")
    elif case == "unknown tenant":
        request = replace(request, route_params={"tenantId": "0c1a3e5f-7b9d-4f21-8a63-5e7c9b1d2f40"})
    with pytest.raises(NotAuthenticated):
        source.authenticate(request)


def test_the_previous_secret_works_during_the_rotation_overlap(clock: FakeClock) -> None:
    rotated = replace(connector(), previous_secret=PreviousSecret("old-secret-0123456789", clock()))
    source = ContactCenterSignatureSource(FakeConnectors({TENANT: rotated}), clock)
    assert source.authenticate(signed(clock, secret="old-secret-0123456789")) is not None
    clock.advance(minutes=11)
    with pytest.raises(NotAuthenticated):
        source.authenticate(signed(clock, secret="old-secret-0123456789"))


def test_a_canonical_query_signature_survives_re_encoding(
    source: ContactCenterSignatureSource, clock: FakeClock
) -> None:
    # GIVEN a client that signs the canonical query (sorted, RFC 3986) of what it sends
    timestamp = str(int(clock().timestamp()))
    canonical = f"{PATH}?search=O%27Brien&top=10"
    header = signature_for(get_request_payload(canonical, timestamp), SECRET)
    # WHEN the URL reaches the app in another order, or with the apostrophe decoded by a proxy
    for received in (f"{PATH}?top=10&search=O%27Brien", f"{PATH}?search=O'Brien&top=10"):
        request = CredentialRequest(
            "GET",
            f"https://connector.example{received}",
            {"x-connector-timestamp": timestamp, "x-connector-signature": header},
            {"tenantId": TENANT},
        )
        # THEN it verifies; another value does not
        assert source.authenticate(request) is not None
    tampered = CredentialRequest(
        "GET",
        f"https://connector.example{PATH}?search=O%27Brian&top=10",
        {"x-connector-timestamp": timestamp, "x-connector-signature": header},
        {"tenantId": TENANT},
    )
    with pytest.raises(NotAuthenticated):
        source.authenticate(tampered)
