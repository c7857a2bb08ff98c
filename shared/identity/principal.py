"""Who is calling: the principal a verified credential names, and the actor the audit trail records.

Pure data. A principal is built only by a credential source after its credential verified (an Entra
access token today; the console's session cookie and a contact center's signature are other sources),
so code that holds one may trust every field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class AuthMethod(StrEnum):
    """How the caller proved who he is."""

    # `Authorization: Bearer <access token>` issued by Microsoft Entra ID for the connector's API.
    BEARER = "bearer"
    # A console session cookie with its CSRF token (the backend-for-frontend signs the admin in).
    SESSION = "session"
    # A request body signed with the tenant's shared secret (the tenant's contact center).
    SIGNATURE = "signature"


class PrincipalKind(StrEnum):
    USER = "user"
    # An app-only token: a service principal of the tenant holding one of our app roles.
    APPLICATION = "application"
    # The tenant's contact center: it holds the tenant's secret, it is no directory object.
    CONTACT_CENTER = "contactCenter"


@dataclass(frozen=True)
class Actor:
    """Who did something, as the audit trail and the signed OAuth states record it."""

    # The Entra object id (lower-case GUID) of the user or service principal.
    object_id: str
    # upn / preferred_username for a user; None for an app-only caller.
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.object_id


@dataclass(frozen=True)
class Principal:
    # The tenant (lower-case GUID) the credential was issued in: `tid` of a token.
    tenant_id: str
    # Entra object id (`oid`, lower-case GUID); for a contact center, a fixed id naming it.
    object_id: str
    kind: PrincipalKind
    method: AuthMethod
    # `upn`, else `preferred_username` (users only).
    username: str | None = None
    display_name: str | None = None
    # App roles of the connector's API the caller holds (`roles`), e.g. Connector.Admin.
    roles: frozenset[str] = field(default_factory=frozenset)
    # Directory role template ids (`wids`), e.g. Global Administrator.
    directory_roles: frozenset[str] = field(default_factory=frozenset)
    # Delegated scopes of the token (`scp`); empty for app-only tokens.
    scopes: frozenset[str] = field(default_factory=frozenset)
    # The client the caller used (`azp` / `appid`), e.g. the Azure CLI.
    client_app_id: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.object_id, self.username)
