"""Lifecycle notifications (`POST /api/graph/lifecycle`).

Presence subscriptions only get `reauthorizationRequired`: Graph wants a reauthorize or a renewal
(a PATCH of the expiry reauthorizes too), and never both for one subscription within 10 minutes. So a
subscription renewed or reauthorized in the last 10 minutes is left alone, one close to expiry is
renewed (which the timer would do soon anyway), and any other is reauthorized.

`subscriptionRemoved` and `missed` are not sent for presence today; they are handled anyway in case
Graph starts to: the first recreates the subscription through a sync pass, the second reads the
shard's presence to close the gap.

Each notification must name a subscription we recorded for its tenant and carry a clientState issued
for that tenant; anything else is dropped and logged.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from shared.errors import AppError
from shared.notifications.client_state import ClientStateSigner
from shared.notifications.model import ChangeNotification, LifecycleEvent, parse_notification_collection
from shared.storage.exceptions import StorageUnavailable
from shared.subscriptions.model import LifecycleReport, SubscriptionRecord, SubscriptionStatus, SyncReport
from shared.subscriptions.ports import SubscriptionRepository
from shared.subscriptions.shard_operations import FailureKind, RenewalResult, ShardOperations

logger = logging.getLogger(__name__)

RENEWED: Final = "renewed"
REAUTHORIZED: Final = "reauthorized"
SKIPPED: Final = "skipped"
RECREATED: Final = "recreated"
GAP_CLOSED: Final = "gapClosed"
_OUTCOMES: Final = frozenset({RENEWED, REAUTHORIZED, SKIPPED, RECREATED, GAP_CLOSED})


class LifecycleHandler:
    def __init__(
        self,
        repository: SubscriptionRepository,
        operations: ShardOperations,
        client_states: ClientStateSigner,
        clock: Callable[[], datetime],
        *,
        resync: Callable[[str], SyncReport],
        renew_before: timedelta,
        spacing: timedelta,
    ) -> None:
        self._repository = repository
        self._operations = operations
        self._client_states = client_states
        self._clock = clock
        self._resync = resync
        self._renew_before = renew_before
        self._spacing = spacing

    def handle(self, body: bytes) -> LifecycleReport:
        """Raise MalformedNotificationError for a body that is no collection, StorageUnavailable when
        records cannot be read or written; every other failure only drops its notification."""
        collection = parse_notification_collection(body)
        outcomes: Counter[str] = Counter()
        for rejected in collection.rejected:
            logger.warning(
                "dropped malformed lifecycle notification for subscription %s: %s",
                rejected.subscription_id,
                rejected.error.message,
            )
            outcomes["malformed"] += 1
        for notification in collection.notifications:
            try:
                outcome = self._handle_one(notification)
            except StorageUnavailable:
                raise
            except AppError as error:
                logger.warning(
                    "lifecycle notification for subscription %s (tenant %s) failed: %s",
                    notification.subscription_id,
                    notification.tenant_id,
                    error.message,
                )
                outcome = error.code
            except Exception:
                logger.exception(
                    "lifecycle notification for subscription %s (tenant %s) failed unexpectedly",
                    notification.subscription_id,
                    notification.tenant_id,
                )
                outcome = "error"
            outcomes[outcome] += 1
        return LifecycleReport(
            received=len(collection.notifications) + len(collection.rejected),
            renewed=outcomes[RENEWED],
            reauthorized=outcomes[REAUTHORIZED],
            skipped=outcomes[SKIPPED],
            recreated=outcomes[RECREATED],
            gap_closed=outcomes[GAP_CLOSED],
            dropped={reason: count for reason, count in outcomes.items() if reason not in _OUTCOMES},
        )

    def _handle_one(self, notification: ChangeNotification) -> str:
        if notification.lifecycle_event is None:
            logger.warning(
                "change notification for subscription %s posted to the lifecycle URL; dropped",
                notification.subscription_id,
            )
            return "notLifecycle"
        record = self._repository.find_by_subscription_id(
            notification.tenant_id, notification.subscription_id
        )
        if record is None:
            logger.warning(
                "lifecycle %s for unknown subscription %s (tenant %s); dropped",
                notification.lifecycle_event.value,
                notification.subscription_id,
                notification.tenant_id,
            )
            return "unknownSubscription"
        if not self._client_states.verify(notification.client_state, record.tenant_id):
            logger.warning(
                "lifecycle %s for subscription %s (tenant %s): clientState mismatch; dropped",
                notification.lifecycle_event.value,
                notification.subscription_id,
                record.tenant_id,
            )
            return "clientStateMismatch"
        if notification.lifecycle_event is LifecycleEvent.REAUTHORIZATION_REQUIRED:
            return self._reauthorization_required(record)
        if notification.lifecycle_event is LifecycleEvent.SUBSCRIPTION_REMOVED:
            return self._recreate(record, "Graph removed the subscription")
        published, _error = self._operations.close_gap(record)
        logger.info(
            "tenant %s subscription %s: missed notifications, %d presences re-read",
            record.tenant_id,
            record.subscription_id,
            published,
        )
        return GAP_CLOSED

    def _reauthorization_required(self, record: SubscriptionRecord) -> str:
        now = self._clock()
        last = record.last_touched()
        if last is not None and now - last < self._spacing:
            logger.info(
                "tenant %s subscription %s: reauthorization asked %s after the last renewal or "
                "reauthorization; Graph forbids another one within %s",
                record.tenant_id,
                record.subscription_id,
                now - last,
                self._spacing,
            )
            return SKIPPED
        expiring = record.expires_at is None or record.expires_at - now <= self._renew_before
        if expiring:
            result, failure = self._operations.renew(record)
        else:
            result, failure = self._operations.reauthorize(record)
        if result is RenewalResult.LOST:
            return self._recreate(record, "Graph no longer has the subscription")
        if failure is not None:
            if failure.kind is FailureKind.ACCOUNT_UNUSABLE:
                logger.warning(
                    "tenant %s: %s; the renew timer moves its agents", record.tenant_id, failure.describe()
                )
            return "failed"
        return RENEWED if expiring else REAUTHORIZED

    def _recreate(self, record: SubscriptionRecord, reason: str) -> str:
        if record.subscription_id is not None:
            self._repository.record_error(
                record.tenant_id, record.account_id, record.subscription_id, reason, SubscriptionStatus.FAILED
            )
        # The bump makes a pass already running elsewhere (holding the lease) loop and see the change.
        self._repository.bump_roster_version(record.tenant_id)
        report = self._resync(record.tenant_id)
        logger.info(
            "tenant %s subscription %s: %s; sync %s",
            record.tenant_id,
            record.subscription_id,
            reason,
            report.outcome,
        )
        return RECREATED
