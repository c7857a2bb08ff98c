"""The presence sync state of each agent: the `user|{userId}` rows of the Agents table (see
agent_repository.py for the two row kinds). One point read and one conditional merge per change."""

from __future__ import annotations

import logging
from typing import Any, Final

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode

from shared.agents.groups import DEFAULT_GROUP_ID
from shared.presence.exceptions import AgentSyncStateGone, StaleAgentSyncState
from shared.presence.sync_state import AgentSyncState, StoredSyncState
from shared.storage.agent_repository import USER_PREFIX
from shared.storage.keys import checked_key, odata_string
from shared.storage.table_names import AGENTS
from shared.storage.table_store import TableStore, storage_errors

logger = logging.getLogger(__name__)

_USER_RANGE_END: Final = "user}"
# A user row holds agentId, userId and the sync state, so its reads name no $select: a 30-column
# $select would only be checked and quoted by requests and urllib3 on every read (4 URL passes of
# `_encode_invalid_chars`), for the same answer.


class TableAgentSyncStates:
    def __init__(self, store: TableStore) -> None:
        self._store = store

    def load(self, tenant_id: str, user_id: str) -> StoredSyncState | None:
        """None when the user backs no agent (removed from the roster, or never added)."""
        table = self._store.table(AGENTS)
        with storage_errors():
            try:
                entity = table.get_entity(_partition(tenant_id), _user_key(user_id))
            except ResourceNotFoundError:
                return None
        return _stored(tenant_id, entity)

    def save(self, stored: StoredSyncState, state: AgentSyncState) -> StoredSyncState:
        """Merge `state` if the row is unchanged since `stored` was read. StaleAgentSyncState when it
        changed; AgentSyncStateGone when the agent was removed meanwhile."""
        table = self._store.table(AGENTS)
        entity: dict[str, Any] = {
            "PartitionKey": _partition(stored.tenant_id),
            "RowKey": _user_key(stored.user_id),
            **state.to_entity(),
        }
        with storage_errors():
            try:
                metadata = table.update_entity(
                    entity,
                    mode=UpdateMode.MERGE,
                    etag=stored.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            except ResourceModifiedError as exc:
                raise StaleAgentSyncState(stored.tenant_id, stored.user_id) from exc
            except ResourceNotFoundError as exc:
                raise AgentSyncStateGone(stored.tenant_id, stored.user_id) from exc
        return StoredSyncState(
            stored.tenant_id, stored.user_id, stored.agent_id, state, str(metadata["etag"]), stored.group_id
        )

    def list_tenant(self, tenant_id: str) -> list[StoredSyncState]:
        """Every agent's sync state in the tenant: one partition range query (the reconcile timer)."""
        partition = _partition(tenant_id)
        query = (
            f"PartitionKey eq {odata_string(partition)} and RowKey ge {odata_string(USER_PREFIX)}"
            f" and RowKey lt {odata_string(_USER_RANGE_END)}"
        )
        table = self._store.table(AGENTS)
        with storage_errors():
            entities = list(table.query_entities(query, results_per_page=1000))
        return [_stored(tenant_id, entity) for entity in entities]


def _stored(tenant_id: str, entity: TableEntity) -> StoredSyncState:
    user_id = str(entity.get("userId") or "")
    if not user_id:
        user_id = str(entity.get("RowKey", "")).removeprefix(USER_PREFIX)
    return StoredSyncState(
        tenant_id=tenant_id,
        user_id=user_id.lower(),
        agent_id=str(entity.get("agentId") or ""),
        state=AgentSyncState.from_entity(entity),
        etag=str(entity.metadata["etag"]),
        group_id=str(entity.get("groupId") or DEFAULT_GROUP_ID),
    )


def _partition(tenant_id: str) -> str:
    return checked_key(tenant_id, "tenant id")


def _user_key(user_id: str) -> str:
    return checked_key(USER_PREFIX + user_id.lower(), "user id")
