"""The versioned presence-change message: round trip, session and message ids, refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.presence.exceptions import InvalidPresenceMessage
from shared.presence.messages import PresenceChange
from shared.queueing.service_bus_queue import to_service_bus_message

CHANGE = PresenceChange(
    tenant_id="72f988bf-86f1-41af-91ab-2d7cd011db47",
    user_id="a0f4b6a1-0d6f-4a8a-9d3c-2b1f6f1e9c11",
    availability="Busy",
    activity="InACall",
    sequence_number="C3D0A6E8F7",
    observed_at=datetime(2026, 11, 21, 9, 0, 1, 250000, tzinfo=UTC),
    subscription_id="7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
)


def test_round_trip_keeps_every_field() -> None:
    assert PresenceChange.from_json(CHANGE.to_json()) == CHANGE


def test_the_body_is_versioned_camel_case_json() -> None:
    body = json.loads(CHANGE.to_json())
    assert body["schema"] == "presenceChange"
    assert body["version"] == 1
    assert body["observedAt"] == "2026-11-21T09:00:01.250000Z"
    assert set(body) >= {"tenantId", "userId", "availability", "activity", "sequenceNumber", "subscriptionId"}


def test_session_is_tenant_and_user_so_one_users_changes_stay_ordered() -> None:
    assert CHANGE.session_id == f"{CHANGE.tenant_id}:{CHANGE.user_id}"
    assert len(CHANGE.session_id) <= 128


def test_a_redelivered_change_has_the_same_message_id_and_another_change_does_not() -> None:
    from dataclasses import replace

    redelivered = replace(CHANGE, observed_at=datetime(2026, 11, 21, 9, 5, tzinfo=UTC))
    assert redelivered.message_id == CHANGE.message_id
    assert replace(CHANGE, sequence_number="C3D0A6E8F8").message_id != CHANGE.message_id
    assert replace(CHANGE, user_id="other").message_id != CHANGE.message_id
    assert len(CHANGE.message_id) <= 128


def test_the_service_bus_message_carries_session_and_message_id() -> None:
    message = to_service_bus_message(CHANGE)
    assert message.session_id == CHANGE.session_id
    assert message.message_id == CHANGE.message_id
    assert message.content_type == "application/json"
    assert b"".join(message.body) == CHANGE.to_json()


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"schema": "other", "version": 1}',
        json.dumps({**json.loads(CHANGE.to_json()), "version": 2}).encode(),
        json.dumps({**json.loads(CHANGE.to_json()), "userId": ""}).encode(),
        json.dumps({**json.loads(CHANGE.to_json()), "observedAt": "yesterday"}).encode(),
        json.dumps({k: v for k, v in json.loads(CHANGE.to_json()).items() if k != "tenantId"}).encode(),
        b"{" + b" " * 5000 + b"}",
    ],
)
def test_anything_else_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidPresenceMessage):
        PresenceChange.from_json(raw)
