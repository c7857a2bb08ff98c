"""The admin's "test the contact center" action: one authenticated, harmless request through the
tenant's adapter (ContactCenterClient.probe), and what it showed.

The answer says whether the contact center answered at all, with which HTTP status, why it failed and
how long it took. The result is kept as the tenant's latest `test` check (GET connector shows it) and
audited: `succeeded` when the contact center took the request, `failed` with the reason otherwise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Final

from shared.connectors.audit import AdminAudit
from shared.connectors.exceptions import ConnectorNotFound, InvalidTransition
from shared.connectors.model import ConnectorStatus
from shared.connectors.ports import AuditLog, ConnectorRepository
from shared.contact_center.exceptions import ContactCenterError, ContactCenterNotConfigured
from shared.contact_center.health import CheckSource, ContactCenterCheck, accepted_check, failed_check
from shared.contact_center.ports import ContactCenterClients, ContactCenterHealthLog
from shared.identity.principal import Actor

logger = logging.getLogger(__name__)

AUDIT_ACTION: Final = "testContactCenter"


class ContactCenterConnectionTest:
    def __init__(
        self,
        connectors: ConnectorRepository,
        clients: ContactCenterClients,
        health: ContactCenterHealthLog,
        audit: AuditLog,
        clock: Callable[[], datetime],
        *,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._connectors = connectors
        self._clients = clients
        self._health = health
        self._audit = AdminAudit(audit, clock)
        self._clock = clock
        self._timer = timer

    def run(self, tenant_id: str, actor: Actor) -> ContactCenterCheck:
        """Raise ConnectorNotFound, InvalidTransition (being deleted) or ContactCenterNotConfigured;
        otherwise the check, whatever the contact center answered."""
        with self._audit.action(tenant_id, AUDIT_ACTION, actor) as note:
            connector = self._connectors.get(tenant_id)
            if connector is None:
                raise ConnectorNotFound(tenant_id)
            if connector.status is ConnectorStatus.DELETING:
                raise InvalidTransition(
                    "test the contact center of", connector.status.value, "the connector is being deleted"
                )
            config = connector.contact_center
            if config is None:
                raise ContactCenterNotConfigured(
                    f"tenant {tenant_id} has no contact center configured: PATCH the connector's "
                    "contactCenter first"
                )
            # Recorded below, with the outcome the contact center gave.
            note.skip = True
        client = self._clients.client_for(tenant_id, config)
        at = self._clock()
        started = self._timer()
        try:
            status = client.probe()
        except ContactCenterError as error:
            check = failed_check(CheckSource.TEST, at, config, error, self._elapsed_ms(started))
        else:
            check = accepted_check(CheckSource.TEST, at, config, status, self._elapsed_ms(started))
        logger.info(
            "tenant %s: contact-center test %s (status %s, %.1f ms)",
            tenant_id,
            "accepted" if check.accepted else "failed",
            check.status,
            check.latency_ms or 0.0,
        )
        try:
            self._health.record(tenant_id, check)
        except Exception as error:
            # The admin still gets the answer; GET connector shows the previous evidence meanwhile.
            logger.warning(
                "tenant %s: could not store the contact-center test result (%s)",
                tenant_id,
                type(error).__name__,
            )
        self._audit.record(
            tenant_id, AUDIT_ACTION, actor, failed=not check.accepted, detail=check.reason, at=at
        )
        return check

    def _elapsed_ms(self, started: float) -> float:
        return round((self._timer() - started) * 1000, 1)
