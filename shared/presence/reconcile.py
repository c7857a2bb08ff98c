"""Reconcile: Graph sends no "missed" notification for presence and contact centers drop events too,
so a timer reads both sides and repairs drift, and renews the connector's Teams presence sessions.

Per tenant and run: one partition query (every agent's sync state), ceil(agents / 650)
getPresencesByUserId calls (Graph documents about 1,500 requests per 30 s per app and tenant; a run
every 2 minutes uses a tiny share of it), and a contact-center status read only for agents whose state
the connector is responsible for (put in idle by it, a command awaiting its event, or never seen).
An agent who needs a command costs one more point read, so the command is decided on his current row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from shared.connectors.model import ConnectorStatus
from shared.contact_center.exceptions import ContactCenterError
from shared.contact_center.model import AgentStatus
from shared.contact_center.ports import ContactCenterClient, ContactCenterClients
from shared.errors import AppError
from shared.graph.exceptions import GraphError
from shared.graph.model import Presence, shown_activity
from shared.graph.ports import GraphGateway
from shared.mappings.model import PresenceMappings
from shared.presence.commands import CommandRunner, Target
from shared.presence.exceptions import AgentSyncStateGone, StaleAgentSyncState, TransientSyncFailure
from shared.presence.sync_rules import (
    Outcome,
    SetPresence,
    SyncDecision,
    reconcile,
    sessions_to_renew,
)
from shared.presence.sync_service import ConnectorLookup, MappingLookup
from shared.presence.sync_state import AgentSyncState, StoredSyncState

logger = logging.getLogger(__name__)


class ActiveTenants(Protocol):
    def active_tenant_ids(self) -> Iterable[str]: ...


class TenantSyncStates(Protocol):
    def list_tenant(self, tenant_id: str) -> list[StoredSyncState]: ...

    def load(self, tenant_id: str, user_id: str) -> StoredSyncState | None: ...

    def save(self, stored: StoredSyncState, state: AgentSyncState) -> StoredSyncState: ...


class SubscribedUsers(Protocol):
    def subscribed_user_ids(self, tenant_id: str) -> frozenset[str]: ...


@dataclass
class ReconcileReport:
    tenants: int = 0
    agents: int = 0
    repaired: int = 0
    renewed: int = 0
    deferred: int = 0
    graph_reads: int = 0
    contact_center_reads: int = 0
    failed_tenant_ids: list[str] = field(default_factory=list)


class ReconcileService:
    def __init__(
        self,
        tenants: ActiveTenants,
        connectors: ConnectorLookup,
        mappings: MappingLookup,
        states: TenantSyncStates,
        graph: GraphGateway,
        contact_centers: ContactCenterClients,
        commands: CommandRunner,
        subscribed: SubscribedUsers,
        clock: Callable[[], datetime],
    ) -> None:
        self._tenants = tenants
        self._connectors = connectors
        self._mappings = mappings
        self._states = states
        self._graph = graph
        self._contact_centers = contact_centers
        self._commands = commands
        self._subscribed = subscribed
        self._clock = clock

    def run(self) -> ReconcileReport:
        report = ReconcileReport()
        for tenant_id in list(self._tenants.active_tenant_ids()):
            report.tenants += 1
            try:
                self.reconcile_tenant(tenant_id, report)
            except AppError as exc:
                report.failed_tenant_ids.append(tenant_id)
                logger.warning("reconcile of tenant %s failed: %s", tenant_id, exc.message)
            except Exception:
                # One tenant's bad row or an unmapped storage answer must not leave every other tenant
                # unreconciled until it is fixed.
                report.failed_tenant_ids.append(tenant_id)
                logger.exception("reconcile of tenant %s failed unexpectedly", tenant_id)
        return report

    def reconcile_tenant(self, tenant_id: str, report: ReconcileReport) -> None:
        connector = self._connectors.get(tenant_id)
        if (
            connector is None
            or connector.status is not ConnectorStatus.ACTIVE
            or not connector.settings.presence_sync
            or connector.contact_center is None
        ):
            return
        stored = self._states.list_tenant(tenant_id)
        report.agents += len(stored)
        presences = self._teams_presences(tenant_id, stored, report)
        client = self._contact_centers.client_for(tenant_id, connector.contact_center)
        for listed in stored:
            policy = self._mappings.policy(tenant_id, listed.group_id)
            if not policy.presence_sync:
                # The agent's group is not synced: nothing is repaired or renewed for him.
                continue
            mappings = policy.mappings
            now = self._clock()
            presence = presences.get(listed.user_id)
            status = self._contact_center_status(tenant_id, listed, client, report)
            planned = _planned(listed.state, presence, status, mappings, now)
            if planned is None:
                continue
            agent = listed
            if planned.sends_commands:
                # The listing may be many seconds old by now, and commands go out before the conditional
                # save: decide them on the agent's current row, not on what a queue message replaced.
                current = self._states.load(tenant_id, listed.user_id)
                if current is None:
                    continue
                if current.etag != listed.etag:
                    agent = current
                    planned = _planned(current.state, presence, status, mappings, now)
                    if planned is None:
                        continue
            decision = planned.decision
            target = Target(tenant_id, agent.user_id, agent.agent_id, connector.contact_center)
            try:
                state = self._commands.run(target, decision, now, delivery_count=1)
                self._states.save(agent, state)
            except TransientSyncFailure:
                report.deferred += 1
                continue
            except (StaleAgentSyncState, AgentSyncStateGone):
                # A queue message changed the agent meanwhile: it knows better; the next run looks again.
                report.deferred += 1
                continue
            if planned.renewal:
                report.renewed += 1
            else:
                report.repaired += 1
                logger.info(
                    "tenant %s agent %s: drift repaired (%s)", tenant_id, agent.agent_id, decision.reason
                )

    def _teams_presences(
        self, tenant_id: str, stored: list[StoredSyncState], report: ReconcileReport
    ) -> dict[str, Presence]:
        subscribed = self._subscribed.subscribed_user_ids(tenant_id)
        user_ids = [agent.user_id for agent in stored if agent.user_id in subscribed]
        if not user_ids:
            return {}
        try:
            presences = self._graph.get_presences(tenant_id, user_ids)
        except GraphError as exc:
            logger.warning("reconcile of tenant %s: presence read failed: %s", tenant_id, exc.message)
            return {}
        report.graph_reads += -(-len(user_ids) // 650)
        # Read like a notification: automatic replies on show as the OutOfOffice activity.
        return {
            presence.user_id.lower(): replace(
                presence, activity=shown_activity(presence.activity, presence.out_of_office)
            )
            for presence in presences
        }

    def _contact_center_status(
        self, tenant_id: str, agent: StoredSyncState, client: ContactCenterClient, report: ReconcileReport
    ) -> AgentStatus | None:
        state = agent.state
        if not (state.in_connector_idle or state.pending or state.contact_center is None):
            return None
        try:
            report.contact_center_reads += 1
            return client.get_status(agent.agent_id)
        except ContactCenterError as exc:
            logger.info(
                "reconcile of tenant %s agent %s: status read failed: %s",
                tenant_id,
                agent.agent_id,
                exc.message,
            )
            return None


@dataclass(frozen=True)
class _Plan:
    decision: SyncDecision
    # Only the connector's current session set again for longer: a renewal, not drift.
    renewal: bool

    @property
    def sends_commands(self) -> bool:
        return self.decision.contact_center is not None or self.decision.teams is not None


def _planned(
    state: AgentSyncState,
    presence: Presence | None,
    status: AgentStatus | None,
    mappings: PresenceMappings,
    now: datetime,
) -> _Plan | None:
    """What the agent needs; None when he needs nothing."""
    decision = reconcile(state, presence, status, mappings, now)
    if decision.outcome is not Outcome.UNCHANGED:
        # The rules renew a session that is due while planning, so that is no drift either.
        return _Plan(decision, renewal=_renews_session_only(state, decision))
    decision = sessions_to_renew(state, now)
    if decision.outcome is Outcome.UNCHANGED:
        return None
    return _Plan(decision, renewal=True)


def _renews_session_only(before: AgentSyncState, decision: SyncDecision) -> bool:
    """The decision only sets the connector's current session again, for longer; echoes the rules
    forgot on the way (too old to arrive) do not make it drift."""
    session, teams = before.session, decision.teams
    return (
        decision.contact_center is None
        and isinstance(teams, SetPresence)
        and session is not None
        and session.pair == (teams.availability, teams.activity)
        and replace(decision.state, session=session, echoes=before.echoes) == before
    )
