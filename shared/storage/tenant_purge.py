"""Deleting a tenant's data: one partition query per tenant table, deletes in batches of 100 (the
transaction limit), no cross-partition scans. In `Connectors` every row of the tenant but the connector
row goes: the service deletes that one last, with its ETag, so an interrupted delete can be repeated."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableTransactionError

from shared.storage.connector_repository import ROW_KEY as CONNECTOR_ROW_KEY
from shared.storage.keys import checked_key, odata_string
from shared.storage.table_names import CONNECTORS, TENANT_DATA_TABLES
from shared.storage.table_store import TableStore, storage_errors

logger = logging.getLogger(__name__)

BATCH_LIMIT = 100


class TableTenantPurger:
    def __init__(
        self,
        store: TableStore,
        tables: Sequence[str] = (*TENANT_DATA_TABLES, CONNECTORS),
        keep: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self._store = store
        self._tables = tuple(tables)
        self._keep = dict(keep) if keep is not None else {CONNECTORS: frozenset({CONNECTOR_ROW_KEY})}

    def purge(self, tenant_id: str) -> int:
        partition = checked_key(tenant_id, "tenant id")
        removed = 0
        for name in self._tables:
            table = self._store.table(name)
            query = f"PartitionKey eq {odata_string(partition)}"
            kept = self._keep.get(name, frozenset())
            with storage_errors():
                try:
                    keys = [
                        entity["RowKey"]
                        for entity in table.query_entities(query, select=["RowKey"], results_per_page=1000)
                        if entity["RowKey"] not in kept
                    ]
                except ResourceNotFoundError:
                    continue
                for start in range(0, len(keys), BATCH_LIMIT):
                    removed += _delete_chunk(table, partition, keys[start : start + BATCH_LIMIT])
            logger.info("purged table %s for tenant %s", name, tenant_id)
        return removed


def _delete_chunk(table: TableClient, partition: str, keys: list[str]) -> int:
    try:
        table.submit_transaction([("delete", {"PartitionKey": partition, "RowKey": key}) for key in keys])
        return len(keys)
    except TableTransactionError:
        # Someone else (a repeated delete) removed a row of this batch first: finish one by one.
        for key in keys:
            try:
                table.delete_entity(partition, key)
            except ResourceNotFoundError:
                continue
        return len(keys)
