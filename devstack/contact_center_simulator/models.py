"""What the simulated contact center keeps: tenants, agents with their history, idle codes, records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

AGENT_STATES: Final = ("loggedOut", "available", "idle", "ringing", "onCall", "wrapUp")
SOURCE_CONNECTOR: Final = "connector"
SOURCE_AGENT: Final = "agent"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class HistoryEntry:
    state: str
    idle_code_id: str | None
    idle_code_name: str | None
    at: datetime
    source: str

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "idleCodeId": self.idle_code_id,
            "idleCodeName": self.idle_code_name,
            "at": iso(self.at),
            "source": self.source,
        }


@dataclass
class SimAgent:
    agent_id: str
    tenant_id: str
    state: str
    idle_code_id: str | None
    idle_code_name: str | None
    changed_at: datetime
    history: list[HistoryEntry] = field(default_factory=list)
    sequence_number: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "agentId": self.agent_id,
            "tenantId": self.tenant_id,
            "state": self.state,
            "idleCodeId": self.idle_code_id,
            "idleCodeName": self.idle_code_name,
            "changedAt": iso(self.changed_at),
            "sequenceNumber": self.sequence_number,
            "history": [entry.as_json() for entry in self.history],
        }


@dataclass
class SimTenant:
    tenant_id: str
    # "webexcc" or "webhook" once an adapter called; None when only configured by the control API.
    kind: str | None = None
    events_url: str | None = None
    secret: str | None = field(default=None, repr=False)
    # Agents declared with POST /_sim/tenants/{tenantId}; adapters may add more by naming them.
    declared_agent_ids: set[str] = field(default_factory=set)

    def as_json(self, agent_ids: list[str]) -> dict[str, Any]:
        return {
            "tenantId": self.tenant_id,
            "kind": self.kind,
            "eventsUrl": self.events_url,
            "secretKnown": self.secret is not None,
            "agentIds": agent_ids,
        }


@dataclass(frozen=True)
class IdleCodeEntry:
    code_id: str
    name: str
    is_default: bool = False

    def as_webex(self, org_id: str) -> dict[str, Any]:
        return {
            "organizationId": org_id,
            "id": self.code_id,
            "version": 0,
            "name": self.name,
            "description": f"{self.name} (simulator)",
            "defaultCode": self.is_default,
            "active": True,
            "isSystemCode": False,
            "workTypeId": "sim-idle-work-type",
            "workTypeCode": "IDLE_CODE",
        }


DEFAULT_IDLE_CODES: Final = (
    IdleCodeEntry("not-ready", "Not Ready", is_default=True),
    IdleCodeEntry("meeting", "Meeting"),
    IdleCodeEntry("teams-call", "Teams Call"),
    # With teams-call, the ids of the connector's default Teams -> contact center mappings.
    IdleCodeEntry("teams-dnd", "Teams: Do not disturb"),
    IdleCodeEntry("teams-presenting", "Teams: Presenting"),
    IdleCodeEntry("presenting", "Presenting"),
    IdleCodeEntry("do-not-disturb", "Do Not Disturb"),
    IdleCodeEntry("break", "Break"),
    IdleCodeEntry("lunch", "Lunch"),
)
# Webex lists wrap-up codes with the idle codes; one shows that adapters must filter them out.
WRAP_UP_CODE: Final = {
    "id": "wrapup-resolved",
    "version": 0,
    "name": "Resolved",
    "defaultCode": True,
    "active": True,
    "workTypeId": "sim-wrapup-work-type",
    "workTypeCode": "WRAP_UP_CODE",
}


@dataclass(frozen=True)
class RequestRecord:
    seq: int
    method: str
    path: str
    query: str
    tenant_id: str | None
    events_url: str | None
    status: int
    signature: str | None
    at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "tenantId": self.tenant_id,
            "eventsUrl": self.events_url,
            "status": self.status,
            "signature": self.signature,
            "at": iso(self.at),
        }


@dataclass(frozen=True)
class DeliveryRecord:
    seq: int
    event_id: str
    tenant_id: str
    agent_id: str
    url: str
    attempt: int
    status: int | None
    error: str | None
    at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "eventId": self.event_id,
            "tenantId": self.tenant_id,
            "agentId": self.agent_id,
            "url": self.url,
            "attempt": self.attempt,
            "status": self.status,
            "error": self.error,
            "at": iso(self.at),
        }
