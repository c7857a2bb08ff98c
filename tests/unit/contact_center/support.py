"""Fakes and builders the contact-center unit tests share."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.presence.exceptions import PresenceQueueUnavailable
from shared.presence.ports import SyncMessage

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SECRET = "webhook-secret-0123456789abcdef"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def event(occurred_at: datetime, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventId": "evt-1",
        "type": "agentStateChanged",
        "agentId": "agent-1",
        "state": "idle",
        "idleCodeId": "meeting",
        "idleCodeName": "Meeting",
        "occurredAt": iso(occurred_at),
        "sequenceNumber": 7,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def batch(*events: dict[str, Any]) -> bytes:
    return json.dumps({"events": list(events)}).encode()


class FakeQueue:
    def __init__(self) -> None:
        self.published: list[list[SyncMessage]] = []
        self.fail = False

    def publish(self, changes: Sequence[SyncMessage]) -> None:
        if self.fail:
            raise PresenceQueueUnavailable("service bus down")
        self.published.append(list(changes))


class FakeAgents:
    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        self.lookups: list[tuple[str, str]] = []

    def user_id_for(self, tenant_id: str, agent_id: str) -> str | None:
        self.lookups.append((tenant_id, agent_id))
        return self.users.get(agent_id)
