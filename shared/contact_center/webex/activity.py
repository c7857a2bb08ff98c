"""The connector lifecycle's view of the Webex subscription, around the presence subscriptions' view:
register on activation, remove on deactivation (and before a delete). Failures are logged, never
raised: the lifecycle change the admin asked for stands, and the subscription timer repairs the rest."""

from __future__ import annotations

import logging

from shared.connectors.model import ConnectorCounts
from shared.connectors.ports import ConnectorActivity
from shared.contact_center.webex.service import WebexConnectionService
from shared.errors import AppError

logger = logging.getLogger(__name__)


class WebexConnectorActivity:
    def __init__(self, inner: ConnectorActivity, webex: WebexConnectionService) -> None:
        self._inner = inner
        self._webex = webex

    def activated(self, tenant_id: str) -> None:
        self._inner.activated(tenant_id)
        try:
            self._webex.ensure_subscription(tenant_id)
        except AppError as exc:
            logger.warning(
                "tenant %s active, but the Webex subscription was not registered (the timer retries): %s",
                tenant_id,
                exc.message,
            )

    def deactivated(self, tenant_id: str) -> None:
        self._inner.deactivated(tenant_id)
        try:
            self._webex.remove_subscription(tenant_id)
        except AppError as exc:
            logger.warning(
                "tenant %s inactive, but its Webex subscription was not removed: %s", tenant_id, exc.message
            )

    def counts(self, tenant_id: str) -> ConnectorCounts:
        return self._inner.counts(tenant_id)
