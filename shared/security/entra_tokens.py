"""The checks every Microsoft Entra ID JWT gets, whatever it is for: the admins' access tokens
(shared/identity/verifier.py) and Graph's `validationTokens` (shared/notifications/validation_tokens.py).

PyJWT parses the token and checks the RS256 signature with the issuer's key named by `kid`; lifetime,
tenant, issuer and audience are checked here against the caller's clock, so each failure says which
check failed. Failures raise `TokenRejected` (the reason, never the token), `UnknownSigningKey` or
`SigningKeysUnavailable`; each verifier turns them into its own area's error.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from shared.security.exceptions import SecurityError
from shared.security.signing_keys import SigningKeySource

SIGNING_ALGORITHM = "RS256"
MAX_KID_LENGTH = 256


class TokenRejected(SecurityError):
    code = "tokenRejected"


def signed_claims(token: str, key_source: SigningKeySource) -> dict[str, Any]:
    """The claims of `token` once its RS256 signature verifies with the issuer's key for its `kid`."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenRejected("is not a JWT") from exc
    kid = header.get("kid")
    usable_kid = isinstance(kid, str) and 0 < len(kid) <= MAX_KID_LENGTH
    if header.get("alg") != SIGNING_ALGORITHM or not usable_kid:
        raise TokenRejected(f"must be signed with {SIGNING_ALGORITHM} and name its key (kid)")
    key = key_source.signing_key(str(kid))
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[SIGNING_ALGORITHM],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise TokenRejected("signature does not verify") from exc
    return claims


def check_lifetime(claims: Mapping[str, Any], now: datetime, leeway: timedelta) -> datetime:
    """The expiry, once `now` is within `nbf`..`exp` give or take `leeway`."""
    expires_at = numeric_date(claims, "exp")
    if expires_at is None:
        raise TokenRejected("has no exp claim")
    if now > expires_at + leeway:
        raise TokenRejected("has expired")
    not_before = numeric_date(claims, "nbf")
    if not_before is not None and now < not_before - leeway:
        raise TokenRejected("is not valid yet (nbf)")
    return expires_at


def issuers_of(tenant_id: str) -> tuple[str, str]:
    """The issuers Entra ID signs a tenant's tokens as: v2, then v1."""
    return f"https://login.microsoftonline.com/{tenant_id}/v2.0", f"https://sts.windows.net/{tenant_id}/"


def issuing_tenant(claims: Mapping[str, Any]) -> str:
    """The token's tenant (lower-case GUID), once `iss` is that tenant's v2 or v1 issuer."""
    raw = claims.get("tid")
    tenant_id = guid(raw)
    if tenant_id is None:
        raise TokenRejected("has no valid tenant id (tid claim)")
    if claims.get("iss") not in issuers_of(str(raw)):
        raise TokenRejected(f"was not issued by tenant {tenant_id} (issuer)")
    return tenant_id


def is_for(claims: Mapping[str, Any], audiences: Collection[str]) -> bool:
    audience = claims.get("aud")
    candidates = audience if isinstance(audience, list) else [audience]
    return any(isinstance(candidate, str) and candidate in audiences for candidate in candidates)


def numeric_date(claims: Mapping[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRejected(f"{name} claim must be a NumericDate")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise TokenRejected(f"{name} claim is out of range") from exc


def guid(value: Any) -> str | None:
    """`value` as a lower-case GUID in its 36-character form, or None."""
    if not isinstance(value, str) or len(value) != 36:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
