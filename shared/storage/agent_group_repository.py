"""Agent groups in Table Storage: rows `group|{groupId}` of the tenant's partition of the
PresenceMappings table, beside the tenant's own `mappings` row.

A group is presence policy like the tenant's mappings, and the sync engine reads a tenant's groups
whole (one range query of a partition it already owns); keeping them in that table also keeps them in
the tenant purge without a new table to provision. A group's own mappings use the mappings row's
columns (shared/storage/mapping_repository.py), so both are written and read by one codec.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode

from shared.agents.exceptions import StaleGroup, UnreadableGroup
from shared.agents.groups import AgentGroup
from shared.storage.keys import checked_key, odata_string
from shared.storage.mapping_repository import rules_from_properties, rules_properties
from shared.storage.table_names import PRESENCE_MAPPINGS
from shared.storage.table_store import TableStore, storage_errors

logger = logging.getLogger(__name__)

GROUP_PREFIX: Final = "group|"
# "}" follows "|" in ASCII: the range [group|, group}) is exactly the group rows.
_GROUP_RANGE_END: Final = "group}"
SCHEMA_VERSION: Final = 1


class TableAgentGroupRepository:
    def __init__(self, store: TableStore) -> None:
        self._store = store

    def get(self, tenant_id: str, group_id: str) -> AgentGroup | None:
        table = self._store.table(PRESENCE_MAPPINGS)
        with storage_errors():
            try:
                entity = table.get_entity(_partition(tenant_id), _row_key(group_id))
            except ResourceNotFoundError:
                return None
        return _to_group(tenant_id, entity)

    def list(self, tenant_id: str) -> list[AgentGroup]:
        """Every group of the tenant, in group id order."""
        partition = _partition(tenant_id)
        query = (
            f"PartitionKey eq {odata_string(partition)} and RowKey ge {odata_string(GROUP_PREFIX)}"
            f" and RowKey lt {odata_string(_GROUP_RANGE_END)}"
        )
        table = self._store.table(PRESENCE_MAPPINGS)
        with storage_errors():
            entities = list(table.query_entities(query, results_per_page=1000))
        return [_to_group(tenant_id, entity) for entity in entities]

    def insert(self, group: AgentGroup) -> AgentGroup:
        """Create the group; StaleGroup when it exists already."""
        table = self._store.table(PRESENCE_MAPPINGS)
        with storage_errors():
            try:
                metadata = table.create_entity(_to_entity(group))
            except ResourceExistsError as exc:
                raise StaleGroup(group.tenant_id, group.group_id) from exc
        return _with_etag(group, metadata)

    def replace(self, group: AgentGroup, etag: str | None) -> AgentGroup:
        """Replace the group if still at `etag` (None: whatever is stored); StaleGroup otherwise."""
        table = self._store.table(PRESENCE_MAPPINGS)
        with storage_errors():
            try:
                if etag is None:
                    metadata = table.upsert_entity(_to_entity(group), mode=UpdateMode.REPLACE)
                else:
                    metadata = table.update_entity(
                        _to_entity(group),
                        mode=UpdateMode.REPLACE,
                        etag=etag,
                        match_condition=MatchConditions.IfNotModified,
                    )
            except (ResourceModifiedError, ResourceNotFoundError) as exc:
                raise StaleGroup(group.tenant_id, group.group_id) from exc
        return _with_etag(group, metadata)

    def delete(self, tenant_id: str, group_id: str, etag: str | None) -> None:
        """Remove the group (only at `etag` when given); StaleGroup when it changed since `etag`. A row
        that is gone already is no error (the SDK answers a 404 of a delete as a success)."""
        table = self._store.table(PRESENCE_MAPPINGS)
        condition: dict[str, Any] = (
            {} if etag is None else {"etag": etag, "match_condition": MatchConditions.IfNotModified}
        )
        with storage_errors():
            try:
                table.delete_entity(_partition(tenant_id), _row_key(group_id), **condition)
            except ResourceModifiedError as exc:
                raise StaleGroup(tenant_id, group_id) from exc


def _partition(tenant_id: str) -> str:
    return checked_key(tenant_id, "tenant id")


def _row_key(group_id: str) -> str:
    return checked_key(GROUP_PREFIX + group_id, "group id")


def _to_entity(group: AgentGroup) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": _partition(group.tenant_id),
        "RowKey": _row_key(group.group_id),
        "SchemaVersion": SCHEMA_VERSION,
        "GroupId": group.group_id,
        "DisplayName": group.display_name,
        "PresenceSync": group.presence_sync,
        "OwnMappings": group.mappings is not None,
        "CreatedAt": group.created_at.astimezone(UTC),
        "UpdatedAt": group.updated_at.astimezone(UTC),
    }
    if group.mappings is not None:
        entity.update(rules_properties(group.mappings))
    if group.status_messages:
        # At most 5 states x 280 characters: far below a string property's 32K characters.
        entity["StatusMessages"] = json.dumps(dict(group.status_messages), sort_keys=True)
    return entity


def _with_etag(group: AgentGroup, metadata: Any) -> AgentGroup:
    return replace(group, etag=str(metadata["etag"]))


def _to_group(tenant_id: str, entity: TableEntity) -> AgentGroup:
    try:
        version = entity.get("SchemaVersion")
        if version != SCHEMA_VERSION:
            raise ValueError(f"schema version {version!r} is not supported")
        presence_sync = entity["PresenceSync"]
        own = entity["OwnMappings"]
        if not isinstance(presence_sync, bool) or not isinstance(own, bool):
            raise TypeError("PresenceSync and OwnMappings must be booleans")
        return AgentGroup(
            tenant_id=tenant_id,
            group_id=str(entity["GroupId"]),
            display_name=str(entity["DisplayName"]),
            presence_sync=presence_sync,
            mappings=rules_from_properties(entity) if own else None,
            created_at=_utc(entity["CreatedAt"]),
            updated_at=_utc(entity["UpdatedAt"]),
            etag=str(entity.metadata["etag"]),
            status_messages=_status_messages(entity.get("StatusMessages")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        logger.error(
            "agent group row %s of tenant %s cannot be read: %s", entity.get("RowKey"), tenant_id, exc
        )
        raise UnreadableGroup(f"a stored agent group of tenant {tenant_id} cannot be read") from exc


def _utc(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _status_messages(raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    parsed = json.loads(str(raw))
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
    ):
        raise TypeError("StatusMessages must be a JSON object of strings")
    return parsed
