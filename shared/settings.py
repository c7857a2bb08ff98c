"""Every app setting the connector reads, read in this one place.

`SETTING_SPECS` is the registry: the README's settings table, local.settings.example.json and the
infrastructure consistency test are all checked against it. `HOST_SETTINGS` lists what the Azure
Functions host and its bindings read (the code never does), so infra can set them without tripping
the "set but never read" check.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from shared.errors import ConfigurationError

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_CONSENT_STATE_TTL_SECONDS = 900
MIN_STATE_SIGNING_KEY_BYTES = 32


@dataclass(frozen=True)
class SettingSpec:
    name: str
    description: str
    required: bool = False
    default: str | None = None
    secret: bool = False


SETTING_SPECS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "TABLES_CONNECTION_STRING",
        "Table Storage connection string, for local runs (`UseDevelopmentStorage=true` is Azurite). "
        "Set this or TABLES_ENDPOINT.",
        secret=True,
    ),
    SettingSpec(
        "TABLES_ENDPOINT",
        "Table service URI (https://<account>.table.core.windows.net), reached with the managed "
        "identity. Set this or TABLES_CONNECTION_STRING.",
    ),
    SettingSpec(
        "AZURE_CLIENT_ID",
        "Client id of the user-assigned managed identity used for Table Storage and Service Bus. "
        "Empty: the default Azure credential chain.",
    ),
    SettingSpec(
        "ENTRA_APP_CLIENT_ID",
        "Application (client) id of the multi-tenant Entra app that tenant admins consent to.",
        required=True,
    ),
    SettingSpec(
        "ENTRA_AUTHORITY_HOST",
        "Microsoft identity platform host used to build consent and sign-in URLs.",
        default=DEFAULT_AUTHORITY_HOST,
    ),
    SettingSpec(
        "PUBLIC_BASE_URL",
        "Public base URL of this Function App (no trailing /api); callback and notification URLs "
        "are built from it.",
        required=True,
    ),
    SettingSpec(
        "STATE_SIGNING_KEY",
        "Secret (at least 32 bytes) that signs consent and sign-in `state` values (HMAC-SHA256). "
        "Key Vault reference in Azure.",
        required=True,
        secret=True,
    ),
    SettingSpec(
        "SECRETS_ENCRYPTION_KEY",
        "Base64 of a 32-byte AES key that encrypts contact-center secrets and token caches at rest. "
        "Key Vault reference in Azure.",
        required=True,
        secret=True,
    ),
    SettingSpec(
        "CONSENT_STATE_TTL_SECONDS",
        "How long an admin consent link stays valid, in seconds.",
        default=str(DEFAULT_CONSENT_STATE_TTL_SECONDS),
    ),
)

# Read by the Functions host and its bindings, never by our code. Identity-based connections use
# the `__` suffixes (`AzureWebJobsStorage__accountName`, `__credential`, `__clientId`).
HOST_SETTINGS: tuple[str, ...] = (
    "AzureWebJobsStorage",
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
)


@dataclass(frozen=True)
class Settings:
    entra_app_client_id: str
    public_base_url: str
    state_signing_key: bytes = field(repr=False)
    secrets_encryption_key: bytes = field(repr=False)
    tables_connection_string: str | None = field(default=None, repr=False)
    tables_endpoint: str | None = None
    azure_client_id: str | None = None
    entra_authority_host: str = DEFAULT_AUTHORITY_HOST
    consent_state_ttl: timedelta = timedelta(seconds=DEFAULT_CONSENT_STATE_TTL_SECONDS)

    @property
    def consent_redirect_uri(self) -> str:
        return f"{self.public_base_url}/api/consent/callback"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise one ConfigurationError naming all problems."""
    env = os.environ if environ is None else environ
    problems: list[str] = []

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    # An unresolved Key Vault reference reaches the app as its literal text: never use that as a key.
    unresolved = [
        spec.name for spec in SETTING_SPECS if (get(spec.name) or "").startswith("@Microsoft.KeyVault(")
    ]
    if unresolved:
        problems.append(
            "unresolved Key Vault reference(s): " + ", ".join(unresolved) + " (check the identity's access)"
        )

    specs = {spec.name: spec for spec in SETTING_SPECS}
    missing = [name for name, spec in specs.items() if spec.required and get(name) is None]
    if missing:
        problems.append("missing required setting(s): " + ", ".join(missing))

    connection_string = get("TABLES_CONNECTION_STRING")
    endpoint = get("TABLES_ENDPOINT")
    if (connection_string is None) == (endpoint is None):
        problems.append("set exactly one of TABLES_CONNECTION_STRING and TABLES_ENDPOINT")
    if endpoint is not None and not _is_http_url(endpoint):
        problems.append("TABLES_ENDPOINT must be an http(s) URL")

    public_base_url = (get("PUBLIC_BASE_URL") or "").rstrip("/")
    if public_base_url and not _is_http_url(public_base_url):
        problems.append("PUBLIC_BASE_URL must be an http(s) URL")
    authority_host = (get("ENTRA_AUTHORITY_HOST") or DEFAULT_AUTHORITY_HOST).rstrip("/")
    if not _is_http_url(authority_host):
        problems.append("ENTRA_AUTHORITY_HOST must be an http(s) URL")

    signing_key = (get("STATE_SIGNING_KEY") or "").encode()
    if signing_key and len(signing_key) < MIN_STATE_SIGNING_KEY_BYTES:
        problems.append(f"STATE_SIGNING_KEY must be at least {MIN_STATE_SIGNING_KEY_BYTES} bytes")

    encryption_key = b""
    raw_encryption_key = get("SECRETS_ENCRYPTION_KEY")
    if raw_encryption_key:
        try:
            encryption_key = base64.b64decode(raw_encryption_key, validate=True)
        except (binascii.Error, ValueError):
            encryption_key = b""
        if len(encryption_key) != 32:
            problems.append("SECRETS_ENCRYPTION_KEY must be the base64 of exactly 32 bytes")

    ttl_seconds = DEFAULT_CONSENT_STATE_TTL_SECONDS
    raw_ttl = get("CONSENT_STATE_TTL_SECONDS")
    if raw_ttl is not None:
        if raw_ttl.isdigit() and 60 <= int(raw_ttl) <= 86_400:
            ttl_seconds = int(raw_ttl)
        else:
            problems.append("CONSENT_STATE_TTL_SECONDS must be a whole number from 60 to 86400")

    if problems:
        raise ConfigurationError("invalid app settings: " + "; ".join(problems))

    return Settings(
        entra_app_client_id=get("ENTRA_APP_CLIENT_ID") or "",
        public_base_url=public_base_url,
        state_signing_key=signing_key,
        secrets_encryption_key=encryption_key,
        tables_connection_string=connection_string,
        tables_endpoint=endpoint,
        azure_client_id=get("AZURE_CLIENT_ID"),
        entra_authority_host=authority_host,
        consent_state_ttl=timedelta(seconds=ttl_seconds),
    )


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)
