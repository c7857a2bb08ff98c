#!/usr/bin/env bash
# Creates (or brings up to date) the multi-tenant Entra app registration that tenant admins consent
# to, with the Azure CLI. Idempotent: run it again at any time with more options.
#
#   scripts/create-app-registration.sh --display-name "Teams Contact Center Connector"
#       -> creates the app (or finds it by display name) and prints its application (client) id; the
#          app exposes its API to tenant admins: app id URI api://<app id>, delegated scope
#          Connector.Manage (the Azure CLI is pre-authorized for it, so `az account get-access-token
#          --scope api://<app id>/Connector.Manage` works), app role Connector.Admin, directory roles in
#          tokens (wids), v2 access tokens
#   scripts/create-app-registration.sh --app-id <id> --public-base-url https://<app>.azurewebsites.net \
#       --key-vault <vault>
#       -> sets the consent and sign-in redirect URIs, and makes the Key Vault certificate
#          `entra-app-credential` (created if missing) a credential of the app
#
# Only the application id goes to stdout; progress goes to stderr. Needs `az login` with rights to
# create app registrations (Application Developer or higher) and, for --key-vault, Key Vault
# Certificates Officer on the vault (main.bicep grants it to deployerPrincipalId).
set -euo pipefail

GRAPH_APP_ID="00000003-0000-0000-c000-000000000000"
# Microsoft Graph permission ids (the same in every tenant).
PRESENCE_READ_ALL_DELEGATED="9c7a330d-35b3-4aa1-963d-cb2b9f927841" # subscriptions need delegated
OFFLINE_ACCESS_DELEGATED="7427e0e9-2fba-42fe-b0c0-848c9e6a8182"    # refresh tokens of sync accounts
OPENID_DELEGATED="37f7f235-527c-4136-accd-4a02d197296e"            # sign-in of sync accounts
PROFILE_DELEGATED="14dad69e-099b-42c9-810b-d002981feec1"           # requested by MSAL with openid
PRESENCE_READWRITE_ALL_APPLICATION="83cded22-8297-4ff6-a7fa-e97e9545a259" # setPresence / clearPresence
USER_READ_ALL_APPLICATION="df021288-bdef-4463-88db-98f22de89214"          # agent and expert lookup
# The connector's own API, which tenant admins call with Entra access tokens (shared/identity/).
CONNECTOR_MANAGE_SCOPE="Connector.Manage"
CONNECTOR_ADMIN_ROLE="Connector.Admin"
AZURE_CLI_APP_ID="04b07795-8ddb-461a-bbee-02f9e1bf7b46" # first-party client of `az account get-access-token`
DIRECTORY_ROLES_IN_TOKENS="DirectoryRole"                # groupMembershipClaims: the `wids` claim

DISPLAY_NAME="Teams Contact Center Connector"
APP_ID=""
PUBLIC_BASE_URL=""
KEY_VAULT=""
CERTIFICATE_NAME="entra-app-credential"

log() { printf 'create-app-registration: %s\n' "$*" >&2; }
fail() { log "ERROR: $*"; exit 1; }

usage() {
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit "${1:-0}"
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --display-name) DISPLAY_NAME="${2:?}"; shift 2 ;;
    --app-id) APP_ID="${2:?}"; shift 2 ;;
    --public-base-url) PUBLIC_BASE_URL="${2%/}"; shift 2 ;;
    --key-vault) KEY_VAULT="${2:?}"; shift 2 ;;
    --certificate-name) CERTIFICATE_NAME="${2:?}"; shift 2 ;;
    -h | --help) usage 0 ;;
    *) log "unknown option: $1"; usage 2 ;;
  esac
done

command -v az >/dev/null || fail "the Azure CLI (az) is not installed"
az account show --output none 2>/dev/null || fail "run 'az login' first"

WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT

write_required_resource_access() {
  cat >"$WORK_DIR/required-resource-access.json" <<EOF
[
  {
    "resourceAppId": "$GRAPH_APP_ID",
    "resourceAccess": [
      { "id": "$PRESENCE_READ_ALL_DELEGATED", "type": "Scope" },
      { "id": "$OFFLINE_ACCESS_DELEGATED", "type": "Scope" },
      { "id": "$OPENID_DELEGATED", "type": "Scope" },
      { "id": "$PROFILE_DELEGATED", "type": "Scope" },
      { "id": "$PRESENCE_READWRITE_ALL_APPLICATION", "type": "Role" },
      { "id": "$USER_READ_ALL_APPLICATION", "type": "Role" }
    ]
  }
]
EOF
}

find_or_create_app() {
  if [[ -n "$APP_ID" ]]; then
    az ad app show --id "$APP_ID" --query appId --output tsv >/dev/null \
      || fail "no app registration with application id $APP_ID"
    return
  fi
  local matches
  matches="$(az ad app list --display-name "$DISPLAY_NAME" --query "[].appId" --output tsv)"
  if [[ "$(grep -c . <<<"$matches" || true)" -gt 1 ]]; then
    fail "several app registrations are named '$DISPLAY_NAME'; pass --app-id"
  fi
  if [[ -n "$matches" ]]; then
    APP_ID="$matches"
    log "reusing app registration '$DISPLAY_NAME' ($APP_ID)"
    return
  fi
  APP_ID="$(az ad app create \
    --display-name "$DISPLAY_NAME" \
    --sign-in-audience AzureADMultipleOrgs \
    --required-resource-accesses "@$WORK_DIR/required-resource-access.json" \
    --query appId --output tsv)"
  log "created multi-tenant app registration '$DISPLAY_NAME' ($APP_ID)"
}

configure_app() {
  az ad app update --id "$APP_ID" \
    --sign-in-audience AzureADMultipleOrgs \
    --required-resource-accesses "@$WORK_DIR/required-resource-access.json"
  log "permissions: delegated Presence.Read.All, offline_access, openid, profile;" \
    "application Presence.ReadWrite.All, User.Read.All"
  if [[ -n "$PUBLIC_BASE_URL" ]]; then
    [[ "$PUBLIC_BASE_URL" == https://* ]] || fail "--public-base-url must start with https://"
    az ad app update --id "$APP_ID" --web-redirect-uris \
      "$PUBLIC_BASE_URL/api/consent/callback" \
      "$PUBLIC_BASE_URL/api/auth/callback" \
      "$PUBLIC_BASE_URL/api/console/auth/callback"
    log "redirect URIs: $PUBLIC_BASE_URL/api/consent/callback, $PUBLIC_BASE_URL/api/auth/callback," \
      "$PUBLIC_BASE_URL/api/console/auth/callback (the console's sign-in)"
  fi
  # The service principal in the home tenant lets its admins consent like any other tenant.
  if ! az ad sp show --id "$APP_ID" --output none 2>/dev/null; then
    az ad sp create --id "$APP_ID" --output none
    log "created the service principal in the home tenant"
  fi
}

new_guid() {
  if command -v uuidgen >/dev/null; then
    uuidgen | tr '[:upper:]' '[:lower:]'
  else
    python3 -c 'import uuid; print(uuid.uuid4())'
  fi
}

# The id of what the app already has (so a re-run sends the same ids: Graph refuses to change or drop
# an enabled scope or role), else a new one.
stable_id() {
  local found
  found="$(az ad app show --id "$APP_ID" --query "$1" --output tsv 2>/dev/null || true)"
  if [[ -n "$found" && "$found" != "None" ]]; then printf '%s\n' "$found"; else new_guid; fi
}

# The `api` object of the application (Graph's apiApplication). Graph replaces the whole object on
# PATCH, and a pre-authorization may only name a scope that already exists: so first the scope alone,
# then the same object with the Azure CLI pre-authorized.
write_api() {
  local scope_id="$1" pre_authorized="$2"
  cat <<EOF
{
    "requestedAccessTokenVersion": 2,
    "oauth2PermissionScopes": [
      {
        "id": "$scope_id",
        "value": "$CONNECTOR_MANAGE_SCOPE",
        "type": "User",
        "isEnabled": true,
        "adminConsentDisplayName": "Manage the Teams contact-center connector",
        "adminConsentDescription": "Call the connector's admin API as the signed-in user. The connector still requires a Global Administrator, a Privileged Role Administrator or the Connector.Admin app role of the tenant.",
        "userConsentDisplayName": "Use the Teams contact-center connector",
        "userConsentDescription": "Call the connector's API as you."
      }
    ],
    "preAuthorizedApplications": [$pre_authorized]
  }
EOF
}

configure_api() {
  local object_id graph scope_id role_id
  object_id="$(az ad app show --id "$APP_ID" --query id --output tsv)"
  graph="$(az cloud show --query endpoints.microsoftGraphResourceId --output tsv)"
  graph="${graph%/}/v1.0/applications/$object_id"
  scope_id="$(stable_id "api.oauth2PermissionScopes[?value=='$CONNECTOR_MANAGE_SCOPE'].id | [0]")"
  role_id="$(stable_id "appRoles[?value=='$CONNECTOR_ADMIN_ROLE'].id | [0]")"
  cat >"$WORK_DIR/application.json" <<EOF
{
  "identifierUris": ["api://$APP_ID"],
  "groupMembershipClaims": "$DIRECTORY_ROLES_IN_TOKENS",
  "api": $(write_api "$scope_id" ""),
  "appRoles": [
    {
      "id": "$role_id",
      "value": "$CONNECTOR_ADMIN_ROLE",
      "allowedMemberTypes": ["User", "Application"],
      "isEnabled": true,
      "displayName": "Connector administrator",
      "description": "Administers the Teams contact-center connector of the tenant without a directory role."
    }
  ]
}
EOF
  az rest --method PATCH --uri "$graph" --headers "Content-Type=application/json" \
    --body "@$WORK_DIR/application.json" --output none
  local cli="{ \"appId\": \"$AZURE_CLI_APP_ID\", \"delegatedPermissionIds\": [\"$scope_id\"] }"
  printf '{\n  "api": %s\n}\n' "$(write_api "$scope_id" "$cli")" >"$WORK_DIR/pre-authorized.json"
  az rest --method PATCH --uri "$graph" --headers "Content-Type=application/json" \
    --body "@$WORK_DIR/pre-authorized.json" --output none
  log "API: api://$APP_ID, scope $CONNECTOR_MANAGE_SCOPE ($scope_id) pre-authorized for the Azure CLI," \
    "app role $CONNECTOR_ADMIN_ROLE ($role_id), directory roles in tokens (wids), v2 access tokens"
}

ensure_certificate_credential() {
  local show_output
  if ! show_output="$(az keyvault certificate show --vault-name "$KEY_VAULT" --name "$CERTIFICATE_NAME" \
    --query x509ThumbprintHex --output tsv 2>&1)"; then
    grep -q "CertificateNotFound" <<<"$show_output" || fail "cannot read certificate $CERTIFICATE_NAME: $show_output"
    cat >"$WORK_DIR/policy.json" <<EOF
{
  "issuerParameters": { "name": "Self" },
  "keyProperties": { "exportable": true, "keyType": "RSA", "keySize": 2048, "reuseKey": false },
  "secretProperties": { "contentType": "application/x-pkcs12" },
  "x509CertificateProperties": {
    "subject": "CN=$CERTIFICATE_NAME",
    "keyUsage": ["digitalSignature", "keyEncipherment"],
    "validityInMonths": 12
  },
  "lifetimeActions": [
    { "trigger": { "daysBeforeExpiry": 30 }, "action": { "actionType": "EmailContacts" } }
  ]
}
EOF
    # Not AutoRenew: a renewed certificate must also be uploaded to the app registration, which is
    # what running this script again does.
    az keyvault certificate create --vault-name "$KEY_VAULT" --name "$CERTIFICATE_NAME" \
      --policy "@$WORK_DIR/policy.json" --output none
    log "created certificate $CERTIFICATE_NAME in $KEY_VAULT"
    show_output="$(az keyvault certificate show --vault-name "$KEY_VAULT" --name "$CERTIFICATE_NAME" \
      --query x509ThumbprintHex --output tsv)"
  fi
  local thumbprint="${show_output^^}"
  local credential_name="keyvault:$CERTIFICATE_NAME:$thumbprint"
  local registered
  registered="$(az ad app credential list --id "$APP_ID" --cert \
    --query "[].[customKeyIdentifier, displayName]" --output tsv)"
  if grep -qiwF -e "$thumbprint" -e "$credential_name" <<<"$registered"; then
    log "certificate $CERTIFICATE_NAME ($thumbprint) is already a credential of the app"
    return
  fi
  # Only the public part leaves Key Vault; --append keeps the credentials already there (rotation).
  az keyvault certificate download --vault-name "$KEY_VAULT" --name "$CERTIFICATE_NAME" \
    --file "$WORK_DIR/credential.pem" --encoding PEM
  az ad app credential reset --id "$APP_ID" --cert "@$WORK_DIR/credential.pem" --append \
    --display-name "$credential_name" --output none
  log "added certificate $CERTIFICATE_NAME ($thumbprint) as a credential of the app"
}

write_required_resource_access
find_or_create_app
configure_app
configure_api
if [[ -n "$KEY_VAULT" ]]; then
  ensure_certificate_credential
fi
log "tenant admins grant consent through the connector's consentUrl, then call the API with" \
  "TOKEN=\$(az account get-access-token --tenant <tenant id> --scope api://$APP_ID/$CONNECTOR_MANAGE_SCOPE" \
  "--query accessToken -o tsv); remove it from a tenant with: az ad sp delete --id $APP_ID"
printf '%s\n' "$APP_ID"
