"""The admin audit trail: PartitionKey = tenant id, RowKey = inverted timestamp, so a plain partition
query returns the newest entries first without sorting."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import Any, Literal, cast

from azure.data.tables import TableEntity

from shared.connectors.model import AuditEntry
from shared.identity.principal import Actor
from shared.storage.keys import checked_key, odata_string
from shared.storage.table_names import CONNECTOR_AUDIT
from shared.storage.table_store import TableStore, storage_errors

logger = logging.getLogger(__name__)

# Later than any timestamp we will write, in microseconds: inverted keys stay positive and fixed-width.
_TIME_CEILING_US = 10**17


def audit_row_key(at: datetime) -> str:
    micros = int(at.timestamp() * 1_000_000)
    # The random suffix keeps two actions in the same microsecond from overwriting each other.
    return f"{_TIME_CEILING_US - micros:017d}-{secrets.token_hex(4)}"


class TableAuditLog:
    def __init__(self, store: TableStore) -> None:
        self._store = store

    def record(self, entry: AuditEntry) -> None:
        entity: dict[str, Any] = {
            "PartitionKey": checked_key(entry.tenant_id, "tenant id"),
            "RowKey": audit_row_key(entry.at),
            "Action": entry.action,
            "At": entry.at,
            "Outcome": entry.outcome,
        }
        if entry.actor is not None:
            entity["ActorId"] = entry.actor.object_id[:64]
            if entry.actor.name:
                entity["Actor"] = entry.actor.name[:256]
        if entry.detail:
            entity["Detail"] = entry.detail[:1024]
        table = self._store.table(CONNECTOR_AUDIT)
        with storage_errors():
            table.create_entity(entity)

    def list_recent(self, tenant_id: str, limit: int) -> list[AuditEntry]:
        table = self._store.table(CONNECTOR_AUDIT)
        query = f"PartitionKey eq {odata_string(checked_key(tenant_id, 'tenant id'))}"
        entries: list[AuditEntry] = []
        with storage_errors():
            for entity in table.query_entities(query, results_per_page=min(limit, 1000)):
                at = entity["At"]
                entries.append(
                    AuditEntry(
                        tenant_id=tenant_id,
                        action=str(entity["Action"]),
                        at=at.astimezone(UTC),
                        outcome=cast(Literal["succeeded", "failed"], str(entity["Outcome"])),
                        actor=_actor(entity),
                        detail=entity.get("Detail"),
                    )
                )
                if len(entries) >= limit:
                    break
        return entries


def _actor(entity: TableEntity) -> Actor | None:
    # Entries written before actors came from verified tokens hold no ActorId: their actor is unknown.
    object_id, name = entity.get("ActorId"), entity.get("Actor")
    return Actor(str(object_id), str(name) if name else None) if object_id else None
