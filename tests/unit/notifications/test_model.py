from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.notifications.exceptions import MalformedNotificationError
from shared.notifications.model import (
    ChangeType,
    LifecycleEvent,
    parse_notification_collection,
    parse_presence_payload,
)
from tests.unit.notifications.support import TENANT_A, load_fixture


def _presence_collection() -> dict[str, Any]:
    document: dict[str, Any] = load_fixture("presence_rich_notification_collection.json")
    return document


def test_a_presence_rich_notification_collection_parses_from_bytes() -> None:
    # GIVEN the body Graph POSTs for two presence changes
    body = json.dumps(_presence_collection()).encode()

    # WHEN it is parsed
    collection = parse_notification_collection(body)

    # THEN both notifications are typed, with their encrypted content and the batch's tokens
    assert collection.rejected == ()
    assert len(collection.notifications) == 2
    first = collection.notifications[0]
    assert first.change_type is ChangeType.UPDATED
    assert first.lifecycle_event is None
    assert not first.is_lifecycle
    assert first.tenant_id == TENANT_A
    assert first.subscription_id == "76619225-ff6b-4489-96ca-4ef547e78b22"
    assert first.subscription_expiration == datetime(2023, 9, 14, 10, 0, tzinfo=UTC)
    assert first.resource == "communications/presences/7a1b6e0f-3f6f-4c1e-9a3c-0b6b1a2c3d4e"
    assert first.resource_data is not None
    assert first.resource_data.id == "7a1b6e0f-3f6f-4c1e-9a3c-0b6b1a2c3d4e"
    assert first.resource_data.odata_type == "#microsoft.graph.presence"
    assert first.encrypted_content is not None
    assert first.encrypted_content.encryption_certificate_id == "teams-presence-connector-2025"
    assert len(collection.validation_tokens) == 1
    assert collection.tenant_ids == frozenset({TENANT_A})


def test_a_reauthorization_required_lifecycle_notification_parses_without_change_type_or_resource() -> None:
    # GIVEN Graph's documented reauthorizationRequired payload (no changeType, no resource)
    document = load_fixture("lifecycle_reauthorization_required.json")

    # WHEN it is parsed
    collection = parse_notification_collection(document)

    # THEN it is a lifecycle notification with a 7-digit fraction expiry parsed
    (notification,) = collection.notifications
    assert notification.is_lifecycle
    assert notification.lifecycle_event is LifecycleEvent.REAUTHORIZATION_REQUIRED
    assert notification.change_type is None
    assert notification.resource is None
    assert notification.subscription_expiration.tzinfo is not None
    assert notification.subscription_expiration.year == 2019
    assert collection.validation_tokens == ()


@pytest.mark.parametrize(
    "field",
    ["changeType", "resource", "subscriptionId", "tenantId", "subscriptionExpirationDateTime"],
)
def test_a_change_notification_missing_a_non_nullable_property_is_rejected_by_name(field: str) -> None:
    # GIVEN a batch whose second item lacks a property the schema marks non-nullable
    document = _presence_collection()
    del document["value"][1][field]

    # WHEN it is parsed
    collection = parse_notification_collection(document)

    # THEN only that item is rejected, and the error names the field
    assert len(collection.notifications) == 1
    (rejected,) = collection.rejected
    assert rejected.index == 1
    assert rejected.subscription_id == (
        None if field == "subscriptionId" else document["value"][1]["subscriptionId"]
    )
    assert f"value[1].{field}: required" in rejected.error.message


@pytest.mark.parametrize(
    "field",
    ["data", "dataKey", "dataSignature", "encryptionCertificateId", "encryptionCertificateThumbprint"],
)
def test_encrypted_content_missing_a_property_is_rejected_by_name(field: str) -> None:
    # GIVEN an item whose encryptedContent lacks one of its non-nullable properties
    document = _presence_collection()
    del document["value"][0]["encryptedContent"][field]

    # WHEN it is parsed
    collection = parse_notification_collection(document)

    # THEN the error points at the exact property
    (rejected,) = collection.rejected
    assert f"value[0].encryptedContent.{field}: required" in rejected.error.message


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tenantId", "not-a-guid", "value[0].tenantId: must be a GUID"),
        ("subscriptionId", 42, "value[0].subscriptionId: must be a non-empty string"),
        ("changeType", "renamed", "value[0].changeType: 'renamed' is not one of created, updated, deleted"),
        ("subscriptionExpirationDateTime", "tomorrow", "must be an ISO 8601 date-time"),
        ("subscriptionExpirationDateTime", "2023-09-14T10:00:00", "must carry a UTC offset"),
        ("clientState", ["x"], "value[0].clientState: must be a string"),
        ("resourceData", "x", "value[0].resourceData: must be an object"),
        ("encryptedContent", [], "value[0].encryptedContent: must be a changeNotificationEncryptedContent"),
    ],
)
def test_an_invalid_property_is_rejected_with_a_clear_message(field: str, value: Any, message: str) -> None:
    # GIVEN an item with one property of the wrong type or format
    document = _presence_collection()
    document["value"][0][field] = value

    # WHEN it is parsed
    collection = parse_notification_collection(document)

    # THEN that item is rejected with a message naming the field and the problem
    (rejected,) = collection.rejected
    assert message in rejected.error.message


def test_change_type_and_lifecycle_event_together_are_rejected() -> None:
    # GIVEN an item that claims to be both a change and a lifecycle notification
    document = _presence_collection()
    document["value"][0]["lifecycleEvent"] = "reauthorizationRequired"

    # WHEN it is parsed
    collection = parse_notification_collection(document)

    # THEN it is rejected
    (rejected,) = collection.rejected
    assert "mutually exclusive" in rejected.error.message


def test_unknown_extra_properties_are_tolerated() -> None:
    # GIVEN properties the schema subset does not know, at every level
    document = _presence_collection()
    document["@odata.type"] = "#microsoft.graph.changeNotificationCollection"
    document["value"][0]["somethingNew"] = {"nested": True}
    document["value"][0]["encryptedContent"]["@odata.type"] = (
        "microsoft.graph.changeNotificationEncryptedContent"
    )
    document["value"][0]["resourceData"]["extra"] = 1

    # WHEN it is parsed
    collection = parse_notification_collection(document)

    # THEN nothing is rejected and open resourceData keeps the extra property
    assert collection.rejected == ()
    resource_data = collection.notifications[0].resource_data
    assert resource_data is not None
    assert resource_data.properties["extra"] == 1


def test_guids_are_normalised_to_lower_case() -> None:
    # GIVEN upper-case GUIDs
    document = _presence_collection()
    document["value"][0]["tenantId"] = TENANT_A.upper()

    # WHEN parsed
    collection = parse_notification_collection(document)

    # THEN they compare equal to the canonical form
    assert collection.notifications[0].tenant_id == TENANT_A


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b"{}", "value: required"),
        (b'{"value": {}}', "value: required, must be an array"),
        (b'{"value": [], "validationTokens": "abc"}', "validationTokens: must be an array"),
        (
            b'{"value": [], "validationTokens": [""]}',
            "validationTokens: must be an array of non-empty strings",
        ),
    ],
)
def test_a_body_that_is_not_a_collection_is_rejected_whole(body: bytes, message: str) -> None:
    # GIVEN a body that is not a changeNotificationCollection
    # WHEN it is parsed
    # THEN the whole body is refused with a clear error
    with pytest.raises(MalformedNotificationError, match=message):
        parse_notification_collection(body)


def test_a_non_object_item_is_rejected_alone() -> None:
    # GIVEN a batch with a stray string among the notifications
    document = _presence_collection()
    document["value"].insert(0, "junk")

    # WHEN parsed
    collection = parse_notification_collection(document)

    # THEN the other two survive
    assert len(collection.notifications) == 2
    assert collection.rejected[0].index == 0
    assert collection.rejected[0].subscription_id is None


def test_parsing_does_not_depend_on_the_input_being_mutated_later() -> None:
    # GIVEN a parsed collection
    document = _presence_collection()
    original = copy.deepcopy(document)
    collection = parse_notification_collection(document)

    # WHEN the caller's dict is changed afterwards
    document["value"][0]["resourceData"]["id"] = "changed"

    # THEN the parsed open resourceData is a copy
    resource_data = collection.notifications[0].resource_data
    assert resource_data is not None
    assert resource_data.properties["id"] == original["value"][0]["resourceData"]["id"]


def test_a_decrypted_presence_payload_parses() -> None:
    # GIVEN the decrypted presence resource of a rich notification
    document = load_fixture("presence_decrypted_content.json")

    # WHEN parsed
    presence = parse_presence_payload(document)

    # THEN availability, activity and the sequence number are read, the raw document kept
    assert presence.id == "7a1b6e0f-3f6f-4c1e-9a3c-0b6b1a2c3d4e"
    assert presence.availability == "Busy"
    assert presence.activity == "InACall"
    assert presence.sequence_number == document["sequenceNumber"]
    assert presence.raw["@odata.type"] == "#microsoft.graph.presence"


def test_a_presence_payload_without_sequence_number_is_accepted() -> None:
    # GIVEN a payload in the documented minimal shape
    document = {"id": "u1", "availability": "Available", "activity": "Available"}

    # WHEN parsed
    presence = parse_presence_payload(document)

    # THEN the sequence number is absent
    assert presence.sequence_number is None


@pytest.mark.parametrize("field", ["id", "availability", "activity"])
def test_a_presence_payload_missing_a_required_field_is_rejected(field: str) -> None:
    # GIVEN a payload without one of the fields the connector needs
    document = {"id": "u1", "availability": "Available", "activity": "Available"}
    del document[field]

    # WHEN / THEN parsing names the missing field
    with pytest.raises(MalformedNotificationError, match=f"presence.{field}: required"):
        parse_presence_payload(document)


def test_pathologically_nested_json_is_rejected_not_crashed() -> None:
    # GIVEN a body nested far deeper than any notification
    body = b"[" * 100_000 + b"]" * 100_000

    # WHEN / THEN it is refused as malformed
    with pytest.raises(MalformedNotificationError, match="nested too deeply"):
        parse_notification_collection(body)
