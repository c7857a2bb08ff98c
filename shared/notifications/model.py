"""Typed Graph change notifications and their parser.

The shapes follow Graph's v1.0 schema (`changeNotificationCollection`, `changeNotification`,
`changeNotificationEncryptedContent`, open `resourceData`). Non-nullable properties are required, with
one documented exception: lifecycle notifications carry `lifecycleEvent` instead of `changeType` and no
`resource` (the two kinds are mutually exclusive). Unknown extra properties are tolerated because Graph
adds some (`organizationId`, `@odata.type`) without notice.

A collection-level defect rejects the whole body; a defect in one item rejects only that item, so one
bad entry never costs the rest of a batch.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from shared.json_limits import TOO_DEEP
from shared.notifications.exceptions import MalformedNotificationError, NotificationBatchTooLarge

MAX_NOTIFICATIONS_PER_COLLECTION = 1000
MAX_VALIDATION_TOKENS = 1000

_EnumT = TypeVar("_EnumT", bound=StrEnum)


class ChangeType(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


class LifecycleEvent(StrEnum):
    MISSED = "missed"
    SUBSCRIPTION_REMOVED = "subscriptionRemoved"
    REAUTHORIZATION_REQUIRED = "reauthorizationRequired"


@dataclass(frozen=True)
class EncryptedContent:
    """`changeNotificationEncryptedContent`: every property is non-nullable."""

    data: str
    data_key: str = field(repr=False)
    data_signature: str
    encryption_certificate_id: str
    encryption_certificate_thumbprint: str


@dataclass(frozen=True)
class ResourceData:
    """Open type: `id`, `@odata.type` and `@odata.id` when present, everything else in `properties`."""

    id: str | None
    odata_type: str | None
    odata_id: str | None
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class ChangeNotification:
    subscription_id: str
    tenant_id: str
    subscription_expiration: datetime
    change_type: ChangeType | None
    lifecycle_event: LifecycleEvent | None
    resource: str | None
    client_state: str | None = field(repr=False)
    id: str | None
    resource_data: ResourceData | None
    encrypted_content: EncryptedContent | None

    @property
    def is_lifecycle(self) -> bool:
        return self.lifecycle_event is not None


@dataclass(frozen=True)
class RejectedNotification:
    """An item of `value` that failed parsing; `subscription_id` is kept when it could be read, for logs."""

    index: int
    subscription_id: str | None
    error: MalformedNotificationError


@dataclass(frozen=True)
class NotificationCollection:
    notifications: tuple[ChangeNotification, ...]
    validation_tokens: tuple[str, ...] = field(repr=False)
    rejected: tuple[RejectedNotification, ...] = ()

    @property
    def tenant_ids(self) -> frozenset[str]:
        return frozenset(n.tenant_id for n in self.notifications)


@dataclass(frozen=True)
class PresencePayload:
    """The decrypted presence resource of a rich notification."""

    id: str
    availability: str
    activity: str
    sequence_number: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    # presence.outOfOfficeSettings.isOutOfOffice (absent: false).
    is_out_of_office: bool = False


def parse_notification_collection(body: bytes | Mapping[str, Any]) -> NotificationCollection:
    """Parse a POSTed changeNotificationCollection; raise `MalformedNotificationError` if the body as a
    whole is unusable, and report item-level defects in `rejected`."""
    document = _load_json_object(body) if isinstance(body, bytes | bytearray) else body
    if not isinstance(document, Mapping):
        raise MalformedNotificationError("the notification body must be a JSON object")
    raw_value = document.get("value")
    if not isinstance(raw_value, list):
        raise MalformedNotificationError("value: required, must be an array of changeNotification")
    if len(raw_value) > MAX_NOTIFICATIONS_PER_COLLECTION:
        raise NotificationBatchTooLarge(
            f"value: at most {MAX_NOTIFICATIONS_PER_COLLECTION} notifications are accepted in one body"
        )
    tokens = _parse_validation_tokens(document.get("validationTokens"))

    notifications: list[ChangeNotification] = []
    rejected: list[RejectedNotification] = []
    for index, item in enumerate(raw_value):
        try:
            notifications.append(_parse_notification(item, f"value[{index}]"))
        except MalformedNotificationError as exc:
            subscription_id = item.get("subscriptionId") if isinstance(item, Mapping) else None
            rejected.append(
                RejectedNotification(
                    index=index,
                    subscription_id=subscription_id if isinstance(subscription_id, str) else None,
                    error=exc,
                )
            )
    return NotificationCollection(
        notifications=tuple(notifications), validation_tokens=tokens, rejected=tuple(rejected)
    )


def parse_presence_payload(document: Mapping[str, Any]) -> PresencePayload:
    """Read the decrypted `presence` resource; availability and activity are required to be useful."""
    sequence_number = document.get("sequenceNumber")
    if sequence_number is not None and not isinstance(sequence_number, str):
        raise MalformedNotificationError("presence.sequenceNumber: must be a string")
    out_of_office = document.get("outOfOfficeSettings")
    if out_of_office is not None and not isinstance(out_of_office, Mapping):
        raise MalformedNotificationError("presence.outOfOfficeSettings: must be an object")
    is_out_of_office = (out_of_office or {}).get("isOutOfOffice")
    if is_out_of_office is not None and not isinstance(is_out_of_office, bool):
        raise MalformedNotificationError("presence.outOfOfficeSettings.isOutOfOffice: must be a boolean")
    return PresencePayload(
        id=_required_string(document, "id", "presence"),
        availability=_required_string(document, "availability", "presence"),
        activity=_required_string(document, "activity", "presence"),
        sequence_number=sequence_number,
        raw=document,
        is_out_of_office=is_out_of_office is True,
    )


def _load_json_object(body: bytes | bytearray) -> Any:
    if not body:
        raise MalformedNotificationError("the notification body is empty")
    try:
        return json.loads(body)
    except RecursionError as exc:
        raise MalformedNotificationError(TOO_DEEP) from exc
    except ValueError as exc:
        raise MalformedNotificationError("the notification body is not valid JSON") from exc


def _parse_validation_tokens(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(token, str) and token for token in raw):
        raise MalformedNotificationError("validationTokens: must be an array of non-empty strings")
    if len(raw) > MAX_VALIDATION_TOKENS:
        raise NotificationBatchTooLarge(f"validationTokens: at most {MAX_VALIDATION_TOKENS} are accepted")
    return tuple(raw)


def _parse_notification(item: Any, path: str) -> ChangeNotification:
    if not isinstance(item, Mapping):
        raise MalformedNotificationError(f"{path}: must be a changeNotification object")
    lifecycle_event = _optional_enum(item, "lifecycleEvent", LifecycleEvent, path)
    if lifecycle_event is None:
        change_type: ChangeType | None = _required_enum(item, "changeType", ChangeType, path)
        resource: str | None = _required_string(item, "resource", path)
    else:
        if "changeType" in item and item["changeType"] is not None:
            raise MalformedNotificationError(f"{path}: changeType and lifecycleEvent are mutually exclusive")
        change_type = None
        resource = _optional_string(item, "resource", path)
    return ChangeNotification(
        subscription_id=_required_guid(item, "subscriptionId", path),
        tenant_id=_required_guid(item, "tenantId", path),
        subscription_expiration=_required_datetime(item, "subscriptionExpirationDateTime", path),
        change_type=change_type,
        lifecycle_event=lifecycle_event,
        resource=resource,
        client_state=_optional_string(item, "clientState", path),
        id=_optional_string(item, "id", path),
        resource_data=_parse_resource_data(item.get("resourceData"), f"{path}.resourceData"),
        encrypted_content=_parse_encrypted_content(item.get("encryptedContent"), f"{path}.encryptedContent"),
    )


def _parse_resource_data(raw: Any, path: str) -> ResourceData | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise MalformedNotificationError(f"{path}: must be an object")
    return ResourceData(
        id=_optional_string(raw, "id", path),
        odata_type=_optional_string(raw, "@odata.type", path),
        odata_id=_optional_string(raw, "@odata.id", path),
        properties=dict(raw),
    )


def _parse_encrypted_content(raw: Any, path: str) -> EncryptedContent | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise MalformedNotificationError(f"{path}: must be a changeNotificationEncryptedContent object")
    return EncryptedContent(
        data=_required_string(raw, "data", path),
        data_key=_required_string(raw, "dataKey", path),
        data_signature=_required_string(raw, "dataSignature", path),
        encryption_certificate_id=_required_string(raw, "encryptionCertificateId", path),
        encryption_certificate_thumbprint=_required_string(raw, "encryptionCertificateThumbprint", path),
    )


def _required_string(item: Mapping[str, Any], name: str, path: str) -> str:
    value = item.get(name)
    if value is None:
        raise MalformedNotificationError(f"{path}.{name}: required")
    if not isinstance(value, str) or not value:
        raise MalformedNotificationError(f"{path}.{name}: must be a non-empty string")
    return value


def _optional_string(item: Mapping[str, Any], name: str, path: str) -> str | None:
    value = item.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedNotificationError(f"{path}.{name}: must be a string")
    return value


def _required_guid(item: Mapping[str, Any], name: str, path: str) -> str:
    value = _required_string(item, name, path)
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise MalformedNotificationError(f"{path}.{name}: must be a GUID") from exc


def _required_datetime(item: Mapping[str, Any], name: str, path: str) -> datetime:
    value = _required_string(item, name, path)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MalformedNotificationError(f"{path}.{name}: must be an ISO 8601 date-time") from exc
    if parsed.tzinfo is None:
        raise MalformedNotificationError(f"{path}.{name}: must carry a UTC offset (Edm.DateTimeOffset)")
    return parsed


def _required_enum(item: Mapping[str, Any], name: str, enum: type[_EnumT], path: str) -> _EnumT:
    value = _optional_enum(item, name, enum, path)
    if value is None:
        raise MalformedNotificationError(f"{path}.{name}: required")
    return value


def _optional_enum(item: Mapping[str, Any], name: str, enum: type[_EnumT], path: str) -> _EnumT | None:
    value = _optional_string(item, name, path)
    if value is None:
        return None
    try:
        return enum(value)
    except ValueError as exc:
        allowed = ", ".join(member.value for member in enum)
        raise MalformedNotificationError(f"{path}.{name}: {value!r} is not one of {allowed}") from exc
