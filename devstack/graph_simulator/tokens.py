"""Access, ID and validation tokens the simulator issues, shaped like Microsoft Entra ID's."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from devstack.graph_simulator.models import GRAPH_CHANGE_TRACKING_APP_ID, GRAPH_RESOURCE, User
from devstack.graph_simulator.signing import SigningKeys

ACCESS_TOKEN_LIFETIME = timedelta(hours=1)
# The client admins get tokens for the connector's API with (`az account get-access-token`).
AZURE_CLI_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
REFRESH_TOKEN_LIFETIME = timedelta(days=90)
VALIDATION_TOKEN_LIFETIME = timedelta(hours=1)

_SP_NAMESPACE = uuid.UUID("5c3c7a3e-77d4-4f73-9d0b-0c8f1a1f6b10")


def service_principal_id(tenant_id: str, app_id: str) -> str:
    """A stable object id for an app's service principal in a tenant (the `oid` of app-only tokens)."""
    return str(uuid.uuid5(_SP_NAMESPACE, f"{tenant_id.lower()}/{app_id.lower()}"))


def issuer_v1(tenant_id: str) -> str:
    return f"https://sts.windows.net/{tenant_id}/"


def issuer_v2(tenant_id: str) -> str:
    return f"https://login.microsoftonline.com/{tenant_id}/v2.0"


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class TokenIssuer:
    """Signs every token with the simulator's key; the key's JWKS is what verifiers should use."""

    def __init__(self, key: SigningKeys) -> None:
        self.key = key

    def app_access_token(self, tenant_id: str, app_id: str, roles: Iterable[str], now: datetime) -> str:
        oid = service_principal_id(tenant_id, app_id)
        claims: dict[str, Any] = {
            **self._common_access_claims(tenant_id, app_id, now),
            "idtyp": "app",
            "oid": oid,
            "sub": oid,
            "roles": sorted(set(roles)),
        }
        return self.key.sign(claims)

    def delegated_access_token(self, user: User, app_id: str, scopes: Iterable[str], now: datetime) -> str:
        claims: dict[str, Any] = {
            **self._common_access_claims(user.tenant_id, app_id, now),
            "idtyp": "user",
            "oid": user.id,
            "sub": str(uuid.uuid5(_SP_NAMESPACE, f"{user.id}/{app_id.lower()}")),
            "upn": user.user_principal_name,
            "unique_name": user.user_principal_name,
            "name": user.display_name,
            "scp": " ".join(sorted(set(scopes))),
        }
        return self.key.sign(claims)

    def id_token(self, user: User, client_id: str, nonce: str | None, now: datetime) -> str:
        claims: dict[str, Any] = {
            "aud": client_id,
            "iss": issuer_v2(user.tenant_id),
            "iat": _epoch(now),
            "nbf": _epoch(now),
            "exp": _epoch(now + ACCESS_TOKEN_LIFETIME),
            "name": user.display_name,
            "oid": user.id,
            "preferred_username": user.user_principal_name,
            "sub": str(uuid.uuid5(_SP_NAMESPACE, f"{user.id}/{client_id.lower()}")),
            "tid": user.tenant_id,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        return self.key.sign(claims)

    def validation_token(self, tenant_id: str, app_id: str, now: datetime) -> str:
        """The JWT Graph puts in `validationTokens` of rich notifications (one per app and tenant)."""
        claims: dict[str, Any] = {
            "aud": app_id,
            "iss": issuer_v2(tenant_id),
            "iat": _epoch(now),
            "nbf": _epoch(now),
            "exp": _epoch(now + VALIDATION_TOKEN_LIFETIME),
            "azp": GRAPH_CHANGE_TRACKING_APP_ID,
            "appid": GRAPH_CHANGE_TRACKING_APP_ID,
            "azpacr": "2",
            "oid": service_principal_id(tenant_id, GRAPH_CHANGE_TRACKING_APP_ID),
            "sub": service_principal_id(tenant_id, GRAPH_CHANGE_TRACKING_APP_ID),
            "tid": tenant_id,
            "ver": "2.0",
        }
        return self.key.sign(claims)

    def api_access_token(
        self,
        tenant_id: str,
        audience: str,
        now: datetime,
        *,
        object_id: str,
        username: str | None,
        wids: Iterable[str] = (),
        roles: Iterable[str] = (),
        scopes: Iterable[str] = (),
        lifetime: timedelta = ACCESS_TOKEN_LIFETIME,
        version: str = "2.0",
        client_app_id: str = AZURE_CLI_APP_ID,
        display_name: str | None = None,
    ) -> str:
        """An access token for a custom API (the connector's), shaped like Entra ID's: v2.0 (`aud` the
        API's client id, v2 issuer, `preferred_username`, `azp`) or v1.0 (`aud` its app id URI,
        sts.windows.net issuer, `upn`, `appid`). No scopes: an app-only token (`idtyp=app`, roles only).
        `wids` are the user's directory role template ids (the app asks for them with
        groupMembershipClaims)."""
        granted = sorted(set(scopes))
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": issuer_v2(tenant_id) if version == "2.0" else issuer_v1(tenant_id),
            "iat": _epoch(now),
            "nbf": _epoch(now),
            "exp": _epoch(now + lifetime),
            "oid": object_id,
            "sub": str(uuid.uuid5(_SP_NAMESPACE, f"{object_id}/{audience.lower()}")),
            "tid": tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": version,
        }
        claims["azp" if version == "2.0" else "appid"] = client_app_id
        if granted:
            claims["scp"] = " ".join(granted)
            if username:
                claims["preferred_username" if version == "2.0" else "upn"] = username
                claims["name"] = display_name or username.split("@")[0]
        else:
            claims["idtyp"] = "app"
        if roles:
            claims["roles"] = sorted(set(roles))
        if wids:
            claims["wids"] = sorted(set(wids))
        return self.key.sign(claims)

    @staticmethod
    def client_info(user: User) -> str:
        raw = json.dumps({"uid": user.id, "utid": user.tenant_id}).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @staticmethod
    def opaque_token() -> str:
        return secrets.token_urlsafe(48)

    @staticmethod
    def _common_access_claims(tenant_id: str, app_id: str, now: datetime) -> dict[str, Any]:
        return {
            "aud": GRAPH_RESOURCE,
            "iss": issuer_v1(tenant_id),
            "iat": _epoch(now),
            "nbf": _epoch(now),
            "exp": _epoch(now + ACCESS_TOKEN_LIFETIME),
            "appid": app_id,
            "azp": app_id,
            "tid": tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        }
