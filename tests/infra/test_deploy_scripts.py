"""The deployment scripts agree with main.bicep and request the Graph permissions issue 5 lists."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from shared.identity.policies import CONNECTOR_ADMIN_ROLE, CONNECTOR_MANAGE_SCOPE
from tests.infra.bicep_reader import parse_file

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = REPO_ROOT / "scripts"
DEPLOY = SCRIPTS / "deploy.sh"
APP_REGISTRATION = SCRIPTS / "create-app-registration.sh"
MAIN_BICEP = REPO_ROOT / "infra" / "main.bicep"

# Microsoft Graph permission ids (microsoft-graph permissions reference), with their kind.
GRAPH_PERMISSIONS = {
    ("9c7a330d-35b3-4aa1-963d-cb2b9f927841", "Scope"),  # Presence.Read.All (delegated)
    ("7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "Scope"),  # offline_access
    ("37f7f235-527c-4136-accd-4a02d197296e", "Scope"),  # openid
    ("14dad69e-099b-42c9-810b-d002981feec1", "Scope"),  # profile
    ("83cded22-8297-4ff6-a7fa-e97e9545a259", "Role"),  # Presence.ReadWrite.All (application)
    ("df021288-bdef-4463-88db-98f22de89214", "Role"),  # User.Read.All (application)
}


def _shell_constants(path: Path) -> dict[str, str]:
    return dict(re.findall(r'^([A-Z_]+)="([^"$]*)"', path.read_text(), flags=re.MULTILINE))


@pytest.mark.parametrize("script", sorted(SCRIPTS.glob("*.sh")), ids=lambda path: path.name)
def test_script_is_valid_bash(script: Path) -> None:
    # GIVEN a script / WHEN bash parses it without running it / THEN there is no syntax error
    bash = shutil.which("bash")
    assert bash is not None
    result = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True, check=False)  # noqa: S603
    assert result.returncode == 0, result.stderr


def test_secret_and_certificate_names_match_main_bicep() -> None:
    # GIVEN the names deploy.sh creates in Key Vault and the names main.bicep references
    constants = _shell_constants(DEPLOY)
    variables = parse_file(MAIN_BICEP).variables
    # THEN they are the same, or the Key Vault references would never resolve
    assert constants["STATE_SIGNING_KEY_SECRET"] == variables["stateSigningKeySecretName"]
    assert constants["SECRETS_ENCRYPTION_KEY_SECRET"] == variables["secretsEncryptionKeySecretName"]
    assert constants["NOTIFICATION_CERTIFICATE"] == variables["notificationCertificateName"]
    assert constants["ENTRA_APP_CERTIFICATE"] == variables["entraAppCertificateName"]
    assert constants["WEBEX_CLIENT_SECRET_SECRET"] == variables["webexClientSecretName"]


def test_outputs_read_by_scripts_exist() -> None:
    # GIVEN every deployment output deploy.sh reads (`output NAME` or an exported azd variable)
    text = DEPLOY.read_text()
    used = set(re.findall(r"\boutput (AZURE_[A-Z_]+|ENTRA_[A-Z_]+)\b", text))
    used |= {name for name in re.findall(r"\$\{(AZURE_[A-Z_]+)", text) if name != "AZURE_ENV_NAME"}
    declared = {output.name for output in parse_file(MAIN_BICEP).outputs}
    # THEN main.bicep declares them (AZURE_RESOURCE_GROUP is both an azd variable and an output)
    assert used
    assert used <= declared, used - declared


def test_app_registration_requests_exactly_the_graph_permissions() -> None:
    # GIVEN the permission constants and the resourceAccess entries of the app registration script
    constants = _shell_constants(APP_REGISTRATION)
    text = APP_REGISTRATION.read_text()
    entries = re.findall(r'\{ "id": "\$([A-Z_]+)", "type": "(Scope|Role)" \}', text)
    requested = {(constants[name], kind) for name, kind in entries}
    # THEN it asks Microsoft Graph for exactly these, each with the right kind
    assert constants["GRAPH_APP_ID"] == "00000003-0000-0000-c000-000000000000"
    assert requested == GRAPH_PERMISSIONS


def test_app_registration_sets_both_callbacks() -> None:
    text = APP_REGISTRATION.read_text()
    assert "$PUBLIC_BASE_URL/api/consent/callback" in text
    assert "$PUBLIC_BASE_URL/api/auth/callback" in text
    assert "--sign-in-audience AzureADMultipleOrgs" in text


def _script_function(name: str) -> str:
    text = APP_REGISTRATION.read_text()
    found = re.search(rf"^{name}\(\) \{{\n.*?^\}}\n", text, flags=re.MULTILINE | re.DOTALL)
    assert found is not None, f"{name}() is not in {APP_REGISTRATION.name}"
    return found.group(0)


def test_app_registration_exposes_the_api_the_connector_verifies_tokens_for() -> None:
    # GIVEN the constants of the script and of the code that checks admins' tokens
    constants = _shell_constants(APP_REGISTRATION)
    text = APP_REGISTRATION.read_text()
    # THEN the scope, the app role and the pre-authorized client are the ones the code and README name
    assert constants["CONNECTOR_MANAGE_SCOPE"] == CONNECTOR_MANAGE_SCOPE == "Connector.Manage"
    assert constants["CONNECTOR_ADMIN_ROLE"] == CONNECTOR_ADMIN_ROLE == "Connector.Admin"
    assert constants["AZURE_CLI_APP_ID"] == "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
    # AND tokens carry the caller's directory roles (`wids`), the app id URI is the one settings default to
    assert constants["DIRECTORY_ROLES_IN_TOKENS"] == "DirectoryRole"
    assert '"identifierUris": ["api://$APP_ID"]' in text
    assert "configure_api\n" in text.split("configure_app\n", 2)[-1]


def test_the_api_object_the_script_patches_is_valid_graph_json() -> None:
    # GIVEN the script's write_api(), run by bash with the script's constants
    bash = shutil.which("bash")
    assert bash is not None
    constants = _shell_constants(APP_REGISTRATION)
    program = "\n".join(
        [
            *(f'{name}="{constants[name]}"' for name in ("CONNECTOR_MANAGE_SCOPE", "AZURE_CLI_APP_ID")),
            _script_function("write_api"),
            'write_api "11111111-2222-3333-4444-555555555555" '
            '"{ \\"appId\\": \\"$AZURE_CLI_APP_ID\\", '
            '\\"delegatedPermissionIds\\": [\\"11111111-2222-3333-4444-555555555555\\"] }"',
        ]
    )
    result = subprocess.run([bash, "-c", program], capture_output=True, text=True, check=True)  # noqa: S603
    api = json.loads(result.stdout)
    # THEN it is Graph's apiApplication: v2 tokens, the scope, the Azure CLI pre-authorized for it
    assert api["requestedAccessTokenVersion"] == 2
    (scope,) = api["oauth2PermissionScopes"]
    assert (scope["value"], scope["type"], scope["isEnabled"]) == ("Connector.Manage", "User", True)
    assert api["preAuthorizedApplications"] == [
        {
            "appId": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
            "delegatedPermissionIds": ["11111111-2222-3333-4444-555555555555"],
        }
    ]
