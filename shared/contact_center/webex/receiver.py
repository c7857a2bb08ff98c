"""POST /api/tenants/{tenantId}/contact-center/webex/events: Webex's signed agent-event deliveries.

`X-WebexCC-Signature` is the hex HMAC-SHA256 of the raw body keyed with the subscription's secret,
checked in constant time before the body is parsed: missing or wrong is 401 and nothing changes.
Deliveries of another organisation are dropped; repeats are dropped by their envelope id (the queue
message id is derived from it, and Service Bus duplicate detection drops a second send), and the
engine orders what is left by the event's createdTime, so reordered deliveries apply once, in order.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Final

from shared.connectors.exceptions import ConnectorNotActive, ConnectorNotFound
from shared.connectors.model import Connector, ConnectorStatus, WebexContactCenter
from shared.contact_center.exceptions import AgentEventsTooLarge, InvalidEventSignature
from shared.contact_center.intake import ConnectorLookup, ContactCenterEventIntake, DroppedEvent, EventReport
from shared.contact_center.webex.contract import MAX_DELIVERY_BYTES, SIGNATURE_HEADER
from shared.contact_center.webex.envelope import parse_delivery
from shared.contact_center.webex.ports import WebexAuthorizations

logger = logging.getLogger(__name__)

_HEX_DIGEST_LENGTH: Final = 64
_SCHEME: Final = "sha256="
_REFUSALS: Final = (ConnectorNotFound, InvalidEventSignature, ConnectorNotActive)


def webex_signature(raw_body: bytes, secret: str) -> str:
    """What Webex sends in X-WebexCC-Signature: the lower-case hex HMAC-SHA256 of the body."""
    return hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def verify_webex_signature(raw_body: bytes, header: str | None, secret: str) -> bool:
    if not header or not secret:
        return False
    candidate = header.strip().lower()
    # Tolerated: a `sha256=` prefix (some Webex docs show the bare hex, some implementations prefix it).
    if candidate.startswith(_SCHEME):
        candidate = candidate[len(_SCHEME) :]
    if len(candidate) != _HEX_DIGEST_LENGTH or not candidate.isascii():
        return False
    return hmac.compare_digest(candidate.encode("ascii"), webex_signature(raw_body, secret).encode("ascii"))


class WebexEventReceiver:
    def __init__(
        self,
        connectors: ConnectorLookup,
        authorizations: WebexAuthorizations,
        intake: ContactCenterEventIntake,
    ) -> None:
        # The same cached lookup the webhook intake uses (bootstrap passes the one CachedConnectors):
        # no connector read per delivery, a refusal decided on the stored connector only, and a
        # deactivate honoured within the cache's TTL (10 s; the engine drops what slips in, same cache).
        self._connectors = connectors
        self._authorizations = authorizations
        self._intake = intake

    def accept(self, tenant_id: str, raw_body: bytes, signature: str | None) -> EventReport:
        """Raise InvalidEventSignature (401), AgentEventsTooLarge, InvalidAgentEvents, ConnectorNotActive,
        ConnectorNotFound or PresenceQueueUnavailable."""
        if len(raw_body) > MAX_DELIVERY_BYTES:
            raise AgentEventsTooLarge(f"a Webex delivery must be at most {MAX_DELIVERY_BYTES} bytes")
        try:
            config = self._check(tenant_id, self._connectors.get(tenant_id), raw_body, signature)
        except _REFUSALS:
            # A cached connector never refuses what storage accepts (reactivated, re-subscribed).
            try:
                config = self._check(tenant_id, self._connectors.fresh(tenant_id), raw_body, signature)
            except InvalidEventSignature:
                logger.warning(
                    "Webex delivery for tenant %s refused: %s signature",
                    tenant_id,
                    "missing" if not signature else "invalid",
                )
                raise
        delivery = parse_delivery(raw_body)
        if delivery.event is None:
            logger.info(
                "Webex delivery %s for tenant %s skipped: %s", delivery.event_id, tenant_id, delivery.skipped
            )
            return EventReport(received=1, accepted=0)
        if delivery.org_id is not None and delivery.org_id != config.org_id.lower():
            logger.warning(
                "Webex delivery %s for tenant %s is of organization %s: dropped",
                delivery.event_id,
                tenant_id,
                delivery.org_id,
            )
            dropped = DroppedEvent(delivery.event_id, delivery.event.agent_id, "otherOrganization")
            return self._intake.enqueue(tenant_id, [], (dropped,))
        return self._intake.enqueue(tenant_id, [delivery.event])

    def _check(
        self, tenant_id: str, connector: Connector | None, raw_body: bytes, signature: str | None
    ) -> WebexContactCenter:
        if connector is None:
            raise ConnectorNotFound(tenant_id)
        config = connector.contact_center
        authorization = (
            self._authorizations.get(tenant_id) if isinstance(config, WebexContactCenter) else None
        )
        secret = (
            authorization.subscription.secret
            if authorization is not None and authorization.subscription is not None
            else ""
        )
        if not verify_webex_signature(raw_body, signature, secret):
            raise InvalidEventSignature(
                f"{SIGNATURE_HEADER} must be the hex HMAC-SHA256 of the raw body keyed with the "
                "subscription's secret"
            )
        assert isinstance(config, WebexContactCenter)  # noqa: S101 - a secret exists only for Webex
        if connector.status is not ConnectorStatus.ACTIVE:
            raise ConnectorNotActive(
                tenant_id, connector.status.value, "agent events are taken only while it is active"
            )
        return config
