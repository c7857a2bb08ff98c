"""The connector's HMAC scheme, implemented independently of shared/ so tests catch contract drift.

`X-Connector-Signature: sha256=<lower hex HMAC-SHA256>` of the raw body (POST) or of
`GET {path}\\n{X-Connector-Timestamp}` (GET), keyed with the tenant's secret.
"""

from __future__ import annotations

import hashlib
import hmac


def sign(payload: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()


def matches(payload: bytes, header: str | None, secret: str) -> bool:
    if header is None:
        return False
    return hmac.compare_digest(header.strip().encode("utf-8", "replace"), sign(payload, secret).encode())


def get_payload(raw_path: str, timestamp: str) -> bytes:
    return f"GET {raw_path}\n{timestamp}".encode()
