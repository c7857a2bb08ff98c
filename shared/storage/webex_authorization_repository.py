"""A tenant's Webex authorization: a row in its `Connectors` partition (RowKey "webexAuthorization").

The refresh token and the subscription secret are sealed with the secrets key, each bound to tenant
and field, like the Graph token caches. Saves are conditional on the ETag read, so a refresh that lost
to a concurrent one (or to a new sign-in) does not overwrite the newer refresh token. The tenant purge
removes the row with the rest of the partition.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode

from shared.contact_center.webex.exceptions import StaleWebexAuthorization
from shared.contact_center.webex.model import (
    WebexAuthorization,
    WebexAuthorizationStatus,
    WebexSubscription,
)
from shared.security.secret_box import SecretBox
from shared.storage.keys import checked_key
from shared.storage.table_names import CONNECTORS
from shared.storage.table_store import TableStore, storage_errors

logger = logging.getLogger(__name__)

ROW_KEY: Final = "webexAuthorization"
SCHEMA_VERSION: Final = 1


class TableWebexAuthorizations:
    def __init__(self, store: TableStore, secrets: SecretBox) -> None:
        self._store = store
        self._secrets = secrets

    def get(self, tenant_id: str) -> WebexAuthorization | None:
        table = self._store.table(CONNECTORS)
        with storage_errors():
            try:
                entity = table.get_entity(checked_key(tenant_id, "tenant id"), ROW_KEY)
            except ResourceNotFoundError:
                return None
        return self._from_entity(tenant_id, entity)

    def save(self, authorization: WebexAuthorization) -> WebexAuthorization:
        table = self._store.table(CONNECTORS)
        entity = self._to_entity(authorization)
        with storage_errors():
            if authorization.etag is None:
                metadata = table.upsert_entity(entity, mode=UpdateMode.REPLACE)
            else:
                try:
                    metadata = table.update_entity(
                        entity,
                        mode=UpdateMode.REPLACE,
                        etag=authorization.etag,
                        match_condition=MatchConditions.IfNotModified,
                    )
                except (ResourceModifiedError, ResourceNotFoundError) as exc:
                    raise StaleWebexAuthorization(
                        f"tenant {authorization.tenant_id}: the Webex authorization changed meanwhile"
                    ) from exc
        return _with_etag(authorization, metadata)

    def delete(self, tenant_id: str) -> None:
        table = self._store.table(CONNECTORS)
        with storage_errors():
            table.delete_entity(checked_key(tenant_id, "tenant id"), ROW_KEY)

    def _to_entity(self, authorization: WebexAuthorization) -> dict[str, Any]:
        tenant_id = authorization.tenant_id
        entity: dict[str, Any] = {
            "PartitionKey": checked_key(tenant_id, "tenant id"),
            "RowKey": ROW_KEY,
            "SchemaVersion": SCHEMA_VERSION,
            "Status": authorization.status.value,
            "OrgId": authorization.org_id,
            "PersonId": authorization.person_id,
            "AuthorizedAt": authorization.authorized_at,
            "AuthorizedBy": authorization.authorized_by,
            "RefreshToken": self._secrets.seal(
                authorization.refresh_token, _context(tenant_id, "refreshToken")
            ),
        }
        optional: dict[str, Any] = {
            "RefreshExpiresAt": authorization.refresh_expires_at,
            "LastError": authorization.last_error,
            "LastErrorAt": authorization.last_error_at,
            "SubscriptionError": authorization.subscription_error,
        }
        entity.update({name: value for name, value in optional.items() if value is not None})
        subscription = authorization.subscription
        if subscription is not None:
            entity["SubscriptionId"] = subscription.subscription_id
            entity["SubscriptionSecret"] = self._secrets.seal(
                subscription.secret, _context(tenant_id, "subscriptionSecret")
            )
            entity["SubscriptionCreatedAt"] = subscription.created_at
        return entity

    def _from_entity(self, tenant_id: str, entity: TableEntity) -> WebexAuthorization:
        subscription = None
        if entity.get("SubscriptionId"):
            subscription = WebexSubscription(
                subscription_id=str(entity["SubscriptionId"]),
                secret=self._secrets.open(
                    str(entity["SubscriptionSecret"]), _context(tenant_id, "subscriptionSecret")
                ),
                created_at=_utc(entity["SubscriptionCreatedAt"]),
            )
        return WebexAuthorization(
            tenant_id=tenant_id,
            status=WebexAuthorizationStatus(str(entity["Status"])),
            org_id=str(entity["OrgId"]),
            person_id=str(entity["PersonId"]),
            authorized_at=_utc(entity["AuthorizedAt"]),
            authorized_by=str(entity["AuthorizedBy"]),
            refresh_token=self._secrets.open(
                str(entity["RefreshToken"]), _context(tenant_id, "refreshToken")
            ),
            refresh_expires_at=_utc_or_none(entity.get("RefreshExpiresAt")),
            last_error=_text(entity.get("LastError")),
            last_error_at=_utc_or_none(entity.get("LastErrorAt")),
            subscription=subscription,
            subscription_error=_text(entity.get("SubscriptionError")),
            etag=str(entity.metadata["etag"]),
        )


def _context(tenant_id: str, field: str) -> str:
    return f"{tenant_id}/webex/{field}"


def _with_etag(authorization: WebexAuthorization, metadata: Any) -> WebexAuthorization:
    return replace(authorization, etag=str(metadata["etag"]))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _utc(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime in the Webex authorization row, got {type(value).__name__}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_or_none(value: Any) -> datetime | None:
    return None if value is None else _utc(value)
