"""Connectors in Table Storage: one row per tenant (PartitionKey = tenant id, RowKey = "connector").

Writes are conditional on the ETag the connector was read at (If-Match), so the HTTP API's If-Match
reaches the table write unchanged in meaning. Contact-center secrets are sealed with AES-GCM before they
are stored, bound to the tenant and field.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode

from shared.connectors.exceptions import ConnectorAlreadyExists, StaleConnector
from shared.connectors.model import (
    Connector,
    ConnectorSettings,
    ConnectorStatus,
    ConsentAttempt,
    ConsentFailure,
    ContactCenterConfig,
    PreviousSecret,
    WebexContactCenter,
    WebhookContactCenter,
)
from shared.identity.principal import Actor
from shared.security.secret_box import SecretBox
from shared.storage.keys import checked_key, odata_string
from shared.storage.table_names import CONNECTORS
from shared.storage.table_store import TableStore, storage_errors

logger = logging.getLogger(__name__)

ROW_KEY = "connector"
SCHEMA_VERSION = 1


class TableConnectorRepository:
    def __init__(self, store: TableStore, secrets: SecretBox) -> None:
        self._store = store
        self._secrets = secrets

    def get(self, tenant_id: str) -> Connector | None:
        table = self._store.table(CONNECTORS)
        with storage_errors():
            try:
                entity = table.get_entity(checked_key(tenant_id, "tenant id"), ROW_KEY)
            except ResourceNotFoundError:
                return None
        return self._to_connector(entity)

    def add(self, connector: Connector) -> Connector:
        table = self._store.table(CONNECTORS)
        with storage_errors():
            try:
                metadata = table.create_entity(self._to_entity(connector))
            except ResourceExistsError as exc:
                raise ConnectorAlreadyExists(connector.tenant_id) from exc
        return _with_etag(connector, metadata)

    def save(self, connector: Connector) -> Connector:
        table = self._store.table(CONNECTORS)
        with storage_errors():
            try:
                metadata = table.update_entity(
                    self._to_entity(connector),
                    mode=UpdateMode.REPLACE,
                    etag=connector.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            except (ResourceModifiedError, ResourceNotFoundError) as exc:
                raise StaleConnector(connector.tenant_id) from exc
        return _with_etag(connector, metadata)

    def delete(self, connector: Connector) -> None:
        table = self._store.table(CONNECTORS)
        with storage_errors():
            try:
                table.delete_entity(
                    checked_key(connector.tenant_id, "tenant id"),
                    ROW_KEY,
                    etag=connector.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            except ResourceModifiedError as exc:
                raise StaleConnector(connector.tenant_id) from exc
            except ResourceNotFoundError:
                logger.info("connector of tenant %s was already deleted", connector.tenant_id)

    def active_tenant_ids(self) -> list[str]:
        """Tenants whose connector is active: the one cross-partition query, run by timers only."""
        table = self._store.table(CONNECTORS)
        query = (
            f"RowKey eq {odata_string(ROW_KEY)} and Status eq {odata_string(ConnectorStatus.ACTIVE.value)}"
        )
        with storage_errors():
            return [
                str(entity["PartitionKey"])
                for entity in table.query_entities(query, select=["PartitionKey"], results_per_page=1000)
            ]

    # -- mapping -----------------------------------------------------------------------------------

    def _to_entity(self, connector: Connector) -> dict[str, Any]:
        entity: dict[str, Any] = {
            "PartitionKey": checked_key(connector.tenant_id, "tenant id"),
            "RowKey": ROW_KEY,
            "SchemaVersion": SCHEMA_VERSION,
            "Status": connector.status.value,
            "ShowUserDetails": connector.settings.show_user_details,
            "PresenceSync": connector.settings.presence_sync,
            "CreatedAt": connector.created_at,
            "UpdatedAt": connector.updated_at,
            "ActivatedAt": connector.activated_at,
            "DeactivatedAt": connector.deactivated_at,
            "ContactCenterChangedAt": connector.contact_center_changed_at,
        }
        if connector.contact_center is not None:
            entity["ContactCenterType"] = connector.contact_center.type
            entity["ContactCenter"] = self._seal_contact_center(connector.tenant_id, connector.contact_center)
        if connector.previous_secret is not None:
            # Sealed like the current one, under its own context so neither can stand in for the other.
            entity["PreviousSecret"] = self._secrets.seal(
                connector.previous_secret.secret, _previous_secret_context(connector.tenant_id)
            )
            entity["PreviousSecretReplacedAt"] = connector.previous_secret.replaced_at
        if connector.consent_attempt is not None:
            entity["ConsentAttemptId"] = connector.consent_attempt.attempt_id
            entity["ConsentAttemptExpiresAt"] = connector.consent_attempt.expires_at
            requester = connector.consent_attempt.requested_by
            if requester is not None:
                entity["ConsentRequestedById"] = requester.object_id
                entity["ConsentRequestedByName"] = requester.name
        if connector.last_consent_failure is not None:
            entity["ConsentError"] = connector.last_consent_failure.error
            entity["ConsentErrorDescription"] = connector.last_consent_failure.description
            entity["ConsentErrorAt"] = connector.last_consent_failure.at
        # Table Storage has no null: an absent property is how "not set" is stored (REPLACE drops it).
        return {name: value for name, value in entity.items() if value is not None}

    def _to_connector(self, entity: TableEntity) -> Connector:
        tenant_id = str(entity["PartitionKey"])
        attempt = None
        if entity.get("ConsentAttemptId"):
            attempt = ConsentAttempt(
                attempt_id=str(entity["ConsentAttemptId"]),
                expires_at=_utc(entity["ConsentAttemptExpiresAt"]),
                requested_by=Actor(
                    str(entity["ConsentRequestedById"]),
                    str(entity["ConsentRequestedByName"]) if entity.get("ConsentRequestedByName") else None,
                )
                if entity.get("ConsentRequestedById")
                else None,
            )
        failure = None
        if entity.get("ConsentError") is not None:
            failure = ConsentFailure(
                error=str(entity["ConsentError"]),
                description=str(entity.get("ConsentErrorDescription", "")),
                at=_utc(entity["ConsentErrorAt"]),
            )
        contact_center = None
        if entity.get("ContactCenter"):
            contact_center = self._open_contact_center(
                tenant_id, str(entity["ContactCenterType"]), str(entity["ContactCenter"])
            )
        return Connector(
            tenant_id=tenant_id,
            status=ConnectorStatus(str(entity["Status"])),
            settings=ConnectorSettings(
                show_user_details=bool(entity.get("ShowUserDetails", True)),
                presence_sync=bool(entity.get("PresenceSync", True)),
            ),
            contact_center=contact_center,
            created_at=_utc(entity["CreatedAt"]),
            updated_at=_utc(entity["UpdatedAt"]),
            activated_at=_utc_or_none(entity.get("ActivatedAt")),
            deactivated_at=_utc_or_none(entity.get("DeactivatedAt")),
            consent_attempt=attempt,
            last_consent_failure=failure,
            contact_center_changed_at=_utc_or_none(entity.get("ContactCenterChangedAt")),
            previous_secret=self._open_previous_secret(tenant_id, entity),
            etag=str(entity.metadata["etag"]),
        )

    def _seal_contact_center(self, tenant_id: str, config: ContactCenterConfig) -> str:
        context = f"{tenant_id}/contactCenter/{config.type}"
        if isinstance(config, WebexContactCenter):
            document = {"baseUrl": config.base_url, "orgId": config.org_id}
        else:
            document = {"url": config.url, "secret": self._secrets.seal(config.secret, context)}
        return json.dumps(document, separators=(",", ":"))

    def _open_contact_center(self, tenant_id: str, kind: str, sealed_json: str) -> ContactCenterConfig:
        context = f"{tenant_id}/contactCenter/{kind}"
        document = json.loads(sealed_json)
        if kind == WebexContactCenter.type:
            # Rows written before the Webex sign-in also carry clientId/clientSecret: ignored (Webex
            # never offered the client-credentials grant they were for).
            return WebexContactCenter(base_url=document["baseUrl"], org_id=document["orgId"])
        return WebhookContactCenter(
            url=document["url"], secret=self._secrets.open(document["secret"], context)
        )

    def _open_previous_secret(self, tenant_id: str, entity: Any) -> PreviousSecret | None:
        sealed = entity.get("PreviousSecret")
        if not sealed:
            return None
        return PreviousSecret(
            secret=self._secrets.open(str(sealed), _previous_secret_context(tenant_id)),
            replaced_at=_utc(entity["PreviousSecretReplacedAt"]),
        )


def _previous_secret_context(tenant_id: str) -> str:
    return f"{tenant_id}/contactCenter/previousSecret"


def _with_etag(connector: Connector, metadata: dict[str, Any]) -> Connector:
    return replace(connector, etag=str(metadata["etag"]))


def _utc(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime in the connector row, got {type(value).__name__}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_or_none(value: Any) -> datetime | None:
    return None if value is None else _utc(value)
