"""Signed, expiring `state` values for OAuth redirects (admin consent, sync-account sign-in).

A state is `base64url(json claims) "." base64url(HMAC-SHA256(key, purpose "." payload))`. The purpose is
part of the MAC so a sign-in state can never be replayed as a consent state. Single use is enforced by the
caller, which binds a per-attempt id into the claims and forgets the attempt once it is used. The state
also names the admin who asked for it (his Entra object id): the anonymous callbacks complete only a
state issued to an authenticated admin.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.security.exceptions import ExpiredSignedState, InvalidSignedState

MAX_STATE_LENGTH = 2048


@dataclass(frozen=True)
class StateClaims:
    purpose: str
    tenant_id: str
    attempt_id: str
    expires_at: datetime
    # The object id of the admin the state was issued to; None in a state signed before states named one.
    requested_by: str | None = None


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class StateSigner:
    def __init__(self, key: bytes, clock: Callable[[], datetime]) -> None:
        if len(key) < 32:
            raise ValueError("the state signing key must be at least 32 bytes")
        self._key = key
        self._clock = clock

    def sign(
        self, purpose: str, tenant_id: str, attempt_id: str, expires_at: datetime, *, requested_by: str
    ) -> str:
        if not requested_by:
            raise ValueError("a state is issued to an authenticated admin: requested_by is required")
        claims = {
            "p": purpose,
            "t": tenant_id,
            "a": attempt_id,
            "e": int(expires_at.timestamp()),
            "o": requested_by,
        }
        payload = _b64encode(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{self._mac(purpose, payload)}"

    def verify(self, state: str, purpose: str) -> StateClaims:
        """The claims of a state this app signed for `purpose`; raises on anything else."""
        if not state or len(state) > MAX_STATE_LENGTH or not state.isascii() or state.count(".") != 1:
            raise InvalidSignedState("the state is malformed")
        payload, signature = state.split(".")
        if not hmac.compare_digest(signature, self._mac(purpose, payload)):
            raise InvalidSignedState("the state signature does not verify")
        try:
            claims = json.loads(_b64decode(payload))
            result = StateClaims(
                purpose=str(claims["p"]),
                tenant_id=str(claims["t"]),
                attempt_id=str(claims["a"]),
                expires_at=datetime.fromtimestamp(int(claims["e"]), tz=UTC),
                requested_by=str(claims["o"]) if claims.get("o") else None,
            )
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise InvalidSignedState("the state payload is malformed") from exc
        if result.purpose != purpose:
            raise InvalidSignedState("the state was issued for another purpose")
        if self._clock() >= result.expires_at:
            raise ExpiredSignedState("the state has expired")
        return result

    def _mac(self, purpose: str, payload: str) -> str:
        digest = hmac.new(self._key, f"{purpose}.{payload}".encode(), hashlib.sha256).digest()
        return _b64encode(digest)
