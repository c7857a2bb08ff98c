"""Notification intake: from a POSTed changeNotificationCollection to presence changes on the queue.

This runs inside Graph's 3-second acknowledgement window, so it does no Graph call and, in the steady
state, no table read (the subscription directory caches). Every check drops only the notification that
fails it; the batch is acknowledged once what passed is persisted. Only a failure to persist (or to
fetch the token signing keys) is raised, so the trigger answers 5xx and Graph delivers again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shared.graph.model import shown_activity
from shared.notifications.client_state import ClientStateSigner
from shared.notifications.decryption import decrypt_encrypted_content
from shared.notifications.encryption_keys import EncryptionKeyRing
from shared.notifications.exceptions import (
    InvalidValidationTokenError,
    MissingValidationTokenError,
    NotificationError,
)
from shared.notifications.model import (
    ChangeNotification,
    NotificationCollection,
    parse_notification_collection,
    parse_presence_payload,
)
from shared.notifications.validation_tokens import ValidationTokenVerifier
from shared.operations.ports import NoReports, OperationsReporter
from shared.presence.messages import PresenceChange
from shared.presence.ports import PresenceQueue
from shared.security.exceptions import SigningKeysUnavailable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KnownSubscription:
    subscription_id: str
    tenant_id: str


class SubscriptionDirectory(Protocol):
    def find(self, subscription_id: str, tenant_id: str) -> KnownSubscription | None:
        """The subscription if this app created it for that tenant; cached, so cheap when repeated."""
        ...


@dataclass(frozen=True)
class IntakeReport:
    received: int
    accepted: int
    dropped: dict[str, int] = field(default_factory=dict)


class NotificationIntake:
    def __init__(
        self,
        directory: SubscriptionDirectory,
        client_states: ClientStateSigner,
        tokens: ValidationTokenVerifier,
        keys: EncryptionKeyRing,
        queue: PresenceQueue,
        clock: Callable[[], datetime],
        reporter: OperationsReporter | None = None,
    ) -> None:
        self._reporter: OperationsReporter = reporter if reporter is not None else NoReports()
        self._directory = directory
        self._client_states = client_states
        self._tokens = tokens
        self._keys = keys
        self._queue = queue
        self._clock = clock

    def accept(self, body: bytes) -> IntakeReport:
        """Raise MalformedNotificationError for a body that is no collection at all."""
        collection = parse_notification_collection(body)
        observed_at = self._clock()
        dropped: Counter[str] = Counter()
        for rejected in collection.rejected:
            logger.warning(
                "dropped malformed notification for subscription %s: %s",
                rejected.subscription_id,
                rejected.error.message,
            )
            dropped["malformed"] += 1
            self._reporter.notifications_dropped(None, "malformed", 1)

        tokens_ok = self._tokens_valid(collection)
        changes: list[PresenceChange] = []
        for notification in collection.notifications:
            reason = self._reject_reason(notification, tokens_ok)
            if reason is None:
                change, reason = self._to_change(notification, observed_at)
                if change is not None:
                    changes.append(change)
                    continue
            dropped[reason or "invalid"] += 1
            self._reporter.notifications_dropped(notification.tenant_id, reason or "invalid", 1)

        # Raises PresenceQueueUnavailable: nothing is acknowledged that is not persisted.
        self._queue.publish(changes)
        report = IntakeReport(
            received=len(collection.notifications) + len(collection.rejected),
            accepted=len(changes),
            dropped=dict(dropped),
        )
        if report.dropped:
            logger.warning("notification batch: %s accepted, dropped %s", report.accepted, report.dropped)
        return report

    def _tokens_valid(self, collection: NotificationCollection) -> bool:
        rich_tenants = {n.tenant_id for n in collection.notifications if n.encrypted_content is not None}
        if not rich_tenants:
            return True
        try:
            self._tokens.verify_all(collection.validation_tokens, rich_tenants)
        except SigningKeysUnavailable:
            raise
        except (InvalidValidationTokenError, MissingValidationTokenError) as exc:
            logger.warning("dropping a batch for tenants %s: %s", sorted(rich_tenants), exc.message)
            return False
        return True

    def _reject_reason(self, notification: ChangeNotification, tokens_ok: bool) -> str | None:
        if notification.is_lifecycle:
            return "lifecycleOnNotificationUrl"
        known = self._directory.find(notification.subscription_id, notification.tenant_id)
        if known is None:
            logger.warning(
                "notification for unknown subscription %s (tenant %s)",
                notification.subscription_id,
                notification.tenant_id,
            )
            return "unknownSubscription"
        if known.tenant_id != notification.tenant_id:
            logger.warning(
                "notification for subscription %s claims tenant %s, but it belongs to %s",
                notification.subscription_id,
                notification.tenant_id,
                known.tenant_id,
            )
            return "tenantMismatch"
        if not self._client_states.verify(notification.client_state, known.tenant_id):
            logger.warning(
                "clientState mismatch for subscription %s (tenant %s)",
                notification.subscription_id,
                known.tenant_id,
            )
            return "clientStateMismatch"
        if notification.encrypted_content is None:
            # A basic notification carries no presence; the reconcile timer reads it instead.
            return "noResourceData"
        if not tokens_ok:
            return "invalidValidationToken"
        return None

    def _to_change(
        self, notification: ChangeNotification, observed_at: datetime
    ) -> tuple[PresenceChange | None, str | None]:
        assert notification.encrypted_content is not None  # noqa: S101 - checked by _reject_reason
        try:
            document = decrypt_encrypted_content(notification.encrypted_content, self._keys)
            presence = parse_presence_payload(document)
        except NotificationError as exc:
            logger.warning(
                "dropped notification of subscription %s (tenant %s): %s",
                notification.subscription_id,
                notification.tenant_id,
                exc.message,
            )
            return None, exc.code
        resource_id = notification.resource_data.id if notification.resource_data else None
        if resource_id is not None and resource_id.lower() != presence.id.lower():
            logger.warning(
                "dropped notification of subscription %s: resource id and payload id differ",
                notification.subscription_id,
            )
            return None, "resourceMismatch"
        return (
            PresenceChange(
                tenant_id=notification.tenant_id,
                user_id=presence.id.lower(),
                availability=presence.availability,
                activity=shown_activity(presence.activity, presence.is_out_of_office),
                sequence_number=presence.sequence_number,
                observed_at=observed_at,
                subscription_id=notification.subscription_id,
            ),
            None,
        )
