"""The access-token verifier: what Entra ID issues verifies, everything else is refused with a reason."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.identity.exceptions import InvalidToken
from shared.identity.policies import GLOBAL_ADMINISTRATOR
from shared.identity.principal import AuthMethod, PrincipalKind
from shared.identity.verifier import AccessTokenVerifier
from shared.security.exceptions import SigningKeysUnavailable
from shared.security.signing_keys import StaticKeySource
from tests.fakes import FakeClock
from tests.support.identity import ADMIN_OID, APP_ID, APP_ID_URI, AdminTokens, tampered

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def verifier(admin_tokens: AdminTokens, clock: FakeClock) -> AccessTokenVerifier:
    return admin_tokens.verifier(clock)


def test_a_v2_token_of_a_global_administrator_names_him(
    admin_tokens: AdminTokens, verifier: AccessTokenVerifier, clock: FakeClock
) -> None:
    # GIVEN the token the Azure CLI gets for the connector's scope (v2: aud is the client id)
    token = admin_tokens.token(TENANT, now=clock())
    # WHEN it is verified
    principal = verifier.verify(token)
    # THEN the principal carries who he is, how he authenticated and what he holds
    assert principal.tenant_id == TENANT
    assert principal.object_id == ADMIN_OID
    assert principal.username == "admin@contoso.example"
    assert principal.kind is PrincipalKind.USER
    assert principal.method is AuthMethod.BEARER
    assert principal.directory_roles == {GLOBAL_ADMINISTRATOR}
    assert principal.scopes == {"Connector.Manage"}
    assert principal.client_app_id == "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
    assert principal.actor.label == "admin@contoso.example"


def test_a_v1_token_with_the_app_id_uri_audience_and_the_sts_issuer_verifies(
    admin_tokens: AdminTokens, verifier: AccessTokenVerifier, clock: FakeClock
) -> None:
    token = admin_tokens.token(TENANT, now=clock(), version="1.0")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["aud"], claims["iss"]) == (APP_ID_URI, f"https://sts.windows.net/{TENANT}/")
    principal = verifier.verify(token)
    assert principal.username == "admin@contoso.example"


def test_an_app_only_token_is_an_application_principal(
    admin_tokens: AdminTokens, verifier: AccessTokenVerifier, clock: FakeClock
) -> None:
    token = admin_tokens.token(TENANT, now=clock(), scopes=(), wids=[], roles=["Connector.Admin"], upn=None)
    principal = verifier.verify(token)
    assert principal.kind is PrincipalKind.APPLICATION
    assert principal.roles == {"Connector.Admin"}
    assert principal.username is None
    assert principal.actor.label == ADMIN_OID


@pytest.mark.parametrize(
    ("offset", "valid"),
    [(timedelta(seconds=-30), True), (timedelta(seconds=59), True), (timedelta(seconds=61), False)],
)
def test_expiry_has_at_most_60_seconds_of_leeway(
    admin_tokens: AdminTokens, verifier: AccessTokenVerifier, clock: FakeClock, offset: timedelta, valid: bool
) -> None:
    # GIVEN a token that expires in 10 minutes
    token = admin_tokens.token(TENANT, now=clock(), expires_in=timedelta(minutes=10))
    # WHEN it is presented `offset` after its expiry
    clock.advance(seconds=600 + offset.total_seconds())
    # THEN it is accepted within the leeway only
    if valid:
        verifier.verify(token)
    else:
        with pytest.raises(InvalidToken, match="expired"):
            verifier.verify(token)


def test_a_token_from_the_future_is_refused_beyond_the_leeway(
    admin_tokens: AdminTokens, verifier: AccessTokenVerifier, clock: FakeClock
) -> None:
    issued_later = admin_tokens.token(TENANT, now=clock() + timedelta(seconds=120))
    with pytest.raises(InvalidToken, match="not valid yet"):
        verifier.verify(issued_later)
    verifier.verify(admin_tokens.token(TENANT, now=clock() + timedelta(seconds=50)))


def test_the_leeway_cannot_be_set_above_60_seconds(admin_tokens: AdminTokens) -> None:
    with pytest.raises(ValueError, match="leeway"):
        AccessTokenVerifier({APP_ID}, StaticKeySource(admin_tokens.keys.jwks()), leeway=timedelta(minutes=5))
    with pytest.raises(ValueError, match="audience"):
        AccessTokenVerifier({""}, StaticKeySource(admin_tokens.keys.jwks()))


def _edit(claim: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(claims: dict[str, Any]) -> None:
        if value is _REMOVE:
            claims.pop(claim, None)
        else:
            claims[claim] = value

    return change


_REMOVE = object()

BAD_CLAIMS = [
    ("another audience", _edit("aud", "api://another-app"), "aud"),
    ("Graph's audience", _edit("aud", "https://graph.microsoft.com"), "aud"),
    ("no audience", _edit("aud", _REMOVE), "aud"),
    ("another issuer", _edit("iss", "https://login.microsoftonline.com/common/v2.0"), "iss"),
    (
        "another tenant's issuer",
        _edit("iss", "https://sts.windows.net/0c1a3e5f-7b9d-4f21-8a63-5e7c9b1d2f40/"),
        "iss",
    ),
    ("an attacker's issuer", _edit("iss", f"https://evil.example/{TENANT}/v2.0"), "iss"),
    ("no tenant", _edit("tid", _REMOVE), "tid"),
    ("a tenant that is no GUID", _edit("tid", "contoso.com"), "tid"),
    ("no object id", _edit("oid", _REMOVE), "oid"),
    ("no expiry", _edit("exp", _REMOVE), "exp"),
    ("a string expiry", _edit("exp", "tomorrow"), "exp"),
    ("an absurd expiry", _edit("exp", 10**20), "exp"),
    ("roles that are no list", _edit("roles", "Connector.Admin"), "roles"),
    ("wids with numbers", _edit("wids", [1, 2]), "wids"),
    ("scp that is a list", _edit("scp", ["Connector.Manage"]), "scp"),
]


@pytest.mark.parametrize(("case", "change", "claim"), BAD_CLAIMS, ids=[c for c, *_ in BAD_CLAIMS])
def test_a_signed_token_with_wrong_claims_is_refused_naming_the_check(
    admin_tokens: AdminTokens,
    verifier: AccessTokenVerifier,
    clock: FakeClock,
    case: str,
    change: Callable[[dict[str, Any]], None],
    claim: str,
) -> None:
    with pytest.raises(InvalidToken, match=claim):
        verifier.verify(admin_tokens.with_claims(TENANT, change, now=clock()))


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return ".".join((part(json.dumps(header).encode()), part(json.dumps(claims).encode()), part(signature)))


def test_forged_signatures_and_algorithms_are_refused(
    admin_tokens: AdminTokens, verifier: AccessTokenVerifier
) -> None:
    token = admin_tokens.token(TENANT)
    claims = jwt.decode(token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(token)["kid"]
    # a flipped signature bit
    with pytest.raises(InvalidToken, match="signature"):
        verifier.verify(tampered(token))
    # the payload swapped for another tenant's, signature kept
    header, _, signature = token.split(".")
    other = _unsigned({}, {**claims, "tid": "0c1a3e5f-7b9d-4f21-8a63-5e7c9b1d2f40"}).split(".")[1]
    with pytest.raises(InvalidToken, match="signature"):
        verifier.verify(f"{header}.{other}.{signature}")
    # alg none, HS256 with the public key as secret, no kid
    with pytest.raises(InvalidToken, match="RS256"):
        verifier.verify(_unsigned({"alg": "none", "kid": kid}, claims))
    with pytest.raises(InvalidToken, match="RS256"):
        verifier.verify(_unsigned({"alg": "HS256", "kid": kid}, claims, b"x" * 32))
    with pytest.raises(InvalidToken, match="RS256"):
        verifier.verify(_unsigned({"alg": "RS256"}, claims, b"x" * 256))
    # a key nobody published
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidToken, match="does not publish"):
        verifier.verify(jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "unknown-kid"}))


@pytest.mark.parametrize(
    "token", ["", "not-a-jwt", "a.b.c", "é.é.é", "x" * 20_000, "eyJhbGciOiJSUzI1NiJ9.e30"], ids=repr
)
def test_malformed_tokens_are_refused(verifier: AccessTokenVerifier, token: str) -> None:
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_unreachable_signing_keys_are_not_a_refusal_of_the_token(admin_tokens: AdminTokens) -> None:
    class Down:
        def signing_key(self, kid: str) -> rsa.RSAPublicKey:
            raise SigningKeysUnavailable("the JWKS endpoint is down")

    # The caller may be fine: 503 (try again), not 401.
    with pytest.raises(SigningKeysUnavailable):
        AccessTokenVerifier({APP_ID}, Down()).verify(admin_tokens.token(TENANT))
