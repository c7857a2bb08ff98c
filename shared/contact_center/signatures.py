"""HMAC-SHA256 signatures shared by both directions of the contact-center contract.

Inbound agent events and outbound webhook calls carry `X-Connector-Signature: sha256=<lower hex>`,
the HMAC-SHA256 of the raw request body keyed with the tenant's secret (UTF-8). A GET has no body, so
it signs `GET {path}\\n{X-Connector-Timestamp}` instead (the path as sent, percent-encoded, without the
query string): the signature then expires with the timestamp and cannot be replayed for another agent.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

SIGNATURE_HEADER: Final = "X-Connector-Signature"
TIMESTAMP_HEADER: Final = "X-Connector-Timestamp"
TENANT_HEADER: Final = "X-Connector-Tenant"
EVENTS_URL_HEADER: Final = "X-Connector-Events-Url"
SCHEME: Final = "sha256="
# A SHA-256 HMAC as lower-case hex, behind the scheme prefix; anything longer is not ours.
_MAX_HEADER_LENGTH: Final = len(SCHEME) + 64


def signature_for(payload: bytes, secret: str) -> str:
    """The header value for `payload`: `sha256=` + the lower-case hex HMAC-SHA256."""
    digest = hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()
    return SCHEME + digest


def get_request_payload(path: str, timestamp: str) -> bytes:
    """What a GET request signs, since it has no body."""
    return f"GET {path}\n{timestamp}".encode()


def verify_signature(raw_body: bytes, header_value: str | None, secret: str) -> bool:
    """True when the header carries the body's HMAC under `secret`; compared in constant time."""
    if not header_value or not secret:
        return False
    candidate = header_value.strip()
    if len(candidate) > _MAX_HEADER_LENGTH or candidate[: len(SCHEME)].lower() != SCHEME:
        return False
    try:
        given = candidate[len(SCHEME) :].lower().encode("ascii")
    except UnicodeEncodeError:
        return False
    expected = signature_for(raw_body, secret)[len(SCHEME) :].encode("ascii")
    return hmac.compare_digest(given, expected)
