from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.errors import ConfigurationError
from shared.settings import HOST_SETTINGS, SETTING_SPECS, load_settings

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]


def test_the_example_settings_load_as_they_are() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.consent_redirect_uri == "http://127.0.0.1:7071/api/consent/callback"
    assert len(settings.secrets_encryption_key) == 32


def test_the_example_lists_every_setting_the_app_reads() -> None:
    assert {spec.name for spec in SETTING_SPECS} <= set(EXAMPLE)
    assert set(EXAMPLE) <= {spec.name for spec in SETTING_SPECS} | set(HOST_SETTINGS)


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
