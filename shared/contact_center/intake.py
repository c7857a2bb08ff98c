"""Agent-event intake: from a signed POST by the contact center to agent state changes on the queue.

The signature is checked with the tenant's secret before the body is even parsed, so an unsigned or
forged request learns nothing about what would have been accepted and changes nothing. Events that
pass are handed to Service Bus in one batch; only a failure to persist them is raised (503), so the
contact center delivers again and duplicate detection drops what already got through.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Protocol

from shared.connectors.exceptions import ConnectorNotActive, ConnectorNotFound
from shared.connectors.model import Connector, ConnectorStatus
from shared.connectors.ports import ConnectorRepository
from shared.contact_center.events import MAX_BODY_BYTES, AgentEvent, parse_agent_events
from shared.contact_center.exceptions import (
    AgentEventsTooLarge,
    ContactCenterNotConfigured,
    InvalidEventSignature,
)
from shared.contact_center.messages import AgentStateChange
from shared.contact_center.signature_source import signed_by_tenant
from shared.presence.ports import PresenceQueue

logger = logging.getLogger(__name__)

# Older events are replays or hopelessly late; events from the future come from a broken clock.
MAX_EVENT_AGE: Final = timedelta(minutes=10)
MAX_CLOCK_SKEW: Final = timedelta(minutes=2)


class AgentLookup(Protocol):
    def user_id_for(self, tenant_id: str, agent_id: str) -> str | None:
        """The Entra user id of the tenant's agent, or None when the agent is not on the roster."""
        ...


@dataclass(frozen=True)
class DroppedEvent:
    event_id: str
    agent_id: str
    # "unknownAgent" | "tooOld" | "fromTheFuture"; Webex: "otherOrganization" | "unknownState"
    reason: str


@dataclass(frozen=True)
class EventReport:
    received: int
    accepted: int
    dropped: tuple[DroppedEvent, ...] = field(default_factory=tuple)

    def dropped_by_reason(self) -> dict[str, int]:
        return dict(Counter(d.reason for d in self.dropped))


class ContactCenterEventIntake:
    def __init__(
        self,
        connectors: ConnectorRepository,
        agents: AgentLookup,
        queue: PresenceQueue,
        clock: Callable[[], datetime],
    ) -> None:
        self._connectors = connectors
        self._agents = agents
        self._queue = queue
        self._clock = clock

    def accept(self, tenant_id: str, raw_body: bytes, signature_header: str | None) -> EventReport:
        """Raise ConnectorNotFound, ContactCenterNotConfigured, InvalidEventSignature,
        ConnectorNotActive, AgentEventsTooLarge, InvalidAgentEvents or PresenceQueueUnavailable."""
        connector = self._connectors.get(tenant_id)
        if connector is None:
            raise ConnectorNotFound(tenant_id)
        config = connector.contact_center
        if config is None:
            raise ContactCenterNotConfigured(
                f"tenant {tenant_id} has no contact center configured, so it cannot take agent events"
            )
        if len(raw_body) > MAX_BODY_BYTES:
            raise AgentEventsTooLarge(f"an agent event batch must be at most {MAX_BODY_BYTES} bytes")
        if not self._signed_by_tenant(connector, raw_body, signature_header):
            logger.warning(
                "agent events for tenant %s refused: %s signature",
                tenant_id,
                "missing" if not signature_header else "invalid",
            )
            raise InvalidEventSignature(
                "X-Connector-Signature must be sha256=<hex HMAC-SHA256 of the raw body, keyed with the "
                "tenant's secret>"
            )
        if connector.status is not ConnectorStatus.ACTIVE:
            raise ConnectorNotActive(
                tenant_id, connector.status.value, "agent events are taken only while it is active"
            )
        return self.enqueue(tenant_id, parse_agent_events(raw_body))

    def enqueue(
        self, tenant_id: str, events: list[AgentEvent], dropped_before: tuple[DroppedEvent, ...] = ()
    ) -> EventReport:
        """Queue the verified events of an active tenant (the webhook contract's and Webex's alike):
        too old, future or unknown agents are dropped. Raise PresenceQueueUnavailable."""
        now = self._clock()
        changes: list[AgentStateChange] = []
        dropped: list[DroppedEvent] = list(dropped_before)
        users: dict[str, str | None] = {}
        for event in events:
            reason = _timing_problem(event, now)
            if reason is None:
                if event.agent_id not in users:
                    users[event.agent_id] = self._agents.user_id_for(tenant_id, event.agent_id)
                user_id = users[event.agent_id]
                if user_id is not None:
                    changes.append(_to_change(tenant_id, user_id, event))
                    continue
                reason = "unknownAgent"
            logger.warning(
                "dropped agent event %s of agent %s (tenant %s): %s",
                event.event_id,
                event.agent_id,
                tenant_id,
                reason,
            )
            dropped.append(DroppedEvent(event.event_id, event.agent_id, reason))
        if changes:
            # Raises PresenceQueueUnavailable: nothing is acknowledged that is not persisted.
            self._queue.publish(changes)
        logger.info(
            "agent events for tenant %s: %d accepted, %d dropped", tenant_id, len(changes), len(dropped)
        )
        return EventReport(
            received=len(events) + len(dropped_before), accepted=len(changes), dropped=tuple(dropped)
        )

    def _signed_by_tenant(self, connector: Connector, raw_body: bytes, header: str | None) -> bool:
        return signed_by_tenant(connector, raw_body, header, self._clock())


def _timing_problem(event: AgentEvent, now: datetime) -> str | None:
    if event.occurred_at < now - MAX_EVENT_AGE:
        return "tooOld"
    if event.occurred_at > now + MAX_CLOCK_SKEW:
        return "fromTheFuture"
    return None


def _to_change(tenant_id: str, user_id: str, event: AgentEvent) -> AgentStateChange:
    return AgentStateChange(
        tenant_id=tenant_id,
        user_id=user_id.lower(),
        agent_id=event.agent_id,
        state=event.state,
        idle_code_id=event.idle_code_id,
        idle_code_name=event.idle_code_name,
        occurred_at=event.occurred_at,
        event_id=event.event_id,
        sequence_number=event.sequence_number,
        by_connector=event.by_connector,
    )
