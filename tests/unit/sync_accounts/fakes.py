"""Fakes of the sync-account ports. They keep the adapters' contracts: ETags, conditional writes,
single-use sign-ins, token caches that only cross the port (never stored in clear by the real one)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field, replace
from datetime import datetime

from shared.security.exceptions import SecretDecryptionFailed
from shared.sync_accounts.exceptions import (
    IdentityPlatformUnavailable,
    SignInRejected,
    StaleSyncAccount,
    SyncAccountNotFound,
    TokenRefreshRejected,
)
from shared.sync_accounts.model import (
    AcquiredToken,
    PendingSignIn,
    RedeemedSignIn,
    SignedInIdentity,
    SyncAccount,
    SyncAccountCredentials,
    SyncAccountStatus,
)


class FakeSyncAccountRepository:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[SyncAccount, str]] = {}
        self._versions = itertools.count(1)
        self.cache_writes = 0
        self.reads = 0
        # Test switches: a concurrent writer changes the row right after the next credentials load;
        # a cache sealed with another key does not open.
        self.concurrent_write_after_load = False
        self.undecryptable = False

    def _stamp(self, account: SyncAccount, token_cache: str) -> SyncAccount:
        stored = replace(account, etag=f'W/"v{next(self._versions)}"')
        self.rows[(account.tenant_id, account.account_id)] = (stored, token_cache)
        return stored

    def get(self, tenant_id: str, account_id: str) -> SyncAccount | None:
        self.reads += 1
        row = self.rows.get((tenant_id, account_id))
        return None if row is None else row[0]

    def list(self, tenant_id: str) -> list[SyncAccount]:
        self.reads += 1
        return [account for (tenant, _), (account, _) in self.rows.items() if tenant == tenant_id]

    def load_credentials(self, tenant_id: str, account_id: str) -> SyncAccountCredentials | None:
        self.reads += 1
        if self.undecryptable:
            raise SecretDecryptionFailed("the sealed secret does not open with the configured key")
        row = self.rows.get((tenant_id, account_id))
        if row is None:
            return None
        if self.concurrent_write_after_load:
            self.concurrent_write_after_load = False
            self.touch(tenant_id, account_id)
        return SyncAccountCredentials(row[0], row[1])

    def save_signed_in(self, account: SyncAccount, token_cache: str) -> SyncAccount:
        return self._stamp(account, token_cache)

    def save_token_cache(self, account: SyncAccount, token_cache: str) -> SyncAccount:
        current = self.rows.get((account.tenant_id, account.account_id))
        if current is None:
            raise SyncAccountNotFound(account.tenant_id, account.account_id)
        if current[0].etag != account.etag:
            raise StaleSyncAccount(account.tenant_id, account.account_id)
        self.cache_writes += 1
        return self._stamp(account, token_cache)

    def mark_reauthorization_required(self, account: SyncAccount, reason: str, at: datetime) -> SyncAccount:
        current = self.rows.get((account.tenant_id, account.account_id))
        if current is None:
            raise SyncAccountNotFound(account.tenant_id, account.account_id)
        if current[0].etag != account.etag:
            raise StaleSyncAccount(account.tenant_id, account.account_id)
        marked = replace(
            current[0],
            status=SyncAccountStatus.REAUTHORIZATION_REQUIRED,
            last_error=reason,
            last_error_at=at,
        )
        return self._stamp(marked, current[1])

    def delete(self, tenant_id: str, account_id: str) -> None:
        self.rows.pop((tenant_id, account_id), None)

    def touch(self, tenant_id: str, account_id: str) -> None:
        """Another writer changes the row (new ETag), as a concurrent refresh elsewhere would."""
        account, cache = self.rows[(tenant_id, account_id)]
        self._stamp(account, cache)


class FakeSignInRepository:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], PendingSignIn] = {}
        self.added: list[PendingSignIn] = []
        self.fail_cleanup = False
        self.cleanups: list[tuple[str, datetime]] = []

    def add(self, sign_in: PendingSignIn) -> None:
        self.rows[(sign_in.tenant_id, sign_in.attempt_id)] = sign_in
        self.added.append(sign_in)

    def take(self, tenant_id: str, attempt_id: str) -> PendingSignIn | None:
        return self.rows.pop((tenant_id, attempt_id), None)

    def remove_expired(self, tenant_id: str, now: datetime) -> int:
        if self.fail_cleanup:
            raise RuntimeError("table down")
        self.cleanups.append((tenant_id, now))
        expired = [key for key, row in self.rows.items() if key[0] == tenant_id and row.expires_at < now]
        for key in expired:
            del self.rows[key]
        return len(expired)


@dataclass
class FakeIdentityPlatform:
    """The identity platform as the service sees it through DelegatedOAuthClient.

    A token cache is a JSON document {"account", "refresh", "access", "expires_in"}; each refresh
    hands out a new access token and a rotated refresh token, like Entra.
    """

    codes: dict[str, tuple[SignedInIdentity, str]] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    unavailable: bool = False
    refreshes: int = 0
    redeemed: list[tuple[str, str, str]] = field(default_factory=list)
    authorize_calls: list[dict[str, object]] = field(default_factory=list)
    sessions_opened: int = 0
    access_token_lifetime: int = 3600
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def issue_code(self, identity: SignedInIdentity, verifier: str) -> str:
        code = f"code-{next(self._counter)}"
        self.codes[code] = (identity, verifier)
        return code

    def authorize_url(
        self, tenant_id: str, *, state: str, code_challenge: str, login_hint: str | None
    ) -> str:
        self.authorize_calls.append(
            {"tenant": tenant_id, "state": state, "challenge": code_challenge, "login_hint": login_hint}
        )
        return f"https://login.example/{tenant_id}/authorize?state={state}&code_challenge={code_challenge}"

    def redeem_code(self, tenant_id: str, code: str, code_verifier: str) -> RedeemedSignIn:
        self.redeemed.append((tenant_id, code, code_verifier))
        if self.unavailable:
            raise IdentityPlatformUnavailable("down")
        issued = self.codes.pop(code, None)
        if issued is None or issued[1] != code_verifier:
            raise SignInRejected("invalid_grant", "AADSTS70008: the code is not valid")
        identity = issued[0]
        return RedeemedSignIn(identity, self.cache_for(identity.account_id))

    def cache_for(self, account_id: str, expires_in: int | None = None) -> str:
        number = next(self._counter)
        return json.dumps(
            {
                "account": account_id,
                "refresh": f"rt-{number}",
                "access": f"at-{number}",
                "expires_in": self.access_token_lifetime if expires_in is None else expires_in,
            }
        )

    def session(self, tenant_id: str, account_id: str) -> FakeTokenSession:
        self.sessions_opened += 1
        return FakeTokenSession(self, account_id)


class FakeTokenSession:
    def __init__(self, platform: FakeIdentityPlatform, account_id: str) -> None:
        self._platform = platform
        self._account_id = account_id
        self._cache: dict[str, object] = {}
        self._changed = False
        self.loads: list[str] = []

    def load(self, token_cache: str) -> None:
        self.loads.append(token_cache)
        self._cache = json.loads(token_cache)
        self._changed = False

    def acquire(self) -> AcquiredToken:
        expires_in = int(str(self._cache["expires_in"]))
        if expires_in > 300:
            return AcquiredToken(str(self._cache["access"]), expires_in)
        if self._platform.unavailable:
            raise IdentityPlatformUnavailable("down")
        if str(self._cache["refresh"]) in self._platform.revoked:
            raise TokenRefreshRejected("invalid_grant", "AADSTS700082: the refresh token was revoked")
        self._platform.refreshes += 1
        self._cache = json.loads(self._platform.cache_for(self._account_id))
        self._changed = True
        return AcquiredToken(str(self._cache["access"]), int(str(self._cache["expires_in"])))

    def changed_cache(self) -> str | None:
        if not self._changed:
            return None
        self._changed = False
        return json.dumps(self._cache)


class RecordingListener:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.fail = False
        self.seen_account_present: list[bool] = []
        self.accounts: FakeSyncAccountRepository | None = None

    def accounts_changed(self, tenant_id: str) -> None:
        self.calls.append(("accounts_changed", tenant_id))
        if self.fail:
            raise RuntimeError("subscriptions service down")

    def account_removed(self, tenant_id: str, account_id: str) -> None:
        self.calls.append(("account_removed", tenant_id, account_id))
        if self.accounts is not None:
            self.seen_account_present.append(self.accounts.get(tenant_id, account_id) is not None)
        if self.fail:
            raise RuntimeError("subscriptions service down")


class FixedUsage:
    def __init__(self, used: dict[str, int] | None = None) -> None:
        self.used_by_tenant: dict[str, dict[str, int]] = {}
        self.default = used or {}

    def used(self, tenant_id: str) -> dict[str, int]:
        return self.used_by_tenant.get(tenant_id, self.default)
