"""What the connector reads from and writes to Microsoft Graph, independent of any SDK."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MAX_TOP = 999
MAX_CLIENT_STATE_LENGTH = 128
MAX_ENCRYPTION_CERTIFICATE_ID_LENGTH = 128


@dataclass(frozen=True)
class DirectoryUser:
    id: str
    display_name: str | None
    user_principal_name: str | None
    department: str | None
    job_title: str | None
    business_phones: tuple[str, ...]
    mail: str | None = None
    mobile_phone: str | None = None


# Graph's activity of a user whose automatic replies are on; presence.outOfOfficeSettings.isOutOfOffice
# can say so while the activity says something else (graph-facts: "out of office can also show as").
OUT_OF_OFFICE_ACTIVITY = "OutOfOffice"


def shown_activity(activity: str, is_out_of_office: bool) -> str:
    """The activity the connector works with: OutOfOffice whenever Graph says the user is out of office
    (Teams shows him so), the availability is kept as Graph reports it."""
    return OUT_OF_OFFICE_ACTIVITY if is_out_of_office else activity


@dataclass(frozen=True)
class Presence:
    user_id: str
    availability: str
    activity: str
    # Lexicographically sortable; Graph leaves it out on some reads.
    sequence_number: str | None
    # From outOfOfficeSettings.isOutOfOffice (the user's automatic replies are on).
    out_of_office: bool = False
    # statusMessage.message.content, the note the user set in Teams; None when none is set.
    status_message: str | None = None


@dataclass(frozen=True)
class UserQuery:
    """A directory search: `name` matches displayName tokens, the others are prefixes."""

    name: str | None = None
    department: str | None = None
    job_title: str | None = None
    top: int = 25

    def __post_init__(self) -> None:
        if not 1 <= self.top <= MAX_TOP:
            raise ValueError(f"top must be between 1 and {MAX_TOP}, not {self.top}")


@dataclass(frozen=True)
class UserPageRequest:
    """One page of `GET /users` as the caller shaped it (advanced query: ConsistencyLevel + $count).

    `skip_token` is the value of Graph's own `$skiptoken` from a previous page's nextLink: the gateway
    rebuilds the URL from its configured base URL, so no caller ever makes it follow a URL.
    """

    select: tuple[str, ...]
    top: int
    search: str | None = None
    filter: str | None = None
    skip_token: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.top <= MAX_TOP:
            raise ValueError(f"top must be between 1 and {MAX_TOP}, not {self.top}")
        if not self.select:
            raise ValueError("select at least one property")


@dataclass(frozen=True)
class UserPage:
    users: tuple[DirectoryUser, ...]
    # Graph's $skiptoken for the next page; None on the last page.
    next_skip_token: str | None


@dataclass(frozen=True)
class SubscriptionRequest:
    """A change-notification subscription as `POST /subscriptions` takes it."""

    resource: str
    notification_url: str
    lifecycle_notification_url: str | None
    expiration: datetime
    client_state: str | None
    include_resource_data: bool
    # Base64 DER X.509 (public part only); required with include_resource_data.
    encryption_certificate: str | None
    encryption_certificate_id: str | None
    change_type: str = "updated"

    def __post_init__(self) -> None:
        if self.expiration.tzinfo is None:
            raise ValueError("expiration must be timezone-aware")
        if self.client_state is not None and len(self.client_state) > MAX_CLIENT_STATE_LENGTH:
            raise ValueError(f"clientState is limited to {MAX_CLIENT_STATE_LENGTH} characters")
        if self.include_resource_data and not (
            self.encryption_certificate and self.encryption_certificate_id
        ):
            raise ValueError("rich notifications need encryption_certificate and encryption_certificate_id")
        if (
            self.encryption_certificate_id is not None
            and len(self.encryption_certificate_id) > MAX_ENCRYPTION_CERTIFICATE_ID_LENGTH
        ):
            raise ValueError(
                f"encryptionCertificateId is limited to {MAX_ENCRYPTION_CERTIFICATE_ID_LENGTH} characters"
            )


@dataclass(frozen=True)
class GraphSubscription:
    """A subscription as Graph holds it (Graph may have raised the requested expiration)."""

    id: str
    resource: str
    expiration: datetime
    change_type: str | None = None
    notification_url: str | None = None
    lifecycle_notification_url: str | None = None
    client_state: str | None = None
    include_resource_data: bool = False
    encryption_certificate_id: str | None = None
    creator_id: str | None = None
