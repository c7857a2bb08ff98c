"""Fakes of the roster's ports. They keep the contracts of the real adapters: one user per agent and one
agent per user, no write when nothing changes, and paging by an opaque continuation."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from shared.agents.exceptions import StaleGroup, UserAlreadyAssigned
from shared.agents.groups import DEFAULT_GROUP_ID, AgentGroup
from shared.agents.model import (
    Agent,
    ContinuationToken,
    RosterPage,
    SavedAgent,
    SeenPresence,
    UserDetails,
    WriteStatus,
)
from shared.errors import AppError
from shared.graph.exceptions import GraphError
from shared.graph.model import DirectoryUser


class FakeAgentRepository:
    def __init__(self) -> None:
        self.agents: dict[tuple[str, str], Agent] = {}
        self.presences: dict[tuple[str, str], SeenPresence] = {}
        self.writes = 0
        self.deletes = 0
        # Raised by the save call with this (1-based) number, to simulate an outage half-way.
        self.fail_on_save: tuple[int, AppError] | None = None
        self._saves = 0
        self._version = 0

    def get(self, tenant_id: str, agent_id: str) -> Agent | None:
        return self.agents.get((tenant_id, agent_id))

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
        self._saves += 1
        if self.fail_on_save is not None and self.fail_on_save[0] == self._saves:
            raise self.fail_on_save[1]
        current = self.agents.get((tenant_id, agent_id))
        if current is not None and current.user_id == user_id:
            if (
                details is None
                or (details.user_principal_name, details.display_name)
                == (current.user_principal_name, current.display_name)
            ) and group_id == current.group_id:
                return SavedAgent(current, WriteStatus.UNCHANGED, user_changed=False)
            updated = replace(current, group_id=group_id, updated_at=now)
            if details is not None:
                updated = replace(
                    updated,
                    user_principal_name=details.user_principal_name,
                    display_name=details.display_name,
                )
            return SavedAgent(self._store(updated), WriteStatus.UPDATED, user_changed=False)
        owner = self._owner_of(tenant_id, user_id)
        if owner is not None:
            raise UserAlreadyAssigned(user_id, owner)
        if current is not None:
            self.presences.pop((tenant_id, current.user_id), None)
        agent = Agent(
            tenant_id=tenant_id,
            agent_id=agent_id,
            user_id=user_id,
            user_principal_name=None if details is None else details.user_principal_name,
            display_name=None if details is None else details.display_name,
            created_at=now if current is None else current.created_at,
            updated_at=now,
            group_id=group_id,
        )
        status = WriteStatus.CREATED if current is None else WriteStatus.UPDATED
        return SavedAgent(self._store(agent), status, user_changed=True)

    def delete(self, tenant_id: str, agent_id: str) -> Agent | None:
        agent = self.agents.pop((tenant_id, agent_id), None)
        if agent is not None:
            self.deletes += 1
            self.presences.pop((tenant_id, agent.user_id), None)
        return agent

    def list_page(self, tenant_id: str, limit: int, continuation: ContinuationToken | None) -> RosterPage:
        ids = sorted(agent_id for tenant, agent_id in self.agents if tenant == tenant_id)
        if continuation is not None:
            ids = [agent_id for agent_id in ids if agent_id >= continuation.row_key]
        page, rest = ids[:limit], ids[limit:]
        following = ContinuationToken(tenant_id, rest[0]) if rest else None
        return RosterPage([self.agents[(tenant_id, agent_id)] for agent_id in page], following)

    def presence_of(self, tenant_id: str, user_id: str) -> SeenPresence | None:
        return self.presences.get((tenant_id, user_id))

    def last_presences(self, tenant_id: str) -> dict[str, SeenPresence]:
        return {user: presence for (tenant, user), presence in self.presences.items() if tenant == tenant_id}

    def user_ids(self, tenant_id: str) -> list[str]:
        return [agent.user_id for (tenant, _), agent in sorted(self.agents.items()) if tenant == tenant_id]

    def count(self, tenant_id: str) -> int:
        return sum(1 for tenant, _ in self.agents if tenant == tenant_id)

    def count_in_group(self, tenant_id: str, group_id: str) -> int:
        return sum(
            1
            for (tenant, _), agent in self.agents.items()
            if tenant == tenant_id and agent.group_id == group_id
        )

    def move_group(self, tenant_id: str, from_group_id: str, to_group_id: str, now: datetime) -> int:
        moving = [
            agent
            for (tenant, _), agent in self.agents.items()
            if tenant == tenant_id and agent.group_id == from_group_id
        ]
        for agent in moving:
            self._store(replace(agent, group_id=to_group_id, updated_at=now))
        return len(moving)

    def _owner_of(self, tenant_id: str, user_id: str) -> str | None:
        for (tenant, agent_id), agent in self.agents.items():
            if tenant == tenant_id and agent.user_id == user_id:
                return agent_id
        return None

    def _store(self, agent: Agent) -> Agent:
        self.writes += 1
        self._version += 1
        stored = replace(agent, etag=f'W/"v{self._version}"')
        self.agents[(agent.tenant_id, agent.agent_id)] = stored
        return stored


class FakeDirectory:
    """The tenant directory as Graph's get_user shows it; thread-safe, as the import calls it from a pool."""

    def __init__(self) -> None:
        self.users: dict[str, DirectoryUser] = {}
        self.calls: list[str] = []
        # One entry per batched call (get_users): the references it asked for.
        self.batches: list[list[str]] = []
        # Per reference, the error its read in a batch answers (a 429 of one read, say).
        self.item_failures: dict[str, GraphError] = {}
        self.failure: AppError | None = None
        # When set, every call waits here: proves how many lookups run at the same time.
        self.barrier: threading.Barrier | None = None
        self._lock = threading.Lock()

    def add(self, user_id: str, upn: str, name: str) -> DirectoryUser:
        user = DirectoryUser(user_id, name, upn, None, None, ())
        self.users[user_id] = user
        return user

    def get_users(
        self, tenant_id: str, ids_or_upns: Sequence[str]
    ) -> dict[str, DirectoryUser | GraphError | None]:
        if len(ids_or_upns) > 20:
            raise AssertionError("Graph's $batch takes at most 20 requests")
        with self._lock:
            self.batches.append(list(ids_or_upns))
        if self.failure is not None:
            raise self.failure
        found: dict[str, DirectoryUser | GraphError | None] = {}
        for ref in ids_or_upns:
            failure = self.item_failures.get(ref)
            found[ref] = failure if failure is not None else self._find(ref)
        return found

    def get_user(self, tenant_id: str, id_or_upn: str) -> DirectoryUser | None:
        with self._lock:
            self.calls.append(id_or_upn)
        if self.barrier is not None:
            self.barrier.wait()
        if self.failure is not None:
            raise self.failure
        return self._find(id_or_upn)

    def _find(self, id_or_upn: str) -> DirectoryUser | None:
        for user in self.users.values():
            if (
                id_or_upn in (user.id, user.user_principal_name)
                or (user.user_principal_name or "").casefold() == id_or_upn.casefold()
            ):
                return user
        return None


class FakeCoverage:
    def __init__(self) -> None:
        self.subscribed: set[str] = set()
        self.calls = 0

    def subscribed_user_ids(self, tenant_id: str) -> frozenset[str]:
        self.calls += 1
        return frozenset(self.subscribed)


class RecordingListener:
    def __init__(self) -> None:
        self.changes: list[str] = []
        self.fail = False

    def roster_changed(self, tenant_id: str) -> None:
        self.changes.append(tenant_id)
        if self.fail:
            raise RuntimeError("subscriptions are down")


class FakeGroupRepository:
    """The stored agent groups, with the real adapter's conditional writes."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str], AgentGroup] = {}
        self.writes = 0
        self._version = 0

    def get(self, tenant_id: str, group_id: str) -> AgentGroup | None:
        return self.groups.get((tenant_id, group_id))

    def list(self, tenant_id: str) -> list[AgentGroup]:
        return [group for (tenant, _), group in sorted(self.groups.items()) if tenant == tenant_id]

    def insert(self, group: AgentGroup) -> AgentGroup:
        if (group.tenant_id, group.group_id) in self.groups:
            raise StaleGroup(group.tenant_id, group.group_id)
        return self._store(group)

    def replace(self, group: AgentGroup, etag: str | None) -> AgentGroup:
        current = self.groups.get((group.tenant_id, group.group_id))
        if etag is not None and (current is None or current.etag != etag):
            raise StaleGroup(group.tenant_id, group.group_id)
        return self._store(group)

    def delete(self, tenant_id: str, group_id: str, etag: str | None) -> None:
        current = self.groups.get((tenant_id, group_id))
        if current is None:
            return
        if etag is not None and current.etag != etag:
            raise StaleGroup(tenant_id, group_id)
        del self.groups[(tenant_id, group_id)]

    def _store(self, group: AgentGroup) -> AgentGroup:
        self.writes += 1
        self._version += 1
        stored = replace(group, etag=f'W/"g{self._version}"')
        self.groups[(group.tenant_id, group.group_id)] = stored
        return stored
