"""Webex's agent-event deliveries (CloudEvents-style envelopes) read into the canonical AgentEvent.

```
{"id": "<uuid>", "specversion": "1.0", "type": "agent:state_change", "source": "/com/cisco/wxcc/<sub>",
 "comciscoorgid": "<org uuid>", "datacontenttype": "application/json",
 "data": {"agentId": "...", "currentState": "Idle", "auxCodeId": "...", "createdTime": 1700000000000, ...}}
```

Lenient where Webex is free to add (unknown fields are ignored), strict where a wrong value would
change what is synced (ids, timestamps). Event types this connector does not handle and states it
does not know are skipped, so Webex still gets its 2xx and does not retry them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from shared.contact_center.events import AgentEvent, AgentEventType
from shared.contact_center.exceptions import InvalidAgentEvents
from shared.contact_center.model import AgentState
from shared.contact_center.webex.contract import (
    CONNECTOR_REASON_MARKER,
    IDLE_CODE_ID_FIELDS,
    IDLE_CODE_NAME_FIELDS,
    REASON_FIELDS,
    WEBEX_STATES,
    normalise_state,
)
from shared.json_limits import TOO_DEEP

logger = logging.getLogger(__name__)

MAX_ID_LENGTH: Final = 128
_TYPES: Final = {
    "agent:login": AgentEventType.LOGIN,
    "agent:logout": AgentEventType.LOGOUT,
    "agent:state_change": AgentEventType.STATE_CHANGED,
    # The v2 name of the state event (unverified): read the same way.
    "agent:channel_state_change": AgentEventType.STATE_CHANGED,
}
_FORBIDDEN_ID_CHARACTERS: Final = frozenset("/\\#?")


@dataclass(frozen=True)
class WebexDelivery:
    """One delivery: its envelope id and org, and the agent event it carries (None: nothing to sync)."""

    event_id: str
    org_id: str | None
    event: AgentEvent | None
    skipped: str | None = None
    # True when lastStateChangeReason carries the connector's marker: our own change coming back.
    by_connector: bool = False


def parse_delivery(raw_body: bytes) -> WebexDelivery:
    """Raise InvalidAgentEvents when the body is not a Webex event envelope."""
    document = _load(raw_body)
    if not isinstance(document, dict):
        raise InvalidAgentEvents("a Webex delivery is one JSON object (a CloudEvents envelope)")
    event_id = _id(document.get("id"), "id")
    org_id = document.get("comciscoorgid")
    org = org_id.lower() if isinstance(org_id, str) and org_id else None
    kind = document.get("type")
    event_type = _TYPES.get(kind) if isinstance(kind, str) else None
    if event_type is None:
        return WebexDelivery(event_id, org, None, skipped="unhandledType")
    data = document.get("data")
    if not isinstance(data, dict):
        raise InvalidAgentEvents("a Webex agent event has a data object")
    agent_id = _id(data.get("agentId"), "data.agentId")
    if any(c in _FORBIDDEN_ID_CHARACTERS for c in agent_id):
        raise InvalidAgentEvents("data.agentId must not contain / \\ # or ?")
    state = _state(event_type, data.get("currentState"))
    if state is None:
        logger.warning(
            "Webex event %s of agent %s: unknown state %r", event_id, agent_id, data.get("currentState")
        )
        return WebexDelivery(event_id, org, None, skipped="unknownState")
    idle = state is AgentState.IDLE
    reason = _first_text(data, REASON_FIELDS)
    event = AgentEvent(
        event_id=event_id,
        type=event_type,
        agent_id=agent_id,
        state=state,
        idle_code_id=_first_text(data, IDLE_CODE_ID_FIELDS) if idle else None,
        idle_code_name=_first_text(data, IDLE_CODE_NAME_FIELDS) if idle else None,
        occurred_at=_occurred_at(data, document),
        sequence_number=None,
        by_connector=reason is not None and reason.startswith(CONNECTOR_REASON_MARKER),
    )
    return WebexDelivery(event_id, org, event, by_connector=event.by_connector)


def _load(raw_body: bytes) -> Any:
    if not raw_body.strip():
        raise InvalidAgentEvents("the body is empty")
    try:
        return json.loads(raw_body)
    except RecursionError as exc:
        raise InvalidAgentEvents(TOO_DEEP) from exc
    except ValueError as exc:
        raise InvalidAgentEvents("the body is not valid JSON") from exc


def _id(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_LENGTH:
        raise InvalidAgentEvents(f"{name} must be a non-empty string of at most {MAX_ID_LENGTH}")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
        raise InvalidAgentEvents(f"{name} must not contain control characters")
    return value


def _state(event_type: AgentEventType, value: Any) -> AgentState | None:
    if event_type is AgentEventType.LOGOUT:
        return AgentState.LOGGED_OUT
    if not isinstance(value, str):
        # Assumed: an agent who just logged in without a state in the event is Idle (Webex's default).
        return AgentState.IDLE if event_type is AgentEventType.LOGIN else None
    state = WEBEX_STATES.get(normalise_state(value))
    if event_type is AgentEventType.LOGIN and state is AgentState.LOGGED_OUT:
        return None
    return state


def _first_text(data: dict[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = data.get(name)
        if (
            isinstance(value, str)
            and value.strip()
            and len(value) <= 256
            and not any(ord(c) < 0x20 for c in value)
        ):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


def _occurred_at(data: dict[str, Any], document: dict[str, Any]) -> datetime:
    for value in (data.get("createdTime"), document.get("comciscotimestamp")):
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**14:
            return datetime.fromtimestamp(value / 1000, UTC)
    raise InvalidAgentEvents("a Webex agent event has data.createdTime (epoch milliseconds)")
