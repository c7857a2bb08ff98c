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
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from shared.errors import ConfigurationError

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_CONSENT_STATE_TTL_SECONDS = 900
DEFAULT_GRAPH_TIMEOUT_SECONDS = 10
# An unknown `kid` refetches the issuer's keys at most this often (shared/security/signing_keys.py).
DEFAULT_SIGNING_KEYS_MIN_REFRESH_SECONDS = 300
DEFAULT_PRESENCE_QUEUE_NAME = "presence-changes"
DEFAULT_DIRECTORY_PHONE_REGION = "US"
DEFAULT_DIRECTORY_CACHE_SECONDS = 60
DEFAULT_WEBEX_TOKEN_URL = "https://webexapis.com/v1/access_token"  # noqa: S105 - a URL, not a password
DEFAULT_WEBEX_AUTHORIZE_URL = "https://webexapis.com/v1/authorize"
MICROSOFT_JWKS_URL = "https://login.microsoftonline.com/common/discovery/v2.0/keys"
_QUEUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,259}")
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
        "ENTRA_API_APP_ID_URI",
        "Application ID URI of the connector's API (the `aud` of v1 access tokens; v2 tokens carry "
        "ENTRA_APP_CLIENT_ID). Empty: api://<ENTRA_APP_CLIENT_ID>, what scripts/create-app-registration.sh "
        "sets.",
    ),
    SettingSpec(
        "ENTRA_TOKEN_JWKS_URL",
        "Where the signing keys (JWKS) of the admins' Entra access tokens are fetched.",
        default=MICROSOFT_JWKS_URL,
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
    SettingSpec(
        "ENTRA_APP_CLIENT_SECRET",
        "Client secret of the Entra app (local runs; the simulator accepts any value). Set this or "
        "ENTRA_APP_CERTIFICATE.",
        secret=True,
    ),
    SettingSpec(
        "ENTRA_APP_CERTIFICATE",
        "The Entra app's certificate with its private key: base64 PKCS#12 (a Key Vault certificate "
        "reference) or PEM. Set this or ENTRA_APP_CLIENT_SECRET.",
        secret=True,
    ),
    SettingSpec(
        "ENTRA_TOKEN_AUTHORITY_HOST",
        "https host of the token endpoint the app calls (MSAL, azure-identity). Empty: ENTRA_AUTHORITY_HOST.",
    ),
    SettingSpec(
        "ENTRA_AUTHORITY_CA_BUNDLE",
        "Path of a PEM CA bundle trusted for the token endpoint (the local simulator's self-signed "
        "certificate). Empty: the system CAs.",
    ),
    SettingSpec(
        "GRAPH_BASE_URL",
        "Microsoft Graph base URL, version included.",
        default=DEFAULT_GRAPH_BASE_URL,
    ),
    SettingSpec(
        "GRAPH_TIMEOUT_SECONDS",
        "Upper bound of one Graph call, token acquisition included, in seconds.",
        default=str(DEFAULT_GRAPH_TIMEOUT_SECONDS),
    ),
    SettingSpec(
        "SIGNING_KEYS_MIN_REFRESH_SECONDS",
        "How often at most a token with an unknown `kid` makes the app refetch a JWKS (admins' tokens, "
        "Graph's validation tokens), in seconds: a flood of forged kids cannot hammer the issuer.",
        default=str(DEFAULT_SIGNING_KEYS_MIN_REFRESH_SECONDS),
    ),
    SettingSpec(
        "GRAPH_NOTIFICATION_JWKS_URL",
        "Where the signing keys of rich notifications' validation tokens are fetched.",
        default=MICROSOFT_JWKS_URL,
    ),
    SettingSpec(
        "NOTIFICATION_CERTIFICATE",
        "Certificate with private key that Graph encrypts rich notifications for: base64 PKCS#12 (a "
        "Key Vault certificate reference) or PEM. RSA 2048-4096.",
        required=True,
        secret=True,
    ),
    SettingSpec(
        "NOTIFICATION_PREVIOUS_CERTIFICATE",
        "The certificate before a rotation, same format, kept for decrypting until every "
        "subscription carries the new one (at most an hour).",
        secret=True,
    ),
    SettingSpec(
        "ServiceBusConnection__fullyQualifiedNamespace",
        "Service Bus namespace (<name>.servicebus.windows.net) for the presence queue; the queue "
        "trigger reads it too. Not used by the local stack, which queues in process.",
    ),
    SettingSpec(
        "WEBEX_TOKEN_URL",
        "OAuth token endpoint of Webex (for tenants whose contact center is Webex Contact Center); "
        "the people API (`/people/me`) is taken beside it.",
        default=DEFAULT_WEBEX_TOKEN_URL,
    ),
    SettingSpec(
        "DIRECTORY_DEFAULT_PHONE_REGION",
        "Region (ISO 3166 alpha-2, e.g. US, GB) assumed for directory phone numbers written without a "
        "country code when they are normalised to E.164.",
        default=DEFAULT_DIRECTORY_PHONE_REGION,
    ),
    SettingSpec(
        "DIRECTORY_CACHE_SECONDS",
        "How long a page of directory users is reused per tenant and query, 0 to 60 seconds (presence "
        "is never cached).",
        default=str(DEFAULT_DIRECTORY_CACHE_SECONDS),
    ),
    SettingSpec(
        "WEBEX_AUTHORIZE_URL",
        "Where an admin's browser signs in to Webex (OAuth authorization code).",
        default=DEFAULT_WEBEX_AUTHORIZE_URL,
    ),
    SettingSpec(
        "WEBEX_CLIENT_ID",
        "Client id of the connector's Webex integration (developer.webex.com > My Webex Apps). Empty: "
        "Webex Contact Center cannot be signed in to; the webhook contact center still works.",
    ),
    SettingSpec(
        "WEBEX_CLIENT_SECRET",
        "Client secret of that Webex integration (a Key Vault reference in Azure).",
        secret=True,
    ),
    SettingSpec(
        "PRESENCE_QUEUE_NAME",
        "The sessions-enabled Service Bus queue that carries presence changes and agent events.",
        default=DEFAULT_PRESENCE_QUEUE_NAME,
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
    "ServiceBusConnection__credential",
    "ServiceBusConnection__clientId",
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
    # The `aud` values admins' access tokens may carry: the client id (v2) and the app id URI (v1).
    api_app_id_uri: str = ""
    token_jwks_url: str = MICROSOFT_JWKS_URL
    consent_state_ttl: timedelta = timedelta(seconds=DEFAULT_CONSENT_STATE_TTL_SECONDS)
    app_client_secret: str | None = field(default=None, repr=False)
    # PEM: the private key and the certificate (converted from PKCS#12 when given so).
    app_certificate_pem: bytes | None = field(default=None, repr=False)
    token_authority_host: str = DEFAULT_AUTHORITY_HOST
    authority_ca_bundle: str | None = None
    graph_base_url: str = DEFAULT_GRAPH_BASE_URL
    graph_timeout_seconds: float = DEFAULT_GRAPH_TIMEOUT_SECONDS
    signing_keys_min_refresh: timedelta = timedelta(seconds=DEFAULT_SIGNING_KEYS_MIN_REFRESH_SECONDS)
    notification_jwks_url: str = MICROSOFT_JWKS_URL
    notification_certificate: bytes = field(default=b"", repr=False)
    notification_previous_certificate: bytes | None = field(default=None, repr=False)
    service_bus_namespace: str | None = None
    presence_queue_name: str = DEFAULT_PRESENCE_QUEUE_NAME
    webex_token_url: str = DEFAULT_WEBEX_TOKEN_URL
    directory_default_phone_region: str = DEFAULT_DIRECTORY_PHONE_REGION
    directory_cache_seconds: int = DEFAULT_DIRECTORY_CACHE_SECONDS
    webex_authorize_url: str = DEFAULT_WEBEX_AUTHORIZE_URL
    webex_client_id: str | None = None
    webex_client_secret: str | None = field(default=None, repr=False)

    @property
    def api_audiences(self) -> tuple[str, ...]:
        return (self.entra_app_client_id, self.api_app_id_uri or f"api://{self.entra_app_client_id}")

    @property
    def consent_redirect_uri(self) -> str:
        return f"{self.public_base_url}/api/consent/callback"

    @property
    def sign_in_redirect_uri(self) -> str:
        return f"{self.public_base_url}/api/auth/callback"

    @property
    def notification_url(self) -> str:
        return f"{self.public_base_url}/api/graph/notifications"

    @property
    def lifecycle_notification_url(self) -> str:
        return f"{self.public_base_url}/api/graph/lifecycle"

    @property
    def webex_redirect_uri(self) -> str:
        return f"{self.public_base_url}/api/contact-center/webex/callback"

    def webex_events_url(self, tenant_id: str) -> str:
        """The subscription's destinationUrl: no query string (Webex allows none)."""
        return f"{self.public_base_url}/api/tenants/{tenant_id}/contact-center/webex/events"

    @property
    def contact_center_events_url_template(self) -> str:
        return f"{self.public_base_url}/api/tenants/{{tenantId}}/contact-center/events"


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
    missing = [spec.name for spec in SETTING_SPECS if spec.required and get(spec.name) is None]
    if missing:
        problems.append("missing required setting(s): " + ", ".join(missing))

    values: dict[str, Any] = {}
    for section in (
        _core_settings,
        _identity_settings,
        _graph_settings,
        _queue_settings,
        _directory_settings,
    ):
        values.update(section(get, problems))
    if problems:
        raise ConfigurationError("invalid app settings: " + "; ".join(problems))
    return Settings(**values)


_Get = Callable[[str], "str | None"]


def _core_settings(get: _Get, problems: list[str]) -> dict[str, Any]:
    connection_string = get("TABLES_CONNECTION_STRING")
    endpoint = get("TABLES_ENDPOINT")
    if (connection_string is None) == (endpoint is None):
        problems.append("set exactly one of TABLES_CONNECTION_STRING and TABLES_ENDPOINT")
    if endpoint is not None and not _is_http_url(endpoint):
        problems.append("TABLES_ENDPOINT must be an http(s) URL")

    public_base_url = (get("PUBLIC_BASE_URL") or "").rstrip("/")
    if public_base_url and not _is_http_url(public_base_url):
        problems.append("PUBLIC_BASE_URL must be an http(s) URL")

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
    return {
        "entra_app_client_id": get("ENTRA_APP_CLIENT_ID") or "",
        "public_base_url": public_base_url,
        "state_signing_key": signing_key,
        "secrets_encryption_key": encryption_key,
        "tables_connection_string": connection_string,
        "tables_endpoint": endpoint,
        "azure_client_id": get("AZURE_CLIENT_ID"),
        "consent_state_ttl": timedelta(seconds=ttl_seconds),
    }


def _identity_settings(get: _Get, problems: list[str]) -> dict[str, Any]:
    authority_host = (get("ENTRA_AUTHORITY_HOST") or DEFAULT_AUTHORITY_HOST).rstrip("/")
    if not _is_http_url(authority_host):
        problems.append("ENTRA_AUTHORITY_HOST must be an http(s) URL")

    client_secret = get("ENTRA_APP_CLIENT_SECRET")
    app_certificate: bytes | None = None
    raw_app_certificate = get("ENTRA_APP_CERTIFICATE")
    if (client_secret is None) == (raw_app_certificate is None):
        problems.append("set exactly one of ENTRA_APP_CLIENT_SECRET and ENTRA_APP_CERTIFICATE")
    if raw_app_certificate is not None:
        app_certificate = _certificate_pem(raw_app_certificate, "ENTRA_APP_CERTIFICATE", problems)

    app_id_uri = get("ENTRA_API_APP_ID_URI") or ""
    if app_id_uri and (
        len(app_id_uri) > 256 or any(c.isspace() for c in app_id_uri) or ":" not in app_id_uri
    ):
        problems.append("ENTRA_API_APP_ID_URI must be a URI such as api://<client id> (no spaces)")
    token_jwks_url = get("ENTRA_TOKEN_JWKS_URL") or MICROSOFT_JWKS_URL
    if not _is_http_url(token_jwks_url):
        problems.append("ENTRA_TOKEN_JWKS_URL must be an http(s) URL")

    token_authority_host = (get("ENTRA_TOKEN_AUTHORITY_HOST") or authority_host).rstrip("/")
    if not token_authority_host.startswith("https://") or not _is_http_url(token_authority_host):
        problems.append(
            "ENTRA_TOKEN_AUTHORITY_HOST (or ENTRA_AUTHORITY_HOST when it is empty) must be an https URL: "
            "MSAL and azure-identity refuse anything else"
        )
    return {
        "entra_authority_host": authority_host,
        "api_app_id_uri": app_id_uri,
        "token_jwks_url": token_jwks_url,
        "app_client_secret": client_secret,
        "app_certificate_pem": app_certificate,
        "token_authority_host": token_authority_host,
        # Not checked for existence here: the local stack writes the simulator's certificate at start.
        "authority_ca_bundle": get("ENTRA_AUTHORITY_CA_BUNDLE"),
    }


def _graph_settings(get: _Get, problems: list[str]) -> dict[str, Any]:
    graph_base_url = (get("GRAPH_BASE_URL") or DEFAULT_GRAPH_BASE_URL).rstrip("/")
    if not _is_http_url(graph_base_url):
        problems.append("GRAPH_BASE_URL must be an http(s) URL")
    jwks_url = get("GRAPH_NOTIFICATION_JWKS_URL") or MICROSOFT_JWKS_URL
    if not _is_http_url(jwks_url):
        problems.append("GRAPH_NOTIFICATION_JWKS_URL must be an http(s) URL")
    graph_timeout = float(DEFAULT_GRAPH_TIMEOUT_SECONDS)
    raw_timeout = get("GRAPH_TIMEOUT_SECONDS")
    if raw_timeout is not None:
        try:
            graph_timeout = float(raw_timeout)
        except ValueError:
            graph_timeout = -1.0
        if not 1 <= graph_timeout <= 120:
            problems.append("GRAPH_TIMEOUT_SECONDS must be a number from 1 to 120")
    min_refresh = DEFAULT_SIGNING_KEYS_MIN_REFRESH_SECONDS
    raw_min_refresh = get("SIGNING_KEYS_MIN_REFRESH_SECONDS")
    if raw_min_refresh is not None:
        min_refresh = int(raw_min_refresh) if raw_min_refresh.strip().isdigit() else -1
        if not 1 <= min_refresh <= 3600:
            problems.append("SIGNING_KEYS_MIN_REFRESH_SECONDS must be a whole number from 1 to 3600")

    raw_certificate = get("NOTIFICATION_CERTIFICATE")
    certificate = (
        _certificate_pem(raw_certificate, "NOTIFICATION_CERTIFICATE", problems) if raw_certificate else None
    )
    raw_previous = get("NOTIFICATION_PREVIOUS_CERTIFICATE")
    previous = (
        _certificate_pem(raw_previous, "NOTIFICATION_PREVIOUS_CERTIFICATE", problems)
        if raw_previous
        else None
    )
    return {
        "graph_base_url": graph_base_url,
        "graph_timeout_seconds": graph_timeout,
        "signing_keys_min_refresh": timedelta(seconds=max(min_refresh, 1)),
        "notification_jwks_url": jwks_url,
        "notification_certificate": certificate or b"",
        "notification_previous_certificate": previous,
    }


def _queue_settings(get: _Get, problems: list[str]) -> dict[str, Any]:
    namespace = get("ServiceBusConnection__fullyQualifiedNamespace")
    if namespace is not None and ("/" in namespace or ":" in namespace or not namespace.strip(".")):
        problems.append(
            "ServiceBusConnection__fullyQualifiedNamespace must be a host name like "
            "<name>.servicebus.windows.net (no scheme, no path)"
        )
    queue_name = get("PRESENCE_QUEUE_NAME") or DEFAULT_PRESENCE_QUEUE_NAME
    if not _QUEUE_NAME.fullmatch(queue_name):
        problems.append("PRESENCE_QUEUE_NAME must be a Service Bus queue name (letters, digits, . - _ /)")
    webex_token_url = get("WEBEX_TOKEN_URL") or DEFAULT_WEBEX_TOKEN_URL
    if not _is_http_url(webex_token_url):
        problems.append("WEBEX_TOKEN_URL must be an http(s) URL")
    webex_authorize_url = get("WEBEX_AUTHORIZE_URL") or DEFAULT_WEBEX_AUTHORIZE_URL
    if not _is_http_url(webex_authorize_url):
        problems.append("WEBEX_AUTHORIZE_URL must be an http(s) URL")
    webex_client_id, webex_client_secret = get("WEBEX_CLIENT_ID"), get("WEBEX_CLIENT_SECRET")
    if webex_client_id is not None and webex_client_secret is None:
        problems.append("WEBEX_CLIENT_ID is set: set WEBEX_CLIENT_SECRET too")
    if webex_client_id is None:
        # Without the id Webex sign-in is off; Azure keeps a placeholder secret in Key Vault.
        webex_client_secret = None
    return {
        "service_bus_namespace": namespace,
        "presence_queue_name": queue_name,
        "webex_token_url": webex_token_url,
        "webex_authorize_url": webex_authorize_url,
        "webex_client_id": webex_client_id,
        "webex_client_secret": webex_client_secret,
    }


def _directory_settings(get: _Get, problems: list[str]) -> dict[str, Any]:
    from shared.directory.phones import is_region

    region = (get("DIRECTORY_DEFAULT_PHONE_REGION") or DEFAULT_DIRECTORY_PHONE_REGION).strip().upper()
    if not is_region(region):
        problems.append("DIRECTORY_DEFAULT_PHONE_REGION must be a region code such as US, GB or DE")
    raw_seconds = (get("DIRECTORY_CACHE_SECONDS") or str(DEFAULT_DIRECTORY_CACHE_SECONDS)).strip()
    seconds = int(raw_seconds) if raw_seconds.isascii() and raw_seconds.isdigit() else -1
    if not 0 <= seconds <= 60:
        problems.append("DIRECTORY_CACHE_SECONDS must be a whole number from 0 to 60")
    return {"directory_default_phone_region": region, "directory_cache_seconds": max(0, min(seconds, 60))}


def _certificate_pem(value: str, name: str, problems: list[str]) -> bytes | None:
    """PEM (private key + certificate) from PEM text or base64 PKCS#12 (what a Key Vault certificate
    reference resolves to); None, with a problem noted, when it is neither or has no private key."""
    try:
        return certificate_to_pem(value)
    except ValueError as exc:
        problems.append(f"{name}: {exc}")
        return None


def certificate_to_pem(value: str) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    if "-----BEGIN" in value:
        pem = value.replace("\\n", "\n").encode("ascii", "replace")
        try:
            x509.load_pem_x509_certificate(pem)
            serialization.load_pem_private_key(pem, None)
        except (ValueError, TypeError) as exc:
            raise ValueError("the PEM text must hold an unencrypted private key and its certificate") from exc
        return pem
    try:
        raw = base64.b64decode(value, validate=True)
        key, certificate, _chain = pkcs12.load_key_and_certificates(raw, None)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ValueError("neither PEM nor base64 PKCS#12 without a password") from exc
    if key is None or certificate is None:
        raise ValueError("the PKCS#12 data must hold a certificate and its private key")
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + certificate.public_bytes(serialization.Encoding.PEM)


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)
