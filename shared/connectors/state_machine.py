"""The connector lifecycle rules, in one place.

    (create) -> pendingConsent --grantConsent--> active --deactivate--> inactive --delete--> deleting
                  |  ^      |                       ^                       |                  |
                  +--+      |                       +------reactivate-------+     purge, then (gone)
     requestConsent /       |                                                          ^
       consentFailed        +-------------------- delete (cancel the setup) -----------+

A setup that never became active (a mistyped tenant, an admin who never consents) can be deleted
straight away: nothing runs for it, so there is nothing to stop first. A connector that was active must
be deactivated before it is deleted, so its presence sync stops before its data goes.

Every function is pure: it takes a connector and the current time and returns the next connector, or
raises InvalidTransition naming the current status. Services persist what these functions return.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from enum import StrEnum

from shared.connectors.exceptions import InvalidTransition
from shared.connectors.model import (
    Connector,
    ConnectorSettings,
    ConnectorStatus,
    ConsentAttempt,
    ConsentFailure,
    ContactCenterConfig,
    PreviousSecret,
    WebhookContactCenter,
)


class Action(StrEnum):
    REQUEST_CONSENT = "requestConsent"
    GRANT_CONSENT = "grantConsent"
    RECORD_CONSENT_FAILURE = "recordConsentFailure"
    UPDATE = "update"
    DEACTIVATE = "deactivate"
    REACTIVATE = "reactivate"
    DELETE = "delete"


_ALLOWED_FROM: dict[Action, frozenset[ConnectorStatus]] = {
    Action.REQUEST_CONSENT: frozenset({ConnectorStatus.PENDING_CONSENT}),
    Action.GRANT_CONSENT: frozenset({ConnectorStatus.PENDING_CONSENT}),
    Action.RECORD_CONSENT_FAILURE: frozenset({ConnectorStatus.PENDING_CONSENT}),
    Action.UPDATE: frozenset(
        {ConnectorStatus.PENDING_CONSENT, ConnectorStatus.ACTIVE, ConnectorStatus.INACTIVE}
    ),
    Action.DEACTIVATE: frozenset({ConnectorStatus.ACTIVE}),
    Action.REACTIVATE: frozenset({ConnectorStatus.INACTIVE}),
    # A setup that never got consent is cancelled by deleting it; an active connector is deactivated
    # first. A deletion that stopped half-way can be repeated.
    Action.DELETE: frozenset(
        {ConnectorStatus.PENDING_CONSENT, ConnectorStatus.INACTIVE, ConnectorStatus.DELETING}
    ),
}

_HINTS: dict[Action, str] = {
    Action.DELETE: "deactivate the connector first",
    Action.REQUEST_CONSENT: "consent is only needed while the connector is pendingConsent",
    Action.GRANT_CONSENT: "consent is only needed while the connector is pendingConsent",
    Action.RECORD_CONSENT_FAILURE: "consent is only needed while the connector is pendingConsent",
}


def allowed_actions(status: ConnectorStatus) -> frozenset[Action]:
    return frozenset(action for action, sources in _ALLOWED_FROM.items() if status in sources)


def ensure_allowed(connector: Connector, action: Action) -> None:
    if connector.status not in _ALLOWED_FROM[action]:
        raise InvalidTransition(action.value, connector.status.value, _HINTS.get(action, ""))


def new_connector(
    tenant_id: str,
    settings: ConnectorSettings,
    contact_center: ContactCenterConfig | None,
    attempt: ConsentAttempt,
    now: datetime,
) -> Connector:
    return Connector(
        tenant_id=tenant_id,
        status=ConnectorStatus.PENDING_CONSENT,
        settings=settings,
        contact_center=contact_center,
        created_at=now,
        updated_at=now,
        consent_attempt=attempt,
        contact_center_changed_at=None if contact_center is None else now,
    )


def start_consent_attempt(connector: Connector, attempt: ConsentAttempt, now: datetime) -> Connector:
    """A new consent link supersedes every earlier one: only the latest attempt id is accepted."""
    ensure_allowed(connector, Action.REQUEST_CONSENT)
    return replace(connector, consent_attempt=attempt, updated_at=now)


def grant_consent(connector: Connector, now: datetime) -> Connector:
    ensure_allowed(connector, Action.GRANT_CONSENT)
    return replace(
        connector,
        status=ConnectorStatus.ACTIVE,
        consent_attempt=None,
        last_consent_failure=None,
        activated_at=now,
        updated_at=now,
    )


def record_consent_failure(connector: Connector, failure: ConsentFailure) -> Connector:
    """The admin declined or Entra refused: the state is used up and the connector keeps waiting."""
    ensure_allowed(connector, Action.RECORD_CONSENT_FAILURE)
    return replace(connector, consent_attempt=None, last_consent_failure=failure, updated_at=failure.at)


def update(
    connector: Connector,
    settings: ConnectorSettings,
    contact_center: ContactCenterConfig | None,
    now: datetime,
) -> Connector:
    ensure_allowed(connector, Action.UPDATE)
    if (settings, contact_center) == (connector.settings, connector.contact_center):
        # Nothing to store: not a change, so neither written nor audited.
        return connector
    changed_at = connector.contact_center_changed_at
    if contact_center != connector.contact_center:
        changed_at = now
    previous = connector.previous_secret
    old_secret = secret_of(connector.contact_center)
    if contact_center is None:
        previous = None
    elif old_secret is not None and secret_of(contact_center) != old_secret:
        # A second rotation forgets the first previous secret: only the one just replaced overlaps.
        previous = PreviousSecret(secret=old_secret, replaced_at=now)
    return replace(
        connector,
        settings=settings,
        contact_center=contact_center,
        contact_center_changed_at=changed_at,
        previous_secret=previous,
        updated_at=now,
    )


def deactivate(connector: Connector, now: datetime) -> Connector:
    ensure_allowed(connector, Action.DEACTIVATE)
    return replace(connector, status=ConnectorStatus.INACTIVE, deactivated_at=now, updated_at=now)


def reactivate(connector: Connector, now: datetime) -> Connector:
    ensure_allowed(connector, Action.REACTIVATE)
    return replace(connector, status=ConnectorStatus.ACTIVE, activated_at=now, updated_at=now)


def begin_deletion(connector: Connector, now: datetime) -> Connector:
    """Mark the connector before its data is purged, so no other change can race the purge."""
    ensure_allowed(connector, Action.DELETE)
    if connector.status is ConnectorStatus.DELETING:
        return connector
    return replace(connector, status=ConnectorStatus.DELETING, updated_at=now)


def secret_of(config: ContactCenterConfig | None) -> str | None:
    """The secret that signs the contact center's events (and our calls to it)."""
    if config is None:
        return None
    if isinstance(config, WebhookContactCenter):
        return config.secret
    # Webex signs with the secret of its subscription, kept with the Webex authorization.
    return None
