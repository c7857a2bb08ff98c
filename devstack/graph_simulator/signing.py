"""The simulator's token-signing key: RS256 JWTs and the JWKS that publishes the public half."""

from __future__ import annotations

import base64
import hashlib
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
