"""What the sync-account service needs from the outside world. Adapters: shared/storage/ and oauth.py."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shared.sync_accounts.model import (
    AcquiredToken,
    PendingSignIn,
    RedeemedSignIn,
    SyncAccount,
    SyncAccountCredentials,
)


class SyncAccountRepository(Protocol):
    """Token caches cross this port in clear; the adapter seals them before they reach storage."""

    def get(self, tenant_id: str, account_id: str) -> SyncAccount | None: ...

    def list(self, tenant_id: str) -> list[SyncAccount]:
        """Every account of the tenant, without reading any token cache."""
        ...

    def load_credentials(self, tenant_id: str, account_id: str) -> SyncAccountCredentials | None:
        """The account with its opened token cache; raises SecretDecryptionFailed when it does not open."""
        ...

    def save_signed_in(self, account: SyncAccount, token_cache: str) -> SyncAccount:
        """Insert or replace (a new sign-in supersedes everything stored); returns it with its etag."""
        ...

    def save_token_cache(self, account: SyncAccount, token_cache: str) -> SyncAccount:
        """Replace the row if its etag is still `account.etag`: StaleSyncAccount or SyncAccountNotFound."""
        ...

    def mark_reauthorization_required(self, account: SyncAccount, reason: str, at: datetime) -> SyncAccount:
        """Set the status and last error if the etag is still `account.etag`: StaleSyncAccount otherwise
        (SyncAccountNotFound when the row is gone)."""
        ...

    def delete(self, tenant_id: str, account_id: str) -> None:
        """Remove the row; a row that is already gone counts as removed."""
        ...


class SignInRepository(Protocol):
    """PKCE verifiers cross this port in clear; the adapter seals them."""

    def add(self, sign_in: PendingSignIn) -> None: ...

    def take(self, tenant_id: str, attempt_id: str) -> PendingSignIn | None:
        """Read and delete the row in one conditional step, so only one caller ever gets it; None when
        it is gone (already taken, cleaned up or purged)."""
        ...

    def remove_expired(self, tenant_id: str, now: datetime) -> int:
        """Delete the tenant's pending sign-ins that expired before `now`; returns how many."""
        ...


class TokenSession(Protocol):
    """One sync account's delegated tokens (an MSAL app and its cache). Not thread-safe: the service
    serialises calls per account."""

    def load(self, token_cache: str) -> None:
        """Replace the in-memory cache with a serialized one (read from storage)."""
        ...

    def acquire(self) -> AcquiredToken:
        """An access token for Presence.Read.All, from the cache or refreshed with the refresh token.
        Raises TokenRefreshRejected (sign in again), IdentityPlatformUnavailable, AppCredentialRejected."""
        ...

    def changed_cache(self) -> str | None:
        """The serialized cache when it changed since the last load (or the last call), else None."""
        ...


class DelegatedOAuthClient(Protocol):
    def authorize_url(
        self, tenant_id: str, *, state: str, code_challenge: str, login_hint: str | None
    ) -> str:
        """Where the browser signs in (authorization-code flow, PKCE S256)."""
        ...

    def redeem_code(self, tenant_id: str, code: str, code_verifier: str) -> RedeemedSignIn:
        """Raises SignInRejected, IdentityPlatformUnavailable or AppCredentialRejected."""
        ...

    def session(self, tenant_id: str, account_id: str) -> TokenSession: ...


class SyncAccountListener(Protocol):
    """Told about account changes; the subscriptions service listens."""

    def accounts_changed(self, tenant_id: str) -> None:
        """After an account was added or signed in again (healthy again)."""
        ...

    def account_removed(self, tenant_id: str, account_id: str) -> None:
        """BEFORE the account's rows are deleted, so its subscription can still be deleted with its token;
        the listener also moves the account's agents to the other accounts then."""
        ...


class AccountUsage(Protocol):
    def used(self, tenant_id: str) -> dict[str, int]:
        """How many agents each sync account's subscription covers, by account id."""
        ...
