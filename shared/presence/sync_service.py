"""The presence sync engine: what the Service Bus-triggered function does with each message.

Per message: the tenant's connector and mappings come from short-lived caches, the agent's sync state
is one point read, the decision is pure (sync_rules), the commands run, and the new state is one
conditional merge. So a change costs two table operations and no Graph read (rich notifications carry
the presence). Messages of one agent arrive in order (one session per tenant + user), so the merge
only conflicts when something outside the session wrote the row; then the message is decided again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.agents.groups import AgentPolicy
from shared.connectors.model import Connector, ConnectorStatus
from shared.contact_center.exceptions import ContactCenterError
from shared.contact_center.messages import AgentStateChange
from shared.contact_center.ports import ContactCenterClients
from shared.mappings.model import PresenceMappings
from shared.operations.ports import ChangeOutcome, NoReports, OperationsReporter
from shared.presence.commands import CommandRunner, Target
from shared.presence.exceptions import AgentSyncStateGone, StaleAgentSyncState, TransientSyncFailure
from shared.presence.first_sync import FirstSyncRequest
from shared.presence.messages import PresenceChange
from shared.presence.state_cache import SyncStateCache
from shared.presence.status_messages import StatusMessages
from shared.presence.sync_rules import Outcome, SyncDecision, on_agent_event, on_teams_presence, reconcile
from shared.presence.sync_state import AgentSyncState, StoredSyncState

logger = logging.getLogger(__name__)

MAX_DECISION_ATTEMPTS = 3

Decide = Callable[[AgentSyncState, PresenceMappings, datetime], SyncDecision]


class ConnectorLookup(Protocol):
    def get(self, tenant_id: str) -> Connector | None: ...


class MappingLookup(Protocol):
    """The presence policy per agent group (shared.agents.group_policies.CachedGroupPolicies)."""

    def get(self, tenant_id: str) -> PresenceMappings:
        """The tenant's own mappings (the default group's)."""
        ...

    def policy(self, tenant_id: str, group_id: str | None) -> AgentPolicy: ...


class SyncStates(Protocol):
    def load(self, tenant_id: str, user_id: str) -> StoredSyncState | None: ...

    def save(self, stored: StoredSyncState, state: AgentSyncState) -> StoredSyncState: ...


class TeamsPresenceRecorder(Protocol):
    def record_teams_presence(self, tenant_id: str, change: PresenceChange) -> bool: ...


class Resubscriber(Protocol):
    def roster_changed(self, tenant_id: str) -> None: ...


@dataclass(frozen=True)
class _Loaded:
    """A sync-state row as one read returned it (`stored` None: no such agent)."""

    stored: StoredSyncState | None
    is_loaded: bool = True


NOT_LOADED = _Loaded(None, is_loaded=False)


class PresenceSyncService:
    def __init__(
        self,
        connectors: ConnectorLookup,
        mappings: MappingLookup,
        states: SyncStates,
        commands: CommandRunner,
        recorder: TeamsPresenceRecorder,
        subscriptions: Resubscriber,
        clock: Callable[[], datetime],
        *,
        statuses: ContactCenterClients | None = None,
        reporter: OperationsReporter | None = None,
        status_messages: StatusMessages | None = None,
        state_cache: SyncStateCache | None = None,
    ) -> None:
        # The rows this process last wrote (state_cache.py): an echo costs one conditional write.
        self._state_cache = state_cache
        # Teams status messages of groups that configure them (None: not shown).
        self._status_messages = status_messages
        # Where the first contact-center read of an agent comes from (None: no first read).
        self._statuses = statuses
        self._reporter: OperationsReporter = reporter if reporter is not None else NoReports()
        self._connectors = connectors
        self._mappings = mappings
        self._states = states
        self._commands = commands
        self._recorder = recorder
        self._subscriptions = subscriptions
        self._clock = clock

    # Handlers of the two message kinds (shared.presence.worker.MessageHandler).

    def teams_change(self, body: bytes, *, message_id: str | None, delivery_count: int) -> None:
        change = PresenceChange.from_json(body)
        connector = self._active_connector(change.tenant_id)
        if connector is None or not connector.settings.presence_sync or connector.contact_center is None:
            # Not synced, but the agents list still shows the last Teams presence.
            self._recorder.record_teams_presence(change.tenant_id, change)
            self._reporter.change(change.tenant_id, ChangeOutcome.DROPPED, _not_synced(connector))
            return
        # An agent whose contact-center state was never seen: read it first, so this change is decided
        # on what the agent is doing now rather than on nothing. The row it loaded decides the change
        # (a change costs one read, not two), unless the first read applied something.
        loaded = self._first_read(connector, change.user_id, delivery_count)
        self._apply(
            connector,
            change.user_id,
            lambda state, mappings, now: on_teams_presence(state, change, mappings, now),
            f"Teams {change.availability}/{change.activity}",
            delivery_count,
            observed_at=change.observed_at,
            # A group that is not synced still shows its agents' last Teams presence.
            unsynced=lambda: self._recorder.record_teams_presence(change.tenant_id, change),
            loaded=loaded,
        )

    def agent_event(self, body: bytes, *, message_id: str | None, delivery_count: int) -> None:
        event = AgentStateChange.from_json(body)
        connector = self._active_connector(event.tenant_id)
        if connector is None or not connector.settings.presence_sync or connector.contact_center is None:
            logger.info(
                "tenant %s agent %s: event %s not synced", event.tenant_id, event.agent_id, event.event_id
            )
            self._reporter.change(event.tenant_id, ChangeOutcome.DROPPED, _not_synced(connector))
            return
        self._apply(
            connector,
            event.user_id,
            lambda state, mappings, now: on_agent_event(state, event, mappings, now),
            f"contact center {event.state}",
            delivery_count,
            agent_id=event.agent_id,
            observed_at=event.occurred_at,
            agent_state=event.state.value,
        )

    def first_sync(self, body: bytes, *, message_id: str | None, delivery_count: int) -> None:
        """A `firstSync` message (an agent was added): read his contact-center status once."""
        request = FirstSyncRequest.from_json(body)
        connector = self._active_connector(request.tenant_id)
        if connector is None or not connector.settings.presence_sync or connector.contact_center is None:
            logger.info(
                "tenant %s agent %s: first sync skipped (not synced)", request.tenant_id, request.agent_id
            )
            return
        self._first_read(connector, request.user_id, delivery_count, agent_id=request.agent_id)

    # -- internals ---------------------------------------------------------------------------------

    def _first_read(
        self, connector: Connector, user_id: str, delivery_count: int, *, agent_id: str | None = None
    ) -> _Loaded:
        """Read the agent's contact-center status once when it was never seen, and apply it like a
        reconcile read. A failed read is only logged: the reconcile timer reads again.

        Returns the sync-state row as loaded when nothing was written since (the caller may decide on
        it instead of loading it again), else NOT_LOADED."""
        if self._statuses is None or connector.contact_center is None:
            return NOT_LOADED
        tenant_id = connector.tenant_id
        stored = self._states.load(tenant_id, user_id)
        if stored is None or stored.state.contact_center is not None:
            return _Loaded(stored)
        if agent_id is not None and stored.agent_id != agent_id:
            return _Loaded(stored)
        try:
            client = self._statuses.client_for(tenant_id, connector.contact_center)
            status = client.get_status(stored.agent_id)
        except ContactCenterError as exc:
            logger.info(
                "tenant %s agent %s: first contact-center read failed (reconcile reads later): %s",
                tenant_id,
                stored.agent_id,
                exc.message,
            )
            return _Loaded(stored)
        if status is None:
            logger.info(
                "tenant %s agent %s: the contact center does not know the agent", tenant_id, stored.agent_id
            )
            return _Loaded(stored)
        self._apply(
            connector,
            user_id,
            lambda state, mappings, now: reconcile(state, None, status, mappings, now),
            f"first contact-center read ({status.state})",
            delivery_count,
            agent_id=stored.agent_id,
        )
        return NOT_LOADED

    def _active_connector(self, tenant_id: str) -> Connector | None:
        connector = self._connectors.get(tenant_id)
        if connector is None or connector.status is not ConnectorStatus.ACTIVE:
            logger.info("tenant %s: connector missing or not active; message not applied", tenant_id)
            return None
        return connector

    def _apply(
        self,
        connector: Connector,
        user_id: str,
        decide: Decide,
        what: str,
        delivery_count: int,
        *,
        agent_id: str | None = None,
        observed_at: datetime | None = None,
        unsynced: Callable[[], object] | None = None,
        agent_state: str | None = None,
        loaded: _Loaded | None = None,
    ) -> None:
        """Decide and apply for the user's agent; `agent_id`: the agent the message is about, when it
        names one; `observed_at`: when the change was seen on its side (the measured delay starts);
        `unsynced`: what to do instead when the agent's group is not synced; `agent_state`: the agent's
        new contact-center state, for the group's Teams status message; `loaded`: the row as the
        caller just loaded it, used by the first attempt instead of a second read."""
        tenant_id = connector.tenant_id
        assert connector.contact_center is not None  # noqa: S101 - checked by the callers
        cache = self._state_cache
        cached = cache.get(tenant_id, user_id) if cache is not None else None
        if cached is not None and self._apply_cached(
            connector, cached, decide, what, agent_id=agent_id, agent_state=agent_state
        ):
            return
        for attempt in range(1, MAX_DECISION_ATTEMPTS + 1):
            if attempt == 1 and loaded is not None and loaded.is_loaded:
                stored = loaded.stored
            else:
                stored = self._states.load(tenant_id, user_id)
            if stored is None:
                logger.info("tenant %s user %s: not an agent; %s ignored", tenant_id, user_id, what)
                self._reporter.change(tenant_id, ChangeOutcome.DROPPED, "notAnAgent")
                return
            if agent_id is not None and stored.agent_id != agent_id:
                # The user was given to another agent after the event was queued: it is not his state.
                logger.info(
                    "tenant %s user %s: now backs agent %s, not agent %s; %s ignored",
                    tenant_id,
                    user_id,
                    stored.agent_id,
                    agent_id,
                    what,
                )
                self._reporter.change(tenant_id, ChangeOutcome.DROPPED, "agentReassigned")
                return
            policy = self._mappings.policy(tenant_id, stored.group_id)
            if not policy.presence_sync:
                logger.info(
                    "tenant %s agent %s: group %s is not synced; %s not applied",
                    tenant_id,
                    stored.agent_id,
                    policy.group_id,
                    what,
                )
                if unsynced is not None:
                    unsynced()
                return
            now = self._clock()
            decision = decide(stored.state, policy.mappings, now)
            if (
                attempt == 1
                and not decision.discarded
                and agent_state is not None
                and self._status_messages is not None
            ):
                # An event older than the state already applied (discarded) must not set a message.
                self._status_messages.follow(
                    tenant_id, user_id, stored.agent_id, policy.status_messages, agent_state, now
                )
            if decision.discarded or (
                decision.outcome is Outcome.UNCHANGED and decision.state == stored.state
            ):
                logger.info(
                    "tenant %s agent %s: %s %s (%s)",
                    tenant_id,
                    stored.agent_id,
                    what,
                    decision.outcome.value,
                    decision.reason,
                )
                self._reporter.change(
                    tenant_id,
                    ChangeOutcome.SUPERSEDED if decision.discarded else ChangeOutcome.APPLIED,
                    decision.outcome.value,
                )
                return
            target = Target(tenant_id, user_id, stored.agent_id, connector.contact_center)
            state = self._commands.run(target, decision, now, delivery_count, observed_at=observed_at)
            if decision.resubscribe:
                # The agent logged in: make sure his presence is subscribed now, not at the next timer run.
                self._subscriptions.roster_changed(tenant_id)
            try:
                saved = self._states.save(stored, state)
            except StaleAgentSyncState:
                logger.info(
                    "tenant %s agent %s: state changed meanwhile; deciding again", tenant_id, stored.agent_id
                )
                continue
            except AgentSyncStateGone:
                logger.info(
                    "tenant %s agent %s: removed from the roster meanwhile", tenant_id, stored.agent_id
                )
                if cache is not None:
                    cache.evict(tenant_id, user_id)
                return
            if cache is not None:
                cache.put(saved)
            logger.info(
                "tenant %s agent %s: %s applied (%s; attempt %s)",
                tenant_id,
                stored.agent_id,
                what,
                decision.reason,
                attempt,
            )
            self._reporter.change(tenant_id, ChangeOutcome.APPLIED, decision.outcome.value)
            return
        raise TransientSyncFailure("the agent's sync state kept changing; the message is delivered again")

    def _apply_cached(
        self,
        connector: Connector,
        cached: StoredSyncState,
        decide: Decide,
        what: str,
        *,
        agent_id: str | None,
        agent_state: str | None,
    ) -> bool:
        """Apply the message on the row this process last wrote, in one write conditional on its ETag.
        Only a decision that changes the row and sends no command is taken this way (an echo): nothing
        leaves the process on the strength of a row that may be stale, and the write commits only if
        the row is still the one cached. False (cache entry dropped) when the engine must read the row
        and decide again: another decision, a 412 or an agent mismatch."""
        tenant_id = connector.tenant_id
        cache = self._state_cache
        assert cache is not None  # noqa: S101 - only called with a cache
        if agent_id is not None and cached.agent_id != agent_id:
            cache.evict(tenant_id, cached.user_id)
            return False
        policy = self._mappings.policy(tenant_id, cached.group_id)
        now = self._clock()
        decision = decide(cached.state, policy.mappings, now)
        if (
            not policy.presence_sync
            or decision.discarded
            or decision.outcome is not Outcome.APPLIED
            or decision.state == cached.state
            or decision.contact_center is not None
            or decision.teams is not None
            or decision.resubscribe
        ):
            return False
        try:
            saved = self._states.save(cached, decision.state)
        except StaleAgentSyncState:
            logger.info(
                "tenant %s agent %s: cached row outdated (412); reading it", tenant_id, cached.agent_id
            )
            cache.evict(tenant_id, cached.user_id)
            return False
        except AgentSyncStateGone:
            cache.evict(tenant_id, cached.user_id)
            logger.info("tenant %s agent %s: removed from the roster meanwhile", tenant_id, cached.agent_id)
            return True
        cache.put(saved)
        if agent_state is not None and self._status_messages is not None:
            # The write matched the cached ETag: the decision was made on the row as it is.
            self._status_messages.follow(
                tenant_id, cached.user_id, cached.agent_id, policy.status_messages, agent_state, now
            )
        logger.info(
            "tenant %s agent %s: %s applied (%s; on the cached row)",
            tenant_id,
            cached.agent_id,
            what,
            decision.reason,
        )
        self._reporter.change(tenant_id, ChangeOutcome.APPLIED, decision.outcome.value)
        return True


def _not_synced(connector: Connector | None) -> str:
    """The reason code of a change that is not synced at all."""
    if connector is None:
        return "connectorNotActive"
    if not connector.settings.presence_sync:
        return "presenceSyncOff"
    return "noContactCenter"
