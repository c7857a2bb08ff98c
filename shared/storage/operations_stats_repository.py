"""Per-minute operations figures (OperationsStats table): PartitionKey tenant id, RowKey
`{yyyyMMddHHmm}|{instance}`, so a tenant's last hour is one partition range query and each process
writes only its own rows (no write contention between instances).

A flush adds to the row an earlier flush of the same minute wrote (read, add, upsert): only the one
process that owns the instance id writes the row, one flush at a time.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode

from shared.operations.model import MinuteStats, empty_histogram
from shared.storage.keys import checked_key, odata_string
from shared.storage.table_names import OPERATIONS_STATS
from shared.storage.table_store import TableStore, storage_errors

logger = logging.getLogger(__name__)

_MINUTE_FORMAT: Final = "%Y%m%d%H%M"
# Rows older than this are deleted by the flush that writes the tenant's newer ones.
KEEP: Final = timedelta(hours=3)


class TableOperationsStats:
    def __init__(self, store: TableStore) -> None:
        self._store = store

    def write(self, stats: Sequence[MinuteStats]) -> None:
        table = self._store.table(OPERATIONS_STATS)
        with storage_errors():
            for item in stats:
                partition, row = checked_key(item.tenant_id, "tenant id"), _row_key(item)
                try:
                    merged = _add(_stats(item.tenant_id, table.get_entity(partition, row)), item)
                except ResourceNotFoundError:
                    merged = item
                table.upsert_entity(
                    {"PartitionKey": partition, "RowKey": row, **_entity(merged)}, mode=UpdateMode.REPLACE
                )
            for tenant_id, newest in _newest_minutes(stats).items():
                self._prune(tenant_id, newest - KEEP)

    def _prune(self, tenant_id: str, before: datetime) -> None:
        partition = checked_key(tenant_id, "tenant id")
        query = (
            f"PartitionKey eq {odata_string(partition)}"
            f" and RowKey lt {odata_string(before.astimezone(UTC).strftime(_MINUTE_FORMAT))}"
        )
        table = self._store.table(OPERATIONS_STATS)
        for entity in table.query_entities(query, select=["RowKey"], results_per_page=100):
            try:
                table.delete_entity(partition, entity["RowKey"])
            except ResourceNotFoundError:
                continue

    def read(self, tenant_id: str, since: datetime) -> list[MinuteStats]:
        partition = checked_key(tenant_id, "tenant id")
        start = since.astimezone(UTC).strftime(_MINUTE_FORMAT)
        query = f"PartitionKey eq {odata_string(partition)} and RowKey ge {odata_string(start)}"
        table = self._store.table(OPERATIONS_STATS)
        with storage_errors():
            return [
                _stats(tenant_id, entity) for entity in table.query_entities(query, results_per_page=1000)
            ]


def _newest_minutes(stats: Sequence[MinuteStats]) -> dict[str, datetime]:
    newest: dict[str, datetime] = {}
    for item in stats:
        newest[item.tenant_id] = max(item.minute, newest.get(item.tenant_id, item.minute))
    return newest


def _row_key(stats: MinuteStats) -> str:
    return checked_key(f"{stats.minute.astimezone(UTC).strftime(_MINUTE_FORMAT)}|{stats.instance}", "row key")


def _entity(stats: MinuteStats) -> dict[str, Any]:
    return {
        "changes": json.dumps(dict(stats.changes), separators=(",", ":")),
        "notificationsDropped": json.dumps(dict(stats.notifications_dropped), separators=(",", ":")),
        "deadLettered": stats.dead_lettered,
        "graphThrottled": stats.graph_throttled,
        "contactCenterRefused": stats.contact_center_refused,
        "delays": json.dumps(stats.delays, separators=(",", ":")),
    }


def _stats(tenant_id: str, entity: TableEntity) -> MinuteStats:
    minute_text, _, instance = str(entity.get("RowKey", "")).partition("|")
    try:
        minute = datetime.strptime(minute_text, _MINUTE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        minute = datetime.fromtimestamp(0, UTC)
    return MinuteStats(
        tenant_id=tenant_id,
        minute=minute,
        instance=instance,
        changes=_counter(entity.get("changes")),
        notifications_dropped=_counter(entity.get("notificationsDropped")),
        dead_lettered=_count(entity.get("deadLettered")),
        graph_throttled=_count(entity.get("graphThrottled")),
        contact_center_refused=_count(entity.get("contactCenterRefused")),
        delays=_histograms(entity.get("delays")),
    )


def _add(stored: MinuteStats, new: MinuteStats) -> MinuteStats:
    delays = {direction: list(histogram) for direction, histogram in stored.delays.items()}
    for direction, histogram in new.delays.items():
        mine = delays.setdefault(direction, empty_histogram())
        for index, count in enumerate(histogram[: len(mine)]):
            mine[index] += count
    return MinuteStats(
        tenant_id=new.tenant_id,
        minute=new.minute,
        instance=new.instance,
        changes=stored.changes + new.changes,
        notifications_dropped=stored.notifications_dropped + new.notifications_dropped,
        dead_lettered=stored.dead_lettered + new.dead_lettered,
        graph_throttled=stored.graph_throttled + new.graph_throttled,
        contact_center_refused=stored.contact_center_refused + new.contact_center_refused,
        delays=delays,
    )


def _json(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _counter(value: Any) -> Counter[str]:
    document = _json(value)
    if not isinstance(document, Mapping):
        return Counter()
    return Counter({str(k): v for k, v in document.items() if isinstance(v, int) and not isinstance(v, bool)})


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _histograms(value: Any) -> dict[str, list[int]]:
    document = _json(value)
    if not isinstance(document, Mapping):
        return {}
    size = len(empty_histogram())
    return {
        str(direction): [c if isinstance(c, int) else 0 for c in histogram][:size]
        + [0] * max(0, size - len(histogram))
        for direction, histogram in document.items()
        if isinstance(histogram, list)
    }
