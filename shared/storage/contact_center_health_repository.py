"""The latest contact-center checks of a tenant: a second row in the tenant's `Connectors` partition
(RowKey "contactCenterHealth"), one group of columns per source (Test*, Sync*).

Written with an unconditional merge, never with the connector row's ETag: the engine reports on its
own schedule, and an admin's If-Match on the connector must not go stale because of it. The tenant
purge removes the row with the rest of the partition.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Final

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode

from shared.contact_center.health import CheckSource, ContactCenterCheck, ContactCenterHealth
from shared.storage.keys import checked_key
from shared.storage.table_names import CONNECTORS
from shared.storage.table_store import TableStore, storage_errors

logger = logging.getLogger(__name__)

ROW_KEY: Final = "contactCenterHealth"
_PREFIX: Final = {CheckSource.TEST: "Test", CheckSource.SYNC: "Sync"}


class TableContactCenterHealth:
    def __init__(self, store: TableStore) -> None:
        self._store = store

    def record(self, tenant_id: str, check: ContactCenterCheck) -> None:
        prefix = _PREFIX[check.source]
        entity: dict[str, Any] = {
            "PartitionKey": checked_key(tenant_id, "tenant id"),
            "RowKey": ROW_KEY,
            f"{prefix}At": check.at,
            f"{prefix}Destination": check.destination,
            f"{prefix}Reachable": check.reachable,
            f"{prefix}Accepted": check.accepted,
            # Table Storage has no null; -1 stands for "no HTTP answer" and "not measured".
            f"{prefix}Status": -1 if check.status is None else check.status,
            f"{prefix}Reason": check.reason,
            f"{prefix}LatencyMs": -1.0 if check.latency_ms is None else float(check.latency_ms),
        }
        table = self._store.table(CONNECTORS)
        with storage_errors():
            table.upsert_entity(entity, mode=UpdateMode.MERGE)

    def get(self, tenant_id: str) -> ContactCenterHealth:
        table = self._store.table(CONNECTORS)
        with storage_errors():
            try:
                entity = table.get_entity(checked_key(tenant_id, "tenant id"), ROW_KEY)
            except ResourceNotFoundError:
                return ContactCenterHealth()
        return ContactCenterHealth(
            last_test=_check(entity, CheckSource.TEST), last_sync=_check(entity, CheckSource.SYNC)
        )


def _check(entity: TableEntity, source: CheckSource) -> ContactCenterCheck | None:
    prefix = _PREFIX[source]
    at = entity.get(f"{prefix}At")
    if not isinstance(at, datetime):
        return None
    status = entity.get(f"{prefix}Status")
    latency = entity.get(f"{prefix}LatencyMs")
    return ContactCenterCheck(
        source=source,
        at=at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC),
        destination=str(entity.get(f"{prefix}Destination") or ""),
        reachable=bool(entity.get(f"{prefix}Reachable")),
        accepted=bool(entity.get(f"{prefix}Accepted")),
        status=int(status) if isinstance(status, int) and status >= 0 else None,
        reason=str(entity.get(f"{prefix}Reason") or ""),
        latency_ms=float(latency) if isinstance(latency, int | float) and latency >= 0 else None,
    )
