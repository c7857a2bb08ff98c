"""The tenant's idle codes, read from its contact center: what admins map Teams states to, and the
check that a presence mapping names only codes the contact center has.

Webex: `GET {baseUrl}/organization/{orgId}/v2/auxiliary-code` (IDLE_CODE, active, paged). Webhook:
`GET {url}/idle-codes`. Nothing is cached: an admin asks while editing mappings, and a code just
created in the contact center must show at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from shared.connectors.exceptions import ConnectorNotFound
from shared.connectors.ports import ConnectorRepository
from shared.contact_center.exceptions import ContactCenterError, ContactCenterNotConfigured
from shared.contact_center.model import IdleCode
from shared.contact_center.ports import ContactCenterClients

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IdleCodeVerification:
    """Whether the ids could be checked against the contact center, and which of them it lacks."""

    checked: bool
    unknown: frozenset[str] = frozenset()
    # Why they could not be checked (None when they were).
    reason: str | None = None


class IdleCodeCatalog:
    def __init__(self, connectors: ConnectorRepository, clients: ContactCenterClients) -> None:
        self._connectors = connectors
        self._clients = clients

    def list(self, tenant_id: str) -> list[IdleCode]:
        """Raise ConnectorNotFound, ContactCenterNotConfigured or the contact center's failure."""
        connector = self._connectors.get(tenant_id)
        if connector is None:
            raise ConnectorNotFound(tenant_id)
        if connector.contact_center is None:
            raise ContactCenterNotConfigured(
                f"tenant {tenant_id} has no contact center configured, so it has no idle codes"
            )
        codes = self._clients.client_for(tenant_id, connector.contact_center).idle_codes()
        logger.info("tenant %s: %d idle codes read from the contact center", tenant_id, len(codes))
        return codes

    def verify(self, tenant_id: str, idle_code_ids: Iterable[str]) -> IdleCodeVerification:
        """Never raises for the contact center: when it cannot be asked, the verification says why."""
        wanted = frozenset(idle_code_ids)
        if not wanted:
            return IdleCodeVerification(checked=True)
        try:
            known = {code.id for code in self.list(tenant_id)}
        except ContactCenterError as exc:
            logger.warning("tenant %s: idle codes not checked: %s", tenant_id, exc.message)
            return IdleCodeVerification(checked=False, reason=exc.message)
        return IdleCodeVerification(checked=True, unknown=wanted - known)
