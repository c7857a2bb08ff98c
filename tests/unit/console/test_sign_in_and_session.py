"""The console's sign-in (state, PKCE, token verification, tenant), its sealed cookie and its CSRF check,
with a fake identity platform and tokens from the simulator's issuer."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.console.credentials import SessionCookieSource
from shared.console.exceptions import ConsoleSignInError, InvalidConsoleRequest
from shared.console.session import (
    SESSION_LIFETIME,
    SIGN_IN_LIFETIME,
    ConsoleSession,
    CookiePolicy,
    CookieRejected,
    SessionSealer,
)
from shared.console.sign_in import ConsoleSignIn
from shared.identity.credentials import Authenticator, CredentialRequest
from shared.identity.exceptions import CsrfTokenInvalid, InvalidToken
from shared.identity.policies import ADMIN, TENANT_MEMBER
from shared.identity.principal import AuthMethod
from shared.security.secret_box import SecretBox
from shared.sync_accounts.model import AcquiredToken
from tests.support.identity import ADMIN_OID, AdminTokens

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "11111111-2222-4333-8444-555555555555"
SCOPE = "api://00000000-0000-0000-0000-00000000c0de/Connector.Manage"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@dataclass
class FakePlatform:
    """What MSAL would do: remember the authorize request, hand out the token it was told to."""

    tokens: AdminTokens
    token_tenant: str = TENANT
    token_claims: dict[str, Any] = field(default_factory=dict)
    expires_in: int = 3599
    authorize_calls: list[dict[str, Any]] = field(default_factory=list)
    redeemed: list[dict[str, Any]] = field(default_factory=list)

    def console_authorize_url(
        self, tenant_id: str, *, scopes: tuple[str, ...], state: str, code_challenge: str, nonce: str
    ) -> str:
        self.authorize_calls.append(
            {
                "tenant": tenant_id,
                "scopes": scopes,
                "state": state,
                "challenge": code_challenge,
                "nonce": nonce,
            }
        )
        return f"https://login.example/{tenant_id}/oauth2/v2.0/authorize?state={state}"

    def console_access_token(
        self, tenant_id: str, code: str, code_verifier: str, *, scopes: tuple[str, ...], nonce: str
    ) -> AcquiredToken:
        self.redeemed.append({"tenant": tenant_id, "code": code, "verifier": code_verifier, "nonce": nonce})
        token = self.tokens.token(self.token_tenant, now=NOW, **self.token_claims)
        return AcquiredToken(token=token, expires_in_seconds=self.expires_in)


@dataclass
class World:
    platform: FakePlatform
    sign_in: ConsoleSignIn
    sealer: SessionSealer
    clock: list[datetime]


@pytest.fixture
def world() -> World:
    tokens = AdminTokens()
    clock = [NOW]
    sealer = SessionSealer(SecretBox(os.urandom(32)))
    platform = FakePlatform(tokens)
    service = ConsoleSignIn(
        platform, tokens.verifier(lambda: clock[0]), sealer, lambda: clock[0], api_scope=SCOPE
    )
    return World(platform, service, sealer, clock)


def signed_in(world: World) -> tuple[ConsoleSession, str]:
    started = world.sign_in.start(TENANT, "admin", popup=False)
    state = world.platform.authorize_calls[-1]["state"]
    done = world.sign_in.complete(started.cookie_value, {"code": "the-code", "state": state})
    return done.session, done.cookie_value


def test_a_sign_in_asks_for_the_api_scope_with_pkce_and_redeems_with_the_verifier(world: World) -> None:
    started = world.sign_in.start(TENANT, "admin", popup=False)
    call = world.platform.authorize_calls[-1]
    assert call["scopes"] == (SCOPE,)
    done = world.sign_in.complete(started.cookie_value, {"code": "the-code", "state": call["state"]})
    redeemed = world.platform.redeemed[-1]
    digest = hashlib.sha256(redeemed["verifier"].encode()).digest()
    assert call["challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert redeemed["nonce"] == call["nonce"]
    principal = done.session.principal
    assert (principal.tenant_id, principal.object_id, principal.method) == (
        TENANT,
        ADMIN_OID,
        AuthMethod.BEARER,
    )
    assert done.page == "admin"
    # The session ends with the token or after an hour, whichever comes first.
    assert done.session.expires_at == NOW + min(SESSION_LIFETIME, timedelta(seconds=3599))


def test_the_pending_cookie_hides_the_verifier(world: World) -> None:
    started = world.sign_in.start(TENANT, "directory", popup=True)
    verifier_free = base64.urlsafe_b64decode(started.cookie_value + "=" * (-len(started.cookie_value) % 4))
    assert b"verifier" not in verifier_free
    assert world.platform.authorize_calls[-1]["state"].encode() not in verifier_free


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ({"code": "c", "state": "someone-elses"}, "state"),
        ({"code": "c"}, "state"),
        ({"error": "access_denied", "error_description": "AADSTS65004: declined\r\nTrace ID: x"}, "declined"),
    ],
)
def test_a_callback_that_is_not_ours_or_refused_signs_nobody_in(
    world: World, query: dict[str, str], complaint: str
) -> None:
    started = world.sign_in.start(TENANT, "admin", popup=False)
    if "error" in query:
        query = {**query, "state": world.platform.authorize_calls[-1]["state"]}
    with pytest.raises(ConsoleSignInError, match=complaint):
        world.sign_in.complete(started.cookie_value, query)
    assert world.platform.redeemed == []


def test_a_callback_without_the_pending_cookie_or_too_late_is_refused(world: World) -> None:
    started = world.sign_in.start(TENANT, "admin", popup=False)
    state = world.platform.authorize_calls[-1]["state"]
    with pytest.raises(ConsoleSignInError, match="another browser"):
        world.sign_in.complete(None, {"code": "c", "state": state})
    world.clock[0] = NOW + SIGN_IN_LIFETIME
    with pytest.raises(ConsoleSignInError, match="expired"):
        world.sign_in.complete(started.cookie_value, {"code": "c", "state": state})


def test_an_account_of_another_tenant_gets_no_session(world: World) -> None:
    world.platform.token_tenant = OTHER_TENANT
    with pytest.raises(ConsoleSignInError, match=f"account of tenant {OTHER_TENANT}"):
        signed_in(world)


def test_a_token_for_another_api_gets_no_session(world: World) -> None:
    world.platform.token_claims = {"audience": "00000000-0000-0000-0000-0000000000aa"}
    with pytest.raises(ConsoleSignInError, match="not valid"):
        signed_in(world)


def test_an_unknown_page_is_refused(world: World) -> None:
    with pytest.raises(InvalidConsoleRequest):
        world.sign_in.start(TENANT, "settings", popup=False)


def test_the_session_opens_back_into_the_same_principal_until_it_expires(world: World) -> None:
    session, cookie = signed_in(world)
    opened = world.sealer.open_session(cookie, NOW + timedelta(minutes=59))
    assert opened.principal.directory_roles == session.principal.directory_roles
    assert opened.principal.method is AuthMethod.SESSION
    assert opened.csrf_token == session.csrf_token
    with pytest.raises(CookieRejected, match="expired"):
        world.sealer.open_session(cookie, session.expires_at)


def test_a_tampered_or_pending_cookie_is_no_session(world: World) -> None:
    started = world.sign_in.start(TENANT, "admin", popup=False)
    with pytest.raises(CookieRejected):
        world.sealer.open_session(started.cookie_value, NOW)
    _, cookie = signed_in(world)
    flipped = cookie[:20] + ("A" if cookie[20] != "A" else "B") + cookie[21:]
    with pytest.raises(CookieRejected):
        world.sealer.open_session(flipped, NOW)
    other_key = SessionSealer(SecretBox(os.urandom(32)))
    with pytest.raises(CookieRejected):
        other_key.open_session(cookie, NOW)


def request(method: str, cookie: str | None, csrf: str | None = None) -> CredentialRequest:
    headers = {}
    if cookie is not None:
        headers["cookie"] = f"other=1; connector-console={cookie}"
    if csrf is not None:
        headers["x-csrf-token"] = csrf
    return CredentialRequest(method=method, url="http://127.0.0.1/api/tenants/x/connector", headers=headers)


def source(world: World) -> SessionCookieSource:
    return SessionCookieSource(world.sealer, CookiePolicy(secure=False), lambda: world.clock[0])


def test_reads_need_the_cookie_only_and_changes_need_the_csrf_token(world: World) -> None:
    session, cookie = signed_in(world)
    cookies = source(world)
    assert cookies.authenticate(request("GET", None)) is None
    read = cookies.authenticate(request("GET", cookie))
    assert read is not None
    assert read.object_id == ADMIN_OID
    for method in ("POST", "PATCH", "PUT", "DELETE"):
        with pytest.raises(CsrfTokenInvalid):
            cookies.authenticate(request(method, cookie))
        with pytest.raises(CsrfTokenInvalid):
            cookies.authenticate(request(method, cookie, "forged"))
        assert cookies.authenticate(request(method, cookie, session.csrf_token)) is not None


def test_an_expired_session_is_not_authenticated(world: World) -> None:
    session, cookie = signed_in(world)
    world.clock[0] = session.expires_at + timedelta(seconds=1)
    with pytest.raises(InvalidToken, match="sign in again"):
        source(world).authenticate(request("GET", cookie))


def test_the_session_meets_the_same_policies_as_a_token(world: World) -> None:
    _, cookie = signed_in(world)
    authenticator = Authenticator([source(world)])
    principal = authenticator.authenticate(request("GET", cookie), ADMIN)
    ADMIN.authorize(principal, TENANT)
    with pytest.raises(Exception, match="not in tenant"):
        ADMIN.authorize(principal, OTHER_TENANT)
    world.platform.token_claims = {"wids": []}
    _, plain_cookie = signed_in(world)
    plain = authenticator.authenticate(request("GET", plain_cookie), TENANT_MEMBER)
    TENANT_MEMBER.authorize(plain, TENANT)
    with pytest.raises(Exception, match="Global Administrator"):
        ADMIN.authorize(plain, TENANT)


@pytest.mark.parametrize(
    ("base_url", "name", "attributes"),
    [
        ("http://127.0.0.1:7071", "connector-console", {"HttpOnly", "SameSite=Lax", "Path=/"}),
        (
            "https://ccc.azurewebsites.net",
            "__Host-connector-console",
            {"HttpOnly", "Secure", "SameSite=None", "Path=/"},
        ),
    ],
)
def test_cookie_attributes_follow_where_the_console_is_served(
    base_url: str, name: str, attributes: set[str]
) -> None:
    policy = CookiePolicy.for_base_url(base_url)
    header = policy.set_cookie("v", timedelta(minutes=5))
    parts = header.split("; ")
    assert parts[0] == f"{name}=v"
    assert attributes <= set(parts)
    assert "Max-Age=300" in parts
    assert "Max-Age=0" in policy.clear_cookie()
    assert policy.value_in(f"a=b; {name}=first; {name}=v") == "v"


def test_the_authorize_url_of_msal_client_forces_the_sign_in_page() -> None:
    from shared.sync_accounts.oauth import MsalOAuthClient

    client = MsalOAuthClient(
        "00000000-0000-0000-0000-00000000c0de",
        "secret",
        "https://login.microsoftonline.com",
        "https://login.microsoftonline.com",
        "https://ccc.azurewebsites.net/api/console/auth/callback",
        None,
    )
    url = client.console_authorize_url(TENANT, scopes=(SCOPE,), state="s", code_challenge="c", nonce="n")
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.path == f"/{TENANT}/oauth2/v2.0/authorize"
    assert query == {
        "client_id": "00000000-0000-0000-0000-00000000c0de",
        "response_type": "code",
        "redirect_uri": "https://ccc.azurewebsites.net/api/console/auth/callback",
        "response_mode": "query",
        "scope": SCOPE,
        "state": "s",
        "nonce": "n",
        "code_challenge": "c",
        "code_challenge_method": "S256",
        "prompt": "login",
    }
