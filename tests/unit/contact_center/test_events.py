"""Strict parsing of the inbound agent-event contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.contact_center.events import MAX_BODY_BYTES, AgentEventType, parse_agent_events
from shared.contact_center.exceptions import AgentEventsTooLarge, InvalidAgentEvents
from shared.contact_center.model import AgentState
from tests.unit.contact_center.support import batch, event

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def test_a_batch_is_parsed_in_order_with_every_field() -> None:
    # GIVEN a batch with an idle change and a logout
    raw = batch(
        event(NOW),
        event(NOW, eventId="evt-2", type="agentLogout", state=None, idleCodeId=None, idleCodeName=None),
    )
    # WHEN it is parsed
    parsed = parse_agent_events(raw)
    # THEN both events come out, typed, in the order sent
    assert [e.event_id for e in parsed] == ["evt-1", "evt-2"]
    first, second = parsed
    assert first.type is AgentEventType.STATE_CHANGED
    assert first.state is AgentState.IDLE
    assert (first.idle_code_id, first.idle_code_name) == ("meeting", "Meeting")
    assert first.occurred_at == NOW
    assert first.sequence_number == 7
    assert second.type is AgentEventType.LOGOUT
    assert second.state is AgentState.LOGGED_OUT


def test_a_single_event_without_the_wrapper_is_accepted() -> None:
    raw = json.dumps(event(NOW, type="agentLogin", state="available", idleCodeId=None, idleCodeName=None))
    (parsed,) = parse_agent_events(raw.encode())
    assert parsed.type is AgentEventType.LOGIN
    assert parsed.state is AgentState.AVAILABLE


def test_a_repeated_event_id_is_kept_once() -> None:
    parsed = parse_agent_events(
        batch(event(NOW), event(NOW, state="available", idleCodeId=None, idleCodeName=None))
    )
    assert len(parsed) == 1
    assert parsed[0].state is AgentState.IDLE


def test_an_offset_other_than_utc_is_kept_as_the_same_instant() -> None:
    paris = NOW.astimezone(timezone(timedelta(hours=1)))
    (parsed,) = parse_agent_events(batch(event(NOW, occurredAt=paris.isoformat())))
    assert parsed.occurred_at == NOW


def test_optional_fields_may_be_null_or_absent() -> None:
    raw = batch(event(NOW, idleCodeId=None, idleCodeName=None, sequenceNumber=None))
    (parsed,) = parse_agent_events(raw)
    assert (parsed.idle_code_id, parsed.idle_code_name, parsed.sequence_number) == (None, None, None)


def _body(**overrides: Any) -> bytes:
    return batch(event(NOW, **overrides))


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[" * 50_000, "nested too deeply"),
        (b'{"events": [{"sequenceNumber": NaN}]}', "not valid JSON"),
        (b"[]", "JSON object"),
        (b'{"events": []}', "1 to 100"),
        (b'{"events": {}}', "1 to 100"),
        (json.dumps({"events": [event(NOW)], "extra": 1}).encode(), "unknown properties"),
        (b'{"events": [1]}', "must be an object"),
        (_body(agentID="x"), "unknown properties: agentID"),
        (_body(type="agentBusy"), "type must be one of"),
        (_body(state="busy"), "state must be one of"),
        (_body(state=3), "state must be one of"),
        (_body(type="agentLogout", state="available", idleCodeId=None, idleCodeName=None), "loggedOut"),
        (_body(type="agentLogin", state="loggedOut", idleCodeId=None, idleCodeName=None), "agentLogin"),
        (_body(type="agentLogin", state=None, idleCodeId=None, idleCodeName=None), "state must be one of"),
        (_body(state="available"), "idle state only"),
        (_body(eventId=""), "eventId"),
        (_body(eventId=5), "eventId"),
        (_body(eventId="e" * 129), "eventId"),
        (_body(eventId="evt\n2"), "control characters"),
        (_body(agentId="a/b"), "agentId must not contain"),
        (_body(agentId="a#b"), "agentId must not contain"),
        (_body(agentId="  "), "agentId"),
        (_body(idleCodeId=""), "idleCodeId"),
        (_body(idleCodeName="n" * 257), "idleCodeName"),
        (_body(occurredAt="2026-11-21T09:00:00"), "UTC offset"),
        (_body(occurredAt="yesterday"), "UTC offset"),
        (_body(occurredAt=1795251600), "UTC offset"),
        (_body(sequenceNumber=-1), "sequenceNumber"),
        (_body(sequenceNumber=True), "sequenceNumber"),
        (_body(sequenceNumber="7"), "sequenceNumber"),
        (_body(sequenceNumber=2**63), "sequenceNumber"),
    ],
)
def test_anything_off_contract_rejects_the_batch(raw: bytes, fragment: str) -> None:
    with pytest.raises(InvalidAgentEvents) as raised:
        parse_agent_events(raw)
    assert fragment in raised.value.message


def test_the_error_names_the_offending_event() -> None:
    raw = batch(event(NOW), event(NOW, eventId="evt-2", state="sleeping"))
    with pytest.raises(InvalidAgentEvents, match=r"events\[1\]\.state"):
        parse_agent_events(raw)


def test_a_body_over_64_kb_is_refused_before_parsing() -> None:
    raw = b'{"events": [' + b" " * MAX_BODY_BYTES + b"]}"
    with pytest.raises(AgentEventsTooLarge):
        parse_agent_events(raw)
