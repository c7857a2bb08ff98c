from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from devstack.dev_certificate import example_settings
from shared.errors import ConfigurationError
from shared.settings import HOST_SETTINGS, SETTING_SPECS, load_settings

ROOT = Path(__file__).resolve().parents[3]
RAW_EXAMPLE = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
EXAMPLE = example_settings()


def test_the_example_settings_load_as_they_are() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.consent_redirect_uri == "http://127.0.0.1:7071/api/consent/callback"
    assert len(settings.secrets_encryption_key) == 32


def test_the_example_lists_every_setting_the_app_reads() -> None:
    assert {spec.name for spec in SETTING_SPECS} <= set(RAW_EXAMPLE)
    assert set(RAW_EXAMPLE) <= {spec.name for spec in SETTING_SPECS} | set(HOST_SETTINGS)


def test_the_example_commits_no_private_key() -> None:
    # The local stack generates the notification certificate into .devstack/ instead.
    assert not any("PRIVATE KEY" in value for value in RAW_EXAMPLE.values())
    assert RAW_EXAMPLE["NOTIFICATION_CERTIFICATE"] == ""


def test_missing_required_settings_are_all_named() -> None:
    env = {k: v for k, v in EXAMPLE.items() if k not in {"ENTRA_APP_CLIENT_ID", "STATE_SIGNING_KEY"}}
    with pytest.raises(ConfigurationError) as error:
        load_settings(env)
    assert "ENTRA_APP_CLIENT_ID" in error.value.message
    assert "STATE_SIGNING_KEY" in error.value.message


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TABLES_ENDPOINT", "https://acct.table.core.windows.net", "exactly one"),
        ("STATE_SIGNING_KEY", "short", "at least 32 bytes"),
        ("SECRETS_ENCRYPTION_KEY", "bm90MzJieXRlcw==", "exactly 32 bytes"),
        ("SECRETS_ENCRYPTION_KEY", "!!!", "exactly 32 bytes"),
        ("PUBLIC_BASE_URL", "ftp://x", "http"),
        ("CONSENT_STATE_TTL_SECONDS", "5", "60 to 86400"),
        (
            "STATE_SIGNING_KEY",
            "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/state-signing-key/)",
            "unresolved Key Vault reference",
        ),
    ],
)
def test_invalid_values_are_refused_with_the_setting_named(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_settings({**EXAMPLE, name: value})


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    text = repr(load_settings(EXAMPLE))
    assert EXAMPLE["STATE_SIGNING_KEY"] not in text
    assert "UseDevelopmentStorage" not in text


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ENTRA_APP_CERTIFICATE", "not a certificate", "neither PEM nor base64 PKCS#12"),
        ("NOTIFICATION_CERTIFICATE", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "PEM"),
        ("ENTRA_TOKEN_AUTHORITY_HOST", "http://127.0.0.1:7072", "https"),
        ("GRAPH_BASE_URL", "graph.microsoft.com", "GRAPH_BASE_URL"),
        ("GRAPH_TIMEOUT_SECONDS", "0", "1 to 120"),
        ("GRAPH_TIMEOUT_SECONDS", "soon", "1 to 120"),
        ("SIGNING_KEYS_MIN_REFRESH_SECONDS", "0", "1 to 3600"),
        ("SIGNING_KEYS_MIN_REFRESH_SECONDS", "5m", "1 to 3600"),
        ("SIGNING_KEYS_MIN_REFRESH_SECONDS", "3601", "1 to 3600"),
        ("ServiceBusConnection__fullyQualifiedNamespace", "sb://ns.servicebus.windows.net/", "host name"),
        ("PRESENCE_QUEUE_NAME", "bad queue", "queue name"),
        ("DIRECTORY_DEFAULT_PHONE_REGION", "XX", "region code"),
        ("DIRECTORY_DEFAULT_PHONE_REGION", "USA", "region code"),
        ("DIRECTORY_CACHE_SECONDS", "61", "0 to 60"),
        ("DIRECTORY_CACHE_SECONDS", "-1", "0 to 60"),
        ("DIRECTORY_CACHE_SECONDS", "half a minute", "0 to 60"),
    ],
)
def test_invalid_graph_and_queue_settings_are_refused(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as error:
        load_settings({**EXAMPLE, name: value})
    assert name in error.value.message


def test_directory_settings_have_defaults_and_take_lower_case_regions() -> None:
    defaults = load_settings({k: v for k, v in EXAMPLE.items() if not k.startswith("DIRECTORY_")})
    assert (defaults.directory_default_phone_region, defaults.directory_cache_seconds) == ("US", 60)
    chosen = load_settings(
        {**EXAMPLE, "DIRECTORY_DEFAULT_PHONE_REGION": " gb ", "DIRECTORY_CACHE_SECONDS": "0"}
    )
    assert (chosen.directory_default_phone_region, chosen.directory_cache_seconds) == ("GB", 0)


def test_the_app_needs_exactly_one_credential() -> None:
    # GIVEN both a secret and a certificate, or neither
    both = {**EXAMPLE, "ENTRA_APP_CERTIFICATE": EXAMPLE["NOTIFICATION_CERTIFICATE"]}
    neither = {**EXAMPLE, "ENTRA_APP_CLIENT_SECRET": ""}
    # THEN each is refused
    for env in (both, neither):
        with pytest.raises(ConfigurationError, match="exactly one of ENTRA_APP_CLIENT_SECRET"):
            load_settings(env)


def test_a_key_vault_certificate_secret_loads_as_pem() -> None:
    # GIVEN the certificate as Key Vault hands it out: base64 PKCS#12 without a password
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    pem = EXAMPLE["NOTIFICATION_CERTIFICATE"].encode()
    key = serialization.load_pem_private_key(pem, None)
    assert isinstance(key, rsa.RSAPrivateKey)
    certificate = x509.load_pem_x509_certificate(pem)
    pfx = pkcs12.serialize_key_and_certificates(
        b"kv",
        key,
        certificate,
        None,
        serialization.NoEncryption(),
    )
    env = {
        **EXAMPLE,
        "ENTRA_APP_CLIENT_SECRET": "",
        "ENTRA_APP_CERTIFICATE": base64.b64encode(pfx).decode(),
    }
    # WHEN the settings load
    settings = load_settings(env)
    # THEN the app credential is PEM holding the same certificate, and no secret shows in the repr
    assert settings.app_certificate_pem is not None
    assert x509.load_pem_x509_certificate(settings.app_certificate_pem) == certificate
    assert settings.app_client_secret is None
    assert "PRIVATE KEY" not in repr(settings)


def test_the_token_host_defaults_to_the_authority_host() -> None:
    env = {**EXAMPLE, "ENTRA_AUTHORITY_HOST": "https://login.example.test", "ENTRA_TOKEN_AUTHORITY_HOST": ""}
    assert load_settings(env).token_authority_host == "https://login.example.test"


def test_graph_and_queue_urls_follow_the_public_base_url() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.notification_url == "http://127.0.0.1:7071/api/graph/notifications"
    assert settings.lifecycle_notification_url == "http://127.0.0.1:7071/api/graph/lifecycle"
    assert settings.sign_in_redirect_uri == "http://127.0.0.1:7071/api/auth/callback"
    assert settings.presence_queue_name == "presence-changes"


def test_the_signing_keys_refresh_interval_defaults_to_five_minutes_and_can_be_set() -> None:
    assert load_settings(EXAMPLE).signing_keys_min_refresh == timedelta(minutes=5)
    faster = load_settings({**EXAMPLE, "SIGNING_KEYS_MIN_REFRESH_SECONDS": "2"})
    assert faster.signing_keys_min_refresh == timedelta(seconds=2)
