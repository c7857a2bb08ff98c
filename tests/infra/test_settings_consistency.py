"""The settings the code reads and the settings the infrastructure sets stay in step.

shared/settings.py is the registry: SETTING_SPECS (read by our code) and HOST_SETTINGS (read by the
Functions host and its bindings). main.bicep and its modules must set every spec Azure needs, and set
nothing that nobody reads; local.settings.example.json must list every spec.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Mapping
from pathlib import Path

import pytest

from shared.settings import HOST_SETTINGS, SETTING_SPECS, SettingSpec
from tests.infra.bicep_reader import (
    AppSetting,
    BicepReadError,
    Expression,
    app_settings,
    parse,
    template_closure,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
MAIN_BICEP = REPO_ROOT / "infra" / "main.bicep"
LOCAL_SETTINGS_EXAMPLE = REPO_ROOT / "local.settings.example.json"

# SETTING_SPECS entries main.bicep deliberately leaves unset, each with its reason. Only optional
# settings may appear here; the tests below fail when an entry goes stale.
NOT_SET_IN_AZURE: Mapping[str, str] = {
    "TABLES_CONNECTION_STRING": (
        "Local runs only (Azurite). In Azure the app reaches Table Storage through TABLES_ENDPOINT "
        "with the managed identity; a connection string would carry an account key (and shared-key "
        "access is disabled on the account), and load_settings refuses both settings at once."
    ),
    "ENTRA_APP_CLIENT_SECRET": (
        "Local runs only. In Azure the app authenticates with the Key Vault certificate "
        "(ENTRA_APP_CERTIFICATE); load_settings refuses both at once."
    ),
    "ENTRA_TOKEN_AUTHORITY_HOST": "Defaults to ENTRA_AUTHORITY_HOST, which Azure sets; only the local "
    "simulator splits the browser-facing http host from the https token host.",
    "ENTRA_AUTHORITY_CA_BUNDLE": "Local runs only: trusts the simulator's self-signed certificate.",
    "DIRECTORY_CACHE_SECONDS": "The default (60 s, the most the expert directory may cache) is what Azure "
    "wants; tests and local runs lower it.",
    "GRAPH_TIMEOUT_SECONDS": "The default (10 s) is the production value.",
    "SIGNING_KEYS_MIN_REFRESH_SECONDS": "The default (5 minutes) is the production value.",
    "WEBEX_TOKEN_URL": "The default is Webex's production token endpoint; only the local simulator differs.",
    "WEBEX_AUTHORIZE_URL": "The default is Webex's production authorize endpoint; only the local simulator "
    "differs.",
    "GRAPH_NOTIFICATION_JWKS_URL": "The default is Microsoft's signing keys, the production value.",
    "NOTIFICATION_PREVIOUS_CERTIFICATE": (
        "Set by hand (a versioned Key Vault reference) only during a certificate rotation; see "
        "infra/README.md."
    ),
}

KEY_MATERIAL_MARKERS = (
    "AccountKey=",
    "SharedAccessKey",
    "listKeys(",
    "listConnectionStrings(",
    "listSecrets(",
)


def deployed_settings() -> list[AppSetting]:
    return [setting for bicep in template_closure(MAIN_BICEP) for setting in app_settings(bicep)]


def settings_problems(
    set_names: Collection[str],
    specs: Collection[SettingSpec],
    host_settings: Collection[str],
    not_set: Mapping[str, str],
) -> list[str]:
    """Every way the set names disagree with the registry, as readable messages."""
    spec_names = {spec.name for spec in specs}
    set_unique = set(set_names)
    problems = [
        f"{name} is required but main.bicep does not set it" for name in _sorted_missing(specs, set_unique)
    ]
    problems += [
        f"{spec.name} is not set by main.bicep and not justified in NOT_SET_IN_AZURE"
        for spec in specs
        if not spec.required and spec.name not in set_unique and spec.name not in not_set
    ]
    problems += [
        f"{name} is set by main.bicep but neither SETTING_SPECS nor HOST_SETTINGS lists it"
        for name in sorted(set_unique - spec_names - set(host_settings))
    ]
    problems += [f"{name} is set {count} times" for name, count in Counter(set_names).items() if count > 1]
    return problems


def _sorted_missing(specs: Collection[SettingSpec], set_names: set[str]) -> list[str]:
    return sorted(spec.name for spec in specs if spec.required and spec.name not in set_names)


def _value_text(value: object) -> str:
    return value.text if isinstance(value, Expression) else json.dumps(value)


def test_main_bicep_sets_settings_at_all() -> None:
    # GIVEN main.bicep and its modules / WHEN the app settings are extracted
    names = [setting.name for setting in deployed_settings()]
    # THEN the extraction found the Function App's settings (an empty list would make the rest vacuous)
    assert "AzureWebJobsStorage__accountName" in names
    assert len(names) >= len([spec for spec in SETTING_SPECS if spec.required])


def test_settings_agree_with_the_registry() -> None:
    # GIVEN the settings main.bicep sets
    names = [setting.name for setting in deployed_settings()]
    # WHEN they are compared with the registry
    problems = settings_problems(names, SETTING_SPECS, HOST_SETTINGS, NOT_SET_IN_AZURE)
    # THEN every required spec is set, every spec is set or justified, and everything set is read
    assert problems == []


def test_not_set_allow_list_is_current() -> None:
    # GIVEN the allow-list of specs left unset in Azure
    specs = {spec.name: spec for spec in SETTING_SPECS}
    names = {setting.name for setting in deployed_settings()}
    for name, reason in NOT_SET_IN_AZURE.items():
        # THEN each entry is a real, optional spec that main.bicep indeed leaves unset, with a reason
        assert name in specs, f"{name} is no longer in SETTING_SPECS"
        assert not specs[name].required, f"{name} is required and cannot be left unset"
        assert name not in names, f"{name} is set by main.bicep; drop it from NOT_SET_IN_AZURE"
        assert len(reason) > 20


def test_secret_settings_are_key_vault_references() -> None:
    # GIVEN the specs the registry marks secret, as set by main.bicep
    secret_names = {spec.name for spec in SETTING_SPECS if spec.secret}
    secrets = [setting for setting in deployed_settings() if setting.name in secret_names]
    assert secrets, "no secret setting is set: the check below would be vacuous"
    for setting in secrets:
        # THEN each value is a Key Vault reference, never the secret itself
        assert _value_text(setting.value).startswith("'@Microsoft.KeyVault(SecretUri="), setting


def test_no_keys_or_connection_strings_in_settings() -> None:
    # GIVEN every app setting value
    for setting in deployed_settings():
        text = _value_text(setting.value)
        # THEN none carries or fetches key material: every connection is identity-based
        assert not any(marker in text for marker in KEY_MATERIAL_MARKERS), setting
    # AND the identity-based storage connection is used instead of the AzureWebJobsStorage string
    assert "AzureWebJobsStorage" not in {setting.name for setting in deployed_settings()}


def test_no_template_fetches_keys() -> None:
    # GIVEN every Bicep file / THEN none calls a list*Keys-style function (keys would end up somewhere)
    for path in sorted((REPO_ROOT / "infra").rglob("*.bicep")):
        text = path.read_text()
        assert not any(marker in text for marker in KEY_MATERIAL_MARKERS if marker.endswith("(")), path


def test_local_settings_example_lists_every_spec() -> None:
    # GIVEN local.settings.example.json
    values = json.loads(LOCAL_SETTINGS_EXAMPLE.read_text())["Values"]
    # THEN every spec the code reads has an entry
    missing = [spec.name for spec in SETTING_SPECS if spec.name not in values]
    assert missing == []


# The checks above must be able to fail: feed them deliberately wrong input.

CONFIG_SNIPPET = """
resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: {
%s
  }
}
"""


def test_parser_rejects_a_syntax_error() -> None:
    # GIVEN a snippet whose appsettings object is never closed
    broken = (
        "resource settings 'Microsoft.Web/sites/config@2024-04-01' = {\n"
        "  name: 'appsettings'\n"
        "  properties: {\n"
    )
    # WHEN it is parsed / THEN parsing fails and names the position
    with pytest.raises(BicepReadError, match=r"snippet:\d+:\d+"):
        parse(broken.encode(), "snippet")


def test_settings_built_by_an_expression_are_refused() -> None:
    # GIVEN app settings merged with union(): their names cannot be read without evaluating Bicep
    snippet = """
resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(baseSettings, { EXTRA: 'x' })
}
"""
    bicep = parse(snippet.encode(), "snippet")
    # WHEN the settings are extracted / THEN extraction refuses instead of returning a partial list
    with pytest.raises(BicepReadError, match="object literal"):
        app_settings(bicep)


def test_interpolated_setting_name_is_refused() -> None:
    # GIVEN a setting whose name is computed
    bicep = parse((CONFIG_SNIPPET % "    '${prefix}_KEY': 'x'").encode(), "snippet")
    # WHEN / THEN extraction refuses it
    with pytest.raises(BicepReadError, match="not a literal"):
        app_settings(bicep)


def test_problems_are_reported_for_missing_and_unread_settings() -> None:
    # GIVEN a snippet that forgets ENTRA_APP_CLIENT_ID and sets a setting nobody reads, twice
    body = "\n".join(f"    {spec.name}: 'x'" for spec in SETTING_SPECS if spec.name != "ENTRA_APP_CLIENT_ID")
    bicep = parse((CONFIG_SNIPPET % (body + "\n    NOBODY_READS_THIS: 'x'")).encode(), "snippet")
    names = [setting.name for setting in app_settings(bicep)]
    names.append("NOBODY_READS_THIS")
    # WHEN compared with the registry
    problems = settings_problems(names, SETTING_SPECS, HOST_SETTINGS, {})
    # THEN each disagreement is reported
    assert "ENTRA_APP_CLIENT_ID is required but main.bicep does not set it" in problems
    assert (
        "NOBODY_READS_THIS is set by main.bicep but neither SETTING_SPECS nor HOST_SETTINGS lists it"
        in problems
    )
    assert "NOBODY_READS_THIS is set 2 times" in problems


def test_unjustified_optional_setting_is_reported() -> None:
    # GIVEN every required spec set but an optional one left out without a justification
    optional = next(spec for spec in SETTING_SPECS if not spec.required)
    names = [spec.name for spec in SETTING_SPECS if spec.name != optional.name]
    # WHEN / THEN the gap is reported
    assert settings_problems(names, SETTING_SPECS, HOST_SETTINGS, {}) == [
        f"{optional.name} is not set by main.bicep and not justified in NOT_SET_IN_AZURE"
    ]


def test_site_config_array_form_is_read() -> None:
    # GIVEN settings in the siteConfig.appSettings array form
    snippet = """
resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: 'x'
  properties: {
    siteConfig: {
      appSettings: [
        { name: 'FIRST', value: 'one' }
        {
          name: 'SECOND'
          value: reference
        }
      ]
    }
  }
}
"""
    # WHEN extracted
    settings = app_settings(parse(snippet.encode(), "snippet"))
    # THEN names and values come through
    assert [(s.name, s.value) for s in settings] == [("FIRST", "one"), ("SECOND", Expression("reference"))]


def test_site_config_entry_without_literal_name_is_refused() -> None:
    # GIVEN an appSettings entry whose name is a variable
    snippet = (
        "var s = [ { name: settingName, value: 'x' } ]\n"
        "resource r 'A/b@1' = { properties: { appSettings: s } }"
    )
    # WHEN / THEN the array given by reference is refused
    with pytest.raises(BicepReadError, match="array literal"):
        app_settings(parse(snippet.encode(), "snippet"))
    inline = "resource r 'A/b@1' = { properties: { appSettings: [ { name: settingName, value: 'x' } ] } }"
    with pytest.raises(BicepReadError, match="literal name"):
        app_settings(parse(inline.encode(), "snippet"))
