"""Presence subscriptions in Table Storage (PartitionKey = tenant id).

- RowKey = sync account id: that account's subscription and the shard of user ids it covers. The ids
  are one compact string (650 lower-case GUIDs joined by "," is 24,049 characters, under the 32K limit
  of a string property), so a record is one entity and one read.
- RowKey `~roster`: `RosterVersion`, bumped on every roster change, and the sync lease (`LeaseOwner`,
  `LeaseUntil`) that lets one instance at a time change a tenant's subscriptions. Every write to it is
  conditional on its ETag.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, UpdateMode

from shared.storage.keys import checked_key, odata_string
from shared.storage.table_names import SUBSCRIPTIONS
from shared.storage.table_store import TableStore, storage_errors
from shared.subscriptions.exceptions import RosterContention, ShardTooLarge
from shared.subscriptions.model import RosterState, SubscriptionRecord, SubscriptionStatus
from shared.subscriptions.sharding import MAX_IDS_PER_SUBSCRIPTION

logger = logging.getLogger(__name__)

ROSTER_ROW: Final = "~roster"
SCHEMA_VERSION: Final = 1
MAX_STRING_PROPERTY_CHARS: Final = 32 * 1024
MAX_LAST_ERROR_CHARS: Final = 1024
USER_ID_SEPARATOR: Final = ","
# ETag retries on the roster row: each one is a read and a conditional write. An attempt is lost only
# when another writer's write to the row succeeded in between, so a writer gives up only after 15 others
# won inside its window: far beyond the handful of timers and intakes that touch one tenant's row.
MAX_ROSTER_ATTEMPTS: Final = 16
_NO_OWNER: Final = ""


class TableSubscriptionRepository:
    def __init__(self, store: TableStore) -> None:
        self._store = store

    # -- subscription records --------------------------------------------------------------------

    def list(self, tenant_id: str) -> list[SubscriptionRecord]:
        partition = checked_key(tenant_id, "tenant id")
        query = f"PartitionKey eq {odata_string(partition)} and RowKey ne {odata_string(ROSTER_ROW)}"
        with storage_errors():
            entities = list(self._table().query_entities(query, results_per_page=1000))
        return [_to_record(entity) for entity in entities]

    def get(self, tenant_id: str, account_id: str) -> SubscriptionRecord | None:
        entity = self._get(tenant_id, _account_key(account_id))
        return None if entity is None else _to_record(entity)

    def find_by_subscription_id(self, tenant_id: str, subscription_id: str) -> SubscriptionRecord | None:
        partition = checked_key(tenant_id, "tenant id")
        query = (
            f"PartitionKey eq {odata_string(partition)} "
            f"and SubscriptionId eq {odata_string(subscription_id.lower())}"
        )
        with storage_errors():
            entities = list(self._table().query_entities(query, results_per_page=10))
        if len(entities) > 1:
            logger.error(
                "tenant %s: subscription %s is recorded for %d accounts; using the first",
                tenant_id,
                subscription_id,
                len(entities),
            )
        return _to_record(entities[0]) if entities else None

    def put(self, record: SubscriptionRecord) -> SubscriptionRecord:
        entity = _to_entity(record)
        with storage_errors():
            metadata = self._table().upsert_entity(entity, mode=UpdateMode.REPLACE)
        return _replace_etag(record, metadata)

    def record_renewal(
        self, tenant_id: str, account_id: str, subscription_id: str, expires_at: datetime, at: datetime
    ) -> SubscriptionRecord | None:
        return self._merge_if_current(
            tenant_id,
            account_id,
            subscription_id,
            {"ExpiresAt": expires_at, "RenewedAt": at, "Status": SubscriptionStatus.ACTIVE.value},
        )

    def record_reauthorization(
        self, tenant_id: str, account_id: str, subscription_id: str, at: datetime
    ) -> SubscriptionRecord | None:
        return self._merge_if_current(tenant_id, account_id, subscription_id, {"ReauthorizedAt": at})

    def record_error(
        self,
        tenant_id: str,
        account_id: str,
        subscription_id: str,
        message: str,
        status: SubscriptionStatus,
    ) -> SubscriptionRecord | None:
        return self._merge_if_current(
            tenant_id,
            account_id,
            subscription_id,
            {"Status": status.value, "LastError": message[:MAX_LAST_ERROR_CHARS]},
        )

    def delete(self, tenant_id: str, account_id: str) -> None:
        partition = checked_key(tenant_id, "tenant id")
        with storage_errors():
            try:
                self._table().delete_entity(partition, _account_key(account_id))
            except ResourceNotFoundError:
                return

    def tenant_ids(self) -> set[str]:
        # A scan, but a small one: one row per sync account and one per tenant, read every few minutes.
        with storage_errors():
            return {
                str(entity["PartitionKey"])
                for entity in self._table().list_entities(
                    select=["PartitionKey", "RowKey"], results_per_page=1000
                )
                if entity["RowKey"] != ROSTER_ROW
            }

    # -- the ~roster row -------------------------------------------------------------------------

    def roster_state(self, tenant_id: str) -> RosterState:
        entity = self._get(tenant_id, ROSTER_ROW)
        return RosterState(0, None, None) if entity is None else _to_roster(entity)

    def bump_roster_version(self, tenant_id: str) -> int:
        partition = checked_key(tenant_id, "tenant id")
        table = self._table()
        for _ in range(MAX_ROSTER_ATTEMPTS):
            entity = self._get(tenant_id, ROSTER_ROW)
            with storage_errors():
                try:
                    if entity is None:
                        table.create_entity(
                            {"PartitionKey": partition, "RowKey": ROSTER_ROW, "RosterVersion": 1}
                        )
                        return 1
                    version = _to_roster(entity).version + 1
                    _merge_if_match(table, partition, entity, {"RosterVersion": version})
                    return version
                except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
                    continue
        raise RosterContention(f"tenant {tenant_id}: the roster version kept changing; not bumped")

    def try_acquire_lease(self, tenant_id: str, owner: str, now: datetime, until: datetime) -> bool:
        if not owner:
            raise ValueError("a lease owner must not be empty")
        partition = checked_key(tenant_id, "tenant id")
        table = self._table()
        for _ in range(MAX_ROSTER_ATTEMPTS):
            entity = self._get(tenant_id, ROSTER_ROW)
            lease = {"LeaseOwner": owner, "LeaseUntil": until}
            with storage_errors():
                try:
                    if entity is None:
                        table.create_entity(
                            {"PartitionKey": partition, "RowKey": ROSTER_ROW, "RosterVersion": 0, **lease}
                        )
                        return True
                    state = _to_roster(entity)
                    held = state.lease_owner not in (None, owner)
                    if held and state.lease_until is not None and state.lease_until > now:
                        return False
                    _merge_if_match(table, partition, entity, lease)
                    return True
                except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
                    continue
        # Someone else keeps writing the row right now: behave as if they held the lease.
        return False

    def extend_lease(self, tenant_id: str, owner: str, until: datetime) -> bool:
        partition = checked_key(tenant_id, "tenant id")
        table = self._table()
        for _ in range(MAX_ROSTER_ATTEMPTS):
            entity = self._get(tenant_id, ROSTER_ROW)
            if entity is None or _to_roster(entity).lease_owner != owner:
                return False
            with storage_errors():
                try:
                    _merge_if_match(table, partition, entity, {"LeaseUntil": until})
                    return True
                except (ResourceModifiedError, ResourceNotFoundError):
                    continue
        return False

    def release_lease(self, tenant_id: str, owner: str, seen_version: int | None) -> bool:
        partition = checked_key(tenant_id, "tenant id")
        table = self._table()
        for _ in range(MAX_ROSTER_ATTEMPTS):
            entity = self._get(tenant_id, ROSTER_ROW)
            if entity is None:
                return True
            state = _to_roster(entity)
            if state.lease_owner != owner:
                return True
            if seen_version is not None and state.version != seen_version:
                return False
            with storage_errors():
                try:
                    # Conditional on the ETag: a version bump between our read and this write fails it,
                    # and the next round sees the new version instead of losing the change.
                    _merge_if_match(table, partition, entity, {"LeaseOwner": _NO_OWNER})
                    return True
                except (ResourceModifiedError, ResourceNotFoundError):
                    continue
        if seen_version is not None:
            return False
        raise RosterContention(f"tenant {tenant_id}: the sync lease could not be released")

    # -- internals -------------------------------------------------------------------------------

    def _table(self) -> TableClient:
        return self._store.table(SUBSCRIPTIONS)

    def _get(self, tenant_id: str, row_key: str) -> TableEntity | None:
        partition = checked_key(tenant_id, "tenant id")
        with storage_errors():
            try:
                return self._table().get_entity(partition, row_key)
            except ResourceNotFoundError:
                return None

    def _merge_if_current(
        self, tenant_id: str, account_id: str, subscription_id: str, changes: dict[str, Any]
    ) -> SubscriptionRecord | None:
        partition = checked_key(tenant_id, "tenant id")
        row_key = _account_key(account_id)
        table = self._table()
        for _ in range(MAX_ROSTER_ATTEMPTS):
            entity = self._get(tenant_id, row_key)
            if entity is None or str(entity.get("SubscriptionId") or "") != subscription_id.lower():
                return None
            with storage_errors():
                try:
                    metadata = _merge_if_match(table, partition, entity, changes)
                except (ResourceModifiedError, ResourceNotFoundError):
                    continue
            return _to_record({**entity, **changes}, str(metadata["etag"]))
        logger.warning(
            "tenant %s account %s: subscription %s kept changing; update not recorded",
            tenant_id,
            account_id,
            subscription_id,
        )
        return None


def encode_user_ids(user_ids: tuple[str, ...] | list[str]) -> str:
    """The compact form of a shard: sorted lower-case ids joined by ","; raise ShardTooLarge past the
    limits of one subscription or one string property."""
    ids = sorted({user_id.lower() for user_id in user_ids})
    if len(ids) > MAX_IDS_PER_SUBSCRIPTION:
        raise ShardTooLarge(f"a shard holds at most {MAX_IDS_PER_SUBSCRIPTION} user ids, not {len(ids)}")
    if any(not user_id or USER_ID_SEPARATOR in user_id for user_id in ids):
        raise ShardTooLarge("user ids must be non-empty and must not contain ','")
    encoded = USER_ID_SEPARATOR.join(ids)
    if len(encoded) > MAX_STRING_PROPERTY_CHARS:
        raise ShardTooLarge(
            f"the shard's user ids take {len(encoded):,} characters; a table property holds "
            f"{MAX_STRING_PROPERTY_CHARS:,}"
        )
    return encoded


def decode_user_ids(encoded: str) -> tuple[str, ...]:
    return tuple(user_id for user_id in encoded.split(USER_ID_SEPARATOR) if user_id)


def _account_key(account_id: str) -> str:
    key = checked_key(account_id, "sync account id")
    if key == ROSTER_ROW:
        raise ValueError(f"{ROSTER_ROW!r} is not a sync account id")
    return key


def _merge_if_match(
    table: TableClient, partition: str, entity: TableEntity, changes: dict[str, Any]
) -> dict[str, Any]:
    metadata: dict[str, Any] = table.update_entity(
        {"PartitionKey": partition, "RowKey": entity["RowKey"], **changes},
        mode=UpdateMode.MERGE,
        etag=entity.metadata["etag"],
        match_condition=MatchConditions.IfNotModified,
    )
    return metadata


def _to_entity(record: SubscriptionRecord) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": checked_key(record.tenant_id, "tenant id"),
        "RowKey": _account_key(record.account_id),
        "SchemaVersion": SCHEMA_VERSION,
        "Status": record.status.value,
        "SubscriptionId": record.subscription_id.lower() if record.subscription_id else None,
        "UserIds": encode_user_ids(record.user_ids),
        "UserCount": len(record.user_ids),
        "ExpiresAt": record.expires_at,
        "CreatedAt": record.created_at,
        "RenewedAt": record.renewed_at,
        "ReauthorizedAt": record.reauthorized_at,
        "LastError": record.last_error[:MAX_LAST_ERROR_CHARS] if record.last_error else None,
    }
    # Table Storage has no null: an absent property is how "not set" is stored (REPLACE drops it).
    return {name: value for name, value in entity.items() if value is not None}


def _to_record(entity: Mapping[str, Any], etag: str | None = None) -> SubscriptionRecord:
    if etag is None and isinstance(entity, TableEntity):
        etag = entity.metadata.get("etag")
    subscription_id = entity.get("SubscriptionId")
    last_error = entity.get("LastError")
    return SubscriptionRecord(
        tenant_id=str(entity["PartitionKey"]),
        account_id=str(entity["RowKey"]),
        subscription_id=str(subscription_id) if subscription_id else None,
        user_ids=decode_user_ids(str(entity.get("UserIds") or "")),
        expires_at=_utc_or_none(entity.get("ExpiresAt")),
        created_at=_utc(entity["CreatedAt"]),
        renewed_at=_utc_or_none(entity.get("RenewedAt")),
        reauthorized_at=_utc_or_none(entity.get("ReauthorizedAt")),
        status=SubscriptionStatus(str(entity["Status"])),
        last_error=str(last_error) if last_error else None,
        etag=str(etag) if etag else None,
    )


def _to_roster(entity: TableEntity) -> RosterState:
    owner = entity.get("LeaseOwner")
    return RosterState(
        version=int(entity.get("RosterVersion") or 0),
        lease_owner=str(owner) if owner else None,
        lease_until=_utc_or_none(entity.get("LeaseUntil")) if owner else None,
        etag=str(entity.metadata["etag"]),
    )


def _replace_etag(record: SubscriptionRecord, metadata: dict[str, Any]) -> SubscriptionRecord:
    return replace(record, etag=str(metadata["etag"]))


def _utc(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime in the subscription row, got {type(value).__name__}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_or_none(value: Any) -> datetime | None:
    return None if value is None else _utc(value)
