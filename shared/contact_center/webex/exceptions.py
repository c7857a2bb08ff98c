"""Failures of the Webex sign-in; each class maps to one HTTP status in shared/http/errors.py."""

from __future__ import annotations

from shared.contact_center.exceptions import ContactCenterAuthFailed, ContactCenterError


class WebexNotConfigured(ContactCenterError):
    """The connector's Webex integration (WEBEX_CLIENT_ID / WEBEX_CLIENT_SECRET) is not set."""

    code = "webexNotConfigured"


class NotWebexContactCenter(ContactCenterError):
    """The tenant's contact center is not Webex Contact Center: there is nothing to sign in to."""

    code = "notWebexContactCenter"


class InvalidWebexCallback(ContactCenterError):
    """The Webex redirect is not one this connector started (bad, used or expired state, no code)."""

    code = "invalidWebexCallback"


class WebexSignInDenied(ContactCenterError):
    """Webex answered the sign-in with an error (the admin declined, or the integration is wrong)."""

    code = "webexSignInDenied"

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"Webex refused the sign-in: {error}: {description}".rstrip(": "))
        self.error = error
        self.description = description


class WebexWrongOrganization(ContactCenterError):
    """The Webex user who signed in belongs to another organisation than the configured orgId."""

    code = "webexWrongOrganization"


class WebexGrantRefused(ContactCenterAuthFailed):
    """The token endpoint refused the code or refresh token (invalid_grant and the like)."""

    code = "webexGrantRefused"

    def __init__(self, error: str, description: str, *, status: int | None = 400) -> None:
        super().__init__(f"Webex token endpoint: {error}: {description}".rstrip(": "), status=status)
        self.error = error


class WebexReauthorizationRequired(ContactCenterAuthFailed):
    """No usable Webex authorization: nobody signed in yet, or Webex refused the refresh token."""

    code = "webexReauthorizationRequired"


class StaleWebexAuthorization(ContactCenterError):
    """The stored authorization changed since it was read (a concurrent refresh or sign-in)."""

    code = "staleWebexAuthorization"
    transient = True
