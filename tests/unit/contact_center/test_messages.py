"""The versioned agent-state-change message: round trip, session and message ids, refusals."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shared.contact_center.messages import AgentStateChange
from shared.contact_center.model import AgentState
from shared.presence.exceptions import InvalidPresenceMessage
from shared.presence.messages import PresenceChange
from shared.queueing.service_bus_queue import to_service_bus_message
from tests.unit.contact_center.support import TENANT

CHANGE = AgentStateChange(
    tenant_id=TENANT,
    user_id="a0f4b6a1-0d6f-4a8a-9d3c-2b1f6f1e9c11",
    agent_id="agent-1",
    state=AgentState.IDLE,
    idle_code_id="meeting",
    idle_code_name="Meeting",
    occurred_at=datetime(2026, 11, 21, 9, 0, 1, 250000, tzinfo=UTC),
    event_id="evt-1",
    sequence_number=42,
)


def test_round_trip_keeps_every_field() -> None:
    assert AgentStateChange.from_json(CHANGE.to_json()) == CHANGE
    bare = replace(
        CHANGE, state=AgentState.ON_CALL, idle_code_id=None, idle_code_name=None, sequence_number=None
    )
    assert AgentStateChange.from_json(bare.to_json()) == bare


def test_the_body_is_versioned_camel_case_json() -> None:
    body = json.loads(CHANGE.to_json())
    assert body["schema"] == "agentStateChange"
    assert body["version"] == 1
    assert body["state"] == "idle"
    assert body["occurredAt"] == "2026-11-21T09:00:01.250000Z"
    assert set(body) == {
        "schema",
        "version",
        "tenantId",
        "userId",
        "agentId",
        "state",
        "idleCodeId",
        "idleCodeName",
        "occurredAt",
        "eventId",
        "sequenceNumber",
    }


def test_session_is_tenant_and_user_like_teams_changes_of_the_same_agent() -> None:
    teams = PresenceChange(TENANT, CHANGE.user_id, "Busy", "InACall", None, CHANGE.occurred_at, None)
    assert CHANGE.session_id == teams.session_id == f"{TENANT}:{CHANGE.user_id}"
    assert CHANGE.kind == "agentStateChange"


def test_a_redelivered_event_has_the_same_message_id_and_another_event_does_not() -> None:
    assert (
        replace(CHANGE, occurred_at=datetime(2026, 11, 21, 9, 5, tzinfo=UTC)).message_id == CHANGE.message_id
    )
    assert replace(CHANGE, event_id="evt-2").message_id != CHANGE.message_id
    assert replace(CHANGE, agent_id="agent-2").message_id != CHANGE.message_id
    assert replace(CHANGE, tenant_id="other").message_id != CHANGE.message_id
    assert len(CHANGE.message_id) == 64


def test_the_service_bus_message_carries_session_message_id_and_kind() -> None:
    message = to_service_bus_message(CHANGE)
    assert message.session_id == CHANGE.session_id
    assert message.message_id == CHANGE.message_id
    assert message.subject == "agentStateChange"
    assert b"".join(message.body) == CHANGE.to_json()


def test_a_naive_timestamp_is_read_as_utc() -> None:
    body = json.loads(CHANGE.to_json())
    body["occurredAt"] = "2026-11-21T09:00:01"
    assert AgentStateChange.from_json(json.dumps(body).encode()).occurred_at == datetime(
        2026, 11, 21, 9, 0, 1, tzinfo=UTC
    )


def _altered(**changes: object) -> bytes:
    body = json.loads(CHANGE.to_json())
    body.update(changes)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b"x" * 5000,
        PresenceChange(TENANT, "u", "Busy", "InACall", None, CHANGE.occurred_at, None).to_json(),
        _altered(version=2),
        _altered(state="sleeping"),
        _altered(agentId=""),
        _altered(occurredAt="soon"),
        _altered(sequenceNumber="42"),
        _altered(sequenceNumber=True),
        _altered(idleCodeId=7),
    ],
)
def test_unreadable_messages_are_refused_for_dead_lettering(raw: bytes) -> None:
    with pytest.raises(InvalidPresenceMessage):
        AgentStateChange.from_json(raw)


def test_a_message_without_a_required_field_is_refused() -> None:
    body = json.loads(CHANGE.to_json())
    del body["eventId"]
    with pytest.raises(InvalidPresenceMessage, match="incomplete"):
        AgentStateChange.from_json(json.dumps(body).encode())
