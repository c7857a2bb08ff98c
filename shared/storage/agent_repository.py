"""Agents in Table Storage: two row kinds per agent in the tenant's partition of the Agents table.

- `agent|{agentId}`: the roster entry (agentId, userId, userPrincipalName, displayName, createdAt,
  updatedAt). Only this module writes it, so it is replaced whole.
- `user|{userId}`: found by the Entra user id that presence notifications carry; agentId, userId and
  the user's sync state (teams* properties here, more from the presence sync engine). Other code adds
  properties to it, so after its creation it is only ever merged, never replaced.

The invariant "agent A points at user U exactly when user|U names A" holds because both rows change in
one entity-group transaction, conditional on the ETag of the agent row read just before. A writer that
loses a race (412, or 409 on an insert) reads again and retries, so concurrent PUTs of one agent can
neither leave a `user|` row behind nor give one user two agents.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final, cast

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, TableTransactionError, UpdateMode

from shared.agents.exceptions import ConcurrentAgentChange, InvalidCursor, UserAlreadyAssigned
from shared.agents.groups import DEFAULT_GROUP_ID
from shared.agents.model import (
    Agent,
    ContinuationToken,
    RosterPage,
    SavedAgent,
    SeenPresence,
    UserDetails,
    WriteStatus,
)
from shared.presence.messages import PresenceChange
from shared.storage.keys import checked_key, odata_string
from shared.storage.table_names import AGENTS
from shared.storage.table_store import TableStore, storage_errors

logger = logging.getLogger(__name__)

AGENT_PREFIX: Final = "agent|"
USER_PREFIX: Final = "user|"
# "}" follows "|" in ASCII: `RowKey ge 'agent|' and RowKey lt 'agent}'` is exactly the agent rows.
_AGENT_RANGE_END: Final = "agent}"
_USER_RANGE_END: Final = "user}"
MAX_ATTEMPTS: Final = 5
_QUERY_PAGE_SIZE: Final = 1000
# Statuses of a transaction that lost a race: retry after reading again.
_CONFLICT_STATUSES: Final = frozenset({404, 409, 412})

_AGENT_COLUMNS: Final = [
    "agentId",
    "userId",
    "userPrincipalName",
    "displayName",
    "createdAt",
    "updatedAt",
    "groupId",
]
_PRESENCE_COLUMNS: Final = [
    "agentId",
    "userId",
    "teamsAvailability",
    "teamsActivity",
    "teamsSequenceNumber",
    "teamsObservedAt",
    "teamsRecordedAt",
]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TableAgentRepository:
    def __init__(self, store: TableStore, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._store = store
        self._clock = clock

    # -- roster ------------------------------------------------------------------------------------

    def get(self, tenant_id: str, agent_id: str) -> Agent | None:
        entity = self._read(_partition(tenant_id), _agent_key(agent_id))
        return None if entity is None else _to_agent(tenant_id, entity)

    def user_id_for(self, tenant_id: str, agent_id: str) -> str | None:
        """The Entra user behind a contact-center agent id (contact-center events name agents)."""
        agent = self.get(tenant_id, agent_id)
        return None if agent is None else agent.user_id

    def save(
        self,
        tenant_id: str,
        agent_id: str,
        user_id: str,
        details: UserDetails | None,
        now: datetime,
        group_id: str = DEFAULT_GROUP_ID,
        *,
        likely_new: bool = False,
    ) -> SavedAgent:
        partition = _partition(tenant_id)
        user_id = user_id.lower()
        if likely_new:
            # One transaction instead of two reads and one: it fails whole (409) when the agent or the
            # user row exists after all, and the usual path below decides then.
            created = self._assign(
                None,
                Agent(
                    tenant_id=tenant_id,
                    agent_id=agent_id,
                    user_id=user_id,
                    user_principal_name=None if details is None else details.user_principal_name,
                    display_name=None if details is None else details.display_name,
                    created_at=now,
                    updated_at=now,
                    group_id=group_id,
                ),
                None,
            )
            if isinstance(created, SavedAgent):
                return created
        # The user id whose row the previous attempt found missing (only a foreign writer removes it).
        missing_user_row: str | None = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            entity = self._read(partition, _agent_key(agent_id))
            current = None if entity is None else _to_agent(tenant_id, entity)
            if current is not None and current.user_id == user_id:
                saved = self._refresh_details(current, details, now, group_id)
                if saved is not None:
                    return saved
            elif self._user_is_free(tenant_id, agent_id, user_id):
                assigned = Agent(
                    tenant_id=tenant_id,
                    agent_id=agent_id,
                    user_id=user_id,
                    user_principal_name=None if details is None else details.user_principal_name,
                    display_name=None if details is None else details.display_name,
                    created_at=now if current is None else current.created_at,
                    updated_at=now,
                    group_id=group_id,
                )
                outcome = self._assign(current, assigned, missing_user_row)
                if isinstance(outcome, SavedAgent):
                    return outcome
                missing_user_row = outcome
            logger.info(
                "agent %s of tenant %s changed concurrently; reading it again (attempt %s)",
                agent_id,
                tenant_id,
                attempt,
            )
        raise ConcurrentAgentChange(tenant_id, agent_id)

    def delete(self, tenant_id: str, agent_id: str) -> Agent | None:
        partition = _partition(tenant_id)
        table = self._table()
        user_row_missing = False
        for attempt in range(1, MAX_ATTEMPTS + 1):
            entity = self._read(partition, _agent_key(agent_id))
            if entity is None:
                return None
            agent = _to_agent(tenant_id, entity)
            operations: list[Any] = [
                ("delete", _keys(partition, _agent_key(agent_id)), _if_match(agent.etag)),
            ]
            if not user_row_missing:
                operations.append(("delete", _keys(partition, _user_key(agent.user_id))))
            outcome = _submit(table, operations)
            if not isinstance(outcome, TableTransactionError):
                return agent
            user_row_missing = user_row_missing or (outcome.status_code == 404 and outcome.index == 1)
            logger.info(
                "agent %s of tenant %s changed while being deleted (%s); retrying (attempt %s)",
                agent_id,
                tenant_id,
                outcome.status_code,
                attempt,
            )
        raise ConcurrentAgentChange(tenant_id, agent_id)

    def list_page(self, tenant_id: str, limit: int, continuation: ContinuationToken | None) -> RosterPage:
        partition = _partition(tenant_id)
        token = (
            None
            if continuation is None
            else {"PartitionKey": continuation.partition_key, "RowKey": continuation.row_key}
        )
        table = self._table()
        with storage_errors():
            try:
                # The SDK types the token as str, but takes (and gives) the NextPartitionKey / NextRowKey
                # pair as a dict.
                pages = table.query_entities(
                    _range_filter(partition, AGENT_PREFIX, _AGENT_RANGE_END),
                    results_per_page=limit,
                    select=_AGENT_COLUMNS,
                ).by_page(continuation_token=cast(Any, token))
                entities = list(next(pages, []))
            except HttpResponseError as exc:
                # Table Storage refuses a continuation token it did not issue.
                if token is not None and exc.status_code == 400:
                    raise InvalidCursor() from exc
                raise
        agents = [_to_agent(tenant_id, entity) for entity in entities]
        following = getattr(pages, "continuation_token", None)
        if isinstance(following, dict) and following.get("PartitionKey") and following.get("RowKey"):
            return RosterPage(
                agents, ContinuationToken(str(following["PartitionKey"]), str(following["RowKey"]))
            )
        return RosterPage(agents, None)

    def user_ids(self, tenant_id: str) -> list[str]:
        rows = self._query(tenant_id, AGENT_PREFIX, _AGENT_RANGE_END, ["userId"])
        return [str(row["userId"]) for row in rows if row.get("userId")]

    def count(self, tenant_id: str) -> int:
        return sum(1 for _ in self._query(tenant_id, AGENT_PREFIX, _AGENT_RANGE_END, ["RowKey"]))

    def count_in_group(self, tenant_id: str, group_id: str) -> int:
        return len(self._in_group(tenant_id, group_id, ["RowKey"]))

    def move_group(self, tenant_id: str, from_group_id: str, to_group_id: str, now: datetime) -> int:
        moved = 0
        for row in self._in_group(tenant_id, from_group_id, ["agentId"]):
            agent_id = str(row["agentId"])
            for _attempt in range(MAX_ATTEMPTS):
                current = self.get(tenant_id, agent_id)
                if current is None or current.group_id != from_group_id:
                    break
                if self._regroup(current, replace(current, group_id=to_group_id, updated_at=now)) is not None:
                    moved += 1
                    break
            else:
                raise ConcurrentAgentChange(tenant_id, agent_id)
        logger.info(
            "moved %s agent(s) of tenant %s from group %s to group %s",
            moved,
            tenant_id,
            from_group_id,
            to_group_id,
        )
        return moved

    # -- Teams presence ----------------------------------------------------------------------------

    def presence_of(self, tenant_id: str, user_id: str) -> SeenPresence | None:
        entity = self._read(_partition(tenant_id), _user_key(user_id.lower()), select=_PRESENCE_COLUMNS)
        return None if entity is None else _to_presence(entity)

    def last_presences(self, tenant_id: str) -> dict[str, SeenPresence]:
        presences: dict[str, SeenPresence] = {}
        for row in self._query(tenant_id, USER_PREFIX, _USER_RANGE_END, ["RowKey", *_PRESENCE_COLUMNS]):
            presence = _to_presence(row)
            if presence is not None:
                presences[str(row["RowKey"]).removeprefix(USER_PREFIX)] = presence
        return presences

    def record_teams_presence(self, tenant_id: str, change: PresenceChange) -> bool:
        partition = _partition(tenant_id)
        user_key = _user_key(change.user_id.lower())
        table = self._table()
        agent_id = change.user_id
        for attempt in range(1, MAX_ATTEMPTS + 1):
            entity = self._read(partition, user_key, select=_PRESENCE_COLUMNS)
            if entity is None:
                logger.info(
                    "presence of user %s in tenant %s is no agent's; ignored", change.user_id, tenant_id
                )
                return False
            agent_id = str(entity.get("agentId") or agent_id)
            stored = _to_presence(entity)
            if stored is not None and not _is_newer(change, stored):
                logger.info(
                    "presence of user %s in tenant %s is stale or a duplicate (%s); ignored",
                    change.user_id,
                    tenant_id,
                    change.sequence_number,
                )
                return False
            patch = {
                **_keys(partition, user_key),
                "teamsAvailability": change.availability,
                "teamsActivity": change.activity,
                # A merge cannot remove a property: "" stands for "no sequence number".
                "teamsSequenceNumber": change.sequence_number or "",
                "teamsObservedAt": change.observed_at.astimezone(UTC),
                "teamsRecordedAt": self._clock(),
            }
            with storage_errors():
                try:
                    table.update_entity(patch, mode=UpdateMode.MERGE, **_if_match(_etag(entity)))
                except ResourceModifiedError:
                    logger.info(
                        "user %s of tenant %s changed while recording presence; retrying (attempt %s)",
                        change.user_id,
                        tenant_id,
                        attempt,
                    )
                    continue
                except ResourceNotFoundError:
                    return False
            return True
        raise ConcurrentAgentChange(tenant_id, agent_id)

    # -- internals ---------------------------------------------------------------------------------

    def _table(self) -> TableClient:
        return self._store.table(AGENTS)

    def _read(self, partition: str, row_key: str, select: list[str] | None = None) -> TableEntity | None:
        table = self._table()
        with storage_errors():
            try:
                return table.get_entity(partition, row_key, select=select)
            except ResourceNotFoundError:
                return None

    def _query(self, tenant_id: str, start: str, end: str, select: list[str]) -> Iterable[TableEntity]:
        table = self._table()
        with storage_errors():
            return list(
                table.query_entities(
                    _range_filter(_partition(tenant_id), start, end),
                    select=select,
                    results_per_page=_QUERY_PAGE_SIZE,
                )
            )

    def _refresh_details(
        self, current: Agent, details: UserDetails | None, now: datetime, group_id: str
    ) -> SavedAgent | None:
        """Same user: only the directory details and the group may change. None when the agent changed
        meanwhile."""
        same_details = details is None or (details.user_principal_name, details.display_name) == (
            current.user_principal_name,
            current.display_name,
        )
        if same_details and group_id == current.group_id:
            return SavedAgent(current, WriteStatus.UNCHANGED, user_changed=False)
        updated = replace(current, updated_at=now, group_id=group_id)
        if details is not None:
            updated = replace(
                updated, user_principal_name=details.user_principal_name, display_name=details.display_name
            )
        if group_id != current.group_id:
            regrouped = self._regroup(current, updated)
            return (
                None if regrouped is None else SavedAgent(regrouped, WriteStatus.UPDATED, user_changed=False)
            )
        table = self._table()
        with storage_errors():
            try:
                metadata = table.update_entity(
                    _agent_entity(updated), mode=UpdateMode.REPLACE, **_if_match(current.etag)
                )
            except (ResourceModifiedError, ResourceNotFoundError):
                return None
        return SavedAgent(
            replace(updated, etag=str(metadata["etag"])), WriteStatus.UPDATED, user_changed=False
        )

    def _regroup(self, current: Agent, updated: Agent) -> Agent | None:
        """Write the agent row and the group on his user row (which the engine reads) together, if the
        agent row is still at `current.etag`: the agent as stored, or None when it lost a race."""
        partition = _partition(current.tenant_id)
        operations: list[Any] = [
            ("update", _agent_entity(updated), {"mode": UpdateMode.REPLACE, **_if_match(current.etag)}),
            (
                "update",
                {**_keys(partition, _user_key(current.user_id)), "groupId": updated.group_id},
                {"mode": UpdateMode.MERGE},
            ),
        ]
        outcome = _submit(self._table(), operations)
        if isinstance(outcome, TableTransactionError):
            return None
        etag = outcome[0].get("etag") if outcome else None
        return replace(updated, etag=None if etag is None else str(etag))

    def _in_group(self, tenant_id: str, group_id: str, select: list[str]) -> list[TableEntity]:
        table = self._table()
        query = (
            _range_filter(_partition(tenant_id), AGENT_PREFIX, _AGENT_RANGE_END)
            + f" and groupId eq {odata_string(group_id)}"
        )
        with storage_errors():
            return list(table.query_entities(query, select=select, results_per_page=_QUERY_PAGE_SIZE))

    def _user_is_free(self, tenant_id: str, agent_id: str, user_id: str) -> bool:
        """True when no row claims the user. Raise UserAlreadyAssigned when another agent has it; False
        (read again) when this agent got it meanwhile or a row that no agent points at was removed."""
        partition = _partition(tenant_id)
        user_row = self._read(partition, _user_key(user_id), select=["agentId"])
        if user_row is None:
            return True
        owner = str(user_row.get("agentId") or "")
        owner_row = self._read(partition, _agent_key(owner), select=["userId"]) if owner else None
        if owner_row is not None and owner_row.get("userId") == user_id:
            if owner != agent_id:
                raise UserAlreadyAssigned(user_id, owner)
            return False
        # No agent points at this row (written by something other than this repository): it is not a
        # claim on the user. Removed only if unchanged since read, so a racing writer is never undone.
        logger.warning(
            "removing user row %s of tenant %s that no agent points at (it named agent %r)",
            user_id,
            tenant_id,
            owner,
        )
        table = self._table()
        with storage_errors(), contextlib.suppress(ResourceModifiedError, ResourceNotFoundError):
            table.delete_entity(partition, _user_key(user_id), **_if_match(_etag(user_row)))
        return False

    def _assign(
        self, current: Agent | None, assigned: Agent, missing_user_row: str | None
    ) -> SavedAgent | str | None:
        """Write the agent pointing at its (new) user and move the user row, in one transaction.

        The saved agent on success; otherwise what the caller must remember for its next attempt: the
        old user id whose row turned out to be missing, or None.
        """
        partition = _partition(assigned.tenant_id)
        operations: list[Any] = []
        if current is None:
            operations.append(("create", _agent_entity(assigned)))
        else:
            operations.append(
                ("update", _agent_entity(assigned), {"mode": UpdateMode.REPLACE, **_if_match(current.etag)})
            )
            if current.user_id != missing_user_row:
                operations.append(("delete", _keys(partition, _user_key(current.user_id))))
        operations.append(
            (
                "create",
                {
                    **_keys(partition, _user_key(assigned.user_id)),
                    "agentId": assigned.agent_id,
                    "userId": assigned.user_id,
                    "groupId": assigned.group_id,
                },
            )
        )
        outcome = _submit(self._table(), operations)
        if isinstance(outcome, TableTransactionError):
            if current is not None and outcome.status_code == 404 and outcome.index == 1:
                return current.user_id
            return missing_user_row
        status = WriteStatus.CREATED if current is None else WriteStatus.UPDATED
        etag = outcome[0].get("etag") if outcome else None
        return SavedAgent(
            replace(assigned, etag=None if etag is None else str(etag)), status, user_changed=True
        )


def _submit(table: TableClient, operations: list[Any]) -> list[Mapping[str, Any]] | TableTransactionError:
    """Run the transaction: the metadata of each operation, or the error when it lost a race (then
    nothing was written)."""
    with storage_errors():
        try:
            return table.submit_transaction(operations)
        except TableTransactionError as exc:
            if exc.status_code in _CONFLICT_STATUSES:
                return exc
            raise


def _partition(tenant_id: str) -> str:
    return checked_key(tenant_id, "tenant id")


def _agent_key(agent_id: str) -> str:
    return checked_key(AGENT_PREFIX + agent_id, "agent id")


def _user_key(user_id: str) -> str:
    return checked_key(USER_PREFIX + user_id, "user id")


def _keys(partition: str, row_key: str) -> dict[str, Any]:
    return {"PartitionKey": partition, "RowKey": row_key}


def _if_match(etag: str | None) -> dict[str, Any]:
    return {"etag": etag, "match_condition": MatchConditions.IfNotModified}


def _etag(entity: TableEntity) -> str:
    return str(entity.metadata["etag"])


def _range_filter(partition: str, start: str, end: str) -> str:
    return (
        f"PartitionKey eq {odata_string(partition)}"
        f" and RowKey ge {odata_string(start)} and RowKey lt {odata_string(end)}"
    )


def _agent_entity(agent: Agent) -> dict[str, Any]:
    entity: dict[str, Any] = {
        **_keys(_partition(agent.tenant_id), _agent_key(agent.agent_id)),
        "agentId": agent.agent_id,
        "userId": agent.user_id,
        "userPrincipalName": agent.user_principal_name,
        "displayName": agent.display_name,
        "createdAt": agent.created_at.astimezone(UTC),
        "updatedAt": agent.updated_at.astimezone(UTC),
        "groupId": agent.group_id,
    }
    # Table Storage has no null: an absent property is how "not known" is stored (REPLACE drops it).
    return {name: value for name, value in entity.items() if value is not None}


def _to_agent(tenant_id: str, entity: TableEntity) -> Agent:
    etag = entity.metadata.get("etag") if entity.metadata else None
    return Agent(
        tenant_id=tenant_id,
        agent_id=str(entity["agentId"]),
        user_id=str(entity["userId"]),
        user_principal_name=_text_or_none(entity.get("userPrincipalName")),
        display_name=_text_or_none(entity.get("displayName")),
        created_at=_utc(entity["createdAt"]),
        updated_at=_utc(entity["updatedAt"]),
        etag=None if etag is None else str(etag),
        group_id=_text_or_none(entity.get("groupId")) or DEFAULT_GROUP_ID,
    )


def _to_presence(entity: TableEntity) -> SeenPresence | None:
    availability = entity.get("teamsAvailability")
    observed_at = entity.get("teamsObservedAt")
    if not availability or observed_at is None:
        return None
    recorded_at = entity.get("teamsRecordedAt")
    return SeenPresence(
        availability=str(availability),
        activity=str(entity.get("teamsActivity") or ""),
        sequence_number=_text_or_none(entity.get("teamsSequenceNumber")),
        observed_at=_utc(observed_at),
        recorded_at=_utc(observed_at if recorded_at is None else recorded_at),
    )


def _is_newer(change: PresenceChange, stored: SeenPresence) -> bool:
    if change.sequence_number and stored.sequence_number:
        # Graph's sequence numbers sort lexicographically in the order the changes happened.
        return change.sequence_number > stored.sequence_number
    return change.observed_at > stored.observed_at


def _text_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _utc(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime in the agent row, got {type(value).__name__}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
