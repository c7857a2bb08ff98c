"""Signing a person in to the console: authorization code + PKCE with Entra ID, server side.

`start` picks a state, a nonce and a PKCE verifier, keeps them in the sealed pending-sign-in cookie and
answers the Microsoft sign-in URL. `complete` (the redirect back) checks the state against that cookie,
redeems the code through MSAL for an access token of the connector's own API (`Connector.Manage`),
verifies it with the same AccessTokenVerifier as a bearer token (signature, audience, issuer, lifetime),
and turns the principal into the session. The token itself is dropped: the browser never sees one.

Who may do what is not decided here: any user of the tenant gets a session (the expert directory is for
agents too), and each admin route applies its policy to the session's principal like to a token's.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from shared.console.exceptions import ConsoleSignInError, InvalidConsoleRequest
from shared.console.session import (
    SESSION_LIFETIME,
    SIGN_IN_LIFETIME,
    ConsoleSession,
    CookieRejected,
    PendingSignIn,
    SessionSealer,
    new_csrf_token,
    state_digest,
)
from shared.identity.exceptions import NotAuthenticated
from shared.identity.principal import Principal
from shared.identity.verifier import AccessTokenVerifier
from shared.security.pkce import code_challenge
from shared.sync_accounts.model import AcquiredToken

logger = logging.getLogger(__name__)

PAGES = ("admin", "directory")
MAX_QUERY_VALUE = 4096


class ConsoleIdentityPlatform(Protocol):
    def console_authorize_url(
        self, tenant_id: str, *, scopes: tuple[str, ...], state: str, code_challenge: str, nonce: str
    ) -> str: ...

    def console_access_token(
        self, tenant_id: str, code: str, code_verifier: str, *, scopes: tuple[str, ...], nonce: str
    ) -> AcquiredToken: ...


@dataclass(frozen=True)
class SignInStart:
    authorize_url: str
    cookie_value: str


@dataclass(frozen=True)
class SignedIn:
    session: ConsoleSession
    cookie_value: str
    page: str
    popup: bool


class ConsoleSignIn:
    def __init__(
        self,
        platform: ConsoleIdentityPlatform,
        verifier: AccessTokenVerifier,
        sealer: SessionSealer,
        clock: Callable[[], datetime],
        *,
        api_scope: str,
    ) -> None:
        self._platform = platform
        self._verifier = verifier
        self._sealer = sealer
        self._clock = clock
        # The connector's own delegated scope; MSAL adds openid, profile and offline_access.
        self._scopes = (api_scope,)

    def start(self, tenant_id: str, page: str, *, popup: bool) -> SignInStart:
        if page not in PAGES:
            raise InvalidConsoleRequest(f"page must be one of {', '.join(PAGES)}")
        pending = PendingSignIn(
            tenant_id=tenant_id,
            state=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(64),
            nonce=secrets.token_urlsafe(16),
            page=page,
            popup=popup,
            expires_at=self._clock() + SIGN_IN_LIFETIME,
        )
        url = self._platform.console_authorize_url(
            tenant_id,
            scopes=self._scopes,
            state=pending.state,
            code_challenge=code_challenge(pending.code_verifier),
            nonce=pending.nonce,
        )
        logger.info("tenant %s: console sign-in started (state %s)", tenant_id, state_digest(pending.state))
        return SignInStart(url, self._sealer.seal_pending(pending))

    def complete(self, cookie_value: str | None, query: Mapping[str, str]) -> SignedIn:
        now = self._clock()
        try:
            pending = self._sealer.open_pending(cookie_value, now)
        except CookieRejected as rejected:
            raise ConsoleSignInError(
                f"this sign-in cannot be completed ({rejected}): it took more than "
                f"{int(SIGN_IN_LIFETIME.total_seconds() // 60)} minutes or was started in another browser"
            ) from rejected
        state = _value(query, "state")
        if state is None or not hmac.compare_digest(state.encode(), pending.state.encode()):
            logger.warning(
                "tenant %s: console sign-in callback with a state that is not ours", pending.tenant_id
            )
            raise ConsoleSignInError("the sign-in answer does not belong to this browser's sign-in (state)")
        error = _value(query, "error")
        if error is not None:
            description = (_value(query, "error_description") or "").splitlines()
            logger.warning(
                "tenant %s: console sign-in refused by the identity platform: %s", pending.tenant_id, error
            )
            raise ConsoleSignInError(
                f"Microsoft did not sign you in: {error}: {description[0] if description else ''}".rstrip(
                    ": "
                )
            )
        code = _value(query, "code")
        if code is None:
            raise ConsoleSignInError("the sign-in answer carries no authorization code")
        acquired = self._platform.console_access_token(
            pending.tenant_id, code, pending.code_verifier, scopes=self._scopes, nonce=pending.nonce
        )
        try:
            principal = self._verifier.verify(acquired.token)
        except NotAuthenticated as refused:
            logger.warning("tenant %s: the console sign-in's access token does not verify", pending.tenant_id)
            raise ConsoleSignInError(
                f"the access token of the sign-in is not valid: {refused.reason}"
            ) from refused
        self._check_tenant(principal, pending)
        lifetime = min(SESSION_LIFETIME, timedelta(seconds=acquired.expires_in_seconds))
        if lifetime <= timedelta(0):
            raise ConsoleSignInError("the sign-in's access token has already expired")
        session = ConsoleSession(
            principal=principal, csrf_token=new_csrf_token(), signed_in_at=now, expires_at=now + lifetime
        )
        logger.info(
            "tenant %s: console session started for %s (%s page)",
            principal.tenant_id,
            principal.object_id,
            pending.page,
        )
        return SignedIn(session, self._sealer.seal_session(session), pending.page, pending.popup)

    @staticmethod
    def _check_tenant(principal: Principal, pending: PendingSignIn) -> None:
        if principal.tenant_id != pending.tenant_id:
            logger.warning(
                "tenant %s: console sign-in with an account of tenant %s refused",
                pending.tenant_id,
                principal.tenant_id,
            )
            raise ConsoleSignInError(
                f"you signed in with an account of tenant {principal.tenant_id}, not of tenant "
                f"{pending.tenant_id}: sign in with an account of the tenant you manage"
            )


def _value(query: Mapping[str, str], name: str) -> str | None:
    value = query.get(name)
    if value is None or not value or len(value) > MAX_QUERY_VALUE:
        return None
    return value
