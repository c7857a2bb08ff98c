"""Verify the `validationTokens` JWTs Graph attaches to rich notifications.

Graph adds one token per (app, tenant) in a batch. Each must be signed (RS256) with one of the Microsoft
identity platform's published keys, be within its lifetime, come from the tenant's issuer, be meant for
this app (`aud`) and be minted for Microsoft Graph change tracking (`appid`/`azp`). Every tenant with
notifications in the batch must be covered by a token.

Graph reuses a token across many deliveries, so a verified token is remembered (by its SHA-256) until it
expires: a batch of 100 notifications, or the next 1,000 batches, cost one signature check. Where the
keys come from is a port (shared/security/signing_keys.py): Microsoft's JWKS endpoint in Azure, the
simulator's locally, a fixed key in tests.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.notifications.exceptions import (
    InvalidValidationTokenError,
    MissingValidationTokenError,
    UnknownSigningKeyError,
)
from shared.security import entra_tokens
from shared.security.exceptions import UnknownSigningKey
from shared.security.signing_keys import SigningKeySource

logger = logging.getLogger(__name__)

GRAPH_CHANGE_TRACKING_APP_ID = "0bf30f3b-4a52-48df-9a82-234910c4a086"
MAX_TOKEN_LENGTH = 16_384
DEFAULT_LEEWAY = timedelta(minutes=2)
DEFAULT_CACHE_SIZE = 1024

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _VerifiedToken:
    tenant_id: str
    usable_until: datetime


class ValidationTokenVerifier:
    def __init__(
        self,
        app_id: str,
        key_source: SigningKeySource,
        clock: Clock = _utc_now,
        *,
        leeway: timedelta = DEFAULT_LEEWAY,
        cache_size: int = DEFAULT_CACHE_SIZE,
        publisher_app_id: str = GRAPH_CHANGE_TRACKING_APP_ID,
    ) -> None:
        if not app_id:
            raise ValueError("the app id (token audience) is required")
        self._app_id = app_id
        self._key_source = key_source
        self._clock = clock
        self._leeway = leeway
        self._cache_size = cache_size
        self._publisher_app_id = publisher_app_id
        self._cache: OrderedDict[bytes, _VerifiedToken] = OrderedDict()
        self._cache_lock = threading.Lock()

    def verify_all(self, tokens: Sequence[str], expected_tenant_ids: AbstractSet[str]) -> None:
        """Raise unless every token is valid and every expected tenant is covered by one of them."""
        covered = {self.verify(token) for token in tokens}
        missing = {tenant.lower() for tenant in expected_tenant_ids} - covered
        if missing:
            raise MissingValidationTokenError(
                f"no validation token covers tenant(s) {', '.join(sorted(missing))}"
            )

    def verify(self, token: str) -> str:
        """Verify one token and return the tenant id (lower case) it covers."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidValidationTokenError("the validation token is empty or too long")
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        now = self._clock()
        with self._cache_lock:
            cached = self._cache.get(digest)
            if cached is not None:
                if now <= cached.usable_until:
                    self._cache.move_to_end(digest)
                    return cached.tenant_id
                del self._cache[digest]
        verified = self._verify_uncached(token, now)
        with self._cache_lock:
            self._cache[digest] = verified
            self._cache.move_to_end(digest)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return verified.tenant_id

    def _verify_uncached(self, token: str, now: datetime) -> _VerifiedToken:
        try:
            claims = entra_tokens.signed_claims(token, self._key_source)
            expires_at = entra_tokens.check_lifetime(claims, now, self._leeway)
            tenant_id = entra_tokens.issuing_tenant(claims)
        except UnknownSigningKey as exc:
            raise UnknownSigningKeyError(exc.message) from exc
        except entra_tokens.TokenRejected as exc:
            raise InvalidValidationTokenError(f"the validation token {exc.message}") from exc
        if not entra_tokens.is_for(claims, {self._app_id}):
            raise InvalidValidationTokenError("the validation token was not issued for this app")
        publisher = claims["appid"] if "appid" in claims else claims.get("azp")
        if publisher != self._publisher_app_id:
            raise InvalidValidationTokenError(
                "the validation token was not issued to Microsoft Graph change tracking"
            )
        return _VerifiedToken(tenant_id=tenant_id, usable_until=expires_at + self._leeway)
