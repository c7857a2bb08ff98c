"""Graph's rules for presence subscriptions, as pure checks over the request body."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.graph_simulator.clock import parse_graph_datetime
from devstack.graph_simulator.errors import GraphApiError

MAX_PRESENCE_IDS = 650
MAX_PRESENCE_EXPIRATION = timedelta(minutes=60)
MIN_PRESENCE_EXPIRATION = timedelta(minutes=45)
MAX_CLIENT_STATE = 128
MAX_CERTIFICATE_ID = 128
TLS_VERSIONS = frozenset({"v1_0", "v1_1", "v1_2", "v1_3"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

WRITABLE_ON_CREATE = frozenset(
    {
        "changeType",
        "notificationUrl",
        "resource",
        "expirationDateTime",
        "clientState",
        "lifecycleNotificationUrl",
        "includeResourceData",
        "encryptionCertificate",
        "encryptionCertificateId",
        "latestSupportedTlsVersion",
        "notificationUrlAppId",
        "notificationQueryOptions",
    }
)
READ_ONLY = frozenset({"id", "applicationId", "creatorId"})

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_SINGLE = re.compile(r"^/?communications/presences/(?P<id>[^/?]+)$", re.IGNORECASE)
_BULK = re.compile(r"^/?communications/presences\?\$filter=id\s+in\s+\((?P<ids>.*)\)\s*$", re.IGNORECASE)
_QUOTED_ID = re.compile(r"^\s*'(?P<id>[^']*)'\s*$")


def _invalid(message: str) -> GraphApiError:
    return GraphApiError(400, "InvalidRequest", message)


def parse_presence_resource(resource: str) -> tuple[str, ...]:
    """The user ids a presence resource names (one, or up to 650 through `id in (...)`)."""
    text = unquote(resource.strip())
    single = _SINGLE.match(text)
    if single is not None:
        ids = [single.group("id")]
    else:
        bulk = _BULK.match(text)
        if bulk is None:
            raise _invalid(
                f"Resource '{resource}' is not supported: use /communications/presences/{{id}} or "
                "/communications/presences?$filter=id in ('id1','id2')."
            )
        ids = []
        for part in bulk.group("ids").split(","):
            quoted = _QUOTED_ID.match(part)
            if quoted is None:
                raise _invalid(f"Invalid id list in resource '{resource}': each id must be single-quoted.")
            ids.append(quoted.group("id"))
    if not ids:
        raise _invalid("The presence resource names no user id.")
    if len(ids) > MAX_PRESENCE_IDS:
        raise _invalid(
            f"Too many ids in the resource: {len(ids)}. A presence subscription supports at most "
            f"{MAX_PRESENCE_IDS} ids."
        )
    bad = next((i for i in ids if re.fullmatch(_GUID, i) is None), None)
    if bad is not None:
        raise _invalid(f"'{bad}' in resource is not a valid user object id.")
    unique: list[str] = []
    for user_id in (i.lower() for i in ids):
        if user_id not in unique:
            unique.append(user_id)
    return tuple(unique)


def check_notification_url(value: Any, name: str, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise _invalid(f"{name} is required.")
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host:
        return value
    if parts.scheme == "http" and host in LOOPBACK_HOSTS:
        return value
    raise _invalid(f"Invalid {name} '{value}': it must be an https URL (http is accepted only on loopback).")


def check_expiration(value: Any, now: datetime) -> datetime:
    """Presence subscriptions live at most 60 minutes; a shorter request is raised to 45 minutes."""
    if not isinstance(value, str) or not value:
        raise _invalid("expirationDateTime is required.")
    try:
        expiration = parse_graph_datetime(value)
    except ValueError as error:
        raise _invalid(f"expirationDateTime '{value}' is not a valid DateTimeOffset.") from error
    if expiration <= now:
        raise _invalid("Subscription expiration must be in the future.")
    if expiration > now + MAX_PRESENCE_EXPIRATION:
        raise GraphApiError(
            400,
            "ExtensionError",
            "Subscription expiration can only be "
            f"{int(MAX_PRESENCE_EXPIRATION.total_seconds() // 60)} minutes "
            "in the future.",
        )
    return max(expiration, now + MIN_PRESENCE_EXPIRATION)


def check_client_state(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_CLIENT_STATE:
        raise _invalid(f"clientState must be a string of at most {MAX_CLIENT_STATE} characters.")
    return value


@dataclass(frozen=True)
class EncryptionSettings:
    certificate: str
    certificate_id: str


def check_encryption(body: dict[str, Any]) -> EncryptionSettings | None:
    include = body.get("includeResourceData", False)
    if not isinstance(include, bool):
        raise _invalid("includeResourceData must be a boolean.")
    certificate = body.get("encryptionCertificate")
    certificate_id = body.get("encryptionCertificateId")
    if not include:
        return None
    if not isinstance(certificate, str) or not certificate:
        raise _invalid("A valid encryptionCertificate is required when includeResourceData is true.")
    if not isinstance(certificate_id, str) or not certificate_id:
        raise _invalid("encryptionCertificateId is required when includeResourceData is true.")
    if len(certificate_id) > MAX_CERTIFICATE_ID:
        raise _invalid(f"encryptionCertificateId must be at most {MAX_CERTIFICATE_ID} characters.")
    try:
        der = base64.b64decode(certificate, validate=True)
        cert = x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError) as error:
        raise _invalid("encryptionCertificate must be a base64-encoded DER X.509 certificate.") from error
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey) or not 2048 <= public_key.key_size <= 4096:
        raise _invalid("encryptionCertificate must hold an RSA public key of 2048 to 4096 bits.")
    return EncryptionSettings(certificate, certificate_id)


def check_create_properties(body: dict[str, Any]) -> None:
    for name in body:
        if name.startswith("@odata.") or name in WRITABLE_ON_CREATE or name in READ_ONLY:
            continue
        raise GraphApiError(
            400, "BadRequest", f"Property '{name}' does not exist on type 'microsoft.graph.subscription'."
        )
