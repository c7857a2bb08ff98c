"""The identity platform endpoints: admin consent, MSAL client credentials, auth code + PKCE, refresh."""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import msal
import pytest

from devstack.graph_simulator import GraphSimulator
from tests.integration.graph_simulator.conftest import SeededTenant
from tests.integration.graph_simulator.helpers import Sim, http

pytestmark = pytest.mark.integration

REDIRECT = "http://127.0.0.1:7071/api/auth/callback"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _location(url: str, ca_path: Path | None = None) -> str:
    """Follow nothing: return the Location of the 302 the endpoint answers with."""
    handlers: list[Any] = [_NoRedirect, urllib.request.ProxyHandler({})]
    if ca_path is not None:
        handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=str(ca_path))))
    opener = urllib.request.build_opener(*handlers)
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(url, timeout=30)
    assert answer.value.code == 302
    location: str = answer.value.headers["Location"]
    return location


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _msal_app(
    simulator: GraphSimulator, tenant: SeededTenant, ca_path: Path
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        tenant.client_id,
        client_credential=tenant.secret,
        authority=f"{simulator.tls_base_url}/{tenant.tenant_id}",
        verify=str(ca_path),
        instance_discovery=False,
    )


def _consent(simulator: GraphSimulator, tenant_ref: str, client_id: str, state: str = "st-1") -> str:
    params = {
        "client_id": client_id,
        "scope": "https://graph.microsoft.com/.default",
        "redirect_uri": REDIRECT,
        "state": state,
    }
    return _location(f"{simulator.base_url}/{tenant_ref}/v2.0/adminconsent?{urlencode(params)}")


def test_admin_consent_redirects_with_tenant_scope_and_state(
    simulator: GraphSimulator, tenant: SeededTenant
) -> None:
    # WHEN the admin consents through the tenant's domain
    location = _consent(simulator, f"t{tenant.tenant_id[:8]}.example", tenant.client_id, state="abc")
    # THEN the redirect carries Microsoft's parameters and the tenant GUID
    assert location.startswith(REDIRECT + "?")
    assert _query(location) == {
        "admin_consent": "True",
        "tenant": tenant.tenant_id,
        "scope": "https://graph.microsoft.com/.default",
        "state": "abc",
    }


def test_configured_consent_failure_redirects_with_error_once(
    simulator: GraphSimulator, sim: Sim, tenant: SeededTenant
) -> None:
    # GIVEN the next consent in the tenant is set to fail
    assert sim.control("POST", f"/tenants/{tenant.tenant_id}/consent/next-error", {}).status == 204
    # WHEN the admin consents twice
    first = _query(_consent(simulator, tenant.tenant_id, tenant.client_id))
    second = _query(_consent(simulator, tenant.tenant_id, tenant.client_id))
    # THEN only the first one fails, with error and error_description
    assert first["error"] == "access_denied"
    assert first["error_description"].startswith("AADSTS")
    assert first["state"] == "st-1"
    assert "admin_consent" not in first
    assert second["admin_consent"] == "True"


def test_openid_configuration_and_jwks_are_served(simulator: GraphSimulator, tenant: SeededTenant) -> None:
    config = http(
        "GET", f"{simulator.base_url}/{tenant.tenant_id}/v2.0/.well-known/openid-configuration"
    ).json()
    assert config["token_endpoint"] == f"{simulator.base_url}/{tenant.tenant_id}/oauth2/v2.0/token"
    assert config["issuer"] == f"https://login.microsoftonline.com/{tenant.tenant_id}/v2.0"
    keys = http("GET", f"{simulator.base_url}/common/discovery/v2.0/keys").json()["keys"]
    assert keys[0]["kid"] == simulator.signing_key.key_id
    assert (
        http("GET", f"{simulator.base_url}/{uuid.uuid4()}/v2.0/.well-known/openid-configuration").status
        == 400
    )


def test_msal_client_credentials_need_consent(
    simulator: GraphSimulator, tenant: SeededTenant, tls_ca_path: Path
) -> None:
    app = _msal_app(simulator, tenant, tls_ca_path)
    # WHEN the app asks for a token before any admin consented
    refused = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    # THEN Entra's AADSTS700016 comes back
    assert refused.get("error") == "unauthorized_client"
    assert 700016 in refused.get("error_codes", [])
    # WHEN an admin consents, THEN an app-only Graph token with roles is issued
    # (a new MSAL app: MSAL replays an identical HTTP 400 from its throttling cache for a while)
    _consent(simulator, tenant.tenant_id, tenant.client_id)
    result = _msal_app(simulator, tenant, tls_ca_path).acquire_token_for_client(
        ["https://graph.microsoft.com/.default"]
    )
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["tid"] == tenant.tenant_id
    assert claims["appid"] == tenant.client_id
    assert claims["aud"] == "https://graph.microsoft.com"
    assert "User.Read.All" in claims["roles"]
    assert "scp" not in claims


def test_wrong_client_secret_is_refused(
    simulator: GraphSimulator, tenant: SeededTenant, tls_ca_path: Path
) -> None:
    _consent(simulator, tenant.tenant_id, tenant.client_id)
    app = msal.ConfidentialClientApplication(
        tenant.client_id,
        client_credential="not-the-secret",
        authority=f"{simulator.tls_base_url}/{tenant.tenant_id}",
        verify=str(tls_ca_path),
        instance_discovery=False,
    )
    result = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert result.get("error") == "invalid_client"


def test_msal_auth_code_with_pkce_and_refresh(
    simulator: GraphSimulator, sim: Sim, tenant: SeededTenant, tls_ca_path: Path
) -> None:
    # GIVEN a sync-account user in the tenant
    user = sim.add_user(tenant.tenant_id, displayName="Sync Account")
    app = _msal_app(simulator, tenant, tls_ca_path)
    # WHEN the sign-in is started for that user and the authorize endpoint approves at once
    flow = app.initiate_auth_code_flow(
        ["Presence.Read.All"], redirect_uri=REDIRECT, login_hint=user["userPrincipalName"]
    )
    assert "code_challenge_method=S256" in flow["auth_uri"]
    location = _location(flow["auth_uri"], tls_ca_path)
    result = app.acquire_token_by_auth_code_flow(flow, _query(location))
    # THEN MSAL gets a delegated token, a refresh token and the account
    assert "access_token" in result, result
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["oid"] == user["id"]
    assert claims["upn"] == user["userPrincipalName"]
    assert "Presence.Read.All" in claims["scp"].split()
    assert result["id_token_claims"]["oid"] == user["id"]
    accounts = app.get_accounts()
    assert [a["username"] for a in accounts] == [user["userPrincipalName"]]
    # WHEN the token is refreshed, THEN a new access token and a rotated refresh token are issued
    refreshed = app.acquire_token_silent(["Presence.Read.All"], accounts[0], force_refresh=True)
    assert refreshed is not None
    assert refreshed["access_token"] != result["access_token"]
    assert refreshed["refresh_token"] != result["refresh_token"]
    # AND the access token works on Graph
    me = sim.graph("GET", "/me/presence", refreshed["access_token"])
    assert me.status == 200, me.body


def _authorize(simulator: GraphSimulator, tenant: SeededTenant, upn: str, verifier: str) -> dict[str, str]:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "client_id": tenant.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "Presence.Read.All offline_access openid",
        "state": "s-1",
        "login_hint": upn,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return _query(
        _location(f"{simulator.base_url}/{tenant.tenant_id}/oauth2/v2.0/authorize?{urlencode(params)}")
    )


def _redeem(simulator: GraphSimulator, tenant: SeededTenant, code: str, verifier: str) -> tuple[int, Any]:
    form = {
        "grant_type": "authorization_code",
        "client_id": tenant.client_id,
        "client_secret": tenant.secret,
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    result = http(
        "POST",
        f"{simulator.base_url}/{tenant.tenant_id}/oauth2/v2.0/token",
        raw=urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return result.status, json.loads(result.body)


def test_code_needs_the_right_verifier_and_is_single_use(
    simulator: GraphSimulator, sim: Sim, tenant: SeededTenant
) -> None:
    user = sim.add_user(tenant.tenant_id)
    verifier = "v" * 50
    # WHEN a code is redeemed with the wrong verifier, THEN it is refused and used up
    code = _authorize(simulator, tenant, user["userPrincipalName"], verifier)["code"]
    status, body = _redeem(simulator, tenant, code, "w" * 50)
    assert (status, body["error"]) == (400, "invalid_grant")
    assert 501481 in body["error_codes"]
    assert _redeem(simulator, tenant, code, verifier)[0] == 400
    # WHEN a fresh code is redeemed correctly twice, THEN only the first succeeds
    code = _authorize(simulator, tenant, user["userPrincipalName"], verifier)["code"]
    assert _redeem(simulator, tenant, code, verifier)[0] == 200
    assert _redeem(simulator, tenant, code, verifier)[0] == 400


def test_authorize_rejects_unknown_user_and_missing_pkce(
    simulator: GraphSimulator, tenant: SeededTenant
) -> None:
    unknown = _authorize(simulator, tenant, "nobody@contoso.example", "v" * 50)
    assert unknown["error"] == "invalid_request"
    assert "AADSTS50034" in unknown["error_description"]
    assert unknown["state"] == "s-1"
    params = {
        "client_id": tenant.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "Presence.Read.All",
        "login_hint": "x@y.example",
    }
    no_pkce = _query(
        _location(f"{simulator.base_url}/{tenant.tenant_id}/oauth2/v2.0/authorize?{urlencode(params)}")
    )
    assert no_pkce["error"] == "invalid_request"


def test_revoked_sessions_invalidate_refresh_tokens(
    simulator: GraphSimulator, sim: Sim, tenant: SeededTenant
) -> None:
    user = sim.add_user(tenant.tenant_id)
    verifier = "q" * 60
    code = _authorize(simulator, tenant, user["userPrincipalName"], verifier)["code"]
    refresh_token = _redeem(simulator, tenant, code, verifier)[1]["refresh_token"]
    # WHEN the user's sign-in sessions are revoked
    assert (
        sim.control("POST", f"/tenants/{tenant.tenant_id}/users/{user['id']}/revoke-sessions").status == 200
    )
    # THEN the refresh token no longer works
    form = {
        "grant_type": "refresh_token",
        "client_id": tenant.client_id,
        "client_secret": tenant.secret,
        "refresh_token": refresh_token,
        "scope": "Presence.Read.All offline_access",
    }
    result = http(
        "POST",
        f"{simulator.base_url}/{tenant.tenant_id}/oauth2/v2.0/token",
        raw=urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert result.status == 400
    assert result.json()["error"] == "invalid_grant"
