"""The presence engine's contact-center evidence, written sparingly (a ContactCenterHealthReporter).

Every contact-center call the engine makes says something about the contact center, but writing each
one would add a table write per change. A report is written when its outcome (reachable, accepted)
differs from the last one this instance wrote for the tenant, and otherwise at most every REFRESH, so
the `at` GET connector shows stays recent and a stale outcome written by another instance is
overwritten within REFRESH. A steady stream of successful commands costs one write per tenant per
REFRESH per instance.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Final

from shared.contact_center.health import ContactCenterCheck
from shared.contact_center.ports import ContactCenterHealthLog

logger = logging.getLogger(__name__)

REFRESH: Final = timedelta(minutes=5)


class RecordedHealthReports:
    def __init__(self, log: ContactCenterHealthLog, refresh: timedelta = REFRESH) -> None:
        self._log = log
        self._refresh = refresh
        self._lock = threading.Lock()
        self._written: dict[str, ContactCenterCheck] = {}

    def report(self, tenant_id: str, check: ContactCenterCheck) -> None:
        with self._lock:
            last = self._written.get(tenant_id)
            if last is not None and last.outcome == check.outcome and check.at - last.at < self._refresh:
                return
            self._written[tenant_id] = check
        try:
            self._log.record(tenant_id, check)
        except Exception as error:
            with self._lock:
                if self._written.get(tenant_id) is check:
                    del self._written[tenant_id]
            logger.warning(
                "tenant %s: could not record the contact center's health (%s)",
                tenant_id,
                type(error).__name__,
            )
