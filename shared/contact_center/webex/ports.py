"""What the Webex sign-in and subscription service needs. Adapters: oauth.py, subscriptions_api.py,
shared/storage/webex_authorization_repository.py."""

from __future__ import annotations

from typing import Protocol

from shared.connectors.model import WebexContactCenter
from shared.contact_center.webex.model import WebexAuthorization, WebexGrant, WebexIdentity


class WebexOAuth(Protocol):
    """Webex's OAuth endpoints for the connector's integration (one client id / secret for all tenants)."""

    @property
    def configured(self) -> bool:
        """False when WEBEX_CLIENT_ID / WEBEX_CLIENT_SECRET are not set."""
        ...

    def authorize_url(self, *, state: str, code_challenge: str) -> str: ...

    def redeem_code(self, code: str, code_verifier: str) -> WebexGrant:
        """Raise WebexGrantRefused (bad code), ContactCenterUnavailable or ...Throttled."""
        ...

    def refresh(self, refresh_token: str) -> WebexGrant:
        """Raise WebexGrantRefused (invalid_grant: sign in again), ContactCenterUnavailable, ...Throttled."""
        ...

    def identity(self, access_token: str) -> WebexIdentity:
        """Who the token belongs to (GET /people/me)."""
        ...


class WebexAuthorizations(Protocol):
    """Refresh tokens and subscription secrets cross this port in clear; the adapter seals them."""

    def get(self, tenant_id: str) -> WebexAuthorization | None: ...

    def save(self, authorization: WebexAuthorization) -> WebexAuthorization:
        """Insert when `etag` is None (replacing any row), else replace if the stored etag is still
        `authorization.etag` (StaleWebexAuthorization otherwise). Returns it with its new etag."""
        ...

    def delete(self, tenant_id: str) -> None:
        """Remove the row; a row already gone counts as removed."""
        ...


class WebexSubscriptionsApi(Protocol):
    """`{baseUrl}/v1/subscriptions` of one tenant's Webex Contact Center, called with its access token."""

    def create(self, config: WebexContactCenter, access_token: str, destination_url: str, secret: str) -> str:
        """Register the agent-event subscription; its id."""
        ...

    def exists(self, config: WebexContactCenter, access_token: str, subscription_id: str) -> bool:
        """True while Webex still has it active; False when it is gone (404) or inactive."""
        ...

    def delete(self, config: WebexContactCenter, access_token: str, subscription_id: str) -> None:
        """Remove it; one already gone counts as removed."""
        ...
