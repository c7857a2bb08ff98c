"""Presence mappings in Table Storage: one row per tenant (PartitionKey = tenant id, RowKey = "mappings").

Each direction is one JSON column. A string property holds at most 32K characters, and 100 rules with
long non-ASCII idle codes can exceed that, so a longer JSON text continues in `<Column>_2`, `<Column>_3`...
Writes REPLACE the whole row, so no continuation of an earlier, longer version survives.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode

from shared.contact_center.model import AgentState
from shared.mappings.exceptions import StaleMappings, UnreadableMappings
from shared.mappings.model import (
    ContactCenterToTeamsRule,
    MappingRules,
    PresenceMappings,
    TeamsToContactCenterRule,
)
from shared.storage.keys import checked_key
from shared.storage.table_names import PRESENCE_MAPPINGS
from shared.storage.table_store import TableStore, storage_errors

logger = logging.getLogger(__name__)

ROW_KEY: Final = "mappings"
SCHEMA_VERSION: Final = 1
TEAMS_COLUMN: Final = "TeamsToContactCenter"
CONTACT_CENTER_COLUMN: Final = "ContactCenterToTeams"
# JSON is written ASCII-only, so characters are UTF-16 units and the service's 32K limit holds.
MAX_PART_CHARS: Final = 32_000


class TableMappingRepository:
    def __init__(self, store: TableStore) -> None:
        self._store = store

    def get(self, tenant_id: str) -> PresenceMappings | None:
        table = self._store.table(PRESENCE_MAPPINGS)
        with storage_errors():
            try:
                entity = table.get_entity(checked_key(tenant_id, "tenant id"), ROW_KEY)
            except ResourceNotFoundError:
                return None
        return _to_mappings(tenant_id, entity)

    def insert(self, tenant_id: str, rules: MappingRules, updated_at: datetime) -> PresenceMappings:
        table = self._store.table(PRESENCE_MAPPINGS)
        with storage_errors():
            try:
                metadata = table.create_entity(_to_entity(tenant_id, rules, updated_at))
            except ResourceExistsError as exc:
                raise StaleMappings(tenant_id) from exc
        return PresenceMappings(rules, is_default=False, etag=str(metadata["etag"]))

    def replace(
        self, tenant_id: str, rules: MappingRules, etag: str, updated_at: datetime
    ) -> PresenceMappings:
        table = self._store.table(PRESENCE_MAPPINGS)
        with storage_errors():
            try:
                metadata = table.update_entity(
                    _to_entity(tenant_id, rules, updated_at),
                    mode=UpdateMode.REPLACE,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            except (ResourceModifiedError, ResourceNotFoundError) as exc:
                raise StaleMappings(tenant_id) from exc
        return PresenceMappings(rules, is_default=False, etag=str(metadata["etag"]))

    def upsert(self, tenant_id: str, rules: MappingRules, updated_at: datetime) -> PresenceMappings:
        table = self._store.table(PRESENCE_MAPPINGS)
        with storage_errors():
            metadata = table.upsert_entity(_to_entity(tenant_id, rules, updated_at), mode=UpdateMode.REPLACE)
        return PresenceMappings(rules, is_default=False, etag=str(metadata["etag"]))


def _to_entity(tenant_id: str, rules: MappingRules, updated_at: datetime) -> dict[str, Any]:
    return {
        "PartitionKey": checked_key(tenant_id, "tenant id"),
        "RowKey": ROW_KEY,
        "SchemaVersion": SCHEMA_VERSION,
        "UpdatedAt": updated_at,
        **rules_properties(rules),
    }


def rules_properties(rules: MappingRules) -> dict[str, str]:
    """The columns that hold `rules` (also in agent group rows, which carry mappings of their own)."""
    teams = [
        {
            "availability": rule.availability,
            "activity": rule.activity,
            "idleCodeId": rule.idle_code_id,
            "idleCodeName": rule.idle_code_name,
        }
        for rule in rules.teams_to_contact_center
    ]
    contact_center = [
        {"agentState": rule.agent_state.value, "availability": rule.availability, "activity": rule.activity}
        for rule in rules.contact_center_to_teams
    ]
    return {
        **_split(TEAMS_COLUMN, json.dumps(teams, separators=(",", ":"))),
        **_split(CONTACT_CENTER_COLUMN, json.dumps(contact_center, separators=(",", ":"))),
    }


def _split(column: str, text: str) -> dict[str, str]:
    parts = [text[start : start + MAX_PART_CHARS] for start in range(0, len(text), MAX_PART_CHARS)] or [""]
    return {column if index == 0 else f"{column}_{index + 1}": part for index, part in enumerate(parts)}


def _joined(entity: Mapping[str, Any], column: str) -> str:
    parts: list[str] = []
    name = column
    while isinstance(entity.get(name), str):
        parts.append(entity[name])
        name = f"{column}_{len(parts) + 1}"
    return "".join(parts)


def rules_from_properties(entity: Mapping[str, Any]) -> MappingRules:
    """The rules `rules_properties` wrote; KeyError / TypeError / ValueError when they are unreadable."""
    teams = json.loads(_joined(entity, TEAMS_COLUMN))
    contact_center = json.loads(_joined(entity, CONTACT_CENTER_COLUMN))
    return MappingRules(
        teams_to_contact_center=tuple(
            TeamsToContactCenterRule(
                availability=str(item["availability"]),
                activity=str(item["activity"]),
                idle_code_id=str(item["idleCodeId"]),
                idle_code_name=None if item.get("idleCodeName") is None else str(item["idleCodeName"]),
            )
            for item in teams
        ),
        contact_center_to_teams=tuple(
            ContactCenterToTeamsRule(
                agent_state=AgentState(item["agentState"]),
                availability=str(item["availability"]),
                activity=str(item["activity"]),
            )
            for item in contact_center
        ),
    )


def _to_mappings(tenant_id: str, entity: TableEntity) -> PresenceMappings:
    try:
        version = entity.get("SchemaVersion")
        if version != SCHEMA_VERSION:
            raise ValueError(f"schema version {version!r} is not supported")
        rules = rules_from_properties(entity)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        logger.error("the presence mappings row of tenant %s cannot be read: %s", tenant_id, exc)
        raise UnreadableMappings(
            f"the stored presence mappings of tenant {tenant_id} cannot be read"
        ) from exc
    return PresenceMappings(rules, is_default=False, etag=str(entity.metadata["etag"]))
