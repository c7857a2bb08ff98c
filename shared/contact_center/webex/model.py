"""A tenant's Webex authorization and what the OAuth exchanges return. Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class WebexAuthorizationStatus(StrEnum):
    AUTHORIZED = "authorized"
    # Webex refused the refresh token (invalid_grant): an admin must sign in to Webex again.
    REAUTHORIZATION_REQUIRED = "reauthorizationRequired"


@dataclass(frozen=True)
class WebexGrant:
    """One answer of Webex's token endpoint."""

    access_token: str = field(repr=False)
    expires_in_seconds: int
    refresh_token: str = field(repr=False)
    refresh_expires_in_seconds: int | None


@dataclass(frozen=True)
class WebexIdentity:
    """Who signed in: his Webex person id and his organisation (the Contact Center org id, a UUID)."""

    person_id: str
    org_id: str


@dataclass(frozen=True)
class WebexSubscription:
    """The Webex subscription that delivers this tenant's agent events, and the secret it signs with."""

    subscription_id: str
    secret: str = field(repr=False)
    created_at: datetime


@dataclass(frozen=True)
class WebexAuthorization:
    """Kept beside the connector (sealed in storage): the refresh token and the subscription."""

    tenant_id: str
    status: WebexAuthorizationStatus
    org_id: str
    person_id: str
    authorized_at: datetime
    # The Entra object id of the admin who signed in to Webex.
    authorized_by: str
    refresh_token: str = field(repr=False)
    refresh_expires_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    subscription: WebexSubscription | None = None
    # Why the subscription could not be registered last time (None when it is, or nothing tried).
    subscription_error: str | None = None
    etag: str | None = None

    @property
    def usable(self) -> bool:
        return self.status is WebexAuthorizationStatus.AUTHORIZED


@dataclass(frozen=True)
class WebexAuthorizeStart:
    authorize_url: str
    expires_at: datetime
