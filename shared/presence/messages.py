"""The presence-change message that travels through Service Bus, versioned JSON.

Session id = tenant + user, so one user's changes are handled in order by one consumer at a time.
Message id = a hash of what identifies the change, so Graph's re-deliveries are dropped by Service Bus
duplicate detection instead of being applied twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from shared.presence.envelope import message_digest, read_envelope
from shared.presence.exceptions import InvalidPresenceMessage

SCHEMA: Final = "presenceChange"
VERSION: Final = 1
MAX_MESSAGE_BYTES: Final = 4096


@dataclass(frozen=True)
class PresenceChange:
    tenant_id: str
    user_id: str
    availability: str
    activity: str
    sequence_number: str | None
    observed_at: datetime
    subscription_id: str | None
    source: str = "teams"

    @property
    def session_id(self) -> str:
        return f"{self.tenant_id}:{self.user_id}"

    @property
    def kind(self) -> str:
        return SCHEMA

    @property
    def message_id(self) -> str:
        return message_digest(
            self.source,
            self.tenant_id,
            self.user_id,
            self.sequence_number or "",
            self.availability,
            self.activity,
        )

    def to_json(self) -> bytes:
        body: dict[str, Any] = {
            "schema": SCHEMA,
            "version": VERSION,
            "tenantId": self.tenant_id,
            "userId": self.user_id,
            "availability": self.availability,
            "activity": self.activity,
            "sequenceNumber": self.sequence_number,
            "observedAt": self.observed_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "subscriptionId": self.subscription_id,
            "source": self.source,
        }
        return json.dumps(body, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> PresenceChange:
        body = read_envelope(
            raw, schema=SCHEMA, version=VERSION, max_bytes=MAX_MESSAGE_BYTES, what="presence change"
        )
        try:
            observed_at = datetime.fromisoformat(str(body["observedAt"]).replace("Z", "+00:00"))
            change = cls(
                tenant_id=_text(body, "tenantId"),
                user_id=_text(body, "userId"),
                availability=_text(body, "availability"),
                activity=_text(body, "activity"),
                sequence_number=_optional_text(body, "sequenceNumber"),
                observed_at=observed_at if observed_at.tzinfo else observed_at.replace(tzinfo=UTC),
                subscription_id=_optional_text(body, "subscriptionId"),
                source=_text(body, "source"),
            )
        except (KeyError, ValueError) as exc:
            raise InvalidPresenceMessage(f"the presence message is incomplete: {exc}") from exc
        return change


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
