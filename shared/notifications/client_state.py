"""Subscription `clientState` values the intake verifies without reading any table.

A client state is base64url(version || nonce || HMAC-SHA256(key, version || len(tenant) || tenant ||
nonce)). The random nonce makes each subscription's value distinct; the MAC binds it to one tenant, so a
client state copied from another tenant's subscription, or edited, fails. 66 characters, well under
Graph's 128.

Older keys may be passed to verify during a key rotation; `issue` always uses the current key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable

MIN_KEY_BYTES = 32
NONCE_BYTES = 16
MAC_BYTES = 32
VERSION = b"\x01"
_DECODED_LENGTH = len(VERSION) + NONCE_BYTES + MAC_BYTES
MAX_CLIENT_STATE_LENGTH = 128
MAX_TENANT_ID_LENGTH = 256


class ClientStateSigner:
    def __init__(self, key: bytes, previous_keys: Iterable[bytes] = ()) -> None:
        keys = (key, *previous_keys)
        if any(len(k) < MIN_KEY_BYTES for k in keys):
            raise ValueError(f"client state keys must be at least {MIN_KEY_BYTES} bytes")
        self._key = key
        self._keys = keys

    def issue(self, tenant_id: str) -> str:
        if not tenant_id.strip() or len(tenant_id) > MAX_TENANT_ID_LENGTH:
            raise ValueError("a client state needs a tenant id of 1 to 256 characters")
        nonce = secrets.token_bytes(NONCE_BYTES)
        token = VERSION + nonce + _mac(self._key, tenant_id, nonce)
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")

    def verify(self, client_state: str | None, tenant_id: str) -> bool:
        """True only for a client state this app issued for `tenant_id` (compared in constant time)."""
        if not client_state or len(client_state) > MAX_CLIENT_STATE_LENGTH:
            return False
        if not tenant_id.strip() or len(tenant_id) > MAX_TENANT_ID_LENGTH:
            return False
        try:
            raw = base64.urlsafe_b64decode(client_state + "=" * (-len(client_state) % 4))
        except (binascii.Error, ValueError):
            return False
        if len(raw) != _DECODED_LENGTH or raw[:1] != VERSION:
            return False
        # The decoder skips characters outside the alphabet; only the canonical spelling is accepted.
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != client_state:
            return False
        nonce = raw[1 : 1 + NONCE_BYTES]
        presented = raw[1 + NONCE_BYTES :]
        matched = False
        # Every key is tried, so the time taken does not reveal which key (if any) matched.
        for key in self._keys:
            matched |= hmac.compare_digest(_mac(key, tenant_id, nonce), presented)
        return matched


def _mac(key: bytes, tenant_id: str, nonce: bytes) -> bytes:
    tenant = tenant_id.strip().lower().encode("utf-8")
    message = VERSION + len(tenant).to_bytes(2, "big") + tenant + nonce
    return hmac.new(key, message, hashlib.sha256).digest()
