#!/usr/bin/env bash
# Deploys the connector to Azure with the Azure CLI (see infra/README.md).
#
#   scripts/deploy.sh up -g <resource-group> -l <region> [-e <environment>] [--app-id <entra app id>]
#       everything: resource group, app registration (unless --app-id), infrastructure, secrets and
#       certificates, redirect URIs and app credential, code
#   scripts/deploy.sh infra -g <rg> -l <region> [-e <env>] --app-id <id>   az deployment group create
#   scripts/deploy.sh secrets -g <rg>      create missing Key Vault secrets and certificates
#   scripts/deploy.sh publish -g <rg>      package and publish the code (remote build)
#   scripts/deploy.sh down -g <rg>         delete the resource group (see README for what remains)
#   scripts/deploy.sh azd-preprovision | azd-postprovision   hooks run by `azd up` (azure.yaml)
#
# Secrets are generated here with openssl, once: a secret that exists is never replaced, because
# SECRETS_ENCRYPTION_KEY encrypts stored data and STATE_SIGNING_KEY signs links in flight.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The name `az deployment group create` gives a deployment of main.bicep by default, so the
# step-by-step commands in infra/README.md and this script read the same outputs.
DEPLOYMENT_NAME="main"
STATE_SIGNING_KEY_SECRET="state-signing-key"
SECRETS_ENCRYPTION_KEY_SECRET="secrets-encryption-key"
# The Webex integration's client secret: a placeholder until the operator stores the real one (README,
# "Webex Contact Center set-up"); without WEBEX_CLIENT_ID the app ignores it.
WEBEX_CLIENT_SECRET_SECRET="webex-client-secret"
NOTIFICATION_CERTIFICATE="graph-notification-encryption"
ENTRA_APP_CERTIFICATE="entra-app-credential"
# Files the Functions host needs; everything else (tests, devstack, node_modules, venvs) stays home.
PACKAGE_CONTENT=(function_app.py host.json requirements.txt shared)

RESOURCE_GROUP=""
LOCATION=""
ENVIRONMENT_NAME="prod"
APP_ID="${ENTRA_APP_CLIENT_ID:-}"

log() { printf 'deploy: %s\n' "$*" >&2; }
fail() { log "ERROR: $*"; exit 1; }
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit "${1:-0}"; }

parse_options() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -g | --resource-group) RESOURCE_GROUP="${2:?}"; shift 2 ;;
      -l | --location) LOCATION="${2:?}"; shift 2 ;;
      -e | --environment) ENVIRONMENT_NAME="${2:?}"; shift 2 ;;
      --app-id) APP_ID="${2:?}"; shift 2 ;;
      -h | --help) usage 0 ;;
      *) log "unknown option: $1"; usage 2 ;;
    esac
  done
}

require_az() {
  command -v az >/dev/null || fail "the Azure CLI (az) is not installed"
  az account show --output none 2>/dev/null || fail "run 'az login' first"
}

require() {
  local name="$1" value="$2"
  [[ -n "$value" ]] || fail "missing $name"
}

# Object id and principal type of whoever is signed in to the Azure CLI.
deployer_principal() {
  local user_type
  user_type="$(az account show --query user.type --output tsv)"
  if [[ "$user_type" == "servicePrincipal" ]]; then
    printf '%s ServicePrincipal\n' "$(az ad sp show --id "$(az account show --query user.name --output tsv)" \
      --query id --output tsv)"
  else
    printf '%s User\n' "$(az ad signed-in-user show --query id --output tsv)"
  fi
}

output() {
  az deployment group show --resource-group "$RESOURCE_GROUP" --name "$DEPLOYMENT_NAME" \
    --query "properties.outputs.$1.value" --output tsv
}

deploy_infra() {
  require "--resource-group" "$RESOURCE_GROUP"
  require "--location" "$LOCATION"
  require "--app-id (or ENTRA_APP_CLIENT_ID)" "$APP_ID"
  local principal_id principal_type
  read -r principal_id principal_type < <(deployer_principal)
  az group create --name "$RESOURCE_GROUP" --location "$LOCATION" --output none
  log "deploying infra/main.bicep to $RESOURCE_GROUP ($LOCATION)"
  az deployment group create \
    --resource-group "$RESOURCE_GROUP" \
    --name "$DEPLOYMENT_NAME" \
    --template-file "$ROOT/infra/main.bicep" \
    --parameters environmentName="$ENVIRONMENT_NAME" location="$LOCATION" entraAppClientId="$APP_ID" \
    deployerPrincipalId="$principal_id" deployerPrincipalType="$principal_type" \
    --output none
  log "function app: $(output AZURE_FUNCTION_APP_URL)"
}

# Runs an az command until Key Vault RBAC has propagated (a fresh role assignment can take minutes).
with_rbac_retry() {
  local attempt output
  for attempt in $(seq 1 20); do
    if output="$("$@" 2>&1)"; then
      printf '%s' "$output"
      return 0
    fi
    if grep -qE "Forbidden|ForbiddenByRbac|403" <<<"$output"; then
      log "waiting for Key Vault role assignments to propagate ($attempt/20)"
      sleep 15
      continue
    fi
    printf '%s' "$output"
    return 1
  done
  printf '%s' "$output"
  return 1
}

# Replaced by hand with the Webex integration's client secret (az keyvault secret set ... webex-client-secret).
generate_webex_placeholder() {
  printf 'not-set-store-the-webex-integration-client-secret-here'
}

ensure_secret() {
  local vault="$1" name="$2" generator="$3" output value_file
  if output="$(with_rbac_retry az keyvault secret show --vault-name "$vault" --name "$name" --query id --output tsv)"; then
    log "secret $name exists; keeping it"
    return
  fi
  grep -q "SecretNotFound" <<<"$output" || fail "cannot read secret $name: $output"
  value_file="$(mktemp)"
  chmod 600 "$value_file"
  # The value goes through a private file, never the command line (visible to other processes).
  $generator >"$value_file"
  if ! output="$(az keyvault secret set --vault-name "$vault" --name "$name" --file "$value_file" \
    --encoding utf-8 --content-type "text/plain" --output none 2>&1)"; then
    rm -f "$value_file"
    if grep -q "ObjectIsDeletedButRecoverable" <<<"$output"; then
      # A secret deleted with an earlier deployment of this vault: recover it, since data may
      # still be encrypted or signed with it.
      az keyvault secret recover --vault-name "$vault" --name "$name" --output none
      log "recovered soft-deleted secret $name"
      return
    fi
    fail "cannot create secret $name: $output"
  fi
  rm -f "$value_file"
  log "created secret $name"
}

# 48 random bytes, base64: STATE_SIGNING_KEY must be at least 32 bytes.
generate_signing_key() { openssl rand -base64 48 | tr -d '\n'; }
# Exactly 32 random bytes, base64: the AES-256 key SECRETS_ENCRYPTION_KEY.
generate_encryption_key() { openssl rand -base64 32 | tr -d '\n'; }

ensure_notification_certificate() {
  local vault="$1" output policy_file
  if output="$(with_rbac_retry az keyvault certificate show --vault-name "$vault" \
    --name "$NOTIFICATION_CERTIFICATE" --query id --output tsv)"; then
    log "certificate $NOTIFICATION_CERTIFICATE exists; keeping it"
    return
  fi
  grep -q "CertificateNotFound" <<<"$output" || fail "cannot read certificate: $output"
  policy_file="$(mktemp)"
  # Graph encrypts rich notifications with the public key (RSA 2048-4096); the app decrypts with
  # the private key it reads from Key Vault. Key Vault renews it before expiry; the app announces
  # the new one to Graph when it renews subscriptions.
  cat >"$policy_file" <<EOF
{
  "issuerParameters": { "name": "Self" },
  "keyProperties": { "exportable": true, "keyType": "RSA", "keySize": 2048, "reuseKey": false },
  "secretProperties": { "contentType": "application/x-pkcs12" },
  "x509CertificateProperties": {
    "subject": "CN=$NOTIFICATION_CERTIFICATE",
    "keyUsage": ["keyEncipherment", "dataEncipherment"],
    "validityInMonths": 12
  },
  "lifetimeActions": [
    { "trigger": { "daysBeforeExpiry": 30 }, "action": { "actionType": "AutoRenew" } }
  ]
}
EOF
  az keyvault certificate create --vault-name "$vault" --name "$NOTIFICATION_CERTIFICATE" \
    --policy "@$policy_file" --output none
  rm -f "$policy_file"
  log "created certificate $NOTIFICATION_CERTIFICATE"
}

init_secrets() {
  require "--resource-group" "$RESOURCE_GROUP"
  command -v openssl >/dev/null || fail "openssl is needed to generate the keys"
  local vault
  vault="$(output AZURE_KEY_VAULT_NAME)"
  require "Key Vault name (deploy the infrastructure first)" "$vault"
  ensure_secret "$vault" "$STATE_SIGNING_KEY_SECRET" generate_signing_key
  ensure_secret "$vault" "$SECRETS_ENCRYPTION_KEY_SECRET" generate_encryption_key
  ensure_secret "$vault" "$WEBEX_CLIENT_SECRET_SECRET" generate_webex_placeholder
  ensure_notification_certificate "$vault"
}

finish_app_registration() {
  local vault url
  vault="$(output AZURE_KEY_VAULT_NAME)"
  url="$(output AZURE_FUNCTION_APP_URL)"
  APP_ID="${APP_ID:-$(output ENTRA_APP_CLIENT_ID)}"
  "$ROOT/scripts/create-app-registration.sh" --app-id "$APP_ID" --public-base-url "$url" \
    --key-vault "$vault" --certificate-name "$ENTRA_APP_CERTIFICATE" >/dev/null
}

publish() {
  require "--resource-group" "$RESOURCE_GROUP"
  command -v zip >/dev/null || fail "zip is needed to package the app"
  local app package
  app="$(output AZURE_FUNCTION_APP_NAME)"
  require "function app name (deploy the infrastructure first)" "$app"
  package="$(mktemp -d)/app.zip"
  (cd "$ROOT" && zip -qr "$package" "${PACKAGE_CONTENT[@]}" -x '*__pycache__*' '*.pyc')
  log "publishing to $app (remote build installs requirements.txt)"
  az functionapp deployment source config-zip --resource-group "$RESOURCE_GROUP" --name "$app" \
    --src "$package" --build-remote true --output none
  rm -rf "$(dirname "$package")"
  # Key Vault references are resolved when the app starts; a restart picks up secrets created
  # after the first start.
  az functionapp restart --resource-group "$RESOURCE_GROUP" --name "$app" --output none
  log "health: $(output AZURE_FUNCTION_APP_URL)/api/health"
}

teardown() {
  require "--resource-group" "$RESOURCE_GROUP"
  local vault app_id
  vault="$(output AZURE_KEY_VAULT_NAME 2>/dev/null || true)"
  app_id="$(output ENTRA_APP_CLIENT_ID 2>/dev/null || true)"
  az group delete --name "$RESOURCE_GROUP" --yes
  log "deleted resource group $RESOURCE_GROUP"
  if [[ -n "$vault" ]]; then
    log "Key Vault $vault stays soft-deleted (purge protection) for its retention period; to redeploy" \
      "the same environment into the same resource group name first run: az keyvault recover --name $vault"
  fi
  if [[ -n "$app_id" ]]; then
    log "the app registration remains; delete it with: az ad app delete --id $app_id"
    log "each tenant that consented removes the connector with: az ad sp delete --id $app_id"
  fi
}

# azd runs the hooks with its environment (AZURE_ENV_NAME, AZURE_LOCATION, AZURE_RESOURCE_GROUP and
# the template outputs after provisioning) exported.
azd_preprovision() {
  command -v azd >/dev/null || fail "azd not found"
  require_az
  if [[ -z "$APP_ID" ]]; then
    APP_ID="$("$ROOT/scripts/create-app-registration.sh" \
      --display-name "Teams Contact Center Connector (${AZURE_ENV_NAME:?})")"
    azd env set ENTRA_APP_CLIENT_ID "$APP_ID"
  fi
  local principal_id principal_type
  read -r principal_id principal_type < <(deployer_principal)
  azd env set AZURE_PRINCIPAL_TYPE "$principal_type"
  log "deployer $principal_id ($principal_type) gets Key Vault Secrets/Certificates Officer"
}

azd_postprovision() {
  require_az
  RESOURCE_GROUP="${AZURE_RESOURCE_GROUP:?azd did not export AZURE_RESOURCE_GROUP}"
  local vault="${AZURE_KEY_VAULT_NAME:?}"
  command -v openssl >/dev/null || fail "openssl is needed to generate the keys"
  ensure_secret "$vault" "$STATE_SIGNING_KEY_SECRET" generate_signing_key
  ensure_secret "$vault" "$SECRETS_ENCRYPTION_KEY_SECRET" generate_encryption_key
  ensure_secret "$vault" "$WEBEX_CLIENT_SECRET_SECRET" generate_webex_placeholder
  ensure_notification_certificate "$vault"
  "$ROOT/scripts/create-app-registration.sh" --app-id "${ENTRA_APP_CLIENT_ID:?}" \
    --public-base-url "${AZURE_FUNCTION_APP_URL:?}" --key-vault "$vault" \
    --certificate-name "$ENTRA_APP_CERTIFICATE" >/dev/null
}

main() {
  local command="${1:-}"
  [[ $# -gt 0 ]] && shift
  parse_options "$@"
  case "$command" in
    up)
      require_az
      require "--resource-group" "$RESOURCE_GROUP"
      if [[ -z "$APP_ID" ]]; then
        APP_ID="$("$ROOT/scripts/create-app-registration.sh" \
          --display-name "Teams Contact Center Connector ($ENVIRONMENT_NAME)")"
      fi
      deploy_infra
      init_secrets
      finish_app_registration
      publish
      ;;
    infra) require_az; deploy_infra ;;
    secrets) require_az; init_secrets ;;
    publish) require_az; publish ;;
    down) require_az; teardown ;;
    azd-preprovision) azd_preprovision ;;
    azd-postprovision) azd_postprovision ;;
    -h | --help | "") usage 0 ;;
    *) log "unknown command: $command"; usage 2 ;;
  esac
}

main "$@"
