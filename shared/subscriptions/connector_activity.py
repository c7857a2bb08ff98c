"""The connector lifecycle's view of presence subscriptions: subscribe on activation, unsubscribe on
deactivation, and the counts its details show. Failures are logged, never raised: a lifecycle change
the admin asked for stands, and the renew timer repairs what Graph did not take."""

from __future__ import annotations

import logging

from shared.connectors.model import ConnectorCounts
from shared.errors import AppError
from shared.subscriptions.service import SubscriptionService

logger = logging.getLogger(__name__)


class SubscriptionConnectorActivity:
    def __init__(self, subscriptions: SubscriptionService) -> None:
        self._subscriptions = subscriptions

    def activated(self, tenant_id: str) -> None:
        try:
            report = self._subscriptions.sync_tenant(tenant_id)
            logger.info("tenant %s active: subscriptions %s", tenant_id, report.outcome)
        except AppError as exc:
            logger.warning(
                "tenant %s active, but subscribing failed (the timer retries): %s", tenant_id, exc.message
            )

    def deactivated(self, tenant_id: str) -> None:
        try:
            removed = self._subscriptions.remove_all(tenant_id)
            logger.info("tenant %s inactive: %s subscription(s) removed", tenant_id, removed)
        except AppError as exc:
            logger.warning(
                "tenant %s inactive, but removing its subscriptions failed (they lapse within the hour): %s",
                tenant_id,
                exc.message,
            )

    def counts(self, tenant_id: str) -> ConnectorCounts:
        capacity = self._subscriptions.capacity(tenant_id)
        subscriptions = sum(1 for used in self._subscriptions.used(tenant_id).values() if used > 0)
        return ConnectorCounts(
            agents=capacity.agents,
            subscribed_agents=capacity.subscribed,
            subscriptions=subscriptions,
            sync_accounts_signed_in=capacity.accounts_usable,
            sync_accounts_needed=capacity.accounts_needed,
            missing=capacity.missing,
        )
