"""Sync accounts and pending sign-ins. Pure data: no I/O, no framework types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

# Graph takes at most 650 user ids in one presence subscription and allows one presence subscription
# per user and app, so each sync account covers at most this many agents.
AGENTS_PER_ACCOUNT = 650

# The delegated permission a sync account grants; openid/profile/offline_access are added by the flow.
PRESENCE_SCOPE = "https://graph.microsoft.com/Presence.Read.All"


class SyncAccountStatus(StrEnum):
    HEALTHY = "healthy"
    # The refresh token stopped working (revoked, password reset, consent withdrawn): sign in again.
    REAUTHORIZATION_REQUIRED = "reauthorizationRequired"


@dataclass(frozen=True)
class SyncAccount:
    """A signed-in service user of a tenant. Never carries the token cache (see SyncAccountCredentials)."""

    tenant_id: str
    # The user's Entra object id (lower-case GUID): the row key and the id the API shows.
    account_id: str
    user_principal_name: str
    display_name: str | None
    status: SyncAccountStatus
    created_at: datetime
    # The latest interactive sign-in; equal to created_at when that sign-in created the account.
    signed_in_at: datetime
    # The latest token obtained from the identity platform (sign-in or refresh).
    last_token_at: datetime
    last_error: str | None = None
    last_error_at: datetime | None = None
    etag: str | None = None

    @property
    def is_healthy(self) -> bool:
        return self.status is SyncAccountStatus.HEALTHY

    @property
    def created_by_latest_sign_in(self) -> bool:
        return self.created_at == self.signed_in_at


@dataclass(frozen=True)
class SyncAccountCredentials:
    """An account with its MSAL token cache, opened: lives only in memory, between storage and MSAL."""

    account: SyncAccount
    token_cache: str = field(repr=False)


@dataclass(frozen=True)
class PendingSignIn:
    """A started sign-in, waiting for the browser to come back. Used once, then deleted."""

    tenant_id: str
    attempt_id: str
    # PKCE code verifier: stays on the server, only its S256 challenge goes into the authorize URL.
    code_verifier: str = field(repr=False)
    login_hint: str | None
    created_at: datetime
    expires_at: datetime
    # Object id of the admin who started it; the callback completes only a state naming him.
    requested_by: str | None = None
    etag: str | None = None


@dataclass(frozen=True)
class SignInStart:
    authorize_url: str
    expires_at: datetime


@dataclass(frozen=True)
class SignInCallback:
    """The query string of the identity platform's redirect, untrusted until the state verifies."""

    state: str | None
    code: str | None = field(default=None, repr=False)
    error: str | None = None
    error_description: str | None = None


@dataclass(frozen=True)
class SignedInIdentity:
    """Who signed in, from the ID token the token endpoint returned with the code redemption."""

    tenant_id: str
    account_id: str
    user_principal_name: str
    display_name: str | None


@dataclass(frozen=True)
class RedeemedSignIn:
    identity: SignedInIdentity
    token_cache: str = field(repr=False)


@dataclass(frozen=True)
class AcquiredToken:
    token: str = field(repr=False)
    expires_in_seconds: int


@dataclass(frozen=True)
class SyncAccountListing:
    """Every account of a tenant with the number of agents its subscription covers."""

    accounts: tuple[SyncAccount, ...]
    used: Mapping[str, int]
    agents_per_account: int = AGENTS_PER_ACCOUNT

    def used_by(self, account_id: str) -> int:
        return self.used.get(account_id, 0)
