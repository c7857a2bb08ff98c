"""The console's one cookie: a pending sign-in or a signed-in session, sealed with AES-256-GCM.

One cookie with two shapes, because a Functions HTTP response carries one `Set-Cookie` header: the
sign-in start sets it to the pending sign-in (state, PKCE verifier, nonce), the callback replaces it
with the session, sign-out clears it. Sealed (not just signed), so neither the PKCE verifier nor the
principal's claims can be read or changed in the browser; bound to its kind by the AEAD's associated
data, so a pending cookie never opens as a session. Short-lived: a session ends 60 minutes after
sign-in at the latest, or when the access token it was verified from expires, whichever comes first.

Attributes: HttpOnly always; Secure unless the console is served from loopback over plain http (the
local stack); SameSite=Lax on loopback, SameSite=None (with Secure) when deployed, because the Teams
client shows the console in a cross-site frame and Lax cookies are not sent there. Cross-site requests
cannot change anything either way: every state-changing call must echo the session's CSRF token in the
`X-CSRF-Token` header, which only a page of our origin can read (GET /api/console/session).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from shared.identity.principal import AuthMethod, Principal, PrincipalKind
from shared.security.exceptions import SecretDecryptionFailed
from shared.security.secret_box import SecretBox

SESSION_LIFETIME = timedelta(minutes=60)
SIGN_IN_LIFETIME = timedelta(minutes=10)
# Chromium drops cookies past 4096 bytes; a sealed session is about 1 KB.
MAX_COOKIE_BYTES = 4000
CSRF_HEADER = "x-csrf-token"
# The cookie's name where the console is served over https; on loopback http, without the prefix.
SESSION_COOKIE = "__Host-connector-console"
LOOPBACK_SESSION_COOKIE = "connector-console"
_PENDING = "console-pending-sign-in-v1"
_SESSION = "console-session-v1"


class CookieRejected(ValueError):
    """The cookie is missing, does not open, or has expired; the reason is safe to log."""


@dataclass(frozen=True)
class PendingSignIn:
    tenant_id: str
    state: str = field(repr=False)
    code_verifier: str = field(repr=False)
    nonce: str = field(repr=False)
    # Which page to return to: "admin" (the console) or "directory".
    page: str
    # Started from the Teams client's authentication window (the callback tells Teams it is done).
    popup: bool
    expires_at: datetime


@dataclass(frozen=True)
class ConsoleSession:
    principal: Principal
    csrf_token: str = field(repr=False)
    signed_in_at: datetime
    expires_at: datetime

    def csrf_matches(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self.csrf_token.encode())


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class CookiePolicy:
    """Name and attributes of the cookie, from where the console is served."""

    secure: bool

    @classmethod
    def for_base_url(cls, public_base_url: str) -> CookiePolicy:
        parts = urlsplit(public_base_url)
        loopback = parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost", "::1"}
        return cls(secure=not loopback)

    @property
    def name(self) -> str:
        # __Host-: the browser refuses it unless Secure, Path=/ and no Domain, so no sibling host can
        # plant or overwrite it.
        return SESSION_COOKIE if self.secure else LOOPBACK_SESSION_COOKIE

    def set_cookie(self, value: str, max_age: timedelta) -> str:
        attributes = [f"{self.name}={value}", "Path=/", f"Max-Age={int(max_age.total_seconds())}", "HttpOnly"]
        attributes += ["Secure", "SameSite=None"] if self.secure else ["SameSite=Lax"]
        return "; ".join(attributes)

    def clear_cookie(self) -> str:
        return self.set_cookie("", timedelta(0))

    def value_in(self, cookie_header: str | None) -> str | None:
        """This cookie's value in a `Cookie` request header (the last one wins, as browsers send the most
        specific path first)."""
        found = None
        for part in (cookie_header or "").split(";"):
            name, separator, value = part.strip().partition("=")
            if separator and name == self.name and value:
                found = value
        return found


class SessionSealer:
    def __init__(self, box: SecretBox) -> None:
        self._box = box

    def seal_pending(self, pending: PendingSignIn) -> str:
        return self._seal(
            {
                "tid": pending.tenant_id,
                "state": pending.state,
                "verifier": pending.code_verifier,
                "nonce": pending.nonce,
                "page": pending.page,
                "popup": pending.popup,
                "exp": _epoch(pending.expires_at),
            },
            _PENDING,
        )

    def open_pending(self, value: str | None, now: datetime) -> PendingSignIn:
        claims = self._open(value, _PENDING, now)
        try:
            return PendingSignIn(
                tenant_id=_text(claims, "tid"),
                state=_text(claims, "state"),
                code_verifier=_text(claims, "verifier"),
                nonce=_text(claims, "nonce"),
                page=_text(claims, "page"),
                popup=claims.get("popup") is True,
                expires_at=_moment(claims["exp"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CookieRejected("the pending sign-in cookie is incomplete") from exc

    def seal_session(self, session: ConsoleSession) -> str:
        principal = session.principal
        return self._seal(
            {
                "tid": principal.tenant_id,
                "oid": principal.object_id,
                "kind": principal.kind.value,
                "upn": principal.username,
                "name": principal.display_name,
                "roles": sorted(principal.roles),
                "wids": sorted(principal.directory_roles),
                "scp": sorted(principal.scopes),
                "azp": principal.client_app_id,
                "csrf": session.csrf_token,
                "iat": _epoch(session.signed_in_at),
                "exp": _epoch(session.expires_at),
            },
            _SESSION,
        )

    def open_session(self, value: str | None, now: datetime) -> ConsoleSession:
        claims = self._open(value, _SESSION, now)
        try:
            principal = Principal(
                tenant_id=_text(claims, "tid"),
                object_id=_text(claims, "oid"),
                kind=PrincipalKind(_text(claims, "kind")),
                method=AuthMethod.SESSION,
                username=_optional(claims, "upn"),
                display_name=_optional(claims, "name"),
                roles=_strings(claims, "roles"),
                directory_roles=_strings(claims, "wids"),
                scopes=_strings(claims, "scp"),
                client_app_id=_optional(claims, "azp"),
            )
            return ConsoleSession(
                principal=principal,
                csrf_token=_text(claims, "csrf"),
                signed_in_at=_moment(claims["iat"]),
                expires_at=_moment(claims["exp"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CookieRejected("the session cookie is incomplete") from exc

    def _seal(self, claims: Mapping[str, Any], context: str) -> str:
        plaintext = json.dumps(claims, separators=(",", ":"), sort_keys=True)
        sealed = self._box.seal(plaintext, context)
        # Cookie-safe: the sealed text is base64 behind a version prefix; url-safe base64 of it has no
        # character a cookie value may not hold.
        value = base64.urlsafe_b64encode(sealed.encode("ascii")).decode("ascii").rstrip("=")
        if len(value) > MAX_COOKIE_BYTES:
            raise ValueError("the sealed console cookie is too large")
        return value

    def _open(self, value: str | None, context: str, now: datetime) -> dict[str, Any]:
        if not value:
            raise CookieRejected("no console cookie was sent")
        if len(value) > MAX_COOKIE_BYTES or not value.isascii():
            raise CookieRejected("the console cookie is malformed")
        try:
            sealed = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
            claims = json.loads(self._box.open(sealed, context))
        except (ValueError, UnicodeDecodeError, SecretDecryptionFailed) as exc:
            raise CookieRejected(
                "the console cookie does not open (tampered, or from another deployment)"
            ) from exc
        if not isinstance(claims, dict):
            raise CookieRejected("the console cookie is malformed")
        expires = claims.get("exp")
        if not isinstance(expires, int) or isinstance(expires, bool) or _moment(expires) <= now:
            raise CookieRejected("the console session has expired")
        return claims


def state_digest(state: str) -> str:
    """What a log line may say about a state: a short digest, never the value."""
    return hashlib.sha256(state.encode()).hexdigest()[:12]


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(value: Any) -> datetime:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("a timestamp must be an integer")
    return datetime.fromtimestamp(value, UTC)


def _text(claims: Mapping[str, Any], name: str) -> str:
    value = claims[name]
    if not isinstance(value, str) or not value:
        raise TypeError(f"{name} must be a non-empty string")
    return value


def _optional(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None


def _strings(claims: Mapping[str, Any], name: str) -> frozenset[str]:
    value = claims.get(name) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"{name} must be a list of strings")
    return frozenset(value)
