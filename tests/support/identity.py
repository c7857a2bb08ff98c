"""Admin access tokens for tests, in one line.

    tokens = AdminTokens()                      # or the session fixture `admin_tokens`
    headers = tokens.headers(tenant_id)         # {"Authorization": "Bearer <Global Administrator token>"}
    token = tokens.token(tenant_id, wids=[], roles=["Connector.Admin"])   # any claim shape

The tokens are signed by the Graph simulator's own issuer (devstack/graph_simulator/tokens.py), so unit
tests, the simulator's `POST /_sim/token` and therefore the e2e tests all use one token shape. The
connector side is wired with `tokens.authenticator()` (a verifier that trusts this key only).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from devstack.graph_simulator.signing import SigningKeys
from devstack.graph_simulator.tokens import TokenIssuer
from shared.identity.credentials import Authenticator, BearerTokenSource
from shared.identity.policies import CONNECTOR_MANAGE_SCOPE, GLOBAL_ADMINISTRATOR
from shared.identity.principal import Actor
from shared.identity.verifier import AccessTokenVerifier
from shared.security.signing_keys import StaticKeySource

# The example settings' app (local.settings.example.json): what the connector accepts as `aud`.
APP_ID = "00000000-0000-0000-0000-00000000c0de"
APP_ID_URI = f"api://{APP_ID}"
ADMIN_OID = "0a0a0a0a-0000-4000-8000-00000000ad01"
# The admin behind every token AdminTokens mints by default, as services receive him.
ADMIN = Actor(ADMIN_OID, "admin@contoso.example")


class AdminTokens:
    def __init__(self, audience: str = APP_ID) -> None:
        self.keys = SigningKeys()
        self.issuer = TokenIssuer(self.keys)
        self.audience = audience

    def token(
        self,
        tenant_id: str,
        *,
        wids: Iterable[str] | None = None,
        roles: Iterable[str] = (),
        scopes: Iterable[str] = (CONNECTOR_MANAGE_SCOPE,),
        upn: str | None = ADMIN.name,
        oid: str = ADMIN_OID,
        audience: str | None = None,
        expires_in: timedelta = timedelta(hours=1),
        now: datetime | None = None,
        version: str = "2.0",
    ) -> str:
        """A token for the connector's API, by default from a Global Administrator of `tenant_id`."""
        return self.issuer.api_access_token(
            tenant_id,
            audience or (self.audience if version == "2.0" else f"api://{self.audience}"),
            now or datetime.now(UTC),
            object_id=oid,
            username=upn,
            wids=[GLOBAL_ADMINISTRATOR] if wids is None else wids,
            roles=roles,
            scopes=scopes,
            lifetime=expires_in,
            version=version,
        )

    def headers(self, tenant_id: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(tenant_id, **claims)}"}

    def route_headers(self, route_tenant: str, fallback_tenant: str) -> dict[str, str]:
        """An admin of the route's tenant; of `fallback_tenant` when the route names no valid tenant id
        (the request is then refused for its path, as the test wants, not for its token)."""
        try:
            tenant_id = str(uuid.UUID(route_tenant)) if len(route_tenant) == 36 else fallback_tenant
        except ValueError:
            tenant_id = fallback_tenant
        return self.headers(tenant_id)

    def with_claims(self, tenant_id: str, change: Callable[[dict[str, Any]], None], **token: Any) -> str:
        """A token signed with this key whose claims `change` edited (a wrong issuer, a missing oid...)."""
        claims = jwt.decode(self.token(tenant_id, **token), options={"verify_signature": False})
        change(claims)
        return self.keys.sign(claims)

    def verifier(self, clock: Callable[[], datetime] | None = None) -> AccessTokenVerifier:
        audiences = {APP_ID, APP_ID_URI, self.audience}
        return AccessTokenVerifier(audiences, StaticKeySource(self.keys.jwks()), clock or _utc_now)

    def authenticator(self) -> Authenticator:
        return Authenticator([BearerTokenSource(self.verifier())])


def _utc_now() -> datetime:
    return datetime.now(UTC)


def tampered(token: str) -> str:
    """The token with one bit of its signature flipped."""
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return ".".join((header, payload, base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()))


def foreign_signed(tenant_id: str) -> str:
    """A well-formed admin token signed by a key the connector does not trust (same kid shape)."""
    return AdminTokens().token(tenant_id)
