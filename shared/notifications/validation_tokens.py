"""Verify the `validationTokens` JWTs Graph attaches to rich notifications.

Graph adds one token per (app, tenant) in a batch. Each must be signed (RS256) with one of the Microsoft
identity platform's published keys, be within its lifetime, come from the tenant's issuer, be meant for
this app (`aud`) and be minted for Microsoft Graph change tracking (`appid`/`azp`). Every tenant with
notifications in the batch must be covered by a token.

Graph reuses a token across many deliveries, so a verified token is remembered (by its SHA-256) until it
expires: a batch of 100 notifications, or the next 1,000 batches, cost one signature check. Where the
keys come from is a port: Microsoft's JWKS endpoint in Azure, a local key in tests and the local stack.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.notifications.exceptions import (
    InvalidValidationTokenError,
    MissingValidationTokenError,
    SigningKeysUnavailableError,
    UnknownSigningKeyError,
)

logger = logging.getLogger(__name__)

GRAPH_CHANGE_TRACKING_APP_ID = "0bf30f3b-4a52-48df-9a82-234910c4a086"
MICROSOFT_JWKS_URL = "https://login.microsoftonline.com/common/discovery/v2.0/keys"
SIGNING_ALGORITHM = "RS256"
MAX_TOKEN_LENGTH = 16_384
MAX_JWKS_BYTES = 1_048_576
MIN_SIGNING_KEY_BITS = 2048
DEFAULT_LEEWAY = timedelta(minutes=2)
DEFAULT_CACHE_SIZE = 1024

Clock = Callable[[], datetime]
Fetch = Callable[[str], bytes]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SigningKeySource(Protocol):
    def signing_key(self, kid: str) -> rsa.RSAPublicKey:
        """The issuer's public key with this `kid`; raise `UnknownSigningKeyError` or
        `SigningKeysUnavailableError`."""
        ...


def parse_jwks(document: Any) -> dict[str, rsa.RSAPublicKey]:
    """RSA signing keys of a JWKS document by `kid`; other keys (and keys under 2048 bits) are ignored."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise SigningKeysUnavailableError("the JWKS document has no 'keys' array")
    keys: dict[str, rsa.RSAPublicKey] = {}
    for entry in document["keys"]:
        if not isinstance(entry, Mapping):
            continue
        kid = entry.get("kid")
        if entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig" or not isinstance(kid, str):
            continue
        try:
            key = RSAAlgorithm.from_jwk(dict(entry))
        except (jwt.InvalidKeyError, ValueError, TypeError, KeyError):
            logger.warning("skipping JWKS key %s: not a valid RSA JWK", kid)
            continue
        public_key = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
        if public_key.key_size < MIN_SIGNING_KEY_BITS:
            logger.warning("skipping JWKS key %s: %s bits is too weak", kid, public_key.key_size)
            continue
        keys[kid] = public_key
    return keys


class StaticKeySource:
    """Keys fixed at construction (tests, the local stack's simulator key)."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        self._keys = parse_jwks(jwks)

    def signing_key(self, kid: str) -> rsa.RSAPublicKey:
        key = self._keys.get(kid)
        if key is None:
            raise UnknownSigningKeyError(f"no signing key with kid {kid!r}")
        return key


def fetch_over_http(url: str, timeout: float = 5.0) -> bytes:
    """GET `url` with urllib; https only, except plain http to a loopback host (the local stack)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "https" and not (parsed.scheme == "http" and _is_loopback(parsed.hostname)):
        raise SigningKeysUnavailableError("the JWKS URL must be https (http only to a loopback host)")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            body: bytes = response.read(MAX_JWKS_BYTES + 1)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise SigningKeysUnavailableError(f"fetching signing keys from {url} failed: {exc}") from exc
    if len(body) > MAX_JWKS_BYTES:
        raise SigningKeysUnavailableError(f"the JWKS document at {url} is larger than {MAX_JWKS_BYTES} bytes")
    return body


class JwksKeySource:
    """Signing keys fetched from a JWKS URL and cached by `kid`.

    An unknown `kid` (the issuer rotated its keys) triggers a refetch, at most once per
    `min_refresh_interval` so forged tokens with random kids cannot make us hammer the issuer. Keys older
    than `max_age` are refreshed on next use so withdrawn keys stop being trusted; if that refresh fails,
    the cached keys keep serving. Lookups of known keys never block on a fetch in progress.
    """

    def __init__(
        self,
        url: str = MICROSOFT_JWKS_URL,
        fetch: Fetch | None = None,
        min_refresh_interval: timedelta = timedelta(minutes=5),
        max_age: timedelta = timedelta(hours=24),
        clock: Clock = _utc_now,
    ) -> None:
        self._url = url
        self._fetch: Fetch = fetch if fetch is not None else fetch_over_http
        self._min_refresh_interval = min_refresh_interval
        self._max_age = max_age
        self._clock = clock
        self._fetch_lock = threading.Lock()
        # Replaced wholesale, never mutated, so readers need no lock.
        self._keys: Mapping[str, rsa.RSAPublicKey] = {}
        self._fetched_at: datetime | None = None
        self._last_attempt: datetime | None = None

    def signing_key(self, kid: str) -> rsa.RSAPublicKey:
        key = self._keys.get(kid)
        fetched_at = self._fetched_at
        if key is not None and fetched_at is not None and self._clock() - fetched_at < self._max_age:
            return key
        with self._fetch_lock:
            now = self._clock()
            known = kid in self._keys
            stale = self._fetched_at is None or now - self._fetched_at >= self._max_age
            due = self._last_attempt is None or now - self._last_attempt >= self._min_refresh_interval
            if (not known or stale) and due:
                self._refresh_locked(now)
            key = self._keys.get(kid)
            if key is not None:
                return key
            if self._fetched_at is None:
                raise SigningKeysUnavailableError(f"signing keys from {self._url} are not available yet")
        raise UnknownSigningKeyError(f"no signing key with kid {kid!r} at {self._url}")

    def refresh(self) -> None:
        """Fetch the keys now (warm-up at start, so the first notification does not pay for it)."""
        with self._fetch_lock:
            self._refresh_locked(self._clock())

    def _refresh_locked(self, now: datetime) -> None:
        self._last_attempt = now
        try:
            keys = parse_jwks(json.loads(self._fetch(self._url)))
        except (SigningKeysUnavailableError, ValueError) as exc:
            if self._fetched_at is None:
                logger.error("signing keys from %s could not be loaded: %s", self._url, exc)
                raise SigningKeysUnavailableError(
                    f"signing keys from {self._url} could not be loaded"
                ) from exc
            logger.warning("refreshing signing keys from %s failed, keeping cached keys: %s", self._url, exc)
            return
        self._keys = keys
        self._fetched_at = now
        logger.info("loaded %s signing key(s) from %s", len(keys), self._url)


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
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidValidationTokenError("the validation token is not a JWT") from exc
        kid = header.get("kid")
        if header.get("alg") != SIGNING_ALGORITHM or not isinstance(kid, str) or not kid:
            raise InvalidValidationTokenError(f"the validation token must be {SIGNING_ALGORITHM} with a kid")
        key = self._key_source.signing_key(kid)
        try:
            # Lifetime, audience and issuer are checked below against our clock, with clearer errors.
            claims = jwt.decode(
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
            raise InvalidValidationTokenError("the validation token signature does not verify") from exc
        return self._check_claims(claims, now)

    def _check_claims(self, claims: Mapping[str, Any], now: datetime) -> _VerifiedToken:
        expires_at = _numeric_date(claims, "exp")
        if expires_at is None:
            raise InvalidValidationTokenError("the validation token has no exp claim")
        if now > expires_at + self._leeway:
            raise InvalidValidationTokenError("the validation token has expired")
        not_before = _numeric_date(claims, "nbf")
        if not_before is not None and now < not_before - self._leeway:
            raise InvalidValidationTokenError("the validation token is not valid yet")

        tenant_claim = claims.get("tid")
        try:
            tenant_id = str(uuid.UUID(tenant_claim)) if isinstance(tenant_claim, str) else None
        except ValueError:
            tenant_id = None
        if tenant_id is None:
            raise InvalidValidationTokenError("the validation token has no valid tid claim")
        issuer = claims.get("iss")
        if issuer not in (
            f"https://sts.windows.net/{tenant_claim}/",
            f"https://login.microsoftonline.com/{tenant_claim}/v2.0",
        ):
            raise InvalidValidationTokenError(
                f"the validation token issuer {issuer!r} is not tenant {tenant_id}'s"
            )

        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self._app_id not in audiences:
            raise InvalidValidationTokenError("the validation token was not issued for this app")

        publisher = claims["appid"] if "appid" in claims else claims.get("azp")
        if publisher != self._publisher_app_id:
            raise InvalidValidationTokenError(
                "the validation token was not issued to Microsoft Graph change tracking"
            )
        return _VerifiedToken(tenant_id=tenant_id, usable_until=expires_at + self._leeway)


def _numeric_date(claims: Mapping[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValidationTokenError(f"the validation token's {name} claim must be a NumericDate")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise InvalidValidationTokenError(f"the validation token's {name} claim is out of range") from exc


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
