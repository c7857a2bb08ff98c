"""What the agent roster needs from the outside world. Adapters live in shared/storage/ and shared/graph/."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from shared.agents.groups import DEFAULT_GROUP_ID, AgentGroup
from shared.agents.model import (
    Agent,
    ContinuationToken,
    RosterPage,
    SavedAgent,
    SeenPresence,
    UserDetails,
)
from shared.graph.exceptions import GraphError
from shared.graph.model import DirectoryUser
from shared.presence.messages import PresenceChange


class AgentRepository(Protocol):
    """The Agents table. Every change keeps `agent|{agentId}` and `user|{userId}` rows in step."""

    def get(self, tenant_id: str, agent_id: str) -> Agent | None: ...

    def save(
        self,
        tenant_id: str,
        agent_id: str,
        user_id: str,
        details: UserDetails | None,
        now: datetime,
        group_id: str = DEFAULT_GROUP_ID,
        *,
        likely_new: bool = False,
    ) -> SavedAgent:
        """Create the agent, or point it at `user_id` and `group_id`; `details` None means "not known,
        keep what is stored".

        Raise UserAlreadyAssigned when another agent has the user, ConcurrentAgentChange when retries
        against concurrent writers run out. Writes nothing when nothing would change. `likely_new`: the
        caller believes the agent does not exist; a cheaper create is tried first (same outcome).
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


class GroupMembers(Protocol):
    """The part of the Agents table the groups API uses (shared/storage/agent_repository.py)."""

    def count_in_group(self, tenant_id: str, group_id: str) -> int: ...

    def move_group(self, tenant_id: str, from_group_id: str, to_group_id: str, now: datetime) -> int:
        """Move every agent of one group to another (agent and user rows together); how many moved."""
        ...


class GroupLister(Protocol):
    def list(self, tenant_id: str) -> list[AgentGroup]: ...


class GroupRepository(Protocol):
    """The stored agent groups (the default group is never stored)."""

    def get(self, tenant_id: str, group_id: str) -> AgentGroup | None: ...

    def list(self, tenant_id: str) -> list[AgentGroup]: ...

    def insert(self, group: AgentGroup) -> AgentGroup:
        """Create the group; StaleGroup when it exists already."""
        ...

    def replace(self, group: AgentGroup, etag: str | None) -> AgentGroup:
        """Replace the group if still at `etag` (None: whatever is stored); StaleGroup otherwise."""
        ...

    def delete(self, tenant_id: str, group_id: str, etag: str | None) -> None:
        """Remove the group (only at `etag` when given); StaleGroup when it changed since."""
        ...


class GroupCache(Protocol):
    def invalidate(self, tenant_id: str) -> None:
        """Forget the tenant's cached groups so the next read in this process loads the stored ones."""
        ...


class TeamsPresenceRecorder(Protocol):
    """Where the presence worker keeps the newest Teams presence of an agent's user."""

    def record_teams_presence(self, tenant_id: str, change: PresenceChange) -> bool:
        """Store it if newer than what is stored; False when stale, a duplicate, or the user is no agent."""
        ...


class UserDirectory(Protocol):
    """The part of the Graph gateway the roster uses (shared.graph.msgraph_gateway.MsGraphGateway)."""

    def get_user(self, tenant_id: str, id_or_upn: str) -> DirectoryUser | None: ...

    def get_users(
        self, tenant_id: str, ids_or_upns: Sequence[str]
    ) -> Mapping[str, DirectoryUser | GraphError | None]:
        """Many reads, batched ($batch, 20 per call): the user, None (no such user) or that read's error."""
        ...


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
