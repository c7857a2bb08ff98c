"""Failures of the contact-center area; each class maps to one HTTP status in shared/http/errors.py.

`transient` tells the presence worker whether a redelivery can succeed (throttling, outages) or the
message should dead-letter (the contact center refused the request for good).
"""

from __future__ import annotations

from typing import ClassVar

from shared.errors import AppError


class ContactCenterError(AppError):
    code = "contactCenterError"
    transient: ClassVar[bool] = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        # The contact center's HTTP status when it answered.
        self.status = status


class ContactCenterThrottled(ContactCenterError):
    """429: try again after `retry_after` seconds (None: the contact center did not say)."""

    code = "contactCenterThrottled"
    transient = True

    def __init__(self, message: str, *, retry_after: float | None, status: int | None = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ContactCenterUnavailable(ContactCenterError):
    """5xx, a timeout or a connection failure: worth retrying, after `retry_after` when given."""

    code = "contactCenterUnavailable"
    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ContactCenterRejected(ContactCenterError):
    """4xx: the request itself is wrong for the contact center (unknown agent, invalid idle code)."""

    code = "contactCenterRejected"


class ContactCenterAuthFailed(ContactCenterError):
    """No token could be obtained, or the contact center refused ours (401/403)."""

    code = "contactCenterAuthFailed"


class ContactCenterNotConfigured(ContactCenterError):
    """The tenant's connector has no contact center: nothing to call, no secret to verify events with."""

    code = "contactCenterNotConfigured"


class IdleCodesNotOffered(ContactCenterError):
    """The contact center has no idle-code list (a webhook that answers 404 to GET {url}/idle-codes)."""

    code = "idleCodesNotOffered"


class InvalidEventSignature(ContactCenterError):
    """The X-Connector-Signature header is missing or does not match the body: nothing is accepted."""

    code = "invalidSignature"


class InvalidAgentEvents(ContactCenterError):
    """The body is not an agent event batch this version understands."""

    code = "invalidAgentEvents"


class AgentEventsTooLarge(ContactCenterError):
    code = "payloadTooLarge"
