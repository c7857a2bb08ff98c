"""Verify the Microsoft Entra ID access tokens admins call the connector's API with.

A token is accepted when it is an RS256 JWT signed by one of the issuer's published keys (fetched from
the JWKS URL of a setting, cached, refreshed on an unknown `kid` at most once per interval: see
shared/security/signing_keys.py), meant for this API (`aud` is the app's client id, as in v2 tokens,
or its app id URI, as in v1 tokens), issued by the token's own tenant (`iss` is the v2 issuer
`https://login.microsoftonline.com/{tid}/v2.0` or the v1 `https://sts.windows.net/{tid}/`), and
within its lifetime (`exp`, `nbf`) give or take at most 60 seconds. PyJWT parses and checks the
signature; the claims are checked against our clock (shared/security/entra_tokens.py, the checks
Graph's validation tokens get too), with errors that say which check failed.

Which tenant and role the route needs is not the verifier's business: see policies.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.identity.exceptions import InvalidToken
from shared.identity.principal import AuthMethod, Principal, PrincipalKind
from shared.security import entra_tokens
from shared.security.exceptions import UnknownSigningKey
from shared.security.signing_keys import SigningKeySource

MAX_TOKEN_LENGTH = 16_384
MAX_LEEWAY = timedelta(seconds=60)
MAX_NAME_LENGTH = 256

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AccessTokenVerifier:
    def __init__(
        self,
        audiences: Iterable[str],
        key_source: SigningKeySource,
        clock: Clock = _utc_now,
        *,
        leeway: timedelta = MAX_LEEWAY,
    ) -> None:
        self._audiences = frozenset(a for a in audiences if a)
        if not self._audiences:
            raise ValueError("at least one accepted audience (the API's client id or app id URI) is required")
        if not timedelta(0) <= leeway <= MAX_LEEWAY:
            raise ValueError(f"the clock leeway must be between 0 and {MAX_LEEWAY.total_seconds():.0f} s")
        self._key_source = key_source
        self._clock = clock
        self._leeway = leeway

    @property
    def audiences(self) -> frozenset[str]:
        return self._audiences

    def verify(self, token: str) -> Principal:
        """The principal a valid token names; raise InvalidToken (or SigningKeysUnavailable) otherwise."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            raise InvalidToken("the bearer token is empty, too long or not ASCII")
        try:
            claims = entra_tokens.signed_claims(token, self._key_source)
            entra_tokens.check_lifetime(claims, self._clock(), self._leeway)
            if not entra_tokens.is_for(claims, self._audiences):
                raise entra_tokens.TokenRejected("was not issued for this API (aud)")
            tenant_id = entra_tokens.issuing_tenant(claims)
        except UnknownSigningKey as exc:
            raise InvalidToken("the token is signed with a key the issuer does not publish") from exc
        except entra_tokens.TokenRejected as exc:
            raise InvalidToken(f"the token {exc.message}") from exc
        return self._principal(claims, tenant_id)

    def _principal(self, claims: Mapping[str, Any], tenant_id: str) -> Principal:
        object_id = entra_tokens.guid(claims.get("oid"))
        if object_id is None:
            raise InvalidToken("the token has no valid object id (oid)")
        scopes = claims.get("scp")
        if scopes is not None and not isinstance(scopes, str):
            raise InvalidToken("the token's scp claim must be a string")
        username = _text(claims, "upn") or _text(claims, "preferred_username") or _text(claims, "unique_name")
        client = _text(claims, "azp") or _text(claims, "appid")
        return Principal(
            tenant_id=tenant_id,
            object_id=object_id,
            # Delegated tokens carry scopes; app-only tokens carry app roles alone.
            kind=PrincipalKind.USER if scopes is not None else PrincipalKind.APPLICATION,
            method=AuthMethod.BEARER,
            username=username,
            display_name=_text(claims, "name"),
            roles=_strings(claims, "roles"),
            directory_roles=frozenset(role.lower() for role in _strings(claims, "wids")),
            scopes=frozenset((scopes or "").split()),
            client_app_id=client.lower() if client else None,
        )


def _text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:MAX_NAME_LENGTH]


def _strings(claims: Mapping[str, Any], name: str) -> frozenset[str]:
    value = claims.get(name)
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidToken(f"the token's {name} claim must be an array of strings")
    return frozenset(value)
