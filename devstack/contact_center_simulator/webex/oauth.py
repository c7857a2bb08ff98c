"""Webex OAuth (webexapis.com): integrations, the authorization-code flow with a simulated signed-in
user, rotating refresh tokens, and the bearer check every API call goes through.

Verified: `GET /v1/authorize` (response_type=code, client_id, redirect_uri, scope, state) redirects
back with `code` and `state`; `POST /v1/access_token` (form: grant_type authorization_code or
refresh_token, client_id, client_secret, code, redirect_uri / refresh_token) answers `access_token`,
`expires_in`, `refresh_token`, `refresh_token_expires_in`; there is no client_credentials grant.
Assumed: refresh tokens rotate on every use and a spent one is refused (`invalid_grant`); codes live 10
minutes; token strings end in `_<cluster>_<orgId>` as observed on real tokens (clients must not parse
them: GET /v1/people/me tells the organisation).
"""

from __future__ import annotations

import base64
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlencode, urlsplit, urlunsplit

from devstack.contact_center_simulator.webex.errors import WebexError, oauth_error
from devstack.contact_center_simulator.webex.model import (
    AccessToken,
    AuthCode,
    Grant,
    Integration,
    WebexUser,
    new_id,
)

logger = logging.getLogger(__name__)

DEFAULT_ACCESS_TOKEN_LIFETIME: Final = timedelta(seconds=1_209_599)
DEFAULT_REFRESH_TOKEN_LIFETIME: Final = timedelta(seconds=7_776_000)
CODE_LIFETIME: Final = timedelta(minutes=10)
_CLUSTER: Final = "P0A1"


def hydra_id(kind: str, raw_id: str) -> str:
    """Webex's public ids (people, organisations): base64 of ciscospark://us/KIND/uuid, unpadded."""
    return base64.b64encode(f"ciscospark://us/{kind}/{raw_id}".encode()).decode().rstrip("=")


def _token(org_id: str) -> str:
    return f"{secrets.token_urlsafe(48)}_{_CLUSTER}_{org_id}"


@dataclass(frozen=True)
class AuthorizeOutcome:
    """Where the browser goes: redirect_uri with code and state, or with an OAuth error."""

    location: str


class OAuthPageError(Exception):
    """An authorize request that cannot be sent back to its redirect_uri (unknown client, wrong
    redirect_uri): Webex shows an error page instead."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def _with_query(url: str, params: dict[str, str]) -> str:
    split = urlsplit(url)
    query = f"{split.query}&{urlencode(params)}" if split.query else urlencode(params)
    return urlunsplit((split.scheme, split.netloc, split.path, query, split.fragment))


class OAuthServer:
    def __init__(
        self,
        clock: Callable[[], datetime],
        user_of: Callable[[str], WebexUser | None],
        *,
        access_lifetime: timedelta = DEFAULT_ACCESS_TOKEN_LIFETIME,
        refresh_lifetime: timedelta = DEFAULT_REFRESH_TOKEN_LIFETIME,
    ) -> None:
        self._now = clock
        self._user_of = user_of
        self.access_lifetime = access_lifetime
        self.refresh_lifetime = refresh_lifetime
        self._lock = threading.RLock()
        self._integrations: dict[str, Integration] = {}
        self._codes: dict[str, AuthCode] = {}
        self._grants: dict[str, Grant] = {}
        self._refresh_index: dict[str, str] = {}
        self._access: dict[str, AccessToken] = {}

    def reset(self) -> None:
        with self._lock:
            self._integrations.clear()
            self._codes.clear()
            self._grants.clear()
            self._refresh_index.clear()
            self._access.clear()

    # Integrations ----------------------------------------------------------------------------

    def register(self, integration: Integration) -> bool:
        with self._lock:
            created = integration.client_id not in self._integrations
            self._integrations[integration.client_id] = integration
            return created

    def integrations(self) -> list[Integration]:
        with self._lock:
            return list(self._integrations.values())

    # Authorization-code flow -----------------------------------------------------------------

    def authorize(self, query: dict[str, str], signed_in: WebexUser) -> AuthorizeOutcome:
        with self._lock:
            integration = self._integrations.get(query.get("client_id") or "")
            if integration is None:
                raise OAuthPageError("The client_id is not a registered integration")
            redirect_uri = query.get("redirect_uri") or ""
            if redirect_uri not in integration.redirect_uris:
                raise OAuthPageError("The redirect_uri does not match the integration's redirect URIs")
            state = query.get("state")

            def back(params: dict[str, str]) -> AuthorizeOutcome:
                if state is not None:
                    params = {**params, "state": state}
                return AuthorizeOutcome(_with_query(redirect_uri, params))

            if query.get("response_type") != "code":
                return back(
                    {"error": "unsupported_response_type", "error_description": "response_type must be code"}
                )
            requested = frozenset((query.get("scope") or "").split())
            if not requested:
                return back({"error": "invalid_scope", "error_description": "scope is required"})
            unknown = requested - integration.scopes
            if unknown:
                description = f"The integration may not ask for {' '.join(sorted(unknown))}"
                return back({"error": "invalid_scope", "error_description": description})
            code = secrets.token_urlsafe(32)
            self._codes[code] = AuthCode(
                code,
                integration.client_id,
                signed_in.user_id,
                redirect_uri,
                requested,
                self._now() + CODE_LIFETIME,
            )
            logger.info(
                "authorization code for integration %s, user %s", integration.client_id, signed_in.user_id
            )
            return back({"code": code})

    # Token endpoint ---------------------------------------------------------------------------

    def token(self, form: dict[str, str]) -> dict[str, object]:
        grant_type = form.get("grant_type")
        if not grant_type:
            raise oauth_error(400, "invalid_request", "grant_type is required")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise oauth_error(400, "unsupported_grant_type", f"grant_type {grant_type} is not supported")
        with self._lock:
            integration = self._client(form)
            if grant_type == "authorization_code":
                grant = self._redeem_code(integration, form)
            else:
                grant = self._refresh(integration, form)
            return self._tokens(grant)

    def _client(self, form: dict[str, str]) -> Integration:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if not client_id or not client_secret:
            raise oauth_error(400, "invalid_request", "client_id and client_secret are required")
        integration = self._integrations.get(client_id)
        if integration is None or not secrets.compare_digest(integration.client_secret, client_secret):
            raise oauth_error(401, "invalid_client", "The client credentials are invalid")
        return integration

    def _redeem_code(self, integration: Integration, form: dict[str, str]) -> Grant:
        code_value = form.get("code")
        if not code_value:
            raise oauth_error(400, "invalid_request", "code is required")
        code = self._codes.get(code_value)
        if (
            code is None
            or code.used
            or code.expires_at <= self._now()
            or code.client_id != integration.client_id
        ):
            raise oauth_error(
                400, "invalid_grant", "The authorization code is invalid, expired or already used"
            )
        if form.get("redirect_uri") != code.redirect_uri:
            raise oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization request")
        code.used = True
        refresh = _token(self._org_of(code.user_id))
        grant = Grant(
            new_id(),
            integration.client_id,
            code.user_id,
            code.scopes,
            refresh,
            self._now() + self.refresh_lifetime,
        )
        self._grants[grant.grant_id] = grant
        self._refresh_index[refresh] = grant.grant_id
        return grant

    def _refresh(self, integration: Integration, form: dict[str, str]) -> Grant:
        presented = form.get("refresh_token")
        if not presented:
            raise oauth_error(400, "invalid_request", "refresh_token is required")
        grant = self._grants.get(self._refresh_index.get(presented, ""))
        if (
            grant is None
            or grant.revoked
            or grant.client_id != integration.client_id
            or presented != grant.refresh_token
            or grant.refresh_expires_at <= self._now()
        ):
            raise oauth_error(
                400, "invalid_grant", "The refresh token provided is expired, revoked, malformed, or invalid"
            )
        rotated = _token(self._org_of(grant.user_id))
        grant.spent_refresh_tokens.add(presented)
        grant.refresh_token = rotated
        grant.refresh_expires_at = self._now() + self.refresh_lifetime
        self._refresh_index[rotated] = grant.grant_id
        return grant

    def _tokens(self, grant: Grant) -> dict[str, object]:
        user = self._user_of(grant.user_id)
        if user is None:
            raise oauth_error(400, "invalid_grant", "The user of this grant no longer exists")
        access = AccessToken(
            _token(user.org_id),
            grant.grant_id,
            grant.client_id,
            user.user_id,
            user.org_id,
            grant.scopes,
            self._now() + self.access_lifetime,
        )
        self._access[access.token] = access
        return {
            "access_token": access.token,
            "expires_in": int(self.access_lifetime.total_seconds()),
            "refresh_token": grant.refresh_token,
            "refresh_token_expires_in": round((grant.refresh_expires_at - self._now()).total_seconds()),
            "token_type": "Bearer",
        }

    def _org_of(self, user_id: str) -> str:
        user = self._user_of(user_id)
        return user.org_id if user else "unknown"

    # Bearer check -----------------------------------------------------------------------------

    def authenticate(self, authorization: str | None, style: str) -> AccessToken:
        """The access token of an API call, or 401 in the route's error body."""
        value = authorization or ""
        if not value.lower().startswith("bearer ") or not value[7:].strip():
            raise WebexError(401, "Unauthorized, Token is Invalid", style=style)
        with self._lock:
            access = self._access.get(value[7:].strip())
            grant = self._grants.get(access.grant_id) if access else None
            if access is None or access.expires_at <= self._now() or grant is None or grant.revoked:
                raise WebexError(401, "Unauthorized, Token is Invalid", style=style)
            return access

    # Control ----------------------------------------------------------------------------------

    def revoke(
        self, *, refresh_token: str | None = None, user_id: str | None = None, client_id: str | None = None
    ) -> int:
        """Revoke grants (their refresh and access tokens), like an admin removing the authorization."""
        with self._lock:
            count = 0
            for grant in self._grants.values():
                if grant.revoked:
                    continue
                if refresh_token is not None and grant.refresh_token != refresh_token:
                    continue
                if user_id is not None and grant.user_id != user_id:
                    continue
                if client_id is not None and grant.client_id != client_id:
                    continue
                grant.revoked = True
                count += 1
            return count

    def expire_access_tokens(self) -> int:
        """Every access token expires now (the refresh tokens stay valid)."""
        with self._lock:
            now = self._now()
            expired = [t for t in self._access.values() if t.expires_at > now]
            for token in expired:
                self._access[token.token] = AccessToken(
                    token.token,
                    token.grant_id,
                    token.client_id,
                    token.user_id,
                    token.org_id,
                    token.scopes,
                    now,
                )
            return len(expired)

    def grants_view(self) -> list[dict[str, object]]:
        with self._lock:
            return [
                {
                    "grantId": g.grant_id,
                    "clientId": g.client_id,
                    "userId": g.user_id,
                    "scopes": sorted(g.scopes),
                    "revoked": g.revoked,
                    "refreshTokenExpiresAt": g.refresh_expires_at.isoformat(),
                    "rotations": len(g.spent_refresh_tokens),
                }
                for g in self._grants.values()
            ]
