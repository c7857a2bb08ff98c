"""The Microsoft identity platform's token-signing keys (JWKS), fetched, cached and refreshed.

One implementation for every JWT the connector checks: the `validationTokens` of rich notifications and
the admins' access tokens. Both are signed by keys Microsoft publishes at one JWKS URL per cloud, so the
composition root shares one `JwksKeySource` per URL and the keys are fetched once for both.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.security.exceptions import SigningKeysUnavailable, UnknownSigningKey

logger = logging.getLogger(__name__)

MAX_JWKS_BYTES = 1_048_576
MIN_SIGNING_KEY_BITS = 2048
DEFAULT_MIN_REFRESH_INTERVAL = timedelta(minutes=5)
DEFAULT_MAX_AGE = timedelta(hours=24)

Clock = Callable[[], datetime]
Fetch = Callable[[str], bytes]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SigningKeySource(Protocol):
    def signing_key(self, kid: str) -> rsa.RSAPublicKey:
        """The issuer's public key with this `kid`; raise `UnknownSigningKey` or `SigningKeysUnavailable`."""
        ...


def parse_jwks(document: Any) -> dict[str, rsa.RSAPublicKey]:
    """RSA signing keys of a JWKS document by `kid`; other keys (and keys under 2048 bits) are ignored."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise SigningKeysUnavailable("the JWKS document has no 'keys' array")
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
    """Keys fixed at construction (tests, benchmarks)."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        self._keys = parse_jwks(jwks)

    def signing_key(self, kid: str) -> rsa.RSAPublicKey:
        key = self._keys.get(kid)
        if key is None:
            raise UnknownSigningKey(f"no signing key with kid {kid!r}")
        return key


def fetch_over_http(url: str, timeout: float = 5.0) -> bytes:
    """GET `url` with urllib; https only, except plain http to a loopback host (the local stack)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "https" and not (parsed.scheme == "http" and _is_loopback(parsed.hostname)):
        raise SigningKeysUnavailable("the JWKS URL must be https (http only to a loopback host)")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            body: bytes = response.read(MAX_JWKS_BYTES + 1)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise SigningKeysUnavailable(f"fetching signing keys from {url} failed: {exc}") from exc
    if len(body) > MAX_JWKS_BYTES:
        raise SigningKeysUnavailable(f"the JWKS document at {url} is larger than {MAX_JWKS_BYTES} bytes")
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
        url: str,
        fetch: Fetch | None = None,
        min_refresh_interval: timedelta = DEFAULT_MIN_REFRESH_INTERVAL,
        max_age: timedelta = DEFAULT_MAX_AGE,
        clock: Clock = _utc_now,
    ) -> None:
        self.url = url
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
                raise SigningKeysUnavailable(f"signing keys from {self.url} are not available yet")
        raise UnknownSigningKey(f"no signing key with kid {kid!r} at {self.url}")

    def refresh(self) -> None:
        """Fetch the keys now (warm-up at start, so the first token does not pay for it)."""
        with self._fetch_lock:
            self._refresh_locked(self._clock())

    def _refresh_locked(self, now: datetime) -> None:
        self._last_attempt = now
        try:
            keys = parse_jwks(json.loads(self._fetch(self.url)))
        except (SigningKeysUnavailable, ValueError) as exc:
            if self._fetched_at is None:
                logger.error("signing keys from %s could not be loaded: %s", self.url, exc)
                raise SigningKeysUnavailable(f"signing keys from {self.url} could not be loaded") from exc
            logger.warning("refreshing signing keys from %s failed, keeping cached keys: %s", self.url, exc)
            return
        self._keys = keys
        self._fetched_at = now
        logger.info("loaded %s signing key(s) from %s", len(keys), self.url)


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
