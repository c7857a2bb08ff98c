"""Sync accounts and pending sign-ins in Table Storage (PartitionKey = tenant id).

`SyncAccounts`: RowKey = the account's Entra object id. The MSAL token cache is sealed with the
secrets key, bound to tenant and account, and split over `tokenCache0..N` (32K characters a property).
`SyncSignIns`: RowKey = the attempt id bound into the signed state; the PKCE verifier is sealed, bound
to tenant and attempt. Taking a sign-in is a conditional delete, so it succeeds once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, TableTransactionError, UpdateMode

from shared.security.secret_box import SecretBox
from shared.storage.keys import checked_key
from shared.storage.table_names import SYNC_ACCOUNTS, SYNC_SIGN_INS
from shared.storage.table_store import TableStore, storage_errors
from shared.sync_accounts.exceptions import StaleSyncAccount, SyncAccountNotFound
from shared.sync_accounts.model import (
    PendingSignIn,
    SyncAccount,
    SyncAccountCredentials,
    SyncAccountStatus,
)
from shared.sync_accounts.token_cache import open_token_cache, seal_token_cache

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_CACHE_PART_COUNT = "tokenCacheParts"
_CACHE_PART_PREFIX = "tokenCache"
# Everything but the sealed cache: listing accounts never reads (or ships) token material.
_ACCOUNT_COLUMNS = [
    "PartitionKey",
    "RowKey",
    "userPrincipalName",
    "displayName",
    "status",
    "createdAt",
    "signedInAt",
    "lastTokenAt",
    "lastError",
    "lastErrorAt",
]


class TableSyncAccountRepository:
    def __init__(self, store: TableStore, secrets: SecretBox) -> None:
        self._store = store
        self._secrets = secrets

    def get(self, tenant_id: str, account_id: str) -> SyncAccount | None:
        entity = self._entity(tenant_id, account_id, select=_ACCOUNT_COLUMNS)
        return None if entity is None else _to_account(entity)

    def list(self, tenant_id: str) -> list[SyncAccount]:
        table = self._store.table(SYNC_ACCOUNTS)
        with storage_errors():
            entities = list(
                table.query_entities(
                    "PartitionKey eq @tenant",
                    parameters={"tenant": checked_key(tenant_id, "tenant id")},
                    select=_ACCOUNT_COLUMNS,
                )
            )
        return [_to_account(entity) for entity in entities]

    def load_credentials(self, tenant_id: str, account_id: str) -> SyncAccountCredentials | None:
        entity = self._entity(tenant_id, account_id)
        if entity is None:
            return None
        account = _to_account(entity)
        count = int(entity.get(_CACHE_PART_COUNT) or 0)
        parts = [str(entity.get(f"{_CACHE_PART_PREFIX}{index}") or "") for index in range(count)]
        token_cache = open_token_cache(self._secrets, account.tenant_id, account.account_id, parts)
        return SyncAccountCredentials(account=account, token_cache=token_cache)

    def save_signed_in(self, account: SyncAccount, token_cache: str) -> SyncAccount:
        table = self._store.table(SYNC_ACCOUNTS)
        with storage_errors():
            metadata = table.upsert_entity(self._to_entity(account, token_cache), mode=UpdateMode.REPLACE)
        return replace(account, etag=str(metadata["etag"]))

    def save_token_cache(self, account: SyncAccount, token_cache: str) -> SyncAccount:
        table = self._store.table(SYNC_ACCOUNTS)
        with storage_errors():
            try:
                metadata = table.update_entity(
                    self._to_entity(account, token_cache),
                    mode=UpdateMode.REPLACE,
                    etag=account.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            except ResourceModifiedError as exc:
                raise StaleSyncAccount(account.tenant_id, account.account_id) from exc
            except ResourceNotFoundError as exc:
                raise SyncAccountNotFound(account.tenant_id, account.account_id) from exc
        return replace(account, etag=str(metadata["etag"]))

    def mark_reauthorization_required(self, account: SyncAccount, reason: str, at: datetime) -> SyncAccount:
        table = self._store.table(SYNC_ACCOUNTS)
        patch = {
            "PartitionKey": checked_key(account.tenant_id, "tenant id"),
            "RowKey": checked_key(account.account_id, "sync account id"),
            "status": SyncAccountStatus.REAUTHORIZATION_REQUIRED.value,
            "lastError": reason,
            "lastErrorAt": at,
        }
        with storage_errors():
            try:
                metadata = table.update_entity(
                    patch,
                    mode=UpdateMode.MERGE,
                    etag=account.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            except ResourceModifiedError as exc:
                raise StaleSyncAccount(account.tenant_id, account.account_id) from exc
            except ResourceNotFoundError as exc:
                raise SyncAccountNotFound(account.tenant_id, account.account_id) from exc
        return replace(
            account,
            status=SyncAccountStatus.REAUTHORIZATION_REQUIRED,
            last_error=reason,
            last_error_at=at,
            etag=str(metadata["etag"]),
        )

    def delete(self, tenant_id: str, account_id: str) -> None:
        table = self._store.table(SYNC_ACCOUNTS)
        with storage_errors():
            # The SDK ignores a row that is already gone, which is what a repeated delete wants.
            table.delete_entity(
                checked_key(tenant_id, "tenant id"), checked_key(account_id, "sync account id")
            )

    # -- mapping -----------------------------------------------------------------------------------

    def _entity(
        self, tenant_id: str, account_id: str, select: Sequence[str] | None = None
    ) -> TableEntity | None:
        table = self._store.table(SYNC_ACCOUNTS)
        with storage_errors():
            try:
                return table.get_entity(
                    checked_key(tenant_id, "tenant id"),
                    checked_key(account_id, "sync account id"),
                    select=None if select is None else list(select),
                )
            except ResourceNotFoundError:
                return None

    def _to_entity(self, account: SyncAccount, token_cache: str) -> dict[str, Any]:
        parts = seal_token_cache(self._secrets, account.tenant_id, account.account_id, token_cache)
        entity: dict[str, Any] = {
            "PartitionKey": checked_key(account.tenant_id, "tenant id"),
            "RowKey": checked_key(account.account_id, "sync account id"),
            "schemaVersion": SCHEMA_VERSION,
            "userPrincipalName": account.user_principal_name,
            "displayName": account.display_name,
            "status": account.status.value,
            "createdAt": account.created_at,
            "signedInAt": account.signed_in_at,
            "lastTokenAt": account.last_token_at,
            "lastError": account.last_error,
            "lastErrorAt": account.last_error_at,
            _CACHE_PART_COUNT: len(parts),
        }
        entity.update({f"{_CACHE_PART_PREFIX}{index}": part for index, part in enumerate(parts)})
        # Table Storage has no null: an absent property is how "not set" is stored (REPLACE drops it).
        return {name: value for name, value in entity.items() if value is not None}


def _to_account(entity: TableEntity) -> SyncAccount:
    created_at = _utc(entity["createdAt"])
    display_name = entity.get("displayName")
    last_error = entity.get("lastError")
    return SyncAccount(
        tenant_id=str(entity["PartitionKey"]),
        account_id=str(entity["RowKey"]),
        user_principal_name=str(entity["userPrincipalName"]),
        display_name=None if display_name is None else str(display_name),
        status=SyncAccountStatus(str(entity["status"])),
        created_at=created_at,
        signed_in_at=_utc(entity.get("signedInAt") or created_at),
        last_token_at=_utc(entity.get("lastTokenAt") or created_at),
        last_error=None if last_error is None else str(last_error),
        last_error_at=_utc_or_none(entity.get("lastErrorAt")),
        etag=str(entity.metadata["etag"]),
    )


class TableSignInRepository:
    def __init__(self, store: TableStore, secrets: SecretBox) -> None:
        self._store = store
        self._secrets = secrets

    def add(self, sign_in: PendingSignIn) -> None:
        entity: dict[str, Any] = {
            "PartitionKey": checked_key(sign_in.tenant_id, "tenant id"),
            "RowKey": checked_key(sign_in.attempt_id, "sign-in attempt id"),
            "schemaVersion": SCHEMA_VERSION,
            "codeVerifier": self._secrets.seal(
                sign_in.code_verifier, _verifier_context(sign_in.tenant_id, sign_in.attempt_id)
            ),
            "createdAt": sign_in.created_at,
            "expiresAt": sign_in.expires_at,
        }
        if sign_in.login_hint is not None:
            entity["loginHint"] = sign_in.login_hint
        if sign_in.requested_by is not None:
            entity["requestedBy"] = sign_in.requested_by
        table = self._store.table(SYNC_SIGN_INS)
        with storage_errors():
            table.create_entity(entity)

    def take(self, tenant_id: str, attempt_id: str) -> PendingSignIn | None:
        partition = checked_key(tenant_id, "tenant id")
        row = checked_key(attempt_id, "sign-in attempt id")
        table = self._store.table(SYNC_SIGN_INS)
        with storage_errors():
            try:
                entity = table.get_entity(partition, row)
            except ResourceNotFoundError:
                return None
            etag = str(entity.metadata["etag"])
            try:
                # delete_entity() ignores a missing row; inside a transaction a missing row or another
                # ETag fails, so of two concurrent callbacks with the same state exactly one gets here.
                table.submit_transaction(
                    [
                        (
                            "delete",
                            {"PartitionKey": partition, "RowKey": row},
                            {"etag": etag, "match_condition": MatchConditions.IfNotModified},
                        )
                    ]
                )
            except TableTransactionError:
                logger.info("sign-in %s of tenant %s was taken by a concurrent callback", row, partition)
                return None
        login_hint, requested_by = entity.get("loginHint"), entity.get("requestedBy")
        return PendingSignIn(
            tenant_id=partition,
            attempt_id=row,
            code_verifier=self._secrets.open(str(entity["codeVerifier"]), _verifier_context(partition, row)),
            login_hint=None if login_hint is None else str(login_hint),
            created_at=_utc(entity["createdAt"]),
            expires_at=_utc(entity["expiresAt"]),
            requested_by=None if requested_by is None else str(requested_by),
            etag=etag,
        )

    def remove_expired(self, tenant_id: str, now: datetime) -> int:
        partition = checked_key(tenant_id, "tenant id")
        table = self._store.table(SYNC_SIGN_INS)
        with storage_errors():
            keys = [
                str(entity["RowKey"])
                for entity in table.query_entities(
                    "PartitionKey eq @tenant and expiresAt lt @now",
                    parameters={"tenant": partition, "now": now},
                    select=["RowKey"],
                )
            ]
            for key in keys:
                table.delete_entity(partition, key)
        if keys:
            logger.info("removed %s expired sign-in(s) of tenant %s", len(keys), tenant_id)
        return len(keys)


def _verifier_context(tenant_id: str, attempt_id: str) -> str:
    return f"sync-sign-in|{tenant_id}|{attempt_id}"


def _utc(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime in the sync-account row, got {type(value).__name__}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_or_none(value: Any) -> datetime | None:
    return None if value is None else _utc(value)
