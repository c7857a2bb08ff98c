"""The MSAL adapter's own logic, without a network: the authorize URL, settings checks, the certificate
credential and the HTTP client it hands to MSAL. The flows themselves run against the simulator in
tests/integration/sync_accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from shared.errors import ConfigurationError
from shared.sync_accounts.oauth import MsalOAuthClient, msal_certificate_credential
from tests.unit.sync_accounts.world import query_of

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "3c2e1f0a-4b5c-4d6e-8f7a-9b0c1d2e3f4a"
REDIRECT = "https://connector.example/api/auth/callback"


def client(**overrides: Any) -> MsalOAuthClient:
    arguments: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_credential": "app-secret",
        "token_authority_host": "https://login.microsoftonline.com",
        "browser_authority_host": "https://login.microsoftonline.com/",
        "redirect_uri": REDIRECT,
        "ca_bundle_path": None,
    }
    arguments.update(overrides)
    return MsalOAuthClient(**arguments)


def test_authorize_url_asks_for_a_code_with_pkce_and_the_presence_scope() -> None:
    url = client().authorize_url(
        TENANT, state="st.sig", code_challenge="ch-1", login_hint="sync1@contoso.example"
    )
    assert url.startswith(f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/authorize?")
    assert query_of(url) == {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "response_mode": "query",
        "scope": "https://graph.microsoft.com/Presence.Read.All offline_access openid profile",
        "state": "st.sig",
        "code_challenge": "ch-1",
        "code_challenge_method": "S256",
        "login_hint": "sync1@contoso.example",
    }
    assert "app-secret" not in url


def test_without_a_login_hint_the_user_picks_the_account() -> None:
    params = query_of(client().authorize_url(TENANT, state="s", code_challenge="c", login_hint=None))
    assert params["prompt"] == "select_account"
    assert "login_hint" not in params


def test_the_browser_host_can_differ_from_the_token_host() -> None:
    url = client(
        token_authority_host="https://127.0.0.1:7074", browser_authority_host="http://127.0.0.1:7072"
    ).authorize_url(TENANT, state="s", code_challenge="c", login_hint=None)
    assert url.startswith(f"http://127.0.0.1:7072/{TENANT}/oauth2/v2.0/authorize?")


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": ""},
        {"client_credential": ""},
        {"token_authority_host": "http://127.0.0.1:7072"},
        {"browser_authority_host": "login.microsoftonline.com"},
        {"redirect_uri": "/api/auth/callback"},
    ],
)
def test_bad_settings_are_refused_at_construction(overrides: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        client(**overrides)


def test_a_private_ca_is_the_only_one_trusted_whatever_the_environment_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN the environment names another CA bundle (requests would prefer it over Session.verify)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    ca = tmp_path / "ca.pem"
    # WHEN the HTTP client for MSAL is built with a private CA
    session = client(ca_bundle_path=str(ca))._http_client()
    # THEN it verifies with that CA and ignores the environment
    assert session.verify == str(ca)
    assert session.trust_env is False
    merged = session.merge_environment_settings("https://127.0.0.1:7074/x", {}, None, None, None)
    assert merged["verify"] == str(ca)
    # AND without one the system trust and the environment (proxies) apply as usual
    default = client()._http_client()
    assert default.verify is True
    assert default.trust_env is True


def _certificate_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "connector")])
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
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return key_pem + certificate.public_bytes(serialization.Encoding.PEM)


def test_certificate_credential_gives_msal_the_key_and_the_certificate() -> None:
    credential = msal_certificate_credential(_certificate_pem())
    assert set(credential) == {"private_key", "public_certificate"}
    assert credential["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert credential["public_certificate"].startswith("-----BEGIN CERTIFICATE-----")


def test_a_certificate_without_its_key_is_a_configuration_error() -> None:
    pem = _certificate_pem()
    certificate_only = pem[pem.index(b"-----BEGIN CERTIFICATE-----") :]
    with pytest.raises(ConfigurationError):
        msal_certificate_credential(certificate_only)
