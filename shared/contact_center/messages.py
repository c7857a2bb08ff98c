"""The agent-state-change message that travels through Service Bus next to Teams presence changes.

Session id = tenant + user, the same as PresenceChange, so Teams changes and contact-center events of
one agent are handled in order by one consumer. Message id = a hash of what identifies the event, so
a contact center's re-deliveries are dropped by Service Bus duplicate detection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from shared.contact_center.model import AgentState
from shared.presence.envelope import message_digest, read_envelope
from shared.presence.exceptions import InvalidPresenceMessage

SCHEMA: Final = "agentStateChange"
VERSION: Final = 1
MAX_MESSAGE_BYTES: Final = 4096


@dataclass(frozen=True)
class AgentStateChange:
    tenant_id: str
    user_id: str
    agent_id: str
    state: AgentState
    idle_code_id: str | None
    idle_code_name: str | None
    occurred_at: datetime
    event_id: str
    sequence_number: int | None
    # The contact center says the connector made this change: an echo, however late it arrives.
    by_connector: bool = False

    @property
    def session_id(self) -> str:
        return f"{self.tenant_id}:{self.user_id}"

    @property
    def kind(self) -> str:
        return SCHEMA

    @property
    def message_id(self) -> str:
        return message_digest(SCHEMA, self.tenant_id, self.agent_id, self.event_id)

    def to_json(self) -> bytes:
        body: dict[str, Any] = {
            "schema": SCHEMA,
            "version": VERSION,
            "tenantId": self.tenant_id,
            "userId": self.user_id,
            "agentId": self.agent_id,
            "state": self.state.value,
            "idleCodeId": self.idle_code_id,
            "idleCodeName": self.idle_code_name,
            "occurredAt": self.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "eventId": self.event_id,
            "sequenceNumber": self.sequence_number,
        }
        if self.by_connector:
            body["byConnector"] = True
        return json.dumps(body, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> AgentStateChange:
        """Raise InvalidPresenceMessage (dead-letter it) for anything this version cannot read."""
        body = read_envelope(
            raw, schema=SCHEMA, version=VERSION, max_bytes=MAX_MESSAGE_BYTES, what="agent state change"
        )
        try:
            occurred_at = datetime.fromisoformat(_text(body, "occurredAt"))
            return cls(
                tenant_id=_text(body, "tenantId"),
                user_id=_text(body, "userId"),
                agent_id=_text(body, "agentId"),
                state=AgentState(_text(body, "state")),
                idle_code_id=_optional_text(body, "idleCodeId"),
                idle_code_name=_optional_text(body, "idleCodeName"),
                occurred_at=occurred_at if occurred_at.tzinfo else occurred_at.replace(tzinfo=UTC),
                event_id=_text(body, "eventId"),
                sequence_number=_optional_int(body, "sequenceNumber"),
                by_connector=body.get("byConnector") is True,
            )
        except (KeyError, ValueError) as exc:
            raise InvalidPresenceMessage(f"the agent state message is incomplete: {exc}") from exc


def _text(body: dict[str, Any], name: str) -> str:
    value = body[name]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def _optional_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer")
    return value
