"""Constants, a fake clock and a Graph-like validation token signer for the notification tests."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.notifications.validation_tokens import GRAPH_CHANGE_TRACKING_APP_ID

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "graph"
APP_ID = "8e460676-ae3f-4b1e-8790-ee0fb5d6148f"
TENANT_A = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
TENANT_B = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b"
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class FakeClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class TokenSigner:
    """Signs tokens shaped like Graph's validation tokens (v1 issuer, appid = change tracking)."""

    private_key: rsa.RSAPrivateKey
    kid: str

    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig"}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk()]}

    def claims(self, tenant_id: str = TENANT_A, now: datetime = NOW) -> dict[str, Any]:
        return {
            "aud": APP_ID,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + timedelta(hours=1)).timestamp()),
            "appid": GRAPH_CHANGE_TRACKING_APP_ID,
            "appidacr": "2",
            "tid": tenant_id,
            "uti": uuid.uuid4().hex,
            "ver": "1.0",
        }

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": self.kid, **(headers or {})}
        )

    def token(self, tenant_id: str = TENANT_A, **overrides: Any) -> str:
        claims = self.claims(tenant_id)
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return self.sign(claims)
