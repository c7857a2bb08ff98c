"""The simulator's token-signing key: RS256 JWTs and the JWKS that publishes the public half."""

from __future__ import annotations

import base64
import hashlib
import threading
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_CLOCK_SKEW_SECONDS = 300


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class SigningKey:
    """An RSA-2048 key generated per simulator instance (tokens never outlive the process)."""

    def __init__(self) -> None:
        self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._public_key = self._private_key.public_key()
        der = self._public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.key_id = base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:20]).rstrip(b"=").decode()

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._private_key, algorithm="RS256", headers={"kid": self.key_id})

    def verify(self, token: str, audience: str | list[str], now: datetime) -> dict[str, Any]:
        """Verify signature, audience and lifetime at the simulator's `now`; raises jwt.PyJWTError."""
        header = jwt.get_unverified_header(token)
        if header.get("kid") != self.key_id:
            raise jwt.InvalidSignatureError("token was not signed by this simulator's key")
        claims: dict[str, Any] = jwt.decode(
            token,
            self._public_key,
            algorithms=["RS256"],
            audience=audience,
            options={
                "require": ["exp", "iat", "aud", "tid"],
                # Lifetime is checked against the simulator clock below, which tests may move forward.
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        moment = int(now.timestamp())
        if int(claims["exp"]) <= moment:
            raise jwt.ExpiredSignatureError("Signature has expired")
        if int(claims.get("nbf", claims["iat"])) > moment + _CLOCK_SKEW_SECONDS:
            raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
        return claims

    def jwks(self) -> dict[str, Any]:
        numbers = self._public_key.public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.key_id,
                    "n": _b64url_uint(numbers.n),
                    "e": _b64url_uint(numbers.e),
                }
            ]
        }


class SigningKeys:
    """The simulator's published keys: one signs, the ones it replaced still verify.

    Entra ID publishes more than one key and rotates which one signs; `rotate()` does the same here so
    a test can check that a verifier picks the new `kid` up without a restart, while tokens signed
    before the rotation stay valid until their key is retired.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: tuple[SigningKey, ...] = (SigningKey(),)

    @property
    def current(self) -> SigningKey:
        return self._keys[0]

    @property
    def key_id(self) -> str:
        return self.current.key_id

    def rotate(self, *, retire_previous: bool = False) -> SigningKey:
        """A new key signs from now on; the previous ones stay published unless retired."""
        fresh = SigningKey()
        with self._lock:
            self._keys = (fresh,) if retire_previous else (fresh, *self._keys)
        return fresh

    def sign(self, claims: dict[str, Any]) -> str:
        return self.current.sign(claims)

    def verify(self, token: str, audience: str | list[str], now: datetime) -> dict[str, Any]:
        kid = jwt.get_unverified_header(token).get("kid")
        key = next((key for key in self._keys if key.key_id == kid), None)
        if key is None:
            raise jwt.InvalidSignatureError("token was not signed by one of this simulator's keys")
        return key.verify(token, audience, now)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [entry for key in self._keys for entry in key.jwks()["keys"]]}
