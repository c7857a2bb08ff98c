"""Turns presence changes and lifecycle events into envelopes for the delivery dispatcher."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from devstack.graph_simulator.delivery import DeliveryDispatcher, Envelope
from devstack.graph_simulator.models import PresenceChange, Subscription
from devstack.graph_simulator.rich_notifications import lifecycle_notification, presence_notification
from devstack.graph_simulator.tokens import TokenIssuer

logger = logging.getLogger(__name__)

LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})


class NotificationService:
    def __init__(self, issuer: TokenIssuer, dispatcher: DeliveryDispatcher) -> None:
        self._issuer = issuer
        self._dispatcher = dispatcher

    def validation_token(self, app_id: str, tenant_id: str) -> str:
        # Receivers check these with their own clock, so they carry wall-clock times.
        return self._issuer.validation_token(tenant_id, app_id, datetime.now(UTC))

    def on_presence_changes(self, changes: list[PresenceChange]) -> None:
        envelopes: list[Envelope] = []
        for change in changes:
            for subscription in change.subscriptions:
                try:
                    item = presence_notification(change, subscription)
                except ValueError:
                    logger.exception("cannot build a notification for subscription %s", subscription.id)
                    continue
                envelopes.append(
                    Envelope(
                        "notification",
                        subscription.notification_url,
                        subscription.id,
                        subscription.tenant_id,
                        subscription.application_id,
                        item,
                        subscription.include_resource_data,
                    )
                )
        if envelopes:
            logger.info("queued %d presence notifications", len(envelopes))
            self._dispatcher.enqueue(envelopes)

    def send_lifecycle(self, subscription: Subscription, event: str) -> bool:
        """Queue a lifecycle event; False when the subscription has no lifecycleNotificationUrl."""
        if subscription.lifecycle_notification_url is None:
            return False
        self._dispatcher.enqueue(
            [
                Envelope(
                    "lifecycle",
                    subscription.lifecycle_notification_url,
                    subscription.id,
                    subscription.tenant_id,
                    subscription.application_id,
                    lifecycle_notification(subscription, event),
                    False,
                )
            ]
        )
        logger.info("queued lifecycle event %s for subscription %s", event, subscription.id)
        return True
