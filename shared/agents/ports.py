"""What the agent roster needs from the outside world. Adapters live in shared/storage/ and shared/graph/."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from shared.agents.model import (
    Agent,
    ContinuationToken,
    RosterPage,
    SavedAgent,
    SeenPresence,
    UserDetails,
)
from shared.graph.model import DirectoryUser
from shared.presence.messages import PresenceChange


class AgentRepository(Protocol):
    """The Agents table. Every change keeps `agent|{agentId}` and `user|{userId}` rows in step."""

    def get(self, tenant_id: str, agent_id: str) -> Agent | None: ...

    def save(
        self, tenant_id: str, agent_id: str, user_id: str, details: UserDetails | None, now: datetime
    ) -> SavedAgent:
        """Create the agent, or point it at `user_id`; `details` None means "not known, keep what is stored".

        Raise UserAlreadyAssigned when another agent has the user, ConcurrentAgentChange when retries
        against concurrent writers run out. Writes nothing when nothing would change.
        """
        ...

    def delete(self, tenant_id: str, agent_id: str) -> Agent | None:
        """Remove the agent and its user row together; the removed agent, or None if there was none."""
        ...

    def list_page(self, tenant_id: str, limit: int, continuation: ContinuationToken | None) -> RosterPage:
        """At most `limit` agents in agent id order, from where `continuation` says. InvalidCursor if the
        store refuses the continuation."""
        ...

    def presence_of(self, tenant_id: str, user_id: str) -> SeenPresence | None: ...

    def last_presences(self, tenant_id: str) -> dict[str, SeenPresence]:
        """The newest Teams presence recorded per user id, for every agent that has one."""
        ...

    def user_ids(self, tenant_id: str) -> list[str]: ...

    def count(self, tenant_id: str) -> int: ...


class TeamsPresenceRecorder(Protocol):
    """Where the presence worker keeps the newest Teams presence of an agent's user."""

    def record_teams_presence(self, tenant_id: str, change: PresenceChange) -> bool:
        """Store it if newer than what is stored; False when stale, a duplicate, or the user is no agent."""
        ...


class UserDirectory(Protocol):
    """The part of shared.graph.ports.GraphGateway the roster uses; any GraphGateway is one."""

    def get_user(self, tenant_id: str, id_or_upn: str) -> DirectoryUser | None: ...


class RosterListener(Protocol):
    def roster_changed(self, tenant_id: str) -> None:
        """The set of agents' users changed; called after the change is stored, at most once per call."""
        ...


class FirstSyncRequests(Protocol):
    def agents_added(self, tenant_id: str, agents: Sequence[tuple[str, str]]) -> None:
        """New agents (or agents given another user), as (agent id, user id): read their contact-center
        status once now, not at the next reconcile. Never raises."""
        ...


class NoFirstSync:
    def agents_added(self, tenant_id: str, agents: Sequence[tuple[str, str]]) -> None:
        return None


class SubscriptionCoverage(Protocol):
    def subscribed_user_ids(self, tenant_id: str) -> frozenset[str]:
        """The users whose presence an active Graph subscription currently covers."""
        ...
