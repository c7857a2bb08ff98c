"""Use cases of the agent-groups API: each public method is one admin action (or one read).

Concurrency follows the other admin APIs: with If-Match a change happens only at that version (`*`:
only if the group exists), without it the last writer wins. A PUT of what is stored already writes
nothing, so its ETag stays. Every change is audited with its outcome; the engine's cache of the
tenant's groups in this process is invalidated after each change (shared.agents.group_policies).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from shared.agents.exceptions import (
    DefaultGroupReadOnly,
    GroupNotEmpty,
    GroupNotFound,
    InvalidGroupInput,
    StaleGroup,
    UnknownGroup,
)
from shared.agents.group_commands import MAX_GROUPS, parse_group_id, parse_group_spec
from shared.agents.groups import (
    DEFAULT_GROUP_ID,
    AgentGroup,
    GroupView,
    default_group_view,
    group_view,
)
from shared.agents.ports import GroupCache, GroupMembers, GroupRepository
from shared.connectors.audit import AdminAudit
from shared.connectors.exceptions import ConnectorNotFound, InvalidTransition
from shared.connectors.model import Connector, ConnectorStatus
from shared.connectors.ports import AuditLog, ConnectorRepository
from shared.identity.principal import Actor

logger = logging.getLogger(__name__)

_ANY_VERSION: Final = "*"


class AgentGroupService:
    def __init__(
        self,
        groups: GroupRepository,
        agents: GroupMembers,
        connectors: ConnectorRepository,
        cache: GroupCache,
        audit: AuditLog,
        clock: Callable[[], datetime],
    ) -> None:
        self._groups = groups
        self._agents = agents
        self._connectors = connectors
        self._cache = cache
        self._audit = AdminAudit(audit, clock)
        self._clock = clock

    # -- reading -----------------------------------------------------------------------------------

    def get(self, tenant_id: str, group_id: str) -> GroupView:
        group_id = parse_group_id(group_id)
        connector = self._connector(tenant_id)
        if group_id == DEFAULT_GROUP_ID:
            return default_group_view(connector.settings.presence_sync)
        group = self._groups.get(tenant_id, group_id)
        if group is None:
            raise GroupNotFound(tenant_id, group_id)
        return group_view(group)

    def list(self, tenant_id: str) -> list[GroupView]:
        """The default group first, then the stored ones in group id order."""
        connector = self._connector(tenant_id)
        stored = sorted(self._groups.list(tenant_id), key=lambda group: group.group_id)
        return [default_group_view(connector.settings.presence_sync), *(group_view(g) for g in stored)]

    def exists(self, tenant_id: str, group_id: str) -> bool:
        return group_id == DEFAULT_GROUP_ID or self._groups.get(tenant_id, group_id) is not None

    def known_group_ids(self, tenant_id: str) -> frozenset[str]:
        return frozenset({DEFAULT_GROUP_ID, *(group.group_id for group in self._groups.list(tenant_id))})

    # -- changes -----------------------------------------------------------------------------------

    def put(
        self, tenant_id: str, group_id: str, body: Any, if_match: str | None, actor: Actor
    ) -> tuple[GroupView, bool]:
        """Create or replace the group; the flag says whether it was created."""
        with self._audit.action(tenant_id, "putAgentGroup", actor) as note:
            group_id = parse_group_id(group_id)
            self._writable(tenant_id)
            if group_id == DEFAULT_GROUP_ID:
                raise DefaultGroupReadOnly("changed")
            spec = parse_group_spec(body if isinstance(body, dict) else None)
            now = self._clock()
            current = self._groups.get(tenant_id, group_id)
            if if_match is not None and (current is None or if_match not in (_ANY_VERSION, current.etag)):
                raise StaleGroup(tenant_id, group_id)
            if current is not None and (
                current.display_name,
                current.presence_sync,
                current.mappings,
                dict(current.status_messages),
            ) == (spec.display_name, spec.presence_sync, spec.mappings, dict(spec.status_messages)):
                note.skip = True
                return group_view(current), False
            if current is None:
                if len(self._groups.list(tenant_id)) >= MAX_GROUPS:
                    raise InvalidGroupInput(
                        f"tenant {tenant_id} has {MAX_GROUPS} agent groups, the most allowed"
                    )
                saved = self._groups.insert(
                    AgentGroup(
                        tenant_id,
                        group_id,
                        spec.display_name,
                        spec.presence_sync,
                        spec.mappings,
                        created_at=now,
                        updated_at=now,
                        status_messages=spec.status_messages,
                    )
                )
            else:
                changed = replace(
                    current,
                    display_name=spec.display_name,
                    presence_sync=spec.presence_sync,
                    mappings=spec.mappings,
                    status_messages=spec.status_messages,
                    updated_at=now,
                )
                saved = self._groups.replace(changed, None if if_match is None else current.etag)
            self._cache.invalidate(tenant_id)
            note.detail = (
                f"group {group_id} {'created' if current is None else 'updated'}: presenceSync "
                f"{spec.presence_sync}, {'own' if spec.mappings is not None else 'the tenant'}'s mappings"
            )
        logger.info(
            "agent group %s of tenant %s %s (presenceSync %s, own mappings %s)",
            group_id,
            tenant_id,
            "created" if current is None else "updated",
            spec.presence_sync,
            spec.mappings is not None,
        )
        return group_view(saved), current is None

    def delete(
        self, tenant_id: str, group_id: str, if_match: str | None, move_to: str | None, actor: Actor
    ) -> int:
        """Remove the group; with `move_to` its agents move there first. How many agents moved."""
        with self._audit.action(tenant_id, "deleteAgentGroup", actor) as note:
            group_id = parse_group_id(group_id)
            self._writable(tenant_id)
            if group_id == DEFAULT_GROUP_ID:
                raise DefaultGroupReadOnly("deleted")
            target = None if move_to is None else parse_group_id(move_to, "moveTo")
            if target == group_id:
                raise InvalidGroupInput("moveTo must name another group than the one deleted")
            current = self._groups.get(tenant_id, group_id)
            if current is None:
                raise GroupNotFound(tenant_id, group_id)
            if if_match is not None and if_match not in (_ANY_VERSION, current.etag):
                raise StaleGroup(tenant_id, group_id)
            if target is not None and not self.exists(tenant_id, target):
                raise UnknownGroup(tenant_id, target)
            moved = 0
            if target is None:
                agents = self._agents.count_in_group(tenant_id, group_id)
                if agents:
                    raise GroupNotEmpty(tenant_id, group_id, agents)
            else:
                moved = self._agents.move_group(tenant_id, group_id, target, self._clock())
            etag = None if if_match is None else current.etag
            self._groups.delete(tenant_id, group_id, etag)
            self._cache.invalidate(tenant_id)
            if target is not None:
                # An agent put into the group while it was being deleted follows it too.
                moved += self._agents.move_group(tenant_id, group_id, target, self._clock())
            note.detail = f"group {group_id} deleted" + (
                f"; {moved} agent(s) moved to {target}" if target is not None else ""
            )
        logger.info("agent group %s of tenant %s deleted (%s agent(s) moved)", group_id, tenant_id, moved)
        return moved

    # -- internals ---------------------------------------------------------------------------------

    def _connector(self, tenant_id: str) -> Connector:
        connector = self._connectors.get(tenant_id)
        if connector is None:
            raise ConnectorNotFound(tenant_id)
        return connector

    def _writable(self, tenant_id: str) -> Connector:
        connector = self._connector(tenant_id)
        if connector.status is ConnectorStatus.DELETING:
            raise InvalidTransition(
                "change the agent groups of", connector.status.value, "the connector is being deleted"
            )
        return connector
