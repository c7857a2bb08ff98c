"""Use cases of sync accounts: sign-in (authorization code + PKCE), listing, removal, and the delegated
tokens the subscriptions service creates and renews presence subscriptions with.

Tokens are served from memory while the access token lives, so the Graph path does no table read per
call; a refresh writes the rotated cache back with the ETag it was read at.
"""

from __future__ import annotations

import builtins
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from shared.connectors.audit import AdminAudit, audited
from shared.connectors.exceptions import ConnectorNotActive, ConnectorNotFound
from shared.connectors.model import ConnectorStatus
from shared.connectors.ports import ConnectorRepository
from shared.graph.ports import DelegatedTokenProvider
from shared.identity.principal import Actor
from shared.operations.ports import NoReports, OperationsReporter
from shared.security.exceptions import ExpiredSignedState, InvalidSignedState, SecretDecryptionFailed
from shared.security.pkce import code_challenge
from shared.security.signed_state import StateClaims, StateSigner
from shared.sync_accounts.commands import parse_callback, parse_start_sign_in
from shared.sync_accounts.exceptions import (
    InvalidSignInCallback,
    SignInAlreadyUsed,
    SignInDenied,
    SignInExpired,
    StaleSyncAccount,
    SyncAccountNotFound,
    SyncAccountReauthorizationRequired,
    SyncAccountTokenUnavailable,
    TokenRefreshRejected,
    WrongTenant,
)
from shared.sync_accounts.model import (
    PendingSignIn,
    SignInCallback,
    SignInStart,
    SyncAccount,
    SyncAccountListing,
    SyncAccountStatus,
)
from shared.sync_accounts.ports import (
    AccountUsage,
    DelegatedOAuthClient,
    SignInRepository,
    SyncAccountListener,
    SyncAccountRepository,
    TokenSession,
)

logger = logging.getLogger(__name__)

SIGN_IN_PURPOSE = "sync-account"
DEFAULT_SIGN_IN_TTL = timedelta(minutes=15)
# MSAL refreshes an access token in its last 5 minutes; stop serving it from memory at the same point.
TOKEN_REFRESH_MARGIN = timedelta(minutes=5)
MAX_REASON_LENGTH = 500
MAX_MARK_ATTEMPTS = 3


@dataclass
class _Session:
    """An account's token session and the access token it last produced; `lock` serialises use."""

    session: TokenSession
    lock: threading.Lock = field(default_factory=threading.Lock)
    token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None


class SyncAccountService:
    def __init__(
        self,
        accounts: SyncAccountRepository,
        sign_ins: SignInRepository,
        connectors: ConnectorRepository,
        oauth: DelegatedOAuthClient,
        state_signer: StateSigner,
        listener: SyncAccountListener,
        clock: Callable[[], datetime],
        *,
        sign_in_ttl: timedelta = DEFAULT_SIGN_IN_TTL,
        usage: AccountUsage,
        new_attempt_id: Callable[[], str] = lambda: secrets.token_urlsafe(16),
        new_code_verifier: Callable[[], str] = lambda: secrets.token_urlsafe(64),
        audit: AdminAudit | None = None,
        reporter: OperationsReporter | None = None,
    ) -> None:
        self._reporter: OperationsReporter = reporter if reporter is not None else NoReports()
        self._audit = audit
        self._accounts = accounts
        self._sign_ins = sign_ins
        self._connectors = connectors
        self._oauth = oauth
        self._signer = state_signer
        self._listener = listener
        self._clock = clock
        self._sign_in_ttl = sign_in_ttl
        self._usage = usage
        self._new_attempt_id = new_attempt_id
        self._new_code_verifier = new_code_verifier
        self._sessions: dict[tuple[str, str], _Session] = {}
        self._sessions_lock = threading.Lock()

    # -- sign-in -----------------------------------------------------------------------------------

    def start_sign_in(self, tenant_id: str, body: Any, requested_by: Actor) -> SignInStart:
        with audited(self._audit, tenant_id, "startSyncAccountSignIn", requested_by) as note:
            started = self._start_sign_in(tenant_id, body, requested_by)
            note.detail = f"sign-in link valid until {started.expires_at.isoformat()}"
        return started

    def _start_sign_in(self, tenant_id: str, body: Any, requested_by: Actor) -> SignInStart:
        command = parse_start_sign_in(body)
        connector = self._connectors.get(tenant_id)
        if connector is None:
            raise ConnectorNotFound(tenant_id)
        if connector.status is not ConnectorStatus.ACTIVE:
            raise ConnectorNotActive(
                tenant_id, connector.status.value, "sync accounts can be signed in only while it is active"
            )
        now = self._clock()
        self._remove_expired_sign_ins(tenant_id, now)
        # Whole seconds: the signed state carries the expiry as a Unix time.
        expires_at = (now + self._sign_in_ttl).replace(microsecond=0)
        sign_in = PendingSignIn(
            tenant_id=tenant_id,
            attempt_id=self._new_attempt_id(),
            code_verifier=self._new_code_verifier(),
            login_hint=command.login_hint,
            created_at=now,
            expires_at=expires_at,
            requested_by=requested_by.object_id,
        )
        self._sign_ins.add(sign_in)
        state = self._signer.sign(
            SIGN_IN_PURPOSE, tenant_id, sign_in.attempt_id, expires_at, requested_by=requested_by.object_id
        )
        url = self._oauth.authorize_url(
            tenant_id,
            state=state,
            code_challenge=code_challenge(sign_in.code_verifier),
            login_hint=command.login_hint,
        )
        logger.info("sync-account sign-in %s started for tenant %s", sign_in.attempt_id, tenant_id)
        return SignInStart(authorize_url=url, expires_at=expires_at)

    def complete_sign_in(self, params: Mapping[str, str]) -> SyncAccount:
        """Apply the identity platform's redirect; the sign-in it belongs to is used up either way."""
        callback = parse_callback(params)
        if callback.state is None:
            raise InvalidSignInCallback("the sign-in callback has no state")
        try:
            claims = self._signer.verify(callback.state, SIGN_IN_PURPOSE)
        except ExpiredSignedState as exc:
            raise SignInExpired() from exc
        except InvalidSignedState as exc:
            logger.warning("sign-in callback with a state that does not verify: %s", exc.message)
            raise InvalidSignInCallback("the sign-in callback state is not valid") from exc
        tenant_id = claims.tenant_id
        # The state verified: the tenant is known, so the outcome goes into its audit trail, under the
        # admin who started the sign-in (bound into the state).
        requester = None if claims.requested_by is None else Actor(claims.requested_by)
        with audited(self._audit, tenant_id, "signInSyncAccount", requester) as note:
            account = self._complete_sign_in(tenant_id, claims, callback)
            note.detail = f"sync account {account.account_id} ({account.user_principal_name})"
        return account

    def _complete_sign_in(self, tenant_id: str, claims: StateClaims, callback: SignInCallback) -> SyncAccount:
        pending = self._sign_ins.take(tenant_id, claims.attempt_id)
        if pending is None:
            logger.warning("tenant %s: sign-in %s is already used or gone", tenant_id, claims.attempt_id)
            raise SignInAlreadyUsed()
        now = self._clock()
        if now >= pending.expires_at:
            raise SignInExpired()
        if pending.requested_by is None or claims.requested_by != pending.requested_by:
            logger.warning(
                "tenant %s: sign-in %s was not started by a signed-in admin", tenant_id, pending.attempt_id
            )
            raise InvalidSignInCallback("this sign-in was not started by a signed-in admin")
        if callback.error is not None:
            logger.warning("tenant %s: sign-in %s failed: %s", tenant_id, pending.attempt_id, callback.error)
            raise SignInDenied(tenant_id, callback.error, callback.error_description or "")
        if callback.code is None:
            raise InvalidSignInCallback("the sign-in callback carries neither a code nor an error")
        redeemed = self._oauth.redeem_code(tenant_id, callback.code, pending.code_verifier)
        identity = redeemed.identity
        if identity.tenant_id != tenant_id:
            logger.warning(
                "tenant %s: sign-in %s came back with an account of tenant %s",
                tenant_id,
                pending.attempt_id,
                identity.tenant_id,
            )
            raise WrongTenant(tenant_id, identity.tenant_id)
        if self._connectors.get(tenant_id) is None:
            # The connector was deleted while the browser was away: keep nothing of this tenant.
            raise ConnectorNotFound(tenant_id)
        if (
            pending.login_hint is not None
            and pending.login_hint.lower() != identity.user_principal_name.lower()
        ):
            logger.info(
                "tenant %s: sign-in %s was started for another user than %s signed in",
                tenant_id,
                pending.attempt_id,
                identity.account_id,
            )
        existing = self._accounts.get(tenant_id, identity.account_id)
        account = self._accounts.save_signed_in(
            SyncAccount(
                tenant_id=tenant_id,
                account_id=identity.account_id,
                user_principal_name=identity.user_principal_name,
                display_name=identity.display_name,
                status=SyncAccountStatus.HEALTHY,
                created_at=existing.created_at if existing is not None else now,
                signed_in_at=now,
                last_token_at=now,
            ),
            redeemed.token_cache,
        )
        self._forget_session(tenant_id, identity.account_id)
        logger.info(
            "tenant %s: sync account %s %s",
            tenant_id,
            identity.account_id,
            "signed in again" if existing is not None else "added",
        )
        self._notify(lambda: self._listener.accounts_changed(tenant_id), "accounts_changed", tenant_id)
        return account

    # -- reading -----------------------------------------------------------------------------------

    def list(self, tenant_id: str) -> list[SyncAccount]:
        """The tenant's accounts, oldest first."""
        if self._connectors.get(tenant_id) is None:
            raise ConnectorNotFound(tenant_id)
        return sorted(self._accounts.list(tenant_id), key=lambda a: (a.created_at, a.account_id))

    def listing(self, tenant_id: str) -> SyncAccountListing:
        """The accounts with how many agents each one's subscription covers (for the admin API)."""
        accounts = self.list(tenant_id)
        return SyncAccountListing(accounts=tuple(accounts), used=self._usage.used(tenant_id))

    def usable_account_ids(self, tenant_id: str) -> builtins.list[str]:
        """Healthy accounts, oldest first: a stable order keeps agents on the same account."""
        accounts = sorted(self._accounts.list(tenant_id), key=lambda a: (a.created_at, a.account_id))
        return [account.account_id for account in accounts if account.is_healthy]

    # -- removal -----------------------------------------------------------------------------------

    def delete(self, tenant_id: str, account_id: str, *, actor: Actor | None = None) -> None:
        with audited(self._audit, tenant_id, "deleteSyncAccount", actor) as note:
            self._delete(tenant_id, account_id)
            note.detail = f"sync account {account_id}"

    def _delete(self, tenant_id: str, account_id: str) -> None:
        if self._accounts.get(tenant_id, account_id) is None:
            raise SyncAccountNotFound(tenant_id, account_id)
        # The listener deletes the account's subscription and moves its agents to the other accounts.
        # A failure there (Graph down, token already revoked) must not keep the account: its
        # subscription then lapses within the hour, as nobody renews it any more.
        self._notify(
            lambda: self._listener.account_removed(tenant_id, account_id), "account_removed", tenant_id
        )
        self._accounts.delete(tenant_id, account_id)
        self._forget_session(tenant_id, account_id)
        logger.info("tenant %s: sync account %s removed", tenant_id, account_id)

    def mark_reauthorization_required(self, tenant_id: str, account_id: str, reason: str) -> None:
        """Take the account out of use until an admin signs it in again (e.g. Graph refused its token)."""
        self._forget_session(tenant_id, account_id)
        reason = reason[:MAX_REASON_LENGTH]
        for _ in range(MAX_MARK_ATTEMPTS):
            account = self._accounts.get(tenant_id, account_id)
            if account is None:
                logger.info("tenant %s: sync account %s is gone; nothing to mark", tenant_id, account_id)
                return
            try:
                self._accounts.mark_reauthorization_required(account, reason, self._clock())
            except StaleSyncAccount:
                continue
            except SyncAccountNotFound:
                return
            logger.warning(
                "tenant %s: sync account %s needs a new sign-in: %s", tenant_id, account_id, reason
            )
            self._reporter.sync_account_needs_sign_in(tenant_id)
            return
        raise StaleSyncAccount(tenant_id, account_id)

    # -- delegated tokens --------------------------------------------------------------------------

    def token_provider(self, tenant_id: str, account_id: str) -> DelegatedTokenProvider:
        def provide() -> str:
            return self._access_token(tenant_id, account_id)

        return provide

    def _access_token(self, tenant_id: str, account_id: str) -> str:
        entry = self._session(tenant_id, account_id)
        with entry.lock:
            now = self._clock()
            if entry.token is not None and entry.expires_at is not None and now < entry.expires_at:
                return entry.token
            try:
                return self._refresh(entry, tenant_id, account_id, now)
            except Exception:
                entry.token, entry.expires_at = None, None
                raise

    def _refresh(self, entry: _Session, tenant_id: str, account_id: str, now: datetime) -> str:
        account = self._load_into(entry, tenant_id, account_id)
        if not account.is_healthy:
            self._forget_session(tenant_id, account_id)
            raise SyncAccountReauthorizationRequired(
                tenant_id, account_id, account.last_error or "the account must sign in again"
            )
        try:
            acquired = entry.session.acquire()
        except TokenRefreshRejected as rejected:
            reason = f"refresh token refused ({rejected.error}): {rejected.description}; sign in again"
            self._mark_after_refused_refresh(account, reason[:MAX_REASON_LENGTH], now)
            raise SyncAccountReauthorizationRequired(tenant_id, account_id, reason) from rejected
        changed = entry.session.changed_cache()
        if changed is not None:
            try:
                self._accounts.save_token_cache(replace(account, last_token_at=now), changed)
            except StaleSyncAccount:
                # Another instance refreshed (or the account signed in again) meanwhile; both token
                # sets stay valid, so continue with ours and adopt the stored cache for next time.
                logger.info("tenant %s: sync account %s was refreshed concurrently", tenant_id, account_id)
                self._load_into(entry, tenant_id, account_id)
        entry.token = acquired.token
        entry.expires_at = now + timedelta(seconds=acquired.expires_in_seconds) - TOKEN_REFRESH_MARGIN
        return acquired.token

    def _load_into(self, entry: _Session, tenant_id: str, account_id: str) -> SyncAccount:
        try:
            credentials = self._accounts.load_credentials(tenant_id, account_id)
        except SecretDecryptionFailed as exc:
            # Not the user's fault, and a new sign-in is not the first fix: check the secrets key.
            logger.error(
                "tenant %s: the token cache of sync account %s does not open with the configured key",
                tenant_id,
                account_id,
            )
            raise SyncAccountTokenUnavailable(
                f"the stored token cache of sync account {account_id} cannot be opened"
            ) from exc
        if credentials is None:
            self._forget_session(tenant_id, account_id)
            raise SyncAccountNotFound(tenant_id, account_id)
        entry.session.load(credentials.token_cache)
        return credentials.account

    def _mark_after_refused_refresh(self, account: SyncAccount, reason: str, now: datetime) -> None:
        self._forget_session(account.tenant_id, account.account_id)
        try:
            self._accounts.mark_reauthorization_required(account, reason, now)
        except (StaleSyncAccount, SyncAccountNotFound):
            # The row changed since it was read (a new sign-in, most likely): that version decides.
            logger.info(
                "tenant %s: sync account %s changed meanwhile; not marked",
                account.tenant_id,
                account.account_id,
            )
            return
        logger.warning(
            "tenant %s: sync account %s needs a new sign-in: %s",
            account.tenant_id,
            account.account_id,
            reason,
        )

    def _session(self, tenant_id: str, account_id: str) -> _Session:
        key = (tenant_id, account_id)
        with self._sessions_lock:
            entry = self._sessions.get(key)
            if entry is None:
                entry = _Session(self._oauth.session(tenant_id, account_id))
                self._sessions[key] = entry
            return entry

    def _forget_session(self, tenant_id: str, account_id: str) -> None:
        with self._sessions_lock:
            self._sessions.pop((tenant_id, account_id), None)

    # -- internals ---------------------------------------------------------------------------------

    def _remove_expired_sign_ins(self, tenant_id: str, now: datetime) -> None:
        try:
            self._sign_ins.remove_expired(tenant_id, now)
        except Exception:
            # Housekeeping only: an expired row is refused at the callback anyway.
            logger.warning("tenant %s: expired sign-ins could not be removed", tenant_id, exc_info=True)

    @staticmethod
    def _notify(call: Callable[[], None], what: str, tenant_id: str) -> None:
        try:
            call()
        except Exception:
            # The change is stored; the subscriptions timer reconciles later.
            logger.exception("tenant %s: the sync-account listener failed in %s", tenant_id, what)
