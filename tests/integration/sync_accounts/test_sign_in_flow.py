"""The whole sync-account sign-in against the Graph simulator (authorize, token endpoint over TLS, Graph)
and Azurite: MSAL redeems the code, the cache is stored sealed, tokens work on Graph, refresh and
revocation behave as in Entra, and misused callbacks are refused."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from shared.storage.table_names import SYNC_ACCOUNTS, SYNC_SIGN_INS
from shared.sync_accounts.exceptions import (
    SignInAlreadyUsed,
    SignInDenied,
    SignInRejected,
    SyncAccountReauthorizationRequired,
)
from shared.sync_accounts.model import SyncAccount, SyncAccountStatus
from shared.sync_accounts.oauth import msal_certificate_credential
from tests.integration.sync_accounts.conftest import REDIRECT, Stack, oauth_client, query_of
from tests.support.identity import ADMIN

pytestmark = [
    pytest.mark.integration,
    # MSAL steers towards its own auth-code-flow helper; state and PKCE are the service's own here, on
    # purpose (the authorize URL must not come from discovery on the token host).
    pytest.mark.filterwarnings("ignore:Change your acquire_token_by_authorization_code:DeprecationWarning"),
]


def raw_account_row(stack: Stack, account_id: str) -> dict[str, Any]:
    return dict(stack.store.table(SYNC_ACCOUNTS).get_entity(stack.tenant_id, account_id))


def stored_cache(stack: Stack, account_id: str) -> dict[str, Any]:
    credentials = stack.accounts.load_credentials(stack.tenant_id, account_id)
    assert credentials is not None
    cache: dict[str, Any] = json.loads(credentials.token_cache)
    return cache


def secrets_in(cache: dict[str, Any]) -> list[str]:
    return [
        entry["secret"]
        for kind in ("RefreshToken", "AccessToken", "IdToken")
        for entry in cache.get(kind, {}).values()
    ]


def expire_stored_access_token(stack: Stack, account_id: str) -> None:
    """GIVEN the stored access token is within MSAL's 5-minute refresh window (as an hour later)."""
    credentials = stack.accounts.load_credentials(stack.tenant_id, account_id)
    assert credentials is not None
    cache = json.loads(credentials.token_cache)
    soon = str(int(time.time()) + 60)
    for entry in cache["AccessToken"].values():
        entry["expires_on"] = soon
        entry.pop("refresh_on", None)
    stack.accounts.save_token_cache(credentials.account, json.dumps(cache))
    stack.clock.advance(hours=1)


def signed_in(stack: Stack) -> tuple[dict[str, Any], SyncAccount]:
    user = stack.add_user()
    account = stack.service.complete_sign_in(stack.sign_in_redirect(user["userPrincipalName"]))
    return user, account


def test_sign_in_stores_a_sealed_account_whose_token_works_on_graph(stack: Stack) -> None:
    # GIVEN a service user in the tenant
    user = stack.add_user(displayName="Presence Sync 1")
    # WHEN an admin starts the sign-in, the browser follows the authorize URL and comes back
    params = stack.sign_in_redirect(user["userPrincipalName"])
    assert set(params) >= {"code", "state"}
    account = stack.service.complete_sign_in(params)
    # THEN the account is recorded with its object id, UPN and name, healthy
    assert account.account_id == user["id"]
    assert account.user_principal_name == user["userPrincipalName"]
    assert account.display_name == "Presence Sync 1"
    assert account.status is SyncAccountStatus.HEALTHY
    assert stack.accounts.list(stack.tenant_id) == [account]
    assert stack.listener.calls == [("accounts_changed", stack.tenant_id)]
    # AND the stored row holds the cache sealed: no token of it appears in any property
    cache = stored_cache(stack, account.account_id)
    tokens = secrets_in(cache)
    assert len(cache["RefreshToken"]) == 1
    row = raw_account_row(stack, account.account_id)
    stored_text = json.dumps(row, default=str)
    assert all(token not in stored_text for token in tokens)
    assert "RefreshToken" not in stored_text
    assert row["tokenCacheParts"] == 1
    assert str(row["tokenCache0"]).startswith("v1:")
    # AND the pending sign-in is gone
    assert list(stack.store.table(SYNC_SIGN_INS).query_entities(f"PartitionKey eq '{stack.tenant_id}'")) == []
    # AND the token provider's token is a delegated Presence.Read.All token Graph accepts for that user
    token = stack.service.token_provider(stack.tenant_id, account.account_id)()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["oid"] == user["id"]
    assert "Presence.Read.All" in claims["scp"].split()
    me = stack.browser.graph_get("/me/presence", token)
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user["id"]


def test_a_due_token_is_refreshed_and_the_rotated_cache_stored(stack: Stack) -> None:
    # GIVEN a signed-in account whose access token is due an hour later
    _, account = signed_in(stack)
    first = stack.service.token_provider(stack.tenant_id, account.account_id)()
    before = stored_cache(stack, account.account_id)
    expire_stored_access_token(stack, account.account_id)
    # WHEN a fresh worker asks for a token
    worker = stack.with_oauth(oauth_client(stack.simulator, stack.client_id, stack.client_secret))
    token = worker.token_provider(stack.tenant_id, account.account_id)()
    # THEN MSAL refreshed it: a new access token, and the rotated refresh token is what is stored now
    assert token != first
    after = stored_cache(stack, account.account_id)
    assert secrets_in(after)[0] not in secrets_in(before)
    stored = stack.accounts.get(stack.tenant_id, account.account_id)
    assert stored is not None
    assert stored.last_token_at == stack.clock()
    assert stack.browser.graph_get("/me/presence", token).status_code == 200


def test_revoked_sessions_require_a_new_sign_in_and_a_new_sign_in_heals(stack: Stack) -> None:
    # GIVEN a signed-in account whose sessions an admin revoked in Entra
    user, account = signed_in(stack)
    stack.browser.control("POST", f"/tenants/{stack.tenant_id}/users/{user['id']}/revoke-sessions")
    expire_stored_access_token(stack, account.account_id)
    # WHEN a token is needed
    provider = stack.service.token_provider(stack.tenant_id, account.account_id)
    with pytest.raises(SyncAccountReauthorizationRequired):
        provider()
    # THEN the account is marked, with the identity platform's reason, and is no longer usable
    marked = stack.accounts.get(stack.tenant_id, account.account_id)
    assert marked is not None
    assert marked.status is SyncAccountStatus.REAUTHORIZATION_REQUIRED
    assert marked.last_error is not None
    assert "invalid_grant" in marked.last_error
    assert stack.service.usable_account_ids(stack.tenant_id) == []
    # WHEN the same user signs in again
    again = stack.service.complete_sign_in(stack.sign_in_redirect(user["userPrincipalName"]))
    # THEN the same account is healthy, keeps its creation time, and tokens flow again
    assert again.account_id == account.account_id
    assert again.status is SyncAccountStatus.HEALTHY
    assert again.created_at == account.created_at
    assert not again.created_by_latest_sign_in
    assert stack.browser.graph_get("/me/presence", provider()).status_code == 200


def test_a_replayed_callback_is_refused(stack: Stack) -> None:
    user = stack.add_user()
    params = stack.sign_in_redirect(user["userPrincipalName"])
    stack.service.complete_sign_in(params)
    with pytest.raises(SignInAlreadyUsed):
        stack.service.complete_sign_in(params)
    assert len(stack.accounts.list(stack.tenant_id)) == 1


def test_a_code_from_another_tenant_is_refused_and_nothing_is_stored(stack: Stack) -> None:
    # GIVEN a user of another tenant, and a sign-in started for ours
    other_tenant = str(uuid.uuid4())
    stack.browser.control("POST", f"/tenants/{other_tenant}", {})
    stranger = stack.add_user(tenant_id=other_tenant)
    started = stack.service.start_sign_in(
        stack.tenant_id, {"loginHint": stranger["userPrincipalName"]}, ADMIN
    )
    # WHEN the browser is steered to the other tenant's authorize endpoint with our state and challenge
    location = stack.browser.location(
        started.authorize_url.replace(f"/{stack.tenant_id}/", f"/{other_tenant}/")
    )
    params = query_of(location)
    assert "code" in params
    # THEN the code is not redeemed for our tenant (Entra's AADSTS50020) and no account is recorded
    with pytest.raises(SignInRejected) as rejected:
        stack.service.complete_sign_in(params)
    assert rejected.value.error == "invalid_grant"
    assert "AADSTS50020" in rejected.value.description
    assert stack.accounts.list(stack.tenant_id) == []
    assert stack.listener.calls == []


def test_an_error_redirect_is_reported_with_the_identity_platforms_words(stack: Stack) -> None:
    # WHEN the sign-in names a user the directory does not have
    params = stack.sign_in_redirect("nobody@contoso.example")
    # THEN the callback reports the identity platform's error and the state is spent
    with pytest.raises(SignInDenied) as denied:
        stack.service.complete_sign_in(params)
    assert denied.value.error == "invalid_request"
    assert "AADSTS50034" in denied.value.description
    with pytest.raises(SignInAlreadyUsed):
        stack.service.complete_sign_in(params)


def test_without_a_login_hint_the_user_is_asked_to_pick_an_account(stack: Stack) -> None:
    started = stack.service.start_sign_in(stack.tenant_id, None, ADMIN)
    assert query_of(started.authorize_url)["prompt"] == "select_account"
    # The simulator has no UI to pick with, so it answers as Entra does for a silent attempt.
    params = query_of(stack.browser.location(started.authorize_url))
    with pytest.raises(SignInDenied) as denied:
        stack.service.complete_sign_in(params)
    assert denied.value.error == "login_required"


def test_a_certificate_credential_signs_in_too(stack: Stack) -> None:
    # GIVEN an app that authenticates with a certificate (no secret registered)
    client_id = str(uuid.uuid4())
    stack.browser.control("POST", "/apps", {"clientId": client_id, "redirectUris": [REDIRECT]})
    credential = msal_certificate_credential(_certificate_pem())
    service = stack.with_oauth(oauth_client(stack.simulator, client_id, credential))
    user = stack.add_user()
    # WHEN a sign-in goes through that app
    started = service.start_sign_in(stack.tenant_id, {"loginHint": user["userPrincipalName"]}, ADMIN)
    location = stack.browser.location(started.authorize_url)
    account = service.complete_sign_in(query_of(location))
    # THEN MSAL authenticated with a client assertion and the account works
    assert account.account_id == user["id"]
    token = service.token_provider(stack.tenant_id, account.account_id)()
    assert jwt.decode(token, options={"verify_signature": False})["appid"] == client_id


def _certificate_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "connector-app")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem + certificate.public_bytes(serialization.Encoding.PEM)
