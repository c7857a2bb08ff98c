"""Use cases of a tenant's Webex connection: the admin's sign-in, the access tokens every Webex call
uses, and the subscription that delivers agent events.

- Sign-in: authorization code + PKCE in the admin's browser, a signed single-use state bound to the
  admin who asked (like consent's). The callback checks that the Webex user's organisation is the
  configured orgId, stores the refresh token (sealed by the repository) and, when the connector is
  active, registers the subscription with the new token.
- Tokens: kept in memory until shortly before `expires_in`; a refresh stores the rotated refresh token
  with the ETag read. `invalid_grant` marks the authorization reauthorizationRequired (GET /connector
  shows it) and the Webex calls fail as ContactCenterAuthFailed until an admin signs in again.
- Subscription: registered on activation and fresh sign-in, removed on deactivate / delete, recreated
  by the subscription timer when Webex lost it (or set it inactive).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from shared.connectors.audit import AdminAudit, audited
from shared.connectors.exceptions import ConnectorNotFound
from shared.connectors.model import Connector, ConnectorStatus, WebexContactCenter
from shared.connectors.ports import ConnectorRepository
from shared.contact_center.exceptions import ContactCenterError
from shared.contact_center.webex.contract import MIN_SECRET_LENGTH
from shared.contact_center.webex.exceptions import (
    InvalidWebexCallback,
    NotWebexContactCenter,
    StaleWebexAuthorization,
    WebexGrantRefused,
    WebexNotConfigured,
    WebexReauthorizationRequired,
    WebexSignInDenied,
    WebexWrongOrganization,
)
from shared.contact_center.webex.model import (
    WebexAuthorization,
    WebexAuthorizationStatus,
    WebexAuthorizeStart,
    WebexGrant,
    WebexSubscription,
)
from shared.contact_center.webex.ports import WebexAuthorizations, WebexOAuth, WebexSubscriptionsApi
from shared.identity.principal import Actor
from shared.security.exceptions import ExpiredSignedState, InvalidSignedState
from shared.security.signed_state import StateSigner
from shared.subscriptions.ports import ActiveTenants
from shared.sync_accounts.model import PendingSignIn
from shared.sync_accounts.ports import SignInRepository
from shared.sync_accounts.service import code_challenge

logger = logging.getLogger(__name__)

WEBEX_SIGN_IN_PURPOSE: Final = "webex-sign-in"
SIGN_IN_TTL: Final = timedelta(minutes=15)
# Refresh this long before the access token expires (at most half its lifetime).
REFRESH_MARGIN: Final = timedelta(minutes=5)
MAX_ERROR_LENGTH: Final = 500
SECRET_BYTES: Final = 48  # 64 characters of base64url: above Webex's 32-character minimum


@dataclass
class _Token:
    value: str
    refresh_at: datetime


class WebexConnectionService:
    def __init__(
        self,
        authorizations: WebexAuthorizations,
        sign_ins: SignInRepository,
        connectors: ConnectorRepository,
        oauth: WebexOAuth,
        subscriptions_api: WebexSubscriptionsApi,
        state_signer: StateSigner,
        events_url: Callable[[str], str],
        clock: Callable[[], datetime],
        *,
        audit: AdminAudit | None = None,
        active_tenants: ActiveTenants | None = None,
        new_attempt_id: Callable[[], str] = lambda: secrets.token_urlsafe(16),
        new_code_verifier: Callable[[], str] = lambda: secrets.token_urlsafe(64),
        new_secret: Callable[[], str] = lambda: secrets.token_urlsafe(SECRET_BYTES),
    ) -> None:
        self._authorizations = authorizations
        self._sign_ins = sign_ins
        self._connectors = connectors
        self._oauth = oauth
        self._api = subscriptions_api
        self._signer = state_signer
        self._events_url = events_url
        self._clock = clock
        self._audit = audit
        self._active_tenants = active_tenants
        self._new_attempt_id = new_attempt_id
        self._new_code_verifier = new_code_verifier
        self._new_secret = new_secret
        self._tokens: dict[str, _Token] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    # -- sign-in -----------------------------------------------------------------------------------

    def start_authorize(self, tenant_id: str, requested_by: Actor) -> WebexAuthorizeStart:
        with audited(self._audit, tenant_id, "startWebexSignIn", requested_by) as note:
            self._webex_connector(tenant_id)
            if not self._oauth.configured:
                raise WebexNotConfigured(
                    "the connector's Webex integration is not configured (WEBEX_CLIENT_ID and "
                    "WEBEX_CLIENT_SECRET); ask the operator who deployed it"
                )
            now = self._clock()
            expires_at = (now + SIGN_IN_TTL).replace(microsecond=0)
            pending = PendingSignIn(
                tenant_id=tenant_id,
                attempt_id=self._new_attempt_id(),
                code_verifier=self._new_code_verifier(),
                login_hint=None,
                created_at=now,
                expires_at=expires_at,
                requested_by=requested_by.object_id,
            )
            self._sign_ins.add(pending)
            state = self._signer.sign(
                WEBEX_SIGN_IN_PURPOSE,
                tenant_id,
                pending.attempt_id,
                expires_at,
                requested_by=requested_by.object_id,
            )
            url = self._oauth.authorize_url(state=state, code_challenge=code_challenge(pending.code_verifier))
            note.detail = f"Webex sign-in link valid until {expires_at.isoformat()}"
        logger.info("tenant %s: Webex sign-in %s started", tenant_id, pending.attempt_id)
        return WebexAuthorizeStart(authorize_url=url, expires_at=expires_at)

    def complete_authorize(self, params: Mapping[str, str]) -> WebexAuthorization:
        """Apply Webex's redirect (`state`, `code` or `error`); the attempt is used up either way."""
        state = params.get("state")
        if not state:
            raise InvalidWebexCallback("the Webex callback has no state")
        try:
            claims = self._signer.verify(state, WEBEX_SIGN_IN_PURPOSE)
        except ExpiredSignedState as exc:
            raise InvalidWebexCallback("this Webex sign-in link has expired; start it again") from exc
        except InvalidSignedState as exc:
            logger.warning("Webex callback with a state that does not verify: %s", exc.message)
            raise InvalidWebexCallback("the Webex callback state is not valid") from exc
        tenant_id = claims.tenant_id
        requester = None if claims.requested_by is None else Actor(claims.requested_by)
        with audited(self._audit, tenant_id, "signInWebex", requester) as note:
            pending = self._sign_ins.take(tenant_id, claims.attempt_id)
            if pending is None:
                raise InvalidWebexCallback("this Webex sign-in link was already used; start it again")
            if self._clock() >= pending.expires_at:
                raise InvalidWebexCallback("this Webex sign-in link has expired; start it again")
            if pending.requested_by is None or pending.requested_by != claims.requested_by:
                raise InvalidWebexCallback("this Webex sign-in was not started by a signed-in admin")
            error = params.get("error")
            if error:
                raise WebexSignInDenied(error[:100], (params.get("error_description") or "")[:300])
            code = params.get("code")
            if not code:
                raise InvalidWebexCallback("the Webex callback carries neither a code nor an error")
            authorization = self._sign_in(tenant_id, code, pending, claims.requested_by or "")
            note.detail = f"Webex person {authorization.person_id} of organization {authorization.org_id}"
        return authorization

    def _sign_in(
        self, tenant_id: str, code: str, pending: PendingSignIn, requested_by: str
    ) -> WebexAuthorization:
        _, config = self._webex_connector(tenant_id)
        grant = self._oauth.redeem_code(code, pending.code_verifier)
        identity = self._oauth.identity(grant.access_token)
        if identity.org_id != config.org_id.lower():
            logger.warning(
                "tenant %s: the Webex user signed in belongs to organization %s, not %s",
                tenant_id,
                identity.org_id,
                config.org_id,
            )
            raise WebexWrongOrganization(
                f"the Webex user who signed in belongs to organization {identity.org_id}, but the "
                f"connector is set up for {config.org_id}: sign in with an account of that organization"
            )
        now = self._clock()
        previous = self._authorizations.get(tenant_id)
        authorization = WebexAuthorization(
            tenant_id=tenant_id,
            status=WebexAuthorizationStatus.AUTHORIZED,
            org_id=identity.org_id,
            person_id=identity.person_id,
            authorized_at=now,
            authorized_by=requested_by,
            refresh_token=grant.refresh_token,
            refresh_expires_at=_refresh_expiry(grant, now),
            subscription=None,
        )
        saved = self._authorizations.save(authorization)
        self._remember(tenant_id, grant, now)
        logger.info("tenant %s: Webex signed in (person %s)", tenant_id, identity.person_id)
        if previous is not None and previous.subscription is not None:
            # A fresh sign-in registers a fresh subscription: the old one (maybe of another admin, whose
            # token may be revoked) goes, with the new token.
            self._delete_at_webex(tenant_id, config, grant.access_token, previous.subscription)
        connector = self._connectors.get(tenant_id)
        if connector is not None and connector.status is ConnectorStatus.ACTIVE:
            saved = self._register(saved, config, grant.access_token)
        return saved

    # -- reading -----------------------------------------------------------------------------------

    def authorization(self, tenant_id: str) -> WebexAuthorization | None:
        return self._authorizations.get(tenant_id)

    # -- tokens ------------------------------------------------------------------------------------

    def access_token(self, tenant_id: str) -> str:
        """A valid access token for the tenant's Webex; raise WebexReauthorizationRequired (nobody
        signed in, or Webex refused the refresh token), ContactCenterUnavailable or ...Throttled."""
        with self._lock(tenant_id):
            now = self._clock()
            cached = self._tokens.get(tenant_id)
            if cached is not None and now < cached.refresh_at:
                return cached.value
            authorization = self._authorizations.get(tenant_id)
            if authorization is None:
                raise WebexReauthorizationRequired(
                    f"tenant {tenant_id}: nobody has signed in to Webex yet: an admin must sign in "
                    "(POST /api/tenants/{tenantId}/contact-center/webex/authorize)"
                )
            if not authorization.usable:
                raise WebexReauthorizationRequired(
                    f"tenant {tenant_id}: Webex needs a new sign-in: {authorization.last_error}"
                )
            connector = self._connectors.get(tenant_id)
            config = connector.contact_center if connector is not None else None
            if isinstance(config, WebexContactCenter) and config.org_id.lower() != authorization.org_id:
                raise WebexReauthorizationRequired(
                    f"tenant {tenant_id}: Webex was signed in for organization {authorization.org_id}, "
                    f"but the connector now names {config.org_id}: an admin must sign in to Webex again"
                )
            try:
                grant = self._oauth.refresh(authorization.refresh_token)
            except WebexGrantRefused as refused:
                self._mark_reauthorization_required(authorization, refused, now)
                raise WebexReauthorizationRequired(
                    f"tenant {tenant_id}: Webex refused the refresh token ({refused.error}); an admin "
                    "must sign in to Webex again"
                ) from refused
            try:
                self._authorizations.save(
                    replace(
                        authorization,
                        refresh_token=grant.refresh_token,
                        refresh_expires_at=_refresh_expiry(grant, now) or authorization.refresh_expires_at,
                    )
                )
            except StaleWebexAuthorization:
                # Another instance refreshed, or an admin signed in again, meanwhile: that row decides
                # the refresh token; our access token is valid all the same.
                logger.info("tenant %s: Webex authorization changed during a refresh", tenant_id)
            logger.info("tenant %s: Webex access token refreshed", tenant_id)
            return self._remember(tenant_id, grant, now)

    def token_provider(self, tenant_id: str) -> Callable[[], str]:
        return lambda: self.access_token(tenant_id)

    def forget_token(self, tenant_id: str) -> None:
        """After Webex refused our access token (401): the next call refreshes."""
        with self._lock(tenant_id):
            self._tokens.pop(tenant_id, None)

    # -- subscription ------------------------------------------------------------------------------

    def ensure_subscription(self, tenant_id: str) -> WebexAuthorization | None:
        """Register the subscription when the connector is active, Webex is signed in and Webex does
        not have ours (any more). Raises the Webex failure; the caller decides whether to swallow it."""
        connector = self._connectors.get(tenant_id)
        if connector is None or connector.status is not ConnectorStatus.ACTIVE:
            return None
        if not isinstance(connector.contact_center, WebexContactCenter):
            return None
        config = connector.contact_center
        authorization = self._authorizations.get(tenant_id)
        if authorization is None or not authorization.usable:
            return authorization
        token = self.access_token(tenant_id)
        authorization = self._authorizations.get(tenant_id) or authorization
        current = authorization.subscription
        if current is not None and self._api.exists(config, token, current.subscription_id):
            return authorization
        if current is not None:
            logger.warning(
                "tenant %s: Webex lost subscription %s (or set it inactive); registering again",
                tenant_id,
                current.subscription_id,
            )
            self._delete_at_webex(tenant_id, config, token, current)
        return self._register(authorization, config, token)

    def remove_subscription(self, tenant_id: str) -> None:
        """Delete the subscription at Webex and forget it. Raises the Webex failure."""
        authorization = self._authorizations.get(tenant_id)
        if authorization is None or authorization.subscription is None:
            return
        connector = self._connectors.get(tenant_id)
        config = connector.contact_center if connector is not None else None
        if isinstance(config, WebexContactCenter) and authorization.usable:
            self._api.delete(config, self.access_token(tenant_id), authorization.subscription.subscription_id)
            logger.info(
                "tenant %s: Webex subscription %s removed",
                tenant_id,
                authorization.subscription.subscription_id,
            )
        latest = self._authorizations.get(tenant_id) or authorization
        self._authorizations.save(replace(latest, subscription=None, subscription_error=None))

    def renew_all(self) -> dict[str, str]:
        """The subscription timer's pass over the active tenants: per Webex tenant "ok" or why not.
        Never raises for one tenant's failure."""
        tenant_ids: Iterable[str] = (
            self._active_tenants.active_tenant_ids() if self._active_tenants is not None else ()
        )
        outcome: dict[str, str] = {}
        for tenant_id in tenant_ids:
            try:
                if self.ensure_subscription(tenant_id) is not None:
                    outcome[tenant_id] = "ok"
            except ContactCenterError as exc:
                outcome[tenant_id] = exc.message
                logger.warning("tenant %s: Webex subscription not ensured: %s", tenant_id, exc.message)
        return outcome

    def forget(self, tenant_id: str) -> None:
        """The connector is being deleted: drop the in-memory token (the purge removes the row)."""
        with self._lock(tenant_id):
            self._tokens.pop(tenant_id, None)

    # -- internals ---------------------------------------------------------------------------------

    def _register(
        self, authorization: WebexAuthorization, config: WebexContactCenter, token: str
    ) -> WebexAuthorization:
        tenant_id = authorization.tenant_id
        secret = self._new_secret()
        if len(secret) < MIN_SECRET_LENGTH:  # pragma: no cover - guards a misconfigured generator
            raise ValueError("a Webex subscription secret must be at least 32 characters")
        try:
            subscription_id = self._api.create(config, token, self._events_url(tenant_id), secret)
        except ContactCenterError as exc:
            logger.warning("tenant %s: Webex subscription not registered: %s", tenant_id, exc.message)
            latest = self._authorizations.get(tenant_id) or authorization
            self._authorizations.save(
                replace(latest, subscription=None, subscription_error=exc.message[:MAX_ERROR_LENGTH])
            )
            raise
        subscription = WebexSubscription(subscription_id, secret, self._clock())
        latest = self._authorizations.get(tenant_id) or authorization
        saved = self._authorizations.save(replace(latest, subscription=subscription, subscription_error=None))
        logger.info("tenant %s: Webex subscription %s registered", tenant_id, subscription_id)
        return saved

    def _delete_at_webex(
        self, tenant_id: str, config: WebexContactCenter, token: str, subscription: WebexSubscription
    ) -> None:
        try:
            self._api.delete(config, token, subscription.subscription_id)
        except ContactCenterError as exc:
            logger.warning(
                "tenant %s: old Webex subscription %s not removed: %s",
                tenant_id,
                subscription.subscription_id,
                exc.message,
            )

    def _mark_reauthorization_required(
        self, authorization: WebexAuthorization, refused: WebexGrantRefused, now: datetime
    ) -> None:
        self._tokens.pop(authorization.tenant_id, None)
        reason = f"Webex refused the refresh token ({refused.error}); sign in to Webex again"
        try:
            self._authorizations.save(
                replace(
                    authorization,
                    status=WebexAuthorizationStatus.REAUTHORIZATION_REQUIRED,
                    last_error=reason[:MAX_ERROR_LENGTH],
                    last_error_at=now,
                )
            )
        except StaleWebexAuthorization:
            logger.info(
                "tenant %s: Webex authorization changed meanwhile; not marked", authorization.tenant_id
            )
            return
        logger.warning("tenant %s: %s", authorization.tenant_id, reason)

    def _remember(self, tenant_id: str, grant: WebexGrant, now: datetime) -> str:
        lifetime = timedelta(seconds=grant.expires_in_seconds)
        self._tokens[tenant_id] = _Token(
            grant.access_token, now + lifetime - min(REFRESH_MARGIN, lifetime / 2)
        )
        return grant.access_token

    def _webex_connector(self, tenant_id: str) -> tuple[Connector, WebexContactCenter]:
        connector = self._connectors.get(tenant_id)
        if connector is None:
            raise ConnectorNotFound(tenant_id)
        if not isinstance(connector.contact_center, WebexContactCenter):
            raise NotWebexContactCenter(
                f"tenant {tenant_id}'s contact center is not Webex Contact Center: set contactCenter "
                '{type: "webexcc", orgId, baseUrl} first'
            )
        return connector, connector.contact_center

    def _lock(self, tenant_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(tenant_id, threading.Lock())


def _refresh_expiry(grant: WebexGrant, now: datetime) -> datetime | None:
    seconds = grant.refresh_expires_in_seconds
    return None if seconds is None else now + timedelta(seconds=seconds)
