"""The simulated contact center's memory, guarded by one lock.

Agents belong to one tenant each, but their ids are unique across the simulator, so the control API
can name an agent without its tenant. Adapters may name agents the simulator has not seen: they are
added to the calling tenant (a real contact center already knows its agents; this keeps `make dev`
free of seeding), unless the id belongs to another tenant.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from devstack.contact_center_simulator.errors import SimulatorError
from devstack.contact_center_simulator.models import (
    DEFAULT_IDLE_CODES,
    SOURCE_AGENT,
    SOURCE_CONNECTOR,
    DeliveryRecord,
    HistoryEntry,
    IdleCodeEntry,
    RequestRecord,
    SimAgent,
    SimTenant,
    iso,
)

EVENTS_PATH_SUFFIX: Final = "/contact-center/events"
_MAX_RECORDS: Final = 20_000
# Webex's currentState words for our states, as Get Agent Activities reports them.
WEBEX_STATE_NAMES: Final = {
    "available": "available",
    "idle": "idle",
    "ringing": "ringing",
    "onCall": "connected",
    "wrapUp": "wrapup",
}


class AgentLoggedOut(Exception):
    """The agent has no session: the contact center cannot change his state."""


@dataclass(frozen=True)
class DeliveryTarget:
    tenant_id: str
    url: str
    secret: str


@dataclass(frozen=True)
class ChangeOutcome:
    agent: dict[str, Any]
    event: dict[str, Any] | None
    target: DeliveryTarget | None
    # "queued", "notEmitted" (echo off), "noConnectorUrl" or "noSecret".
    delivery: str


def _utc_now() -> datetime:
    return datetime.now(UTC)


def events_url_for(tenant_id: str, connector_url: str) -> str:
    """A full events URL as given, or the connector's base URL completed with the events route."""
    url = connector_url.rstrip("/")
    if url.endswith(EVENTS_PATH_SUFFIX):
        return url
    return f"{url}/api/tenants/{tenant_id}{EVENTS_PATH_SUFFIX}"


class SimulatorState:
    def __init__(
        self,
        clock: Callable[[], datetime] | None = None,
        *,
        echo_connector_changes: bool = True,
        sequence_base: int = 0,
    ) -> None:
        self._clock = clock or _utc_now
        self._echo = echo_connector_changes
        # Where a new agent's sequenceNumber starts: a base that grows between runs keeps a restarted
        # simulator's events newer than those a connector with persisted state saw before.
        self._sequence_base = sequence_base
        self._lock = threading.RLock()
        self._tenants: dict[str, SimTenant] = {}
        self._agents: dict[str, SimAgent] = {}
        self._tokens: dict[str, tuple[str | None, datetime]] = {}
        self._idle_codes: dict[str, IdleCodeEntry] = {c.code_id: c for c in DEFAULT_IDLE_CODES}
        self._requests: list[RequestRecord] = []
        self._deliveries: list[DeliveryRecord] = []
        self._seq = 0

    def now(self) -> datetime:
        return self._clock()

    def reset(self) -> None:
        with self._lock:
            self._tenants.clear()
            self._agents.clear()
            self._tokens.clear()
            self._idle_codes = {c.code_id: c for c in DEFAULT_IDLE_CODES}
            self._requests.clear()
            self._deliveries.clear()

    # Tenants --------------------------------------------------------------------------------

    def learn_tenant(
        self, tenant_id: str, *, kind: str, events_url: str | None = None, secret: str | None = None
    ) -> None:
        """What an adapter's call tells about its tenant (X-Connector-* headers, a client secret)."""
        with self._lock:
            tenant = self._tenants.setdefault(tenant_id, SimTenant(tenant_id))
            tenant.kind = kind
            if events_url:
                tenant.events_url = events_url
            if secret:
                tenant.secret = secret

    def configure_tenant(
        self, tenant_id: str, connector_url: str | None, secret: str | None, agent_ids: list[str]
    ) -> tuple[dict[str, Any], bool]:
        with self._lock:
            for agent_id in agent_ids:
                owner = self._agents.get(agent_id)
                if owner is not None and owner.tenant_id != tenant_id:
                    raise SimulatorError(
                        409, "agentOfAnotherTenant", f"agent {agent_id} belongs to tenant {owner.tenant_id}"
                    )
            created = tenant_id not in self._tenants
            tenant = self._tenants.setdefault(tenant_id, SimTenant(tenant_id))
            if connector_url:
                tenant.events_url = events_url_for(tenant_id, connector_url)
            if secret:
                tenant.secret = secret
            for agent_id in agent_ids:
                tenant.declared_agent_ids.add(agent_id)
                if agent_id not in self._agents:
                    self._agents[agent_id] = self._new_agent(tenant_id, agent_id)
            return tenant.as_json(self._agent_ids_of(tenant_id)), created

    def tenant_view(self, tenant_id: str) -> dict[str, Any] | None:
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            return None if tenant is None else tenant.as_json(self._agent_ids_of(tenant_id))

    def tenant_secret(self, tenant_id: str) -> str | None:
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            return None if tenant is None else tenant.secret

    # Tokens ---------------------------------------------------------------------------------

    def issue_token(self, tenant_id: str | None, lifetime: timedelta) -> str:
        token = "sim-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (tenant_id, self.now() + lifetime)
        return token

    def token_tenant(self, token: str) -> tuple[bool, str | None]:
        """(valid, the tenant the token was issued for)."""
        with self._lock:
            found = self._tokens.get(token)
            if found is None or found[1] <= self.now():
                return False, None
            return True, found[0]

    # Idle codes -----------------------------------------------------------------------------

    def idle_codes(self) -> list[IdleCodeEntry]:
        with self._lock:
            return list(self._idle_codes.values())

    def idle_code(self, code_id: str) -> IdleCodeEntry | None:
        with self._lock:
            return self._idle_codes.get(code_id)

    def add_idle_code(self, entry: IdleCodeEntry) -> bool:
        with self._lock:
            created = entry.code_id not in self._idle_codes
            self._idle_codes[entry.code_id] = entry
            return created

    def default_idle_code(self) -> IdleCodeEntry:
        with self._lock:
            return next((c for c in self._idle_codes.values() if c.is_default), DEFAULT_IDLE_CODES[0])

    # Agents ---------------------------------------------------------------------------------

    def adapter_agent(self, tenant_id: str, agent_id: str) -> dict[str, Any]:
        """The agent as the calling tenant sees it, added to that tenant when new."""
        with self._lock:
            return self._tenant_agent(tenant_id, agent_id).as_json()

    def find_agent(self, tenant_id: str, agent_id: str) -> dict[str, Any] | None:
        with self._lock:
            agent = self._agents.get(agent_id)
            if agent is None or agent.tenant_id != tenant_id:
                return None
            return agent.as_json()

    def agent_view(self, agent_id: str) -> dict[str, Any] | None:
        with self._lock:
            agent = self._agents.get(agent_id)
            return None if agent is None else agent.as_json()

    def agents_view(self) -> list[dict[str, Any]]:
        with self._lock:
            return [agent.as_json() for agent in self._agents.values()]

    def change_by_connector(
        self, tenant_id: str, agent_id: str, state: str, idle_code: IdleCodeEntry | None
    ) -> ChangeOutcome:
        """A state change requested through an adapter; raise AgentLoggedOut without a session."""
        with self._lock:
            agent = self._tenant_agent(tenant_id, agent_id)
            if agent.state == "loggedOut":
                raise AgentLoggedOut(agent_id)
            return self._apply(agent, state, idle_code, SOURCE_CONNECTOR, emit=self._echo)

    def change_by_agent(self, agent_id: str, state: str, idle_code: IdleCodeEntry | None) -> ChangeOutcome:
        """The agent changed his own state (control API): the connector is told."""
        with self._lock:
            agent = self._agents.get(agent_id)
            if agent is None:
                raise SimulatorError(
                    404,
                    "agentNotFound",
                    f"agent {agent_id} is unknown: declare it with POST /_sim/tenants/{{tenantId}} "
                    "{agentIds} or let an adapter name it",
                )
            return self._apply(agent, state, idle_code, SOURCE_AGENT, emit=True)

    def activities(
        self, agent_ids: list[str], tenant_id: str | None, start: datetime, end: datetime
    ) -> list[Any]:
        """Webex-style agent activities that started in [start, end], oldest first."""
        with self._lock:
            found: list[dict[str, Any]] = []
            for agent_id in agent_ids:
                agent = self._agents.get(agent_id)
                if agent is None or (tenant_id is not None and agent.tenant_id != tenant_id):
                    continue
                found.extend(a for a in _activities_of(agent) if start <= a["_start"] <= end)
            found.sort(key=lambda a: a["startTime"])
            for activity in found:
                del activity["_start"]
            return found

    # Records --------------------------------------------------------------------------------

    def record_request(
        self,
        method: str,
        path: str,
        query: str,
        tenant_id: str | None,
        events_url: str | None,
        status: int,
        signature: str | None,
    ) -> None:
        with self._lock:
            self._seq += 1
            record = RequestRecord(
                self._seq, method, path, query, tenant_id, events_url, status, signature, self.now()
            )
            self._requests.append(record)
            del self._requests[:-_MAX_RECORDS]

    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def record_delivery(
        self,
        event: dict[str, Any],
        target: DeliveryTarget,
        attempt: int,
        status: int | None,
        error: str | None,
    ) -> None:
        with self._lock:
            self._seq += 1
            record = DeliveryRecord(
                self._seq,
                str(event["eventId"]),
                target.tenant_id,
                str(event["agentId"]),
                target.url,
                attempt,
                status,
                error,
                self.now(),
            )
            self._deliveries.append(record)
            del self._deliveries[:-_MAX_RECORDS]

    def deliveries(self) -> list[DeliveryRecord]:
        with self._lock:
            return list(self._deliveries)

    def clear_deliveries(self) -> None:
        with self._lock:
            self._deliveries.clear()

    # Internals (lock held) ------------------------------------------------------------------

    def _agent_ids_of(self, tenant_id: str) -> list[str]:
        return sorted(a.agent_id for a in self._agents.values() if a.tenant_id == tenant_id)

    def _new_agent(self, tenant_id: str, agent_id: str) -> SimAgent:
        now = self.now()
        # A new agent has logged in and made himself available.
        first = HistoryEntry("available", None, None, now, SOURCE_AGENT)
        return SimAgent(
            agent_id, tenant_id, "available", None, None, now, [first], sequence_number=self._sequence_base
        )

    def _tenant_agent(self, tenant_id: str, agent_id: str) -> SimAgent:
        agent = self._agents.get(agent_id)
        if agent is None:
            agent = self._new_agent(tenant_id, agent_id)
            self._agents[agent_id] = agent
        elif agent.tenant_id != tenant_id:
            raise SimulatorError(404, "agentNotFound", f"tenant {tenant_id} has no agent {agent_id}")
        return agent

    def _apply(
        self, agent: SimAgent, state: str, idle_code: IdleCodeEntry | None, source: str, *, emit: bool
    ) -> ChangeOutcome:
        now = self.now()
        previous = agent.state
        code_id = idle_code.code_id if state == "idle" and idle_code else None
        code_name = idle_code.name if state == "idle" and idle_code else None
        agent.state, agent.idle_code_id, agent.idle_code_name, agent.changed_at = (
            state,
            code_id,
            code_name,
            now,
        )
        agent.sequence_number += 1
        agent.history.append(HistoryEntry(state, code_id, code_name, now, source))
        event = _event(agent, previous, now)
        if not emit:
            return ChangeOutcome(agent.as_json(), event, None, "notEmitted")
        tenant = self._tenants.get(agent.tenant_id)
        if tenant is None or not tenant.events_url:
            return ChangeOutcome(agent.as_json(), event, None, "noConnectorUrl")
        if not tenant.secret:
            return ChangeOutcome(agent.as_json(), event, None, "noSecret")
        target = DeliveryTarget(agent.tenant_id, tenant.events_url, tenant.secret)
        return ChangeOutcome(agent.as_json(), event, target, "queued")


def _event(agent: SimAgent, previous: str, now: datetime) -> dict[str, Any]:
    if agent.state == "loggedOut":
        event_type = "agentLogout"
    elif previous == "loggedOut":
        event_type = "agentLogin"
    else:
        event_type = "agentStateChanged"
    event: dict[str, Any] = {
        "eventId": str(uuid.uuid4()),
        "type": event_type,
        "agentId": agent.agent_id,
        "state": agent.state,
        "occurredAt": iso(now),
        "sequenceNumber": agent.sequence_number,
    }
    if agent.state == "idle":
        if agent.idle_code_id is not None:
            event["idleCodeId"] = agent.idle_code_id
        if agent.idle_code_name is not None:
            event["idleCodeName"] = agent.idle_code_name
    return event


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _activities_of(agent: SimAgent) -> list[dict[str, Any]]:
    """One activity per state since login; logout ends the last one and starts none."""
    activities: list[dict[str, Any]] = []
    for index, entry in enumerate(agent.history):
        if entry.state == "loggedOut":
            continue
        following = agent.history[index + 1] if index + 1 < len(agent.history) else None
        is_login = index == 0 or agent.history[index - 1].state == "loggedOut"
        activities.append(
            {
                "_start": entry.at,
                "active": following is None,
                "agentId": agent.agent_id,
                "agentSessionId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{agent.agent_id}/session")),
                "currentState": WEBEX_STATE_NAMES[entry.state],
                "idleCode": entry.idle_code_id or "",
                "idleCodeName": entry.idle_code_name or "",
                "startTime": _millis(entry.at),
                "endTime": -1 if following is None else _millis(following.at),
                "isLogin": 1 if is_login else 0,
                "channelType": "telephony",
                "channelId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{agent.agent_id}/telephony")),
                "reason": "",
            }
        )
    return activities
