"""The connector aggregate and its value objects. Pure data: no I/O, no framework types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar, Final, Literal

from shared.identity.principal import Actor


class ConnectorStatus(StrEnum):
    PENDING_CONSENT = "pendingConsent"
    ACTIVE = "active"
    INACTIVE = "inactive"
    # Deletion has started: the purge may be half done, so nothing but finishing the delete is allowed.
    DELETING = "deleting"


@dataclass(frozen=True)
class ConnectorSettings:
    # Off until an admin opts in: agents then see colleagues' department, role and phone.
    show_user_details: bool = False
    presence_sync: bool = True


@dataclass(frozen=True)
class WebexContactCenter:
    """Webex Contact Center: its regional API host and the organisation. No credential here: an admin
    signs in to Webex (shared/contact_center/webex/), and that authorization is kept beside the
    connector, sealed."""

    type: ClassVar[Literal["webexcc"]] = "webexcc"
    base_url: str
    org_id: str


@dataclass(frozen=True)
class WebhookContactCenter:
    """Any contact center: we POST HMAC-signed JSON to a URL the tenant configures."""

    type: ClassVar[Literal["webhook"]] = "webhook"
    url: str
    secret: str = field(repr=False)


ContactCenterConfig = WebexContactCenter | WebhookContactCenter

# How long events signed with the secret an admin just replaced are still taken: the contact center
# switches over to the new one without a window of refused events.
SECRET_ROTATION_OVERLAP: Final = timedelta(minutes=10)


@dataclass(frozen=True)
class PreviousSecret:
    """The contact-center secret replaced by the last rotation, and when it was replaced."""

    secret: str = field(repr=False)
    replaced_at: datetime

    def still_accepted(self, now: datetime) -> bool:
        return now - self.replaced_at < SECRET_ROTATION_OVERLAP


@dataclass(frozen=True)
class ConsentAttempt:
    """The one setup attempt whose consent link is currently valid; its id is bound into the signed state."""

    attempt_id: str
    expires_at: datetime
    # The admin who asked for the link; its callback completes only a state naming him.
    requested_by: Actor | None = None


@dataclass(frozen=True)
class ConsentFailure:
    error: str
    description: str
    at: datetime


@dataclass(frozen=True)
class Connector:
    tenant_id: str
    status: ConnectorStatus
    settings: ConnectorSettings
    contact_center: ContactCenterConfig | None
    created_at: datetime
    updated_at: datetime
    activated_at: datetime | None = None
    deactivated_at: datetime | None = None
    consent_attempt: ConsentAttempt | None = None
    last_consent_failure: ConsentFailure | None = None
    # When contactCenter was last set or changed: health evidence from before is about another one.
    contact_center_changed_at: datetime | None = None
    # Events signed with it are still taken for SECRET_ROTATION_OVERLAP after the rotation.
    previous_secret: PreviousSecret | None = None
    # The storage version (Table Storage ETag) this instance was read at; None before the first write.
    etag: str | None = None


@dataclass(frozen=True)
class ConnectorCounts:
    """What the connector looks after, and what it lacks to look after all of it."""

    agents: int = 0
    subscribed_agents: int = 0
    subscriptions: int = 0
    sync_accounts_signed_in: int = 0
    sync_accounts_needed: int = 0
    # For the admin, e.g. "1,300 agents need 2 sync accounts; 1 signed in"; None when nothing is missing.
    missing: str | None = None
    # Graph's limit of ids in one presence subscription, and one subscription per sync account.
    agents_per_sync_account: int = 650


@dataclass(frozen=True)
class AuditEntry:
    tenant_id: str
    action: str
    at: datetime
    outcome: Literal["succeeded", "failed"]
    # Who did it, from his verified token; None for what the connector did on its own.
    actor: Actor | None = None
    detail: str | None = None
