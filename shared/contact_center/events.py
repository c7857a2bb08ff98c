"""The inbound agent-event contract: what a contact center POSTs to
`/api/tenants/{tenantId}/contact-center/events`.

```
{"events": [{"eventId": "...", "type": "agentLogin" | "agentLogout" | "agentStateChanged",
             "agentId": "...", "state": "loggedOut" | "available" | "idle" | "ringing" | "onCall" | "wrapUp",
             "idleCodeId": "...", "idleCodeName": "...", "occurredAt": "2026-11-21T09:00:00Z",
             "sequenceNumber": 42}]}
```

A single event object without the `events` wrapper is accepted too. Parsing is strict: an unknown
property, a wrong type or a value outside the vocabulary rejects the whole batch, so a sender's bug
shows up at once instead of as silently ignored events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from shared.contact_center.exceptions import AgentEventsTooLarge, InvalidAgentEvents
from shared.contact_center.model import AgentState
from shared.contact_center.signatures import verify_signature
from shared.json_limits import TOO_DEEP

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_EVENTS",
    "AgentEvent",
    "AgentEventType",
    "parse_agent_events",
    "verify_signature",
]

MAX_EVENTS: Final = 100
MAX_BODY_BYTES: Final = 64 * 1024
MAX_ID_LENGTH: Final = 128
MAX_NAME_LENGTH: Final = 256
MAX_SEQUENCE_NUMBER: Final = 2**63 - 1
_MAX_TIMESTAMP_LENGTH: Final = 64
_FIELDS: Final = frozenset(
    {"eventId", "type", "agentId", "state", "idleCodeId", "idleCodeName", "occurredAt", "sequenceNumber"}
)
# Agent ids become table keys (`agent|{agentId}`), so they obey Table Storage's key rules.
_FORBIDDEN_ID_CHARACTERS: Final = frozenset("/\\#?")


class AgentEventType(StrEnum):
    LOGIN = "agentLogin"
    LOGOUT = "agentLogout"
    STATE_CHANGED = "agentStateChanged"


@dataclass(frozen=True)
class AgentEvent:
    event_id: str
    type: AgentEventType
    agent_id: str
    state: AgentState
    idle_code_id: str | None
    idle_code_name: str | None
    occurred_at: datetime
    sequence_number: int | None
    # The contact center says the connector made this change (Webex: our lastStateChangeReason marker).
    by_connector: bool = False


def parse_agent_events(raw_body: bytes) -> list[AgentEvent]:
    """The events of a batch in the order sent, duplicates (same eventId) removed.

    Raise AgentEventsTooLarge past 64 KB or 100 events, InvalidAgentEvents for anything else wrong.
    """
    if len(raw_body) > MAX_BODY_BYTES:
        raise AgentEventsTooLarge(f"an agent event batch must be at most {MAX_BODY_BYTES} bytes")
    document = _load_json(raw_body)
    if not isinstance(document, dict):
        raise InvalidAgentEvents("the body must be a JSON object: {events: [...]} or one event")
    if "events" in document:
        unknown = sorted(set(document) - {"events"})
        if unknown:
            raise InvalidAgentEvents(f"unknown properties next to events: {', '.join(unknown)}")
        items = document["events"]
        if isinstance(items, list) and len(items) > MAX_EVENTS:
            # A batch cap, like the body's: 413, so a sender knows to split rather than fix the events.
            raise AgentEventsTooLarge(f"events has {len(items)} events; send at most {MAX_EVENTS} per batch")
        if not isinstance(items, list) or not items:
            raise InvalidAgentEvents(f"events must be an array of 1 to {MAX_EVENTS} events")
        labelled = [(f"events[{index}]", item) for index, item in enumerate(items)]
    else:
        labelled = [("event", document)]
    parsed: list[AgentEvent] = []
    seen: set[str] = set()
    for label, item in labelled:
        event = _parse_event(label, item)
        if event.event_id not in seen:
            seen.add(event.event_id)
            parsed.append(event)
    return parsed


def _load_json(raw_body: bytes) -> Any:
    if not raw_body.strip():
        raise InvalidAgentEvents("the body is empty; send {events: [...]}")
    try:
        return json.loads(raw_body, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise InvalidAgentEvents(TOO_DEEP) from exc
    except ValueError as exc:
        # ValueError covers bad UTF-8, bad JSON, NaN/Infinity and integers past Python's digit limit.
        raise InvalidAgentEvents("the body is not valid JSON") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_event(label: str, item: Any) -> AgentEvent:
    if not isinstance(item, dict):
        raise InvalidAgentEvents(f"{label} must be an object")
    unknown = sorted(set(item) - _FIELDS)
    if unknown:
        raise InvalidAgentEvents(f"{label} has unknown properties: {', '.join(unknown)}")
    event_type = _event_type(label, item.get("type"))
    state = _state(label, event_type, item.get("state"))
    idle_code_id = _optional_text(label, item, "idleCodeId", MAX_ID_LENGTH)
    idle_code_name = _optional_text(label, item, "idleCodeName", MAX_NAME_LENGTH)
    if state is not AgentState.IDLE and (idle_code_id is not None or idle_code_name is not None):
        raise InvalidAgentEvents(f"{label}: idleCodeId and idleCodeName belong to the idle state only")
    return AgentEvent(
        event_id=_required_text(label, item, "eventId"),
        type=event_type,
        agent_id=_agent_id(label, item),
        state=state,
        idle_code_id=idle_code_id,
        idle_code_name=idle_code_name,
        occurred_at=_timestamp(label, item.get("occurredAt")),
        sequence_number=_sequence_number(label, item.get("sequenceNumber")),
    )


def _event_type(label: str, value: Any) -> AgentEventType:
    allowed = ", ".join(t.value for t in AgentEventType)
    if not isinstance(value, str):
        raise InvalidAgentEvents(f"{label}.type must be one of {allowed}")
    try:
        return AgentEventType(value)
    except ValueError:
        raise InvalidAgentEvents(f"{label}.type must be one of {allowed}") from None


def _state(label: str, event_type: AgentEventType, value: Any) -> AgentState:
    if value is None and event_type is AgentEventType.LOGOUT:
        return AgentState.LOGGED_OUT
    allowed = ", ".join(s.value for s in AgentState)
    if not isinstance(value, str):
        raise InvalidAgentEvents(f"{label}.state must be one of {allowed}")
    try:
        state = AgentState(value)
    except ValueError:
        raise InvalidAgentEvents(f"{label}.state must be one of {allowed}") from None
    if event_type is AgentEventType.LOGOUT and state is not AgentState.LOGGED_OUT:
        raise InvalidAgentEvents(f"{label}: an agentLogout event has the state loggedOut")
    if event_type is AgentEventType.LOGIN and state is AgentState.LOGGED_OUT:
        raise InvalidAgentEvents(f"{label}: an agentLogin event cannot have the state loggedOut")
    return state


def _required_text(label: str, item: dict[str, Any], name: str) -> str:
    value = _optional_text(label, item, name, MAX_ID_LENGTH)
    if value is None:
        raise InvalidAgentEvents(f"{label}.{name} must be a non-empty string of at most {MAX_ID_LENGTH}")
    return value


def _optional_text(label: str, item: dict[str, Any], name: str, max_length: int) -> str | None:
    value = item.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise InvalidAgentEvents(f"{label}.{name} must be a non-empty string of at most {max_length}")
    # Ids and names end up in logs and table keys: control characters could forge either.
    if any(_is_control(c) for c in value):
        raise InvalidAgentEvents(f"{label}.{name} must not contain control characters")
    return value


def _agent_id(label: str, item: dict[str, Any]) -> str:
    value = _required_text(label, item, "agentId")
    if any(c in _FORBIDDEN_ID_CHARACTERS for c in value):
        raise InvalidAgentEvents(f"{label}.agentId must not contain / \\ # or ?")
    return value


def _is_control(char: str) -> bool:
    return ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F


def _timestamp(label: str, value: Any) -> datetime:
    message = f"{label}.occurredAt must be an ISO 8601 date-time with a UTC offset"
    if not isinstance(value, str) or len(value) > _MAX_TIMESTAMP_LENGTH:
        raise InvalidAgentEvents(message)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidAgentEvents(message) from None
    if parsed.tzinfo is None:
        raise InvalidAgentEvents(message)
    return parsed


def _sequence_number(label: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQUENCE_NUMBER:
        raise InvalidAgentEvents(f"{label}.sequenceNumber must be an integer from 0 to {MAX_SEQUENCE_NUMBER}")
    return value
